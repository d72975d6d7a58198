/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: a span processor that keeps every ended span, installed into the global provider
 * after otel_sdk_init() (OTEL_TRACES_EXPORTER=none), so tests can read what the SDK recorded. */
#pragma once

#include <stdlib.h>

#include "processor.h"
#include "provider.h"
#include "span.h"

#define CAPTURE_MAX 64

typedef struct capture {
        otel_span_processor base; /* must be first */
        otel_span *spans[CAPTURE_MAX];
        size_t n;
} capture;

static void capture_on_end(otel_span_processor *p, otel_span *span)
{
        capture *c = (capture *)p;
        if (c->n < CAPTURE_MAX)
                c->spans[c->n++] = otel_span_ref(span);
}

static int capture_flush(otel_span_processor *p, uint64_t deadline)
{
        (void)p;
        (void)deadline;
        return 0;
}

static int capture_shutdown(otel_span_processor *p, uint64_t deadline)
{
        capture *c = (capture *)p;
        (void)deadline;
        for (size_t i = 0; i < c->n; i++)
                otel_span_unref(c->spans[i]);
        free(c);
        return 0;
}

/* Initialises the SDK with env already set by the caller and installs a capture processor. */
static inline capture *capture_install(void)
{
        capture *c = calloc(1, sizeof(*c));
        /* Only the trace signal is under test: no metrics or logs pushed anywhere. */
        setenv("OTEL_METRICS_EXPORTER", "none", 1);
        setenv("OTEL_LOGS_EXPORTER", "none", 1);
        if (!c || otel_sdk_init(NULL) < 0)
                abort();
        c->base.on_end = capture_on_end;
        c->base.force_flush = capture_flush;
        c->base.shutdown = capture_shutdown;
        otel_provider_global.processors[otel_provider_global.n_processors++] = &c->base;
        return c;
}
