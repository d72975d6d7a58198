/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsers for the values on oteldemo's command line. Each accepts exactly the documented syntax (no
 * leading blanks, signs, hex or exponents, which strtol/strtod would quietly take) and returns 0, or
 * -EINVAL for malformed text and -ERANGE for a well-formed value outside the allowed range.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "sessions.h"

#define CLI_ID_MAX            INT64_MAX
#define CLI_QUANTITY_MIN      1
#define CLI_QUANTITY_MAX      1000     /* the API's own bound */
#define CLI_RATE_MAX          100000.0 /* requests per second one process can schedule meaningfully */
#define CLI_DURATION_MAX_NS   (UINT64_C(366) * 24 * 3600 * 1000000000) /* a year */
#define CLI_CONCURRENCY_MAX   1024u
#define CLI_NUMBER_MAX_DIGITS 18 /* keeps every intermediate below 2^63 */

/* Unsigned decimal in [min, max]. */
int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* A database id: decimal, 1..CLI_ID_MAX. */
int cli_parse_id(const char *s, int64_t *ret);
/* "500ms", "10s", "2m", "1h", "1.5s"; a bare number is seconds. 0 is allowed (callers decide). */
int cli_parse_duration_ns(const char *s, uint64_t *ret);
/* "200", "200/s", "30/m": requests per second, > 0 and <= CLI_RATE_MAX. */
int cli_parse_rate(const char *s, double *ret);
/* "table" or "json". */
int cli_parse_output(const char *s, cli_output *ret);

/* An admin token file (first line, at most size-1 bytes, no other line): it must be a regular file
 * readable by its owner only, as a credential is. Returns 0, -errno of open/read, -EPERM (group or
 * others may read it), -EBADMSG (empty, too long or more than one line). */
int cli_read_token_file(const char *path, char *buf, size_t size);
/* A PEM file for TLS (--cacert, --cert, --key): a regular file of at most CLI_PEM_FILE_MAX bytes holding
 * a certificate ("-----BEGIN CERTIFICATE-----"), or with private_key a private key, which only its
 * owner may read, as the daemons require of theirs. Returns 0, -errno of open/read, -EPERM (a key
 * group or others may read), -EFBIG (too large), -EBADMSG (not a regular file, or no such PEM block). */
int cli_check_pem_file(const char *path, bool private_key);
/* "browse=70,order=20,user=10": every kind at most once, each 0..100, summing to exactly 100 (kinds
 * not named get 0). -EINVAL malformed, -ENOENT unknown kind, -EEXIST a kind twice, -ERANGE a share
 * over 100, -EDOM when the shares do not add up to 100. */
int cli_parse_mix(const char *s, load_mix *ret);

/* The global options (git/kubectl style, they may follow the command too): name without "--", and
 * whether a value follows. The single-letter "-v" is --verbose. */
typedef struct cli_global_option {
        const char *name;
        bool has_value;
} cli_global_option;
extern const cli_global_option cli_global_options[];
extern const size_t cli_n_global_options;

/* Reorders argv in place so that every global option after the command name (up to a "--") moves,
 * with its value, in front of the command name, keeping the order of everything else: then the
 * global parser (which stops at the command) sees them all. "--output json", "--output=json" and
 * "-v" are recognised. Returns 0; -EINVAL when a value-taking option ends the line without its value
 * (*ret_missing names it, argv unchanged); -ENOMEM. */
int cli_hoist_global_options(int argc, char **argv, const char **ret_missing);
