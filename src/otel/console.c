/* SPDX-License-Identifier: Apache-2.0 */
/* Console span exporter (OTEL_TRACES_EXPORTER=console): one OTLP/JSON span object per line, for
 * debugging without a collector. Runs under the simple processor, which serialises calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "exporter.h"
#include "otlp.h"

typedef struct console_exporter {
        otel_span_exporter base;  /* must be first */
        const otel_resource *res; /* borrowed from the provider */
        FILE *out;                /* where lines go */
        otel_buf line;            /* reused between spans */
} console_exporter;

static int console_export(otel_span_exporter *e, otel_span *const *spans, size_t n, uint64_t deadline_ns)
{
        console_exporter *c = (console_exporter *)e;
        int ret = 0;

        (void)deadline_ns;
        for (size_t i = 0; i < n; i++) {
                int r;

                otel_buf_reset(&c->line);
                r = otlp_span_encode_json(c->res, spans[i], &c->line);
                if (r >= 0)
                        r = otel_buf_append(&c->line, "\n", 1);
                if (r < 0) {
                        ret = r;
                        continue;
                }
                /* One fwrite per line keeps lines whole when other threads write to stderr. */
                if (fwrite(c->line.data, 1, c->line.len, c->out) != c->line.len)
                        ret = -EIO;
        }
        fflush(c->out);
        return ret;
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
