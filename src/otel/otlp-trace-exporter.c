/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP/HTTP span exporter (OTEL_TRACES_EXPORTER=otlp): encodes a batch as an ExportTraceServiceRequest
 * (protobuf or JSON), sends it with the OTLP/HTTP transport and reads the ExportTraceServiceResponse
 * for partial success (spec "OTLP/HTTP Response", "Partial Success"). Called by the batch processor's
 * thread, one batch at a time. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "diag.h"
#include "exporter.h"
#include "otlp-http.h"
#include "otlp.h"
#include "stats.h"
#include "trace_service.pb-c.h"

#define OTLP_TRACES_SIGNAL "TRACES"
#define OTLP_TRACES_PATH   "/v1/traces"

typedef struct otlp_trace_exporter {
        otel_span_exporter base;          /* must be first */
        const otel_resource *res;         /* borrowed from the provider, outlives the exporter */
        otlp_http *http;                  /* transport, owned */
        otlp_protocol protocol;           /* encoding of requests */
        otel_buf body;                    /* encoded request, reused between batches */
        otlp_log_limiter partial_limiter; /* partial-success warnings */
        otlp_log_limiter encode_limiter;  /* encoder failures */
} otlp_trace_exporter;

/* What the receiver told us it rejected (ExportTracePartialSuccess). */
typedef struct trace_partial {
        int64_t rejected_spans; /* 0 when all were accepted */
        char *error_message;    /* heap, NULL when none */
} trace_partial;

static int partial_from_proto(const uint8_t *body, size_t len, trace_partial *ret)
{
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *resp;
        const Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess *ps;
        int r = 0;

        resp = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(NULL, len,
                                                                                                 body);
        if (!resp)
                return -EBADMSG;
        ps = resp->partial_success;
        if (ps) {
                ret->rejected_spans = ps->rejected_spans;
                if (ps->error_message && ps->error_message[0]) {
                        ret->error_message = strdup(ps->error_message);
                        if (!ret->error_message)
                                r = -ENOMEM;
                }
        }
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(resp, NULL);
        return r;
}

/* OTLP/JSON: int64 may come as a string (the protobuf JSON mapping) or as a number. */
static int partial_from_json(const uint8_t *body, size_t len, trace_partial *ret)
{
        json_tokener *tok = json_tokener_new();
        json_object *root, *ps, *v;
        int r = 0;

        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, (const char *)body, (int)len);
        json_tokener_free(tok);
        if (!root || !json_object_is_type(root, json_type_object)) {
                json_object_put(root);
                return -EBADMSG;
        }
        if (json_object_object_get_ex(root, "partialSuccess", &ps) &&
            json_object_is_type(ps, json_type_object)) {
                if (json_object_object_get_ex(ps, "rejectedSpans", &v)) {
                        errno = 0;
                        ret->rejected_spans = json_object_get_int64(v);
                        if (errno)
                                r = -EBADMSG;
                }
                if (json_object_object_get_ex(ps, "errorMessage", &v) &&
                    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0) {
                        ret->error_message = strdup(json_object_get_string(v));
                        if (!ret->error_message)
                                r = -ENOMEM;
                }
        }
        json_object_put(root);
        return r;
}

static bool content_type_is_json(const char *ct, otlp_protocol protocol)
{
        if (ct && strncasecmp(ct, "application/json", 16) == 0)
                return true;
        if (ct && strncasecmp(ct, "application/x-protobuf", 22) == 0)
                return false;
        return protocol == OTLP_PROTOCOL_HTTP_JSON;
}

/* Reads the 2xx response; returns how many of n spans the receiver rejected. */
static size_t exporter_read_response(otlp_trace_exporter *x, const otlp_http_result *res, size_t n)
{
        trace_partial p = {0};
        uint64_t suppressed = 0;
        char more[80] = "";
        size_t rejected;
        int r;

        /* An empty body is an empty message: full success. */
        if (!res->body || res->body_len == 0)
                return 0;
        r = content_type_is_json(res->content_type, x->protocol)
                    ? partial_from_json(res->body, res->body_len, &p)
                    : partial_from_proto(res->body, res->body_len, &p);
        if (r < 0) {
                /* The receiver accepted the request; an unreadable answer does not unsend it. */
                otel_diag(OTEL_DIAG_DEBUG, "OTLP traces export: cannot read the response (%s)",
                          strerror(-r));
                free(p.error_message);
                return 0;
        }
        rejected = p.rejected_spans <= 0 ? 0 : (uint64_t)p.rejected_spans > n ? n : (size_t)p.rejected_spans;
        /* Spec: a partial success with rejected spans or a message is something the user should see. */
        if ((rejected || p.error_message) &&
            otlp_log_limiter_allow(&x->partial_limiter, otlp_log_key(p.error_message, rejected > 0),
                                   otel_mono_ns(), &suppressed)) {
                if (suppressed)
                        snprintf(more, sizeof(more), " (%" PRIu64 " more like it in the last minute)",
                                 suppressed);
                otel_diag(OTEL_DIAG_WARN, "OTLP traces export: the receiver rejected %zu of %zu spans: %s%s",
                          rejected, n, p.error_message ? p.error_message : "(no message)", more);
        }
        free(p.error_message);
        return rejected;
}

static int exporter_export(otel_span_exporter *e, otel_span *const *spans, size_t n, uint64_t deadline_ns)
{
        otlp_trace_exporter *x = (otlp_trace_exporter *)e;
        otlp_http_result res;
        uint64_t suppressed;
        size_t rejected;
        int r;

        if (n == 0)
                return 0;
        otel_buf_reset(&x->body);
        r = x->protocol == OTLP_PROTOCOL_HTTP_JSON ? otlp_traces_encode_json(x->res, spans, n, &x->body)
                                                   : otlp_traces_encode_proto(x->res, spans, n, &x->body);
        if (r < 0) {
                if (otlp_log_limiter_allow(&x->encode_limiter, (uint64_t)-r, otel_mono_ns(), &suppressed))
                        otel_diag(OTEL_DIAG_WARN, "OTLP traces export: cannot encode %zu spans: %s", n,
                                  strerror(-r));
                OTEL_COUNT(spans_export_failed, n);
                return r;
        }
        r = otlp_http_send(x->http, x->body.data, x->body.len, deadline_ns, &res);
        if (r < 0) {
                OTEL_COUNT(spans_export_failed, n); /* the transport logged why */
                return r;
        }
        rejected = exporter_read_response(x, &res, n);
        OTEL_COUNT(spans_exported, n - rejected);
        if (rejected)
                OTEL_COUNT(spans_export_failed, rejected);
        return 0;
}

static void exporter_free(otel_span_exporter *e)
{
        otlp_trace_exporter *x = (otlp_trace_exporter *)e;

        if (!x)
                return;
        otlp_http_free(x->http);
        otel_buf_free(&x->body);
        free(x);
}

int otel_otlp_span_exporter_new(const otel_resource *res, otel_span_exporter **ret)
{
        otlp_trace_exporter *x;
        otlp_http_config cfg;
        int r;

        r = otlp_http_config_from_env(OTLP_TRACES_SIGNAL, OTLP_TRACES_PATH, &cfg);
        if (r < 0)
                return r;
        cfg.request_counter = &otel_trace_counters_global.export_requests;
        x = calloc(1, sizeof(*x));
        if (!x) {
                otlp_http_config_done(&cfg);
                return -ENOMEM;
        }
        x->base.export_spans = exporter_export;
        x->base.free = exporter_free;
        x->res = res;
        x->protocol = cfg.protocol;
        r = otlp_http_new(&cfg, &x->http);
        if (r < 0) {
                free(x);
                return r;
        }
        *ret = &x->base;
        return 0;
}
