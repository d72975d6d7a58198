/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo-frontend: serves the web shop (www/) and proxies /api/... to oteldemo-backend, traced end to
 * end, run by systemd (Type=notify). This file is the table of contents: service_main() (service.h)
 * parses the arguments, loads the configuration, starts telemetry, opens what frontend-daemon.c
 * describes, notifies READY=1, runs the main loop and shuts down in reverse order.
 */
#include "frontend-daemon.h"

static const service_desc frontend_service = {
        .name = FRONTEND_SERVICE_NAME,
        .version = OTELDEMO_VERSION,
        .summary = "The oteldemo web shop: serves the UI and proxies /api/* to oteldemo-backend.\n",
        .default_config = FRONTEND_DEFAULT_CONFIG,
        .config_help = frontend_config_help,
        .notes = "Signals: SIGHUP reloads, SIGTERM drains in-flight requests and exits 0.\n"
                 "Endpoints: / (the shop), /api/* (backend), /ui-config.json, /healthz, /readyz (the "
                 "backend\n"
                 "answers), /metrics, /debug/tracez.\n",
        .config_load = frontend_daemon_config_load, /* frontend.conf */
        .telemetry = frontend_daemon_telemetry,     /* [telemetry] */
        .open = frontend_daemon_open,               /* static site, proxy, HTTP server and routes */
        .ops = {.reload = frontend_daemon_reload,   /* SIGHUP: log level, sampler */
                .probe = frontend_daemon_probe,     /* watchdog: a request through the server */
                .status = frontend_daemon_status},  /* STATUS=: requests, in flight */
        .close = frontend_daemon_close,             /* HTTP server, proxy, site, configuration */
};

int main(int argc, char **argv)
{
        frontend_daemon fe = {0};

        return service_main(argc, argv, &frontend_service, &fe);
}
