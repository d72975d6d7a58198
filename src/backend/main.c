/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo-backend: the shop's users/products/orders API over PostgreSQL, instrumented with
 * OpenTelemetry, run by systemd (Type=notify). This file is the table of contents: service_main()
 * (service.h) parses the arguments, loads the configuration, starts telemetry, opens what
 * backend-daemon.c describes, waits for the database, notifies READY=1, runs the main loop and shuts
 * down in reverse order.
 */
#include "backend-daemon.h"
#include "config.h" /* OTELDEMO_VERSION (generated) */

static const service_desc backend_service = {
        .name = BACKEND_SERVICE_NAME,
        .version = OTELDEMO_VERSION,
        .summary = "The oteldemo shop backend: users, products and orders over PostgreSQL (HTTP JSON API),\n"
                   "with OpenTelemetry traces, metrics and logs.\n",
        .default_config = BACKEND_DEFAULT_CONFIG,
        .config_help = backend_config_help,
        .notes = "Signals: SIGHUP reloads, SIGTERM drains in-flight requests and exits 0.\n"
                 "Endpoints: /api/..., /admin/faults, /healthz, /readyz, /metrics, /debug/tracez.\n",
        .actions = {{.option = "migrate",
                     .help = "apply the database migrations in [database] migrations_dir and exit",
                     .run = backend_daemon_migrate}},
        .config_load = backend_daemon_config_load, /* backend.conf */
        .telemetry = backend_daemon_telemetry,     /* [telemetry] */
        .open = backend_daemon_open,               /* admin token, pool, HTTP server and routes */
        .wait_ready = backend_daemon_wait_ready,   /* PostgreSQL answers, schema recent enough */
        .ops = {.reload = backend_daemon_reload,   /* SIGHUP: faults, log level, sampler */
                .probe = backend_daemon_probe,     /* watchdog: a request through the server */
                .status = backend_daemon_status},  /* STATUS=: rate, in flight, pool use */
        .close = backend_daemon_close,             /* HTTP server, pool, token, configuration */
};

int main(int argc, char **argv)
{
        backend_daemon d = {.app.faults_lock = PTHREAD_MUTEX_INITIALIZER};

        return service_main(argc, argv, &backend_service, &d);
}
