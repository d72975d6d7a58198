/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The running backend: what service_main() (service.h) calls back for. Configuration, database pool,
 * HTTP server with its routes, the wait for PostgreSQL before READY=1, --migrate, and the main loop's
 * SIGHUP reload, watchdog probe and STATUS= text. main.c lists them; frontend-daemon.c is the same for
 * the frontend.
 */
#pragma once

#include "backend-config.h"
#include "order-sweeper.h"
#include "routes.h"
#include "service.h"

#define BACKEND_DB_WAIT_INTERVAL_MS 500u  /* retry period while PostgreSQL is not up yet at start */
#define BACKEND_DB_PING_MS          1000u /* one start-up round trip */

typedef struct backend_daemon {
        const char *config_path;
        backend_config config;
        backend_app app;
        http_server *http;
        order_sweeper *sweeper;    /* compensates orders a crash left pending; from READY on */
        uint64_t status_completed; /* requests completed at the previous STATUS= */
        uint64_t status_ms;        /* when that was (CLOCK_MONOTONIC ms) */
} backend_daemon;

/* service_desc callbacks; userdata is the backend_daemon. */
int backend_daemon_config_load(void *userdata, const char *path, char *ret_error);
const telemetry_config *backend_daemon_telemetry(void *userdata);
/* The admin token, the pool, the HTTP server with its routes (not yet listening). */
int backend_daemon_open(void *userdata, http_server **ret_http, const http_server_config **ret_server);
/* Waits for the database to answer, then checks its schema. */
int backend_daemon_wait_ready(void *userdata);
/* --migrate: 0, 69 when the database does not answer, 1 when a migration fails. */
int backend_daemon_migrate(void *userdata);
int backend_daemon_reload(void *userdata);
int backend_daemon_probe(void *userdata, unsigned timeout_ms);
void backend_daemon_status(void *userdata, char *buf, size_t size);
/* The HTTP server, the pool, the token and the configuration. */
void backend_daemon_close(void *userdata);
