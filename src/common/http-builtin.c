/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The endpoints every daemon serves: /healthz (the process answers), /readyz (its dependencies answer,
 * through the daemon's check), /metrics (Prometheus text, or OpenMetrics when asked for) and
 * /debug/tracez (the in-process span view, HTML or JSON).
 */
#include "http-private.h"

#include <string.h>
#include <strings.h>

#define HTTP_READY_REASON_MAX 256u

static void http_healthz(http_request *req, void *userdata)
{
        (void)userdata;
        http_reply(req, MHD_HTTP_OK, "application/json", "{\"status\":\"ok\"}",
                   strlen("{\"status\":\"ok\"}"));
}

static void http_readyz(http_request *req, void *userdata)
{
        http_server *s = userdata;
        char reason[HTTP_READY_REASON_MAX] = "";

        if (s->ready && s->ready(s->ready_userdata, reason, sizeof(reason)) < 0) {
                http_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: %s",
                                 reason[0] ? reason : "a dependency does not answer");
                return;
        }
        http_reply(req, MHD_HTTP_OK, "application/json", "{\"status\":\"ready\"}",
                   strlen("{\"status\":\"ready\"}"));
}

/* Whether an Accept header lists media type (ignoring parameters and q-values: a client that names
 * it at all can parse it). */
static bool http_accepts(const char *accept, const char *type)
{
        size_t n = strlen(type);

        for (const char *p = accept; p && *p;) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (strncasecmp(p, type, n) == 0 &&
                    (p[n] == '\0' || p[n] == ';' || p[n] == ',' || p[n] == ' '))
                        return true;
                p = strchr(p, ',');
        }
        return false;
}

static void http_metrics(http_request *req, void *userdata)
{
        bool openmetrics = http_accepts(http_request_header(req, "Accept"), "application/openmetrics-text");
        char *text = NULL;
        size_t len = 0;
        int r;

        (void)userdata;
        r = otel_metrics_render_prometheus(openmetrics, &text, &len);
        if (r < 0) {
                otel_log_errno(OTEL_SEVERITY_ERROR, r, "Failed to render metrics: %m");
                http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics");
                return;
        }
        http_reply_take(req, MHD_HTTP_OK, otel_metrics_prometheus_content_type(openmetrics), text, len);
}

static void http_tracez(http_request *req, void *userdata)
{
        const char *format = http_request_query(req, "format");
        bool json = (format && strcmp(format, "json") == 0) ||
                    (!format && http_accepts(http_request_header(req, "Accept"), "application/json"));
        char *text = NULL;
        size_t len = 0;
        int r;

        (void)userdata;
        r = otel_tracez_render(json, http_request_query(req, "name"), http_request_query(req, "bucket"),
                               &text, &len);
        if (r == -EINVAL) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid tracez query");
                return;
        }
        if (r < 0) {
                otel_log_errno(OTEL_SEVERITY_ERROR, r, "Failed to render tracez: %m");
                http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render tracez");
                return;
        }
        http_reply_take(req, MHD_HTTP_OK, json ? "application/json" : "text/html; charset=utf-8", text, len);
}

int http_builtin_register(http_server *s)
{
        int r;

        if ((r = http_router_add(s->router, "GET", "/healthz", http_healthz, s)) < 0 ||
            (r = http_router_add(s->router, "GET", "/readyz", http_readyz, s)) < 0 ||
            (r = http_router_add(s->router, "GET", "/metrics", http_metrics, s)) < 0 ||
            (r = http_router_add(s->router, "GET", "/debug/tracez", http_tracez, s)) < 0)
                return r;
        return 0;
}
