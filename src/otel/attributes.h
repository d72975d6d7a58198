/* SPDX-License-Identifier: Apache-2.0 */
/* Attribute collections with the specification's limits (count and value length): storing copies
 * every string and array into the owner's arena; setting an existing key replaces its value. */
#pragma once

#include <stdint.h>

#include "arena.h"
#include "otel.h"

#define OTEL_ATTR_UNLIMITED UINT32_MAX

/* Bytes of one item of an array type's items; 0 for a scalar type. Inline: the metrics record path
 * hashes and compares array attributes with it. */
static inline size_t otel_attr_array_item_size(otel_attr_type t)
{
        switch (t) {
        case OTEL_ATTR_STRING_ARRAY:
                return sizeof(const char *);
        case OTEL_ATTR_BOOL_ARRAY:
                return sizeof(bool);
        case OTEL_ATTR_INT_ARRAY:
                return sizeof(int64_t);
        case OTEL_ATTR_DOUBLE_ARRAY:
                return sizeof(double);
        default:
                return 0;
        }
}

typedef struct otel_attr_limits {
        uint32_t count;        /* max attributes kept; further ones are dropped and counted */
        uint32_t value_length; /* max string length in bytes (UTF-8 safe); OTEL_ATTR_UNLIMITED = none */
} otel_attr_limits;

typedef struct otel_attr_list {
        otel_attr *items; /* stored attributes; strings/arrays live in the owner's arena */
        uint32_t *fps;    /* key fingerprints parallel to items (NULL until first set), so that the
                           * duplicate-key check rarely needs a strcmp */
        uint32_t n;       /* attributes in use */
        uint32_t cap;     /* capacity of items */
        uint32_t dropped; /* attributes dropped by the count limit (OTLP dropped_attributes_count) */
} otel_attr_list;

/* Initialise with caller-provided inline storage (may be NULL, 0). */
void otel_attr_list_init(otel_attr_list *l, otel_attr *storage, uint32_t cap);
/* The same, with inline storage for the fingerprints too (cap entries each). */
void otel_attr_list_init_fp(otel_attr_list *l, otel_attr *storage, uint32_t *fps, uint32_t cap);
/* Returns 0 (stored or counted as dropped), -EINVAL (bad key or type: ignored), -ENOMEM. */
int otel_attr_list_set(otel_attr_list *l, otel_arena *a, const otel_attr *attr, const otel_attr_limits *lim);
/* Copies n attributes into a fresh list sized for them (events, links). */
int otel_attr_list_copy(otel_attr_list *l, otel_arena *a, const otel_attr *attrs, size_t n,
                        const otel_attr_limits *lim);
const otel_attr *otel_attr_list_find(const otel_attr_list *l, const char *key);
/* Length of the longest prefix of s (at most max bytes) that does not split a UTF-8 sequence. */
size_t otel_utf8_truncate(const char *s, size_t len, size_t max);
