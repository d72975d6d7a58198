/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pb-writer.h - the OTLP/protobuf writer shared by the span and log encoders (otlp-proto.c,
 * otlp-logs.c): messages written back to front, so that every length prefix is known when it is
 * written, plus the messages both signals use (KeyValue/AnyValue attributes, Resource,
 * InstrumentationScope). Field numbers from the published OTLP .proto files (ours in src/proto).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attributes.h"
#include "otel.h"
#include "resource.h"

/* Wire types (protobuf encoding spec). */
#define PB_VARINT 0
#define PB_I64    1
#define PB_LEN    2
#define PB_I32    5

/* Field numbers of common.proto and resource.proto. */
enum {
        F_KV_KEY = 1, /* KeyValue */
        F_KV_VALUE = 2,
        F_ANY_STRING = 1, /* AnyValue (oneof value) */
        F_ANY_BOOL = 2,
        F_ANY_INT = 3,
        F_ANY_DOUBLE = 4,
        F_ANY_ARRAY = 5,
        F_ARRAY_VALUES = 1,        /* ArrayValue */
        F_RESOURCE_ATTRIBUTES = 1, /* Resource */
        F_RESOURCE_DROPPED = 2,
        F_SCOPE_NAME = 1, /* InstrumentationScope */
        F_SCOPE_VERSION = 2,
};

/* ---- back-to-front writer over an otel_buf ----------------------------------------------------- */

/* The message grows down from the end of the buffer's allocation (keeping its last byte for the
 * NUL that otel_buf promises) and is moved to buf->len when complete. Positions are kept as "bytes
 * written so far" because the allocation moves when it grows. The first error sticks; writes after
 * it are dropped. Every write checks its room with one comparison and copies without a libc call,
 * except for strings. */
typedef struct pb_writer {
        otel_buf *buf;  /* output; bytes below buf->len belong to the caller */
        uint8_t *floor; /* buf->data + buf->len: lowest byte we may write */
        uint8_t *top;   /* end of the writable area (the byte before the NUL slot) */
        uint8_t *cur;   /* first byte written so far */
        int error;      /* first failure, 0 if none */
} pb_writer;

static inline size_t pbw_written(const pb_writer *w)
{
        return (size_t)(w->top - w->cur);
}

static inline void pbw_set_area(pb_writer *w, size_t written)
{
        w->floor = w->buf->data + w->buf->len;
        w->top = w->buf->data + w->buf->cap - 1;
        w->cur = w->top - written;
}

/* The slow path of pbw_room: a larger allocation, the part written moved to its new end. */
bool pbw_grow(pb_writer *w, size_t n);

/* Room for n more bytes below cur. */
static inline bool pbw_room(pb_writer *w, size_t n)
{
        if (__builtin_expect((size_t)(w->cur - w->floor) >= n, 1))
                return true;
        return pbw_grow(w, n);
}

static inline int pbw_init(pb_writer *w, otel_buf *buf, size_t guess)
{
        int r = otel_buf_reserve(buf, guess);
        if (r < 0)
                return r;
        *w = (pb_writer){.buf = buf};
        pbw_set_area(w, 0);
        return 0;
}

/* Moves the finished message down to buf->len. */
static inline int pbw_finish(pb_writer *w)
{
        size_t n;

        if (w->error)
                return w->error;
        n = pbw_written(w);
        memmove(w->floor, w->cur, n);
        w->buf->len += n;
        w->buf->data[w->buf->len] = 0;
        return 0;
}

static inline size_t pb_varint_size(uint64_t v)
{
        size_t n = 1;

        while (v >= 0x80) {
                v >>= 7;
                n++;
        }
        return n;
}

static inline void pbw_bytes(pb_writer *w, const void *p, size_t n)
{
        if (!pbw_room(w, n))
                return;
        w->cur -= n;
        memcpy(w->cur, p, n);
}

static inline void pbw_varint(pb_writer *w, uint64_t v)
{
        size_t n = pb_varint_size(v);
        uint8_t *p;

        if (!pbw_room(w, n))
                return;
        w->cur -= n;
        for (p = w->cur; v >= 0x80; v >>= 7)
                *p++ = (uint8_t)(v | 0x80);
        *p = (uint8_t)v;
}

static inline void pbw_tag(pb_writer *w, unsigned field, unsigned wire_type)
{
        uint32_t tag = field << 3 | wire_type;

        if (tag < 0x80 && pbw_room(w, 1))
                *--w->cur = (uint8_t)tag;
        else
                pbw_varint(w, tag);
}

/* Closes a length-delimited field whose payload was written since mark. */
static inline void pbw_close(pb_writer *w, unsigned field, size_t mark)
{
        pbw_varint(w, pbw_written(w) - mark);
        pbw_tag(w, field, PB_LEN);
}

static inline void pbw_len_field(pb_writer *w, unsigned field, const void *p, size_t n)
{
        size_t mark = pbw_written(w);
        pbw_bytes(w, p, n);
        pbw_close(w, field, mark);
}

/* A proto3 string field: left out when empty. */
static inline void pbw_string(pb_writer *w, unsigned field, const char *s)
{
        if (s && s[0])
                pbw_len_field(w, field, s, strlen(s));
}

static inline void pbw_uint(pb_writer *w, unsigned field, uint64_t v)
{
        if (v) {
                pbw_varint(w, v);
                pbw_tag(w, field, PB_VARINT);
        }
}

static inline void pbw_fixed64(pb_writer *w, unsigned field, uint64_t v)
{
        if (pbw_room(w, 8)) {
                w->cur -= 8;
                for (size_t i = 0; i < 8; i++)
                        w->cur[i] = (uint8_t)(v >> (8 * i)); /* little-endian on the wire */
        }
        pbw_tag(w, field, PB_I64);
}

static inline void pbw_fixed32(pb_writer *w, unsigned field, uint32_t v)
{
        if (pbw_room(w, 4)) {
                w->cur -= 4;
                for (size_t i = 0; i < 4; i++)
                        w->cur[i] = (uint8_t)(v >> (8 * i));
        }
        pbw_tag(w, field, PB_I32);
}

static inline void pbw_double(pb_writer *w, unsigned field, double d)
{
        uint64_t bits;

        memcpy(&bits, &d, sizeof(bits));
        pbw_fixed64(w, field, bits);
}

/* Trace and span ids: fixed sizes, so the copies are inlined. */
static inline void pbw_id_field(pb_writer *w, unsigned field, const uint8_t *id, size_t n)
{
        if (pbw_room(w, n + 2)) {
                w->cur -= n;
                if (n == OTEL_TRACE_ID_SIZE)
                        memcpy(w->cur, id, OTEL_TRACE_ID_SIZE);
                else
                        memcpy(w->cur, id, OTEL_SPAN_ID_SIZE);
                *--w->cur = (uint8_t)n;
                *--w->cur = (uint8_t)(field << 3 | PB_LEN);
        }
}

/* ---- attributes ------------------------------------------------------------------------------ */

/* The AnyValue payload of item i of an array attribute: a set oneof member is written even when it
 * holds the default value. */
static inline void pbw_array_item(pb_writer *w, otel_attr_type type, const void *items, size_t i)
{
        switch (type) {
        case OTEL_ATTR_STRING_ARRAY: {
                const char *s = ((const char *const *)items)[i];
                pbw_len_field(w, F_ANY_STRING, s ? s : "", s ? strlen(s) : 0);
                break;
        }
        case OTEL_ATTR_BOOL_ARRAY:
                pbw_varint(w, ((const bool *)items)[i]);
                pbw_tag(w, F_ANY_BOOL, PB_VARINT);
                break;
        case OTEL_ATTR_INT_ARRAY:
                pbw_varint(w, (uint64_t)((const int64_t *)items)[i]); /* int64: two's complement, 10 bytes */
                pbw_tag(w, F_ANY_INT, PB_VARINT);
                break;
        default: /* OTEL_ATTR_DOUBLE_ARRAY */
                pbw_double(w, F_ANY_DOUBLE, ((const double *)items)[i]);
                break;
        }
}

static inline void pbw_any_value(pb_writer *w, const otel_attr *a)
{
        size_t mark;

        switch (a->type) {
        case OTEL_ATTR_STRING:
                pbw_len_field(w, F_ANY_STRING, a->v.s ? a->v.s : "", a->v.s ? strlen(a->v.s) : 0);
                return;
        case OTEL_ATTR_BOOL:
                pbw_varint(w, a->v.b);
                pbw_tag(w, F_ANY_BOOL, PB_VARINT);
                return;
        case OTEL_ATTR_INT:
                pbw_varint(w, (uint64_t)a->v.i);
                pbw_tag(w, F_ANY_INT, PB_VARINT);
                return;
        case OTEL_ATTR_DOUBLE:
                pbw_double(w, F_ANY_DOUBLE, a->v.d);
                return;
        case OTEL_ATTR_STRING_ARRAY:
        case OTEL_ATTR_BOOL_ARRAY:
        case OTEL_ATTR_INT_ARRAY:
        case OTEL_ATTR_DOUBLE_ARRAY:
                mark = pbw_written(w);
                for (size_t i = a->v.array.n; i-- > 0;) {
                        size_t item = pbw_written(w);
                        pbw_array_item(w, a->type, a->v.array.items, i);
                        pbw_close(w, F_ARRAY_VALUES, item);
                }
                pbw_close(w, F_ANY_ARRAY, mark);
                return;
        default:
                /* stored lists only hold valid types; an unknown one is sent as an empty AnyValue */
                return;
        }
}

/* repeated KeyValue <field>: written last to first so that they arrive in list order. */
static inline void pbw_attrs(pb_writer *w, unsigned field, const otel_attr *items, size_t n)
{
        for (size_t i = n; i-- > 0;) {
                size_t kv = pbw_written(w), value;

                value = pbw_written(w);
                pbw_any_value(w, &items[i]);
                pbw_close(w, F_KV_VALUE, value);
                pbw_string(w, F_KV_KEY, items[i].key);
                pbw_close(w, field, kv);
        }
}

/* ---- resource and scope ---------------------------------------------------------------------- */

/* A Resource message as field <field> (empty when res is NULL). */
static inline void pbw_resource(pb_writer *w, unsigned field, const otel_resource *res)
{
        size_t mark = pbw_written(w);

        if (res) {
                pbw_uint(w, F_RESOURCE_DROPPED, res->attrs.dropped);
                pbw_attrs(w, F_RESOURCE_ATTRIBUTES, res->attrs.items, res->attrs.n);
        }
        pbw_close(w, field, mark);
}

/* An InstrumentationScope message as field <field>; NULL strings are left out. */
static inline void pbw_scope(pb_writer *w, unsigned field, const char *name, const char *version)
{
        size_t mark = pbw_written(w);

        pbw_string(w, F_SCOPE_VERSION, version);
        pbw_string(w, F_SCOPE_NAME, name);
        pbw_close(w, field, mark);
}
