/* SPDX-License-Identifier: Apache-2.0 */
/* The frontend's run-time state and main-loop callbacks (see frontend-daemon.h). */
#include "frontend-daemon.h"

#include <json-c/json.h>
#include <stdio.h>

#include "api-routes.h"
#include "cleanup.h"
#include "notify.h"
#include "trace-view.h"

/* How long the 503s of exchanges cut off at shutdown may take to be sent. */
#define FRONTEND_ABORTED_REPLY_MS 1000u

int frontend_daemon_config_load(void *userdata, const char *path, char *ret_error)
{
        frontend_daemon *fe = userdata;

        fe->config_path = path;
        return frontend_config_load(path, &fe->config, ret_error);
}

const telemetry_config *frontend_daemon_telemetry(void *userdata)
{
        frontend_daemon *fe = userdata;

        return &fe->config.telemetry;
}

/* GET /ui-config.json: what the page cannot know by itself. */
static void frontend_ui_config(http_request *req, void *userdata)
{
        const frontend_daemon *fe = userdata;
        _cleanup_json_ json_object *obj = json_object_new_object();

        if (!obj ||
            json_object_object_add(obj, "jaeger_url",
                                   fe->config.jaeger_url ? json_object_new_string(fe->config.jaeger_url)
                                                         : NULL) < 0) {
                (void)http_reply_error(req, 500, "out of memory");
                return;
        }
        (void)http_reply_header(req, "Cache-Control", "no-cache");
        (void)http_reply_json(req, 200, TAKE_PTR(obj));
}

static int frontend_daemon_routes(frontend_daemon *fe)
{
        int r;

        r = api_routes_register(fe->http, proxy_handle, fe->proxy);
        if (r >= 0)
                r = trace_view_register(fe->http, &fe->config.backend);
        if (r >= 0)
                r = http_server_route(fe->http, "GET", "/ui-config.json", frontend_ui_config, fe);
        if (r < 0)
                return r;
        return http_server_route(fe->http, "GET", "/*", static_site_handle, fe->site);
}

int frontend_daemon_open(void *userdata, http_server **ret_http, const http_server_config **ret_server)
{
        frontend_daemon *fe = userdata;
        int listen_fd, r;

        r = static_site_new(fe->config.www_dir, &fe->site);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot serve www_dir %s: %m",
                                      fe->config.www_dir);
        r = proxy_new(&fe->config.backend, fe->config.server.threads, &fe->proxy);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot set up the backend proxy: %m");
        r = notify_listen_fd(&listen_fd);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r,
                                      "Expected exactly one socket from systemd: %m");
        r = http_server_new(&(http_server_options){.config = &fe->config.server,
                                                   .listen_fd = listen_fd,
                                                   .scope_name = FRONTEND_SERVICE_NAME,
                                                   .scope_version = OTELDEMO_VERSION,
                                                   .ready = proxy_ready,
                                                   .ready_userdata = fe->proxy,
                                                   .worker_hooks = &proxy_worker_hooks,
                                                   .worker_userdata = fe->proxy},
                            &fe->http);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot create the HTTP server: %m");
        r = frontend_daemon_routes(fe);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot register the routes: %m");
        otel_log(OTEL_SEVERITY_INFO, "Serving %s, backend %s", static_site_root(fe->site),
                 fe->config.backend.backend_url);
        *ret_http = fe->http;
        *ret_server = &fe->config.server;
        return 0;
}

/* SIGHUP: the whole file must still be valid; then the log level, the sampler and the TLS certificate
 * take effect. */
int frontend_daemon_reload(void *userdata)
{
        frontend_daemon *fe = userdata;
        char error[CONFIG_ERROR_MAX] = "";
        frontend_config fresh;
        int r;

        r = frontend_config_load(fe->config_path, &fresh, error);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r,
                                      "Invalid configuration, keeping the previous settings: %s", error);
        telemetry_reload(&fe->config.telemetry, &fresh.telemetry);
        (void)http_server_tls_reload(fe->http, &fresh.server); /* logs what it did */
        frontend_config_free(&fresh);
        return 0;
}

int frontend_daemon_probe(void *userdata, unsigned timeout_ms)
{
        frontend_daemon *fe = userdata;

        return http_server_probe(fe->http, timeout_ms);
}

void frontend_daemon_status(void *userdata, char *buf, size_t size)
{
        frontend_daemon *fe = userdata;
        uint64_t completed;
        unsigned in_flight;

        http_server_stats(fe->http, &completed, &in_flight);
        snprintf(buf, size, "Serving on %s: %llu requests, %u in flight", http_server_address(fe->http),
                 (unsigned long long)completed, in_flight);
}

void frontend_daemon_close(void *userdata)
{
        frontend_daemon *fe = userdata;

        /* What the drain left waiting for the backend is answered 503 and resumed, then given a moment
         * to go out, so that no request is still suspended when the server stops. */
        if (fe->http) {
                http_server_abort_deferred(fe->http);
                (void)http_server_drain(fe->http, FRONTEND_ABORTED_REPLY_MS);
        }
        http_server_free(fe->http);
        fe->http = NULL;
        proxy_free(fe->proxy);
        fe->proxy = NULL;
        static_site_free(fe->site);
        fe->site = NULL;
        frontend_config_free(&fe->config);
}
