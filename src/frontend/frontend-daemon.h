/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The running frontend: what service_main() (service.h) calls back for. Configuration, the static site,
 * the backend proxy, the HTTP server with its routes, and the main loop's SIGHUP reload, watchdog probe
 * and STATUS= text. main.c lists them; backend-daemon.c is the same for the backend.
 */
#pragma once

#include "frontend-config.h"
#include "proxy.h"
#include "service.h"
#include "static.h"

typedef struct frontend_daemon {
        const char *config_path;
        frontend_config config;
        http_server *http;
        proxy *proxy;
        static_site *site;
} frontend_daemon;

/* service_desc callbacks; userdata is the frontend_daemon. */
int frontend_daemon_config_load(void *userdata, const char *path, char *ret_error);
const telemetry_config *frontend_daemon_telemetry(void *userdata);
/* The static site, the proxy, the HTTP server with its routes (not yet listening). */
int frontend_daemon_open(void *userdata, http_server **ret_http, const http_server_config **ret_server);
int frontend_daemon_reload(void *userdata);
int frontend_daemon_probe(void *userdata, unsigned timeout_ms);
void frontend_daemon_status(void *userdata, char *buf, size_t size);
/* The HTTP server, the proxy, the site and the configuration. */
void frontend_daemon_close(void *userdata);
