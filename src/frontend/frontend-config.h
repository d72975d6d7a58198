/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo-frontend's configuration (/etc/oteldemo/frontend.conf): [server] (shared with the backend,
 * see http-server.h, plus www_dir), [backend] (see proxy.h), [ui] and [telemetry]. Loaded whole at
 * start and again on SIGHUP (a reload applies the log level and the sampler).
 */
#pragma once

#include "http-server.h"
#include "otel.h"
#include "proxy.h"
#include "telemetry.h"

#define FRONTEND_DEFAULT_CONFIG "/etc/oteldemo/frontend.conf"
#define FRONTEND_DEFAULT_LISTEN "127.0.0.1:8080"
#define FRONTEND_DEFAULT_WWW    "/usr/share/oteldemo/www"
#define FRONTEND_SERVICE_NAME   "oteldemo-frontend"
/* [server] threads defaults to the number of CPUs, at least this (see frontend-config.c). */
#define FRONTEND_THREADS_MIN      2u
#define FRONTEND_THREADS_MIN_TEXT "2"

typedef struct frontend_config {
        http_server_config server;
        char *www_dir;              /* [server] www_dir */
        proxy_config backend;       /* [backend] */
        char *jaeger_url;           /* [ui] jaeger_url (http(s) URL of the Jaeger UI), NULL when unset */
        telemetry_config telemetry; /* [telemetry] */
} frontend_config;

/* Loads and validates path. On failure returns a negative errno and writes one line naming the file,
 * line and key into ret_error (CONFIG_ERROR_MAX bytes). */
int frontend_config_load(const char *path, frontend_config *ret, char *ret_error) OTEL_WUR;
void frontend_config_free(frontend_config *c);
/* The keys, for --help. */
extern const char frontend_config_help[];
