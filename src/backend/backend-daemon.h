/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The running backend: configuration, database pool, HTTP server, and what the main loop calls back
 * for (SIGHUP reload, watchdog probe, STATUS= text). main.c sequences start and stop.
 */
#pragma once

#include "backend-config.h"
#include "routes.h"
#include "service.h"

#define BACKEND_DB_WAIT_INTERVAL_MS 500u  /* retry period while PostgreSQL is not up yet at start */
#define BACKEND_DB_PING_MS          1000u /* one start-up round trip */
#define BACKEND_TELEMETRY_FLUSH_MS  5000u /* bound on the final export at exit */

typedef struct backend_daemon {
        const char *config_path;
        backend_config config;
        backend_app app;
        http_server *http;
        uint64_t status_completed; /* requests completed at the previous STATUS= */
        uint64_t status_ms;        /* when that was (CLOCK_MONOTONIC ms) */
} backend_daemon;

extern const service_ops backend_daemon_ops;

/* The pool, the admin token, the HTTP server with its routes (not yet listening). */
int backend_daemon_open(backend_daemon *d);
/* Startup check for service_wait_for(): one database round trip. */
int backend_daemon_database_ping(void *userdata);
/* Drain HTTP, flush telemetry, close the pool. */
void backend_daemon_close(backend_daemon *d);
