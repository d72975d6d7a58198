/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo-backend: the shop's users/products/orders API over PostgreSQL, instrumented with
 * OpenTelemetry, run by systemd (Type=notify). This file is the table of contents: arguments,
 * configuration, telemetry, database, HTTP, READY=1, main loop, orderly shutdown.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend-daemon.h"
#include "config.h" /* OTELDEMO_VERSION (generated) */
#include "notify.h"

typedef enum backend_action {
        BACKEND_RUN,
        BACKEND_CHECK_CONFIG,
        BACKEND_MIGRATE,
        BACKEND_VERSION,
        BACKEND_HELP,
        _BACKEND_ACTION_MAX,
        _BACKEND_ACTION_INVALID = -EINVAL,
} backend_action;

/* sysexits.h: EX_USAGE for bad arguments (EX_CONFIG is CONFIG_EXIT_INVALID). */
#define BACKEND_EXIT_USAGE 64

static void backend_help(void)
{
        printf("Usage: oteldemo-backend [OPTIONS]\n"
               "\n"
               "The oteldemo shop backend: users, products and orders over PostgreSQL (HTTP JSON API),\n"
               "with OpenTelemetry traces, metrics and logs.\n"
               "\n"
               "Options:\n"
               "  --config PATH    configuration file (default " BACKEND_DEFAULT_CONFIG ")\n"
               "  --check-config   validate the configuration and exit (0, or 78 when invalid)\n"
               "  --migrate        apply the database migrations in [database] migrations_dir and exit\n"
               "  --version        print the version and exit\n"
               "  --help           show this help and exit\n"
               "\n"
               "%s"
               "\n"
               "Signals: SIGHUP reloads, SIGTERM drains in-flight requests and exits 0.\n"
               "Endpoints: /api/..., /admin/faults, /healthz, /readyz, /metrics, /debug/tracez.\n",
               backend_config_help);
}

static backend_action backend_parse_args(int argc, char **argv, const char **ret_config)
{
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'C'},
                {"migrate", no_argument, NULL, 'm'},      {"version", no_argument, NULL, 'V'},
                {"help", no_argument, NULL, 'h'},         {0},
        };
        backend_action action = BACKEND_RUN;
        int c;

        *ret_config = BACKEND_DEFAULT_CONFIG;
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        *ret_config = optarg;
                        break;
                case 'C':
                        action = BACKEND_CHECK_CONFIG;
                        break;
                case 'm':
                        action = BACKEND_MIGRATE;
                        break;
                case 'V':
                        return BACKEND_VERSION;
                case 'h':
                        return BACKEND_HELP;
                default:
                        return _BACKEND_ACTION_INVALID;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "oteldemo-backend: unexpected argument '%s'\n", argv[optind]);
                return _BACKEND_ACTION_INVALID;
        }
        return action;
}

static int backend_serve(backend_daemon *d)
{
        int r;

        r = telemetry_start(&d->config.telemetry);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot start telemetry: %m");
        r = backend_daemon_open(d);
        if (r < 0)
                return r;
        r = http_server_start(d->http);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot listen on %s: %m",
                                      d->config.server.listen);
        otel_log(OTEL_SEVERITY_INFO, "Listening on %s (%u threads)", http_server_address(d->http),
                 d->config.server.threads);

        /* READY=1 means "serving": listening, and the database answers with a schema we understand. */
        r = service_wait_for(backend_daemon_database_ping, d, BACKEND_DB_WAIT_INTERVAL_MS, "the database");
        if (r == -ECANCELED)
                return 0;
        r = shop_check_schema(d->app.pool);
        if (r < 0)
                return otel_log_errno(
                        OTEL_SEVERITY_ERROR, r,
                        "The database schema is older than this version needs: run oteldemo-backend "
                        "--migrate");
        (void)notify_ready();
        otel_log(OTEL_SEVERITY_INFO, "oteldemo-backend %s ready", OTELDEMO_VERSION);

        (void)service_run(&backend_daemon_ops, d);
        return 0;
}

int main(int argc, char **argv)
{
        backend_daemon d = {.app.faults_lock = PTHREAD_MUTEX_INITIALIZER};
        char error[CONFIG_ERROR_MAX];
        backend_action action;
        int r;

        action = backend_parse_args(argc, argv, &d.config_path);
        switch (action) {
        case BACKEND_HELP:
                backend_help();
                return EXIT_SUCCESS;
        case BACKEND_VERSION:
                printf("oteldemo-backend %s\n", OTELDEMO_VERSION);
                return EXIT_SUCCESS;
        case _BACKEND_ACTION_INVALID:
                fprintf(stderr, "Try 'oteldemo-backend --help'.\n");
                return BACKEND_EXIT_USAGE;
        default:
                break;
        }

        /* Before any thread exists, so that all inherit the mask and only the main loop takes them. */
        r = service_signals_block();
        if (r < 0) {
                otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot block signals: %m");
                return EXIT_FAILURE;
        }

        r = backend_config_load(d.config_path, &d.config, error);
        if (r < 0) {
                otel_log(OTEL_SEVERITY_ERROR, "Invalid configuration: %s", error);
                return CONFIG_EXIT_INVALID;
        }
        if (action == BACKEND_CHECK_CONFIG) {
                printf("%s: configuration OK\n", d.config_path);
                backend_config_free(&d.config);
                return EXIT_SUCCESS;
        }
        if (action == BACKEND_MIGRATE) {
                otel_log_set_level(d.config.telemetry.log_level);
                r = shop_migrate(d.config.conninfo, d.config.migrations_dir);
                if (r < 0)
                        otel_log_errno(OTEL_SEVERITY_ERROR, r, "Migrations from %s failed: %m",
                                       d.config.migrations_dir);
                backend_config_free(&d.config);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        r = backend_serve(&d);
        backend_daemon_close(&d);
        if (r >= 0)
                otel_log(OTEL_SEVERITY_INFO, "Stopped");
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
