/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo-backend's configuration (/etc/oteldemo/backend.conf): [server] (shared with the frontend,
 * see http-server.h), [database], [telemetry], [payment], [faults], [admin] and [auth]. Loaded whole at
 * start and again on SIGHUP (a reload applies only what can change at run time: faults, the log level
 * and the sampler).
 */
#pragma once

#include "credential.h"
#include "http-server.h"
#include "otel.h"
#include "payment.h"
#include "shop.h"
#include "telemetry.h"

#define BACKEND_DEFAULT_CONFIG "/etc/oteldemo/backend.conf"
#define BACKEND_DEFAULT_LISTEN "127.0.0.1:8081"
/* [server] threads defaults to this many per CPU online: a request holds its server thread while it
 * waits for PostgreSQL (libpq is blocking), so one per CPU would leave the CPUs idle; on 2 CPUs this
 * is 8, the pool_size default. */
#define BACKEND_THREADS_PER_CPU    4u
#define BACKEND_DEFAULT_CONNINFO   "dbname=oteldemo"
#define BACKEND_DEFAULT_MIGRATIONS "/usr/share/oteldemo/db"
#define BACKEND_SERVICE_NAME       "oteldemo-backend"
#define BACKEND_POOL_MAX           256u
#define BACKEND_ACQUIRE_MAX_MS     60000u
#define BACKEND_ADMIN_CREDENTIAL   "admin-token"
#define BACKEND_WRITE_CREDENTIAL   "write-token"

typedef struct backend_config {
        http_server_config server;
        char *conninfo;                /* [database] conninfo (libpq keywords or URI) */
        unsigned pool_size;            /* [database] pool_size */
        unsigned acquire_timeout_ms;   /* [database] acquire_timeout_ms */
        char *migrations_dir;          /* [database] migrations_dir */
        telemetry_config telemetry;    /* [telemetry] */
        payment_config payment;        /* [payment]: the simulated provider (read at start) */
        shop_faults faults;            /* [faults] */
        credential_source admin_token; /* [admin] token, token_credential, token_file */
        credential_source write_token; /* [auth] write_token, write_token_credential, write_token_file */
} backend_config;

/* Loads and validates path. On failure returns a negative errno and writes one line naming the file,
 * line and key into ret_error (CONFIG_ERROR_MAX bytes). */
int backend_config_load(const char *path, backend_config *ret, char *ret_error);
void backend_config_free(backend_config *c);
/* The keys, for --help. */
extern const char backend_config_help[];
