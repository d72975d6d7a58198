/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffer with a growth cap (see otel_buf in otel.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otel.h"

#define OTEL_BUF_MIN_CAP 256

static size_t buf_max(const otel_buf *b)
{
        return b->max ? b->max : OTEL_BUF_DEFAULT_MAX;
}

int otel_buf_reserve(otel_buf *b, size_t extra)
{
        size_t need, cap;
        uint8_t *p;

        /* +1 keeps room for the terminating NUL that text users rely on. */
        if (extra > buf_max(b) || b->len > buf_max(b) - extra)
                return -E2BIG;
        need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;
        cap = b->cap ? b->cap : OTEL_BUF_MIN_CAP;
        while (cap < need)
                cap *= 2;
        p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = cap;
        return 0;
}

int otel_buf_append(otel_buf *b, const void *p, size_t n)
{
        int r = otel_buf_reserve(b, n);
        if (r < 0)
                return r;
        if (n)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
        return 0;
}

int otel_buf_appendf(otel_buf *b, const char *fmt, ...)
{
        va_list ap;
        int n, r;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        r = otel_buf_reserve(b, (size_t)n);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
        return 0;
}

void otel_buf_reset(otel_buf *b)
{
        b->len = 0;
        if (b->data)
                b->data[0] = 0;
}

void otel_buf_free(otel_buf *b)
{
        if (!b)
                return;
        free(b->data);
        *b = (otel_buf){.max = b->max};
}
