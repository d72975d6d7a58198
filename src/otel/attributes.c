/* SPDX-License-Identifier: Apache-2.0 */
/* Attribute lists with the spec's limits ("Attribute Limits"): at most `count` distinct keys (more are
 * dropped and counted), string values (also inside arrays) truncated to `value_length` bytes without
 * splitting a UTF-8 sequence. Everything stored is copied into the owner's arena. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "attributes.h"

#define OTEL_ATTR_LIST_MIN_GROW 8

void otel_attr_list_init(otel_attr_list *l, otel_attr *storage, uint32_t cap)
{
        *l = (otel_attr_list){.items = storage, .cap = storage ? cap : 0};
}

void otel_attr_list_init_fp(otel_attr_list *l, otel_attr *storage, uint32_t *fps, uint32_t cap)
{
        *l = (otel_attr_list){.items = storage, .fps = fps, .cap = storage ? cap : 0};
}

/* A cheap key fingerprint: length and the first and last bytes, read as words when long enough.
 * Equal keys have equal fingerprints; different keys rarely do, so strcmp runs about once per hit. */
static uint32_t attr_key_fp(const char *key, size_t len)
{
        uint64_t head = 0, tail = 0;

        if (len >= 8) {
                memcpy(&head, key, 8);
                memcpy(&tail, key + len - 8, 8);
        } else
                memcpy(&head, key, len);
        head ^= tail * 0x9e3779b97f4a7c15ull;
        return (uint32_t)(head ^ (head >> 29) ^ (head >> 47)) ^ (uint32_t)len * 0x85ebca6bu;
}

static otel_attr *attr_list_lookup(const otel_attr_list *l, const char *key, uint32_t fp)
{
        if (l->fps) {
                for (uint32_t i = 0; i < l->n; i++)
                        if (l->fps[i] == fp && strcmp(l->items[i].key, key) == 0)
                                return &l->items[i];
                return NULL;
        }
        for (uint32_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i].key, key) == 0)
                        return &l->items[i];
        return NULL;
}

size_t otel_utf8_truncate(const char *s, size_t len, size_t max)
{
        size_t n;

        if (len <= max)
                return len;
        n = max;
        /* Step back over continuation bytes (10xxxxxx) so that the cut falls before a lead byte. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                n--;
        return n;
}

static const char *attr_copy_string(otel_arena *a, const char *s, const otel_attr_limits *lim)
{
        size_t len = strlen(s);

        if (lim && lim->value_length != OTEL_ATTR_UNLIMITED)
                len = otel_utf8_truncate(s, len, lim->value_length);
        return otel_arena_strndup(a, s, len);
}

/* Copies attr's value into *dst (key already set by the caller). */
static int attr_copy_value(otel_attr *dst, otel_arena *a, const otel_attr *src, const otel_attr_limits *lim)
{
        size_t isz = otel_attr_array_item_size(src->type);

        dst->type = src->type;
        switch (src->type) {
        case OTEL_ATTR_STRING:
                if (!src->v.s)
                        return -EINVAL;
                dst->v.s = attr_copy_string(a, src->v.s, lim);
                return dst->v.s ? 0 : -ENOMEM;
        case OTEL_ATTR_BOOL:
        case OTEL_ATTR_INT:
        case OTEL_ATTR_DOUBLE:
                dst->v = src->v;
                return 0;
        case OTEL_ATTR_STRING_ARRAY: {
                const char *const *in = src->v.array.items;
                const char **out;

                if (src->v.array.n && !in)
                        return -EINVAL;
                for (size_t i = 0; i < src->v.array.n; i++)
                        if (!in[i])
                                return -EINVAL;
                out = otel_arena_alloc(a, isz * src->v.array.n + 1, _Alignof(const char *));
                if (!out)
                        return -ENOMEM;
                for (size_t i = 0; i < src->v.array.n; i++) {
                        out[i] = attr_copy_string(a, in[i], lim);
                        if (!out[i])
                                return -ENOMEM;
                }
                dst->v.array.items = out;
                dst->v.array.n = src->v.array.n;
                return 0;
        }
        case OTEL_ATTR_BOOL_ARRAY:
        case OTEL_ATTR_INT_ARRAY:
        case OTEL_ATTR_DOUBLE_ARRAY: {
                void *out;

                if (src->v.array.n && !src->v.array.items)
                        return -EINVAL;
                out = otel_arena_alloc(a, isz * src->v.array.n + 1, 8);
                if (!out)
                        return -ENOMEM;
                if (src->v.array.n)
                        memcpy(out, src->v.array.items, isz * src->v.array.n);
                dst->v.array.items = out;
                dst->v.array.n = src->v.array.n;
                return 0;
        }
        default:
                return -EINVAL;
        }
}

const otel_attr *otel_attr_list_find(const otel_attr_list *l, const char *key)
{
        return attr_list_lookup(l, key, attr_key_fp(key, strlen(key)));
}

static int attr_list_grow(otel_attr_list *l, otel_arena *a)
{
        uint32_t cap = l->cap ? l->cap * 2 : OTEL_ATTR_LIST_MIN_GROW;
        otel_attr *items = otel_arena_alloc(a, sizeof(otel_attr) * cap, _Alignof(otel_attr));
        uint32_t *fps = otel_arena_alloc(a, sizeof(uint32_t) * cap, _Alignof(uint32_t));

        if (!items || !fps)
                return -ENOMEM;
        if (l->n) {
                memcpy(items, l->items, sizeof(otel_attr) * l->n);
                memcpy(fps, l->fps, sizeof(uint32_t) * l->n);
        }
        l->items = items;
        l->fps = fps;
        l->cap = cap;
        return 0;
}

int otel_attr_list_set(otel_attr_list *l, otel_arena *a, const otel_attr *attr, const otel_attr_limits *lim)
{
        otel_attr *slot;
        otel_attr tmp;
        size_t klen;
        uint32_t fp;
        int r;

        if (!attr || !attr->key || !*attr->key || (unsigned)attr->type >= _OTEL_ATTR_TYPE_MAX)
                return -EINVAL;
        klen = strlen(attr->key);
        fp = attr_key_fp(attr->key, klen);
        if (l->cap && !l->fps) {
                /* Storage handed in without fingerprints: give the list its own. */
                l->fps = otel_arena_alloc(a, sizeof(uint32_t) * l->cap, _Alignof(uint32_t));
                if (!l->fps)
                        return -ENOMEM;
                for (uint32_t i = 0; i < l->n; i++)
                        l->fps[i] = attr_key_fp(l->items[i].key, strlen(l->items[i].key));
        }
        slot = attr_list_lookup(l, attr->key, fp);
        if (slot) {
                /* Overwrite in place: copy first so that a failed copy leaves the old value. */
                r = attr_copy_value(&tmp, a, attr, lim);
                if (r < 0)
                        return r;
                slot->type = tmp.type;
                slot->v = tmp.v;
                return 0;
        }
        if (lim && l->n >= lim->count) {
                l->dropped++;
                return 0;
        }
        if (l->n == l->cap) {
                r = attr_list_grow(l, a);
                if (r < 0)
                        return r;
        }
        /* Built in place: n only grows once the slot is complete. (Building it on the stack and
         * copying it stalls store forwarding: this runs for every attribute of every span.) */
        slot = &l->items[l->n];
        slot->key = otel_arena_strndup(a, attr->key, klen);
        if (!slot->key)
                return -ENOMEM;
        r = attr_copy_value(slot, a, attr, lim);
        if (r < 0)
                return r;
        l->fps[l->n++] = fp;
        return 0;
}

int otel_attr_list_copy(otel_attr_list *l, otel_arena *a, const otel_attr *attrs, size_t n,
                        const otel_attr_limits *lim)
{
        uint32_t cap = (uint32_t)(lim && n > lim->count ? lim->count : n);
        int r;

        otel_attr_list_init(l, NULL, 0);
        if (cap) {
                l->items = otel_arena_alloc(a, sizeof(otel_attr) * cap, _Alignof(otel_attr));
                l->fps = otel_arena_alloc(a, sizeof(uint32_t) * cap, _Alignof(uint32_t));
                if (!l->items || !l->fps)
                        return -ENOMEM;
                l->cap = cap;
        }
        for (size_t i = 0; i < n; i++) {
                r = otel_attr_list_set(l, a, &attrs[i], lim);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}
