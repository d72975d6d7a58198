/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo-frontend: serves the web shop (www/) and proxies /api/... to oteldemo-backend, traced end to
 * end. Reads the config, starts telemetry, opens the static site and the proxy, serves until SIGTERM,
 * then drains and flushes.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-routes.h"
#include "frontend-config.h"
#include "notify.h"
#include "otel.h"
#include "proxy.h"
#include "service.h"
#include "static.h"
#include "trace-view.h"

#define FRONTEND_FLUSH_TIMEOUT_MS 5000u
#define FRONTEND_EXIT_FAILURE     1

typedef struct frontend {
        const char *config_path;
        frontend_config config;
        http_server *server;
        proxy *proxy;
        static_site *site;
} frontend;

static void frontend_usage(FILE *f)
{
        fprintf(f,
                "Usage: oteldemo-frontend [OPTIONS]\n"
                "The oteldemo web shop: serves the UI and proxies /api/* to oteldemo-backend.\n\n"
                "Options:\n"
                "  --config PATH    configuration file (default " FRONTEND_DEFAULT_CONFIG ")\n"
                "  --check-config   validate the configuration and exit (0, or 78 when invalid)\n"
                "  --version        print the version and exit\n"
                "  --help           print this help and exit\n\n"
                "%s\n"
                "Endpoints: / (the shop), /api/* (backend), /ui-config.json, /healthz, /readyz (the "
                "backend\n"
                "answers), /metrics, /debug/tracez, /debug/trace/TRACE_ID and /debug/backend/tracez\n"
                "(the shop's tracez pages: #/tracez, #/trace/TRACE_ID).\n",
                frontend_config_help);
}

/* GET /ui-config.json: what the page cannot know by itself. */
static void frontend_ui_config(http_request *req, void *userdata)
{
        const frontend *fe = userdata;
        json_object *obj = json_object_new_object();

        if (!obj ||
            json_object_object_add(obj, "jaeger_url",
                                   fe->config.jaeger_url ? json_object_new_string(fe->config.jaeger_url)
                                                         : NULL) < 0) {
                json_object_put(obj);
                (void)http_reply_error(req, 500, "out of memory");
                return;
        }
        (void)http_reply_header(req, "Cache-Control", "no-cache");
        (void)http_reply_json(req, 200, obj);
}

static int frontend_reload(void *userdata)
{
        frontend *fe = userdata;
        char error[CONFIG_ERROR_MAX] = "";
        frontend_config fresh;
        int r;

        r = frontend_config_load(fe->config_path, &fresh, error);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Reload: %s",
                                      error[0] ? error : "cannot read the config");
        telemetry_reload(&fe->config.telemetry, &fresh.telemetry);
        frontend_config_free(&fresh);
        return 0;
}

static int frontend_probe(void *userdata, unsigned timeout_ms)
{
        frontend *fe = userdata;

        return http_server_probe(fe->server, timeout_ms);
}

static void frontend_status(void *userdata, char *buf, size_t size)
{
        frontend *fe = userdata;
        uint64_t completed;
        unsigned in_flight;

        http_server_stats(fe->server, &completed, &in_flight);
        snprintf(buf, size, "Serving on %s: %llu requests, %u in flight", http_server_address(fe->server),
                 (unsigned long long)completed, in_flight);
}

static int frontend_routes(frontend *fe)
{
        int r;

        if ((r = api_routes_register(fe->server, proxy_handle, fe->proxy)) < 0 ||
            (r = trace_view_register(fe->server, &fe->config.backend)) < 0 ||
            (r = http_server_route(fe->server, "GET", "/ui-config.json", frontend_ui_config, fe)) < 0 ||
            (r = http_server_route(fe->server, "GET", "/*", static_site_handle, fe->site)) < 0)
                return r;
        return 0;
}

static int frontend_start(frontend *fe)
{
        http_server_options opts = {
                .config = &fe->config.server,
                .scope_name = FRONTEND_SERVICE_NAME,
                .scope_version = OTELDEMO_VERSION,
                .ready = proxy_ready,
        };
        int listen_fd, r;

        r = static_site_new(fe->config.www_dir, &fe->site);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot serve www_dir %s: %m",
                                      fe->config.www_dir);
        r = proxy_new(&fe->config.backend, &fe->proxy);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot set up the backend proxy: %m");
        r = notify_listen_fd(&listen_fd);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Bad socket activation: %m");
        opts.listen_fd = listen_fd;
        opts.ready_userdata = fe->proxy;
        r = http_server_new(&opts, &fe->server);
        if (r >= 0)
                r = frontend_routes(fe);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot set up the HTTP server: %m");
        r = http_server_start(fe->server);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot listen on %s: %m",
                                      fe->config.server.listen);
        otel_log(OTEL_SEVERITY_INFO, "Serving %s on http://%s/, backend %s", static_site_root(fe->site),
                 http_server_address(fe->server), fe->config.backend.backend_url);
        return 0;
}

static int frontend_parse_args(int argc, char **argv, frontend *fe, bool *ret_check_only)
{
        enum { OPT_CONFIG = 0x100, OPT_CHECK, OPT_VERSION, OPT_HELP };
        static const struct option options[] = {
                {"config", required_argument, NULL, OPT_CONFIG},
                {"check-config", no_argument, NULL, OPT_CHECK},
                {"version", no_argument, NULL, OPT_VERSION},
                {"help", no_argument, NULL, OPT_HELP},
                {0},
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case OPT_CONFIG:
                        fe->config_path = optarg;
                        break;
                case OPT_CHECK:
                        *ret_check_only = true;
                        break;
                case OPT_VERSION:
                        printf("oteldemo-frontend %s\n", OTELDEMO_VERSION);
                        exit(EXIT_SUCCESS);
                case OPT_HELP:
                        frontend_usage(stdout);
                        exit(EXIT_SUCCESS);
                default:
                        frontend_usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "oteldemo-frontend: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char **argv)
{
        frontend fe = {.config_path = FRONTEND_DEFAULT_CONFIG};
        service_ops ops = {.reload = frontend_reload, .probe = frontend_probe, .status = frontend_status};
        char error[CONFIG_ERROR_MAX] = "";
        bool check_only = false;
        int r, rc = FRONTEND_EXIT_FAILURE;

        if (frontend_parse_args(argc, argv, &fe, &check_only) < 0)
                return 2;
        r = service_signals_block();
        if (r < 0) {
                fprintf(stderr, "oteldemo-frontend: cannot block signals: %s\n", strerror(-r));
                return FRONTEND_EXIT_FAILURE;
        }
        r = frontend_config_load(fe.config_path, &fe.config, error);
        if (r < 0) {
                fprintf(stderr, "oteldemo-frontend: %s\n", error[0] ? error : strerror(-r));
                return CONFIG_EXIT_INVALID;
        }
        if (check_only) {
                printf("%s: configuration OK\n", fe.config_path);
                frontend_config_free(&fe.config);
                return EXIT_SUCCESS;
        }
        r = telemetry_start(&fe.config.telemetry);
        if (r < 0) {
                fprintf(stderr, "oteldemo-frontend: cannot start telemetry: %s\n", strerror(-r));
                frontend_config_free(&fe.config);
                return FRONTEND_EXIT_FAILURE;
        }

        if (frontend_start(&fe) >= 0) {
                (void)notify_ready();
                (void)service_run(&ops, &fe);
                r = http_server_drain(fe.server, fe.config.server.drain_timeout_ms);
                if (r < 0)
                        otel_log(OTEL_SEVERITY_WARN, "Requests still running after %u ms; cutting them off",
                                 fe.config.server.drain_timeout_ms);
                rc = EXIT_SUCCESS;
        }

        http_server_free(fe.server);
        proxy_free(fe.proxy);
        static_site_free(fe.site);
        (void)otel_sdk_shutdown(FRONTEND_FLUSH_TIMEOUT_MS);
        frontend_config_free(&fe.config);
        return rc;
}
