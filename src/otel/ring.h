/* SPDX-License-Identifier: Apache-2.0 */
/* A bounded multi-producer, single-consumer queue of pointers (after Vyukov's bounded queue), shared by
 * the batch span processor and the batch log record processor: producers on the request path never
 * lock or allocate, and a full queue refuses the item so that the caller can drop and count it. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "otel.h"

/* Upper bound for a queue's capacity: the ring is allocated up front (16 bytes per cell), so a typo in
 * a *_MAX_QUEUE_SIZE variable must not reserve gigabytes. */
#define OTEL_RING_SIZE_LIMIT (1u << 20)
/* Separates the producers' counters from each other and from the consumer's fields. */
#define OTEL_RING_CACHE_LINE 64

/* One slot, stamped for position pos: seq == pos means free for a producer of pos, seq == pos + 1
 * means the item of pos is published. The consumer frees a slot for the next lap with
 * seq = pos + capacity. */
typedef struct otel_ring_cell {
        atomic_size_t seq; /* stamp, see above */
        void *item;        /* owned by the queue while published */
} otel_ring_cell;

typedef struct otel_ring {
        otel_ring_cell *cells; /* mask + 1 cells */
        size_t mask;           /* capacity - 1; capacity: a power of two >= limit, >= 2 */
        size_t limit;          /* most items held at once (the configured queue size) */

        /* Producers write these two; each on its own cache line. */
        _Alignas(OTEL_RING_CACHE_LINE) atomic_size_t length;      /* reserved slots, never above limit */
        _Alignas(OTEL_RING_CACHE_LINE) atomic_size_t enqueue_pos; /* next position to claim */
        /* Written only by the consumer. */
        _Alignas(OTEL_RING_CACHE_LINE) size_t dequeue_pos; /* next position to take */
} otel_ring;

/* limit in [1, OTEL_RING_SIZE_LIMIT]; -EINVAL or -ENOMEM otherwise. */
int otel_ring_init(otel_ring *r, size_t limit) OTEL_WUR;
/* Frees the cells; items still queued are the caller's to drain first (otel_ring_take). */
void otel_ring_done(otel_ring *r);

/* Any thread. Returns the queue length including this item (>= 1), or 0 when the queue is full (the
 * item was not taken). */
size_t otel_ring_push(otel_ring *r, void *item);
/* Consumer only: the next published item (its cell is freed for the next lap), or NULL at a position
 * that no producer has claimed or published yet. Items must not be NULL. The item's queue slot is
 * given back by otel_ring_release(), once per batch, to keep the consumer off the producers' line. */
void *otel_ring_pop(otel_ring *r);
void otel_ring_release(otel_ring *r, size_t n);

static inline size_t otel_ring_length(otel_ring *r)
{
        return atomic_load_explicit(&r->length, memory_order_relaxed);
}

/* Positions: every item pushed before a call has a position below otel_ring_enqueued(); the consumer
 * has taken every position below otel_ring_dequeued() (consumer-side read). */
static inline size_t otel_ring_enqueued(otel_ring *r)
{
        return atomic_load_explicit(&r->enqueue_pos, memory_order_acquire);
}

static inline size_t otel_ring_dequeued(const otel_ring *r)
{
        return r->dequeue_pos;
}
