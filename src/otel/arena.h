/* SPDX-License-Identifier: Apache-2.0 */
/* Bump allocator owned by one span (or resource): the first block lives inside the owner, later
 * blocks come from the heap; everything is released at once. Keeps a span to one malloc. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct otel_arena_block otel_arena_block;

typedef struct otel_arena {
        char *cur;                /* next free byte */
        size_t left;              /* bytes free at cur */
        otel_arena_block *blocks; /* heap blocks, newest first */
        size_t next_block;        /* size of the next heap block */
} otel_arena;

void otel_arena_init(otel_arena *a, void *first, size_t size);
/* Slow path of otel_arena_alloc(): a new heap block. */
void *otel_arena_alloc_block(otel_arena *a, size_t size, size_t align);

/* NULL when out of memory. align must be a power of two no larger than 16. Inline: this runs for
 * every attribute a span records. */
static inline void *otel_arena_alloc(otel_arena *a, size_t size, size_t align)
{
        uintptr_t p = (uintptr_t)a->cur;
        size_t pad = (align - (p & (align - 1))) & (align - 1);

        if (__builtin_expect(a->cur && pad + size <= a->left, 1)) {
                a->cur += pad + size;
                a->left -= pad + size;
                return (void *)(p + pad);
        }
        return otel_arena_alloc_block(a, size, align);
}

char *otel_arena_strndup(otel_arena *a, const char *s, size_t n); /* NUL-terminated copy */
void otel_arena_release(otel_arena *a); /* frees heap blocks; the arena must be re-initialised */
