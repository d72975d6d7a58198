/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded MPSC pointer queue of the batch processors (see ring.h). */
#include <errno.h>
#include <stdlib.h>

#include "ring.h"

int otel_ring_init(otel_ring *r, size_t limit)
{
        size_t capacity = 2; /* the stamps need two cells at least (pos + 1 != pos + capacity) */

        if (limit == 0 || limit > OTEL_RING_SIZE_LIMIT)
                return -EINVAL;
        while (capacity < limit)
                capacity <<= 1;
        r->cells = calloc(capacity, sizeof(*r->cells));
        if (!r->cells)
                return -ENOMEM;
        /* Every cell starts free for its first position. */
        for (size_t i = 0; i < capacity; i++)
                atomic_init(&r->cells[i].seq, i);
        r->mask = capacity - 1;
        r->limit = limit;
        atomic_init(&r->length, 0);
        atomic_init(&r->enqueue_pos, 0);
        r->dequeue_pos = 0;
        return 0;
}

void otel_ring_done(otel_ring *r)
{
        free(r->cells);
        r->cells = NULL;
}

size_t otel_ring_push(otel_ring *r, void *item)
{
        size_t len = atomic_load_explicit(&r->length, memory_order_relaxed);
        size_t pos;
        otel_ring_cell *cell;

        /* Reserve a slot first: the reservation count is exact, so exactly `limit` items fit and a
         * claimed ring position is always free (the consumer releases cells before giving slots back). */
        do {
                if (len >= r->limit)
                        return 0;
        } while (!atomic_compare_exchange_weak_explicit(&r->length, &len, len + 1, memory_order_acquire,
                                                        memory_order_relaxed));

        pos = atomic_fetch_add_explicit(&r->enqueue_pos, 1, memory_order_relaxed);
        cell = &r->cells[pos & r->mask];
        /* With at most `limit` reservations the consumer has already freed this cell, so this loop does
         * not iterate; its acquire load is what orders the consumer's read of the previous item before
         * our write. */
        while (atomic_load_explicit(&cell->seq, memory_order_acquire) != pos)
                ;
        cell->item = item;
        atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
        return len + 1;
}

void *otel_ring_pop(otel_ring *r)
{
        otel_ring_cell *cell = &r->cells[r->dequeue_pos & r->mask];
        void *item;

        if (atomic_load_explicit(&cell->seq, memory_order_acquire) != r->dequeue_pos + 1)
                return NULL;
        item = cell->item;
        atomic_store_explicit(&cell->seq, r->dequeue_pos + r->mask + 1, memory_order_release);
        r->dequeue_pos++;
        return item;
}

void otel_ring_release(otel_ring *r, size_t n)
{
        /* Release: the cells were read before producers may claim them again. */
        if (n > 0)
                atomic_fetch_sub_explicit(&r->length, n, memory_order_release);
}
