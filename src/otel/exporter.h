/* SPDX-License-Identifier: Apache-2.0 */
/* Span exporter interface (SDK spec "SpanExporter"): export one batch at a time, never concurrently;
 * shutdown releases resources. Deadlines are CLOCK_MONOTONIC nanoseconds. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "otel.h"
#include "resource.h"

typedef struct otel_span_exporter otel_span_exporter;

struct otel_span_exporter {
        /* 0 when the receiver accepted the batch (partial success included), negative errno otherwise */
        int (*export_spans)(otel_span_exporter *e, otel_span *const *spans, size_t n, uint64_t deadline_ns);
        void (*free)(otel_span_exporter *e); /* accepts NULL e->... never called twice */
};

static inline void otel_span_exporter_free(otel_span_exporter *e)
{
        if (e)
                e->free(e);
}

/* OTLP over HTTP, configured from OTEL_EXPORTER_OTLP_[TRACES_]* (otlp-trace-exporter.c). */
int otel_otlp_span_exporter_new(const otel_resource *res, otel_span_exporter **ret) OTEL_WUR;
/* One JSON span per line (OTLP JSON shape of the span) on the given stream (console.c). */
int otel_console_span_exporter_new(const otel_resource *res, void *stream /* FILE * */,
                                   otel_span_exporter **ret) OTEL_WUR;
