/* SPDX-License-Identifier: Apache-2.0 */
/* Bump allocator: the first block is inline in its owner, later blocks double in size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define OTEL_ARENA_MIN_BLOCK 1024

struct otel_arena_block {
        otel_arena_block *next; /* older block */
        _Alignas(16) char data[];
};

void otel_arena_init(otel_arena *a, void *first, size_t size)
{
        *a = (otel_arena){.cur = first, .left = first ? size : 0, .next_block = OTEL_ARENA_MIN_BLOCK};
}

void *otel_arena_alloc_block(otel_arena *a, size_t size, size_t align)
{
        otel_arena_block *blk;
        size_t bsize;

        bsize = a->next_block;
        while (bsize < size + align)
                bsize *= 2;
        blk = malloc(sizeof(*blk) + bsize);
        if (!blk)
                return NULL;
        blk->next = a->blocks;
        a->blocks = blk;
        a->next_block = bsize * 2;
        /* data[] is 16-aligned, enough for every type we store. */
        a->cur = blk->data + size;
        a->left = bsize - size;
        return blk->data;
}

char *otel_arena_strndup(otel_arena *a, const char *s, size_t n)
{
        char *d = otel_arena_alloc(a, n + 1, 1);
        if (!d)
                return NULL;
        memcpy(d, s, n);
        d[n] = 0;
        return d;
}

void otel_arena_release(otel_arena *a)
{
        otel_arena_block *b = a->blocks;
        while (b) {
                otel_arena_block *next = b->next;
                free(b);
                b = next;
        }
        *a = (otel_arena){0};
}
