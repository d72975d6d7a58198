/* SPDX-License-Identifier: Apache-2.0 */
/* Console span exporter (OTEL_TRACES_EXPORTER=console): one OTLP/JSON span object per line, for
 * debugging without a collector. Runs under the simple processor, which serialises calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "otel.h"
#include "exporter.h"
#include "otlp-export.h"
#include "otlp.h"

typedef struct console_exporter {
        otel_span_exporter base;  /* must be first */
        const otel_resource *res; /* borrowed from the provider */
        FILE *out;                /* where lines go */
        otel_buf line;            /* reused between spans */
} console_exporter;

static int span_encode_line(const void *res, const void *span, otel_buf *out)
{
        return otlp_span_encode_json(res, span, out);
}

static int console_export(otel_span_exporter *e, otel_span *const *spans, size_t n, uint64_t deadline_ns)
{
        console_exporter *c = (console_exporter *)e;

        (void)deadline_ns;
        return otlp_console_write(c->out, &c->line, (const void *const *)spans, n, span_encode_line, c->res);
}

static void console_free(otel_span_exporter *e)
{
        console_exporter *c = (console_exporter *)e;

        otel_buf_free(&c->line);
        free(c);
}

int otel_console_span_exporter_new(const otel_resource *res, void *stream, otel_span_exporter **ret)
{
        console_exporter *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->base.export_spans = console_export;
        c->base.free = console_free;
        c->res = res;
        c->out = stream;
        *ret = &c->base;
        return 0;
}
