/* SPDX-License-Identifier: Apache-2.0 */
/*
 * INI configuration files of the oteldemo daemons: "[section]", "key = value", comments starting with
 * '#' or ';', optional double quotes around a value. The file is parsed once into entries; the daemon
 * then asks for every key it knows with a typed getter (which checks the range), and finally calls
 * config_check_unknown() so that a misspelt key or section is an error instead of being ignored.
 * Every failure leaves one line in config_error(): "FILE:LINE: [section] key: what is wrong".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otel.h"

/* Caps: a config file is small; anything larger is a mistake (or an attack through a wrong path). */
#define CONFIG_FILE_MAX_BYTES (1024u * 1024u)
#define CONFIG_LINE_MAX       4096u
#define CONFIG_NAME_MAX       64u  /* section and key names */
#define CONFIG_ERROR_MAX      512u /* one error line */

typedef struct config_file config_file;

/* Parses path. On a syntax error returns -EINVAL and, when ret_error is not NULL, copies the error
 * line into it (CONFIG_ERROR_MAX bytes); other failures: -ENOENT, -EACCES, -EFBIG, -ENOMEM. */
int config_load(const char *path, config_file **ret, char *ret_error) OTEL_WUR;
/* The whole start-up read of a daemon's file: config_load(), then read_keys (which asks for every key the
 * daemon knows, into userdata), then config_check_unknown(). On failure returns a negative errno with
 * the error line in ret_error (CONFIG_ERROR_MAX bytes); what read_keys filled in is the caller's to free. */
typedef int (*config_read_fn)(config_file *cfg, void *userdata);
int config_read(const char *path, config_read_fn read_keys, void *userdata, char *ret_error) OTEL_WUR;
/* Same from a string (name is used in error lines). */
int config_parse_string(const char *name, const char *text, size_t len, config_file **ret,
                        char *ret_error) OTEL_WUR;
void config_free(config_file *cfg);

/* The last error of a getter or of config_check_unknown(), "" when none. */
const char *config_error(const config_file *cfg);
const char *config_path(const config_file *cfg);
/* true when the file's group or others have any access to it (config_load() only; a parsed string is
 * not a file): a secret written inline in such a file is refused (see credential.h). */
bool config_is_shared(const config_file *cfg);

/* Getters. Each marks the key as known. When the key is absent *ret is set to def and 0 is returned;
 * when present and valid, its value; otherwise -EINVAL with config_error() set and *ret unchanged.
 * Returned strings belong to cfg. */
int config_get_string(config_file *cfg, const char *section, const char *key, const char *def,
                      const char **ret) OTEL_WUR;
int config_get_int(config_file *cfg, const char *section, const char *key, int64_t def, int64_t min,
                   int64_t max, int64_t *ret) OTEL_WUR;
int config_get_uint(config_file *cfg, const char *section, const char *key, unsigned def, unsigned min,
                    unsigned max, unsigned *ret) OTEL_WUR;
/* One unsigned key of a section for config_get_uints(): its default, its range, where it goes. */
typedef struct config_uint_key {
        const char *key;
        unsigned def;
        unsigned min;
        unsigned max;
        unsigned *ret;
} config_uint_key;
/* config_get_uint() for each of keys[0..n) in turn; stops at the first error. */
int config_get_uints(config_file *cfg, const char *section, const config_uint_key *keys, size_t n) OTEL_WUR;
int config_get_double(config_file *cfg, const char *section, const char *key, double def, double min,
                      double max, double *ret) OTEL_WUR;
/* true/false, yes/no, on/off, 1/0. */
int config_get_bool(config_file *cfg, const char *section, const char *key, bool def, bool *ret) OTEL_WUR;

/* A copy of a value for a config struct that outlives cfg: NULL stays NULL. 0 or -ENOMEM. */
int config_strdup(const char *value, char **ret) OTEL_WUR;

/* Marks a whole section as known (e.g. one the daemon reads elsewhere). */
void config_accept_section(config_file *cfg, const char *section);
/* -EINVAL naming the first section or key no getter asked for; 0 when everything was used. */
int config_check_unknown(config_file *cfg) OTEL_WUR;
/* Sets the error line for a value that a getter accepted but the caller rejects (e.g. a bad listen
 * address): "FILE:LINE: [section] key: <message>". Returns -EINVAL. */
int config_reject(config_file *cfg, const char *section, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
