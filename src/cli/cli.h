/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every part of the oteldemo CLI shares: exit codes (the project's one table, exit-status.h,
 * documented in oteldemo(1)) and the global options given before the command.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "exit-status.h"

#define CLI_PROGRAM_NAME "oteldemo"
#define CLI_SERVICE_NAME "oteldemo-cli" /* service.name of the CLI's spans */
#define CLI_DEFAULT_URL  "http://127.0.0.1:8080"
/* The frontend exposes no admin routes: fault flags go to the backend unless told otherwise. */
#define CLI_DEFAULT_ADMIN_URL "http://127.0.0.1:8081"
#define CLI_TOKEN_MAX         512             /* bytes of a token read from a file */
#define CLI_PEM_FILE_MAX      (1024u * 1024u) /* a CA bundle, certificate or key larger than this is refused */
#define CLI_DEFAULT_TIMEOUT   (10u * 1000u)   /* ms per request */
/* A missing collector must not hold the CLI up for longer than this at exit. */
#define CLI_OTEL_SHUTDOWN_TIMEOUT_MS 500u

typedef enum cli_output {
        CLI_OUTPUT_TABLE,
        CLI_OUTPUT_JSON,
        _CLI_OUTPUT_MAX,
        _CLI_OUTPUT_INVALID = -EINVAL,
} cli_output;

/* The files of --cacert, --cert and --key (each NULL when not given); they name paths of argv or the
 * environment, which outlive every request. */
typedef struct cli_tls_files {
        const char *ca_file;   /* PEM CA certificates verifying https:// servers (not the system's) */
        const char *cert_file; /* PEM client certificate (chain) for mutual TLS, or NULL */
        const char *key_file;  /* PEM private key of cert_file (only its owner may read it), or NULL */
} cli_tls_files;

typedef struct cli_globals {
        const char *url;       /* base URL of the frontend or backend, without a trailing path */
        cli_output output;     /* table or json */
        uint64_t timeout_ms;   /* per request */
        bool verbose;          /* print trace ids and request lines on stderr */
        const char *token;     /* bearer token for /admin, or NULL */
        const char *admin_url; /* base URL for /admin (faults): --admin-url, else --url if given, else the
                                  backend */
        cli_tls_files tls;     /* --cacert, --cert, --key, or $OTELDEMO_{CA,CERT,KEY}_FILE */
        char token_buf[CLI_TOKEN_MAX + 1]; /* the token read from --token-file / $OTELDEMO_TOKEN_FILE */
        const char *write_token;           /* bearer token of the writes (POST), or NULL */
        char write_token_buf[CLI_TOKEN_MAX +
                             1]; /* read from --write-token-file / $OTELDEMO_WRITE_TOKEN_FILE */
} cli_globals;
