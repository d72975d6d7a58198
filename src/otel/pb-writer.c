/* SPDX-License-Identifier: Apache-2.0 */
/* The out-of-line part of the OTLP/protobuf writer (pb-writer.h): growing its buffer. */
#include "pb-writer.h"

bool pbw_grow(pb_writer *w, size_t n)
{
        size_t written = pbw_written(w), old_cap = w->buf->cap;
        int r;

        if (w->error)
                return false;
        /* otel_buf_reserve() doubles the allocation and realloc keeps all old bytes where they were;
         * the part already written then moves up to the new end. */
        r = otel_buf_reserve(w->buf, written + n);
        if (r < 0) {
                w->error = r;
                return false;
        }
        memmove(w->buf->data + w->buf->cap - 1 - written, w->buf->data + old_cap - 1 - written, written);
        pbw_set_area(w, written);
        return true;
}
