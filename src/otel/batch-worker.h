/* SPDX-License-Identifier: Apache-2.0 */
/* The machine behind both batching processors (SDK spec "Batching processor" for spans and
 * "Batch LogRecord processor"): a bounded lock-free ring filled on the request path, one background
 * thread exporting in batches on the schedule delay, when a batch is full, on force_flush and on
 * shutdown, and deadlines after which shutdown abandons the thread. The signal-specific parts (what an
 * item is, how a batch is exported and counted) come in through otel_batch_worker_ops. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"
#include "otel.h"

/* The four spec variables of a batching processor, read from <PREFIX>_SCHEDULE_DELAY,
 * <PREFIX>_EXPORT_TIMEOUT, <PREFIX>_MAX_QUEUE_SIZE and <PREFIX>_MAX_EXPORT_BATCH_SIZE. */
typedef struct otel_batch_config {
        uint32_t max_queue_size;        /* MAX_QUEUE_SIZE */
        uint32_t max_export_batch_size; /* MAX_EXPORT_BATCH_SIZE, clamped to the queue size */
        uint64_t schedule_delay_ms;     /* SCHEDULE_DELAY */
        uint64_t export_timeout_ms;     /* EXPORT_TIMEOUT */
} otel_batch_config;

/* Reads the variables of prefix ("OTEL_BSP", "OTEL_BLRP"); invalid values are warned about and
 * replaced by those of defaults. */
void otel_batch_config_from_env_prefix(const char *prefix, const otel_batch_config *defaults,
                                       otel_batch_config *ret);

typedef struct otel_batch_worker otel_batch_worker;

typedef struct otel_batch_worker_ops {
        const char *name;      /* "batch span processor": the subject of diagnostics */
        const char *item_name; /* "spans": what the items are called in diagnostics */
        /* Exporter thread: exports items[0..n) before deadline_ns and counts the outcome. The items
         * stay the worker's; it releases them afterwards. */
        void (*export_batch)(otel_batch_worker *w, void *const *items, size_t n, uint64_t deadline_ns);
        /* Gives up the worker's ownership of items[0..n). */
        void (*release)(void *const *items, size_t n);
        /* n items dropped because shutdown's deadline passed. */
        void (*count_abandoned)(size_t n);
        /* Frees what embeds the worker, and its exporter last: once the exporter is freed, an
         * abandoned thread touches nothing more. */
        void (*destroy)(otel_batch_worker *w);
} otel_batch_worker_ops;

struct otel_batch_worker {
        otel_ring queue;                  /* queued items, bounded by max_queue_size */
        otel_batch_config cfg;            /* validated configuration */
        const otel_batch_worker_ops *ops; /* the signal-specific parts */
        void **batch;                     /* the thread's buffer of max_export_batch_size items */
        pthread_t thread;                 /* the exporter thread */

        pthread_mutex_t lock;       /* guards the fields below and the two condition variables */
        pthread_cond_t wake;        /* the exporter thread sleeps here */
        pthread_cond_t progress;    /* force_flush and shutdown wait here */
        size_t flush_target;        /* positions below this are exported without waiting */
        size_t exported_pos;        /* every position below has been through export */
        uint64_t flush_deadline_ns; /* latest deadline of a pending force_flush; 0 when none */
        uint64_t stop_deadline_ns;  /* shutdown's deadline */
        bool stopping;              /* shutdown was called: drain and exit */
        bool thread_exited;         /* the thread left its loop and no longer touches the exporter */
        bool abandoned;             /* shutdown gave up waiting: the thread frees everything on exit */
};

/* Starts the thread. The memory holding w must honour _Alignof(otel_batch_worker) (aligned_alloc).
 * -EINVAL for an inconsistent cfg; on failure nothing was started and the caller frees its own. */
int otel_batch_worker_start(otel_batch_worker *w, const otel_batch_config *cfg,
                            const otel_batch_worker_ops *ops) OTEL_WUR;

void otel_batch_worker_wake(otel_batch_worker *w);

/* Request path, any thread: queues item, the worker owning it from then on. Returns the queue length
 * including item, or 0 when the queue is full (item not taken: the caller drops and counts it). Only
 * the item that fills a batch wakes the thread; all others rely on the schedule delay. */
static inline size_t otel_batch_worker_push(otel_batch_worker *w, void *item)
{
        size_t len = otel_ring_push(&w->queue, item);

        if (len == w->cfg.max_export_batch_size)
                otel_batch_worker_wake(w);
        return len;
}

/* Exports what was queued before the call; 0, or -ETIMEDOUT past the deadline (CLOCK_MONOTONIC ns). */
int otel_batch_worker_flush(otel_batch_worker *w, uint64_t deadline_ns);
/* Drains, stops the thread and destroys w (ops->destroy); 0, or -ETIMEDOUT when the thread was
 * abandoned: it then destroys w itself when its export returns. */
int otel_batch_worker_shutdown(otel_batch_worker *w, uint64_t deadline_ns);

/* Deadline arithmetic, also for the simple processor: saturates instead of wrapping. */
static inline uint64_t otel_add_saturating(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline uint64_t otel_ms_to_ns(uint64_t ms)
{
        return ms > UINT64_MAX / 1000000u ? UINT64_MAX : ms * 1000000u;
}
