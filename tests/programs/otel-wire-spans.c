/* SPDX-License-Identifier: Apache-2.0 */
/* Exports a known set of spans through the public API only (otel.h), configured by the OTEL_*
 * environment the test sets, and prints one JSON line describing what it created, so that
 * tests/integration/test_otlp_wire.py can compare every field the independent receiver decoded:
 *   server    SERVER span, child of a remote parent (fixed traceparent + tracestate), every attribute
 *             type, an event with attributes, a link with attributes, an exception, ERROR status;
 *   client    CLIENT child of server;
 *   internal  INTERNAL root span under a second instrumentation scope.
 * Exit status: 0, or 1 when the SDK fails to initialise or to shut down in time. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otel.h"

#define WIRE_TRACEPARENT      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define WIRE_TRACESTATE       "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
#define WIRE_LINK_TRACEPARENT "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
#define WIRE_LINK_TRACESTATE  "linkvendor=abc"
#define WIRE_SHUTDOWN_MS      5000
/* Span times are explicit so that the test can check them to the nanosecond; they sit a second in
 * the past so that every end time is before "now". */
#define WIRE_BACKDATE_NS 1000000000ull

static const char *const tags[] = {"alpha", "beta", ""};
static const bool bools[] = {true, false, true};
/* 2^53 + 1 is not representable as a double: a decoder that went through a JS number would fail. */
static const int64_t ints[] = {1, -2, 9007199254740993LL, INT64_MIN};
static const double doubles[] = {1.5, -0.125, 1e300};

typedef struct wire_span {
        const char *label;    /* key in the printed JSON */
        otel_span *span;      /* the caller's reference, released by ending the span */
        otel_span_context sc; /* copied at start: the span may be freed once ended */
        uint64_t start_ns;
        uint64_t end_ns;
} wire_span;

static int remote_context(const char *traceparent, const char *tracestate, otel_span_context *ret_sc,
                          otel_tracestate **ret_ts)
{
        int r = otel_traceparent_parse(traceparent, strlen(traceparent), ret_sc);
        if (r < 0)
                return r;
        ret_sc->is_remote = true; /* what a propagator's extract does */
        return otel_tracestate_parse(tracestate, strlen(tracestate), ret_ts);
}

static void print_span(const wire_span *w, bool last)
{
        const otel_span_context *sc = &w->sc;
        char trace_hex[OTEL_TRACE_ID_HEX + 1], span_hex[OTEL_SPAN_ID_HEX + 1];

        otel_trace_id_to_hex(sc->trace_id, trace_hex);
        otel_span_id_to_hex(sc->span_id, span_hex);
        printf("\"%s\":{\"trace_id\":\"%s\",\"span_id\":\"%s\",\"trace_flags\":%u,"
               "\"start_ns\":\"%" PRIu64 "\",\"end_ns\":\"%" PRIu64 "\"}%s",
               w->label, trace_hex, span_hex, sc->trace_flags, w->start_ns, w->end_ns, last ? "" : ",");
}

int main(void)
{
        otel_span_context parent_sc, link_sc;
        otel_tracestate *parent_ts = NULL, *link_ts = NULL;
        otel_tracer *tracer, *jobs_tracer;
        otel_span *remote_parent;
        uint64_t t0, event_ns;
        wire_span spans[3];
        int r;

        r = otel_sdk_init(
                &(otel_sdk_options){.service_name = "wire-default-name", .service_version = "9.8.7"});
        if (r < 0) {
                fprintf(stderr, "otel_sdk_init: %s\n", strerror(-r));
                return 1;
        }
        if (remote_context(WIRE_TRACEPARENT, WIRE_TRACESTATE, &parent_sc, &parent_ts) < 0 ||
            remote_context(WIRE_LINK_TRACEPARENT, WIRE_LINK_TRACESTATE, &link_sc, &link_ts) < 0) {
                fprintf(stderr, "cannot parse the fixed trace contexts\n");
                return 1;
        }

        tracer = otel_tracer_get("oteldemo.wire", "1.4.2");
        jobs_tracer = otel_tracer_get("oteldemo.wire.jobs", "0.3.0");
        t0 = otel_time_now_ns() - WIRE_BACKDATE_NS;
        event_ns = t0 + 1500;

        /* SERVER: remote parent, every attribute type at start, one link. */
        const otel_attr server_attrs[] = {
                OTEL_ATTR_STR("http.request.method", "GET"),
                OTEL_ATTR_STR("text.unicode", "h\xc3\xa9llo \xe2\x9c\x93"),
                OTEL_ATTR_I64("http.response.status_code", 503),
                OTEL_ATTR_I64("int.min", INT64_MIN),
                OTEL_ATTR_F64("ratio", 0.25),
                OTEL_ATTR_BOOLV("retry", true),
                OTEL_ATTR_BOOLV("cached", false),
                OTEL_ATTR_ARRAY("array.strings", OTEL_ATTR_STRING_ARRAY, tags, 3),
                OTEL_ATTR_ARRAY("array.bools", OTEL_ATTR_BOOL_ARRAY, bools, 3),
                OTEL_ATTR_ARRAY("array.ints", OTEL_ATTR_INT_ARRAY, ints, 4),
                OTEL_ATTR_ARRAY("array.doubles", OTEL_ATTR_DOUBLE_ARRAY, doubles, 3),
        };
        const otel_attr link_attrs[] = {OTEL_ATTR_STR("link.reason", "retry-of"),
                                        OTEL_ATTR_I64("link.attempt", 2)};
        const otel_link link = {
                .context = link_sc, .tracestate = link_ts, .attrs = link_attrs, .n_attrs = 2};
        const otel_attr event_attrs[] = {OTEL_ATTR_STR("order.id", "o-42"),
                                         OTEL_ATTR_F64("order.total", 99.5)};

        remote_parent = otel_span_wrap_context(&parent_sc, parent_ts);
        spans[0] = (wire_span){.label = "server", .start_ns = t0, .end_ns = t0 + 9000};
        spans[0].span = otel_span_start(
                tracer, "GET /api/orders/{id}", OTEL_SPAN_KIND_SERVER,
                &(otel_span_start_opts){.parent = remote_parent,
                                        .attrs = server_attrs,
                                        .n_attrs = sizeof(server_attrs) / sizeof(server_attrs[0]),
                                        .links = &link,
                                        .n_links = 1,
                                        .start_time_ns = spans[0].start_ns});
        spans[0].sc = *otel_span_get_context(spans[0].span);
        otel_span_add_event_at(spans[0].span, "order.validated", event_ns, event_attrs, 2);
        otel_span_record_exception(spans[0].span, "StockError", "out of stock", NULL);
        otel_span_set_status(spans[0].span, OTEL_STATUS_ERROR, "payment declined");

        /* CLIENT: local child of server, attributes set after start. */
        spans[1] = (wire_span){.label = "client", .start_ns = t0 + 2000, .end_ns = t0 + 5000};
        spans[1].span = otel_span_start(
                tracer, "POST /payments", OTEL_SPAN_KIND_CLIENT,
                &(otel_span_start_opts){.parent = spans[0].span, .start_time_ns = spans[1].start_ns});
        spans[1].sc = *otel_span_get_context(spans[1].span);
        otel_span_set_str(spans[1].span, "peer.service", "payments");
        otel_span_set_int(spans[1].span, "http.response.status_code", 200);
        otel_span_end_at(spans[1].span, spans[1].end_ns);
        otel_span_end_at(spans[0].span, spans[0].end_ns);

        /* INTERNAL: a new trace under the second scope. */
        spans[2] = (wire_span){.label = "internal", .start_ns = t0 + 10000, .end_ns = t0 + 12000};
        spans[2].span =
                otel_span_start(jobs_tracer, "cleanup", OTEL_SPAN_KIND_INTERNAL,
                                &(otel_span_start_opts){.root = true, .start_time_ns = spans[2].start_ns});
        spans[2].sc = *otel_span_get_context(spans[2].span);
        otel_span_set_double(spans[2].span, "job.ratio", 0.5);
        otel_span_set_bool(spans[2].span, "job.dry_run", false);
        otel_span_end_at(spans[2].span, spans[2].end_ns);

        printf("{\"pid\":%ld,\"event_ns\":\"%" PRIu64 "\",\"remote_parent_span_id\":\"%s\",\"spans\":{",
               (long)getpid(), event_ns, "00f067aa0ba902b7");
        for (size_t i = 0; i < 3; i++)
                print_span(&spans[i], i == 2);
        printf("}}\n");
        fflush(stdout);

        otel_span_unref(remote_parent);
        otel_tracestate_unref(parent_ts);
        otel_tracestate_unref(link_ts);

        r = otel_sdk_shutdown(WIRE_SHUTDOWN_MS);
        if (r < 0) {
                fprintf(stderr, "otel_sdk_shutdown: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
