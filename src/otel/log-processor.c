/* SPDX-License-Identifier: Apache-2.0 */
/* The batch log record processor (SDK spec "Batch LogRecord processor", OTEL_BLRP_*): otel_log_full()
 * pushes records into the shared lock-free ring (ring.h) without blocking, dropping and counting when
 * it is full; one thread exports them in batches, on the schedule delay, when a batch is full, on
 * force_flush and on shutdown (bounded by its deadline): the machine of batch-worker.c, shared with
 * the batch span processor. */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "batch-worker.h"
#include "diag.h"
#include "logs.h"

/* ---- counters --------------------------------------------------------------------------------- */

typedef struct log_counters {
        atomic_uint_fast64_t queued;
        atomic_uint_fast64_t dropped_queue_full;
        atomic_uint_fast64_t dropped_no_memory;
        atomic_uint_fast64_t exported;
        atomic_uint_fast64_t export_failed;
} log_counters;

static log_counters log_counters_global;

#define LOG_COUNT(field, n) atomic_fetch_add_explicit(&log_counters_global.field, (n), memory_order_relaxed)

void otel_log_stats_get(otel_log_stats *ret)
{
        log_counters *c = &log_counters_global;

        *ret = (otel_log_stats){
                .records_queued = atomic_load_explicit(&c->queued, memory_order_relaxed),
                .records_dropped_queue_full =
                        atomic_load_explicit(&c->dropped_queue_full, memory_order_relaxed),
                .records_dropped_no_memory =
                        atomic_load_explicit(&c->dropped_no_memory, memory_order_relaxed),
                .records_exported = atomic_load_explicit(&c->exported, memory_order_relaxed),
                .records_export_failed = atomic_load_explicit(&c->export_failed, memory_order_relaxed),
        };
}

/* ---- batch log record processor --------------------------------------------------------------- */

struct otel_log_processor {
        otel_log_exporter *exporter; /* owned; used only by the thread after creation */
        otel_batch_worker worker;    /* the queue and the exporter thread; its items are records */
};

#define PROCESSOR_FROM_WORKER(w) ((otel_log_processor *)((char *)(w)-offsetof(otel_log_processor, worker)))

void otel_batch_log_config_from_env(otel_batch_log_config *ret)
{
        static const otel_batch_config defaults = {
                .max_queue_size = OTEL_BLRP_DEFAULT_MAX_QUEUE_SIZE,
                .max_export_batch_size = OTEL_BLRP_DEFAULT_MAX_EXPORT_BATCH,
                .schedule_delay_ms = OTEL_BLRP_DEFAULT_SCHEDULE_DELAY_MS,
                .export_timeout_ms = OTEL_BLRP_DEFAULT_EXPORT_TIMEOUT_MS,
        };

        otel_batch_config_from_env_prefix("OTEL_BLRP", &defaults, ret);
}

/* Request path: never blocks; a full queue drops the record and counts it. */
void otel_log_processor_emit(otel_log_processor *p, otel_log_record *rec)
{
        if (otel_batch_worker_push(&p->worker, rec) == 0) {
                otel_log_record_free(rec);
                LOG_COUNT(dropped_queue_full, 1);
                return;
        }
        LOG_COUNT(queued, 1);
}

static void processor_export_batch(otel_batch_worker *w, void *const *items, size_t n, uint64_t deadline_ns)
{
        otel_log_processor *p = PROCESSOR_FROM_WORKER(w);
        int r = p->exporter->export_logs(p->exporter, (otel_log_record *const *)items, n, deadline_ns);

        if (r < 0) {
                LOG_COUNT(export_failed, n);
                otel_diag(OTEL_DIAG_DEBUG, "batch log record processor: export of %zu records failed: %s", n,
                          strerror(-r));
        } else {
                size_t rejected = (size_t)r < n ? (size_t)r : n;
                LOG_COUNT(exported, n - rejected);
                LOG_COUNT(export_failed, rejected);
        }
}

static void processor_release(void *const *items, size_t n)
{
        for (size_t i = 0; i < n; i++)
                otel_log_record_free(items[i]);
}

static void processor_count_abandoned(size_t n)
{
        LOG_COUNT(export_failed, n);
}

static void processor_destroy(otel_batch_worker *w)
{
        otel_log_processor *p = PROCESSOR_FROM_WORKER(w);
        otel_log_exporter *exporter = p->exporter;

        free(p);
        if (exporter)
                exporter->free(exporter);
}

static const otel_batch_worker_ops processor_ops = {
        .name = "batch log record processor",
        .item_name = "records",
        .export_batch = processor_export_batch,
        .release = processor_release,
        .count_abandoned = processor_count_abandoned,
        .destroy = processor_destroy,
};

int otel_log_processor_flush(otel_log_processor *p, uint64_t deadline_ns)
{
        return otel_batch_worker_flush(&p->worker, deadline_ns);
}

int otel_log_processor_shutdown(otel_log_processor *p, uint64_t deadline_ns)
{
        return otel_batch_worker_shutdown(&p->worker, deadline_ns);
}

int otel_log_processor_new(const otel_batch_log_config *cfg, otel_log_exporter *exporter,
                           otel_log_processor **ret)
{
        otel_log_processor *p;
        int r;

        /* aligned_alloc: the ring inside is cache-line aligned. */
        p = aligned_alloc(_Alignof(otel_log_processor), sizeof(*p));
        if (!p) {
                exporter->free(exporter);
                return -ENOMEM;
        }
        memset(p, 0, sizeof(*p));
        p->exporter = exporter;
        r = otel_batch_worker_start(&p->worker, cfg, &processor_ops);
        if (r < 0) {
                free(p);
                exporter->free(exporter);
                return r;
        }
        *ret = p;
        return 0;
}

void otel_log_count_no_memory(void)
{
        LOG_COUNT(dropped_no_memory, 1);
}
