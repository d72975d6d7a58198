/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP/HTTP span exporter (OTEL_TRACES_EXPORTER=otlp): encodes a batch as an ExportTraceServiceRequest
 * (protobuf or JSON), sends it with the OTLP/HTTP transport and reads the ExportTraceServiceResponse
 * for partial success (spec "OTLP/HTTP Response", "Partial Success"). Called by the batch processor's
 * thread, one batch at a time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exporter.h"
#include "otlp-export.h"
#include "otlp.h"
#include "stats.h"
#include "trace_service.pb-c.h"

typedef struct otlp_trace_exporter {
        otel_span_exporter base;  /* must be first */
        const otel_resource *res; /* borrowed from the provider, outlives the exporter */
        otlp_exporter otlp;       /* transport, body, diagnostics */
} otlp_trace_exporter;

static const otlp_signal traces_signal = {
        .env_name = "TRACES",
        .path = "/v1/traces",
        .name = "traces",
        .item_name = "spans",
        .json_rejected_field = "rejectedSpans",
        .response_descriptor =
                &opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor,
};

static int exporter_export(otel_span_exporter *e, otel_span *const *spans, size_t n, uint64_t deadline_ns)
{
        otlp_trace_exporter *x = (otlp_trace_exporter *)e;
        otlp_http_result res;
        size_t rejected;
        int r;

        if (n == 0)
                return 0;
        otel_buf_reset(&x->otlp.body);
        r = x->otlp.protocol == OTLP_PROTOCOL_HTTP_JSON
                    ? otlp_traces_encode_json(x->res, spans, n, &x->otlp.body)
                    : otlp_traces_encode_proto(x->res, spans, n, &x->otlp.body);
        r = otlp_export_encoded_send(&x->otlp, n, r, deadline_ns, &res, &rejected);
        if (r < 0) {
                OTEL_COUNT(spans_export_failed, n); /* logged */
                return r;
        }
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
        otlp_export_done(&x->otlp);
        free(x);
}

int otel_otlp_span_exporter_new(const otel_resource *res, otel_span_exporter **ret)
{
        otlp_trace_exporter *x;
        int r;

        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        r = otlp_export_init(&x->otlp, &traces_signal, &otel_trace_counters_global.export_requests);
        if (r < 0) {
                free(x);
                return r;
        }
        x->base.export_spans = exporter_export;
        x->base.free = exporter_free;
        x->res = res;
        *ret = &x->base;
        return 0;
}
