/* SPDX-License-Identifier: Apache-2.0 */
/* Span processors (SDK spec "Batching processor", "Simple processor"). The batch processor puts ended
 * spans into a bounded lock-free ring on the request path (no lock, no allocation; drop and count when
 * full) and exports them in batches from one background thread. The simple processor exports each
 * span synchronously, for the console exporter and tests. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "diag.h"
#include "processor.h"
#include "stats.h"

/* Simple processor: each synchronous export may take at most this long. */
#define OTEL_SIMPLE_EXPORT_TIMEOUT_MS 30000

typedef struct otel_batch_processor {
        otel_span_processor base;     /* first: the provider only sees this */
        otel_span_exporter *exporter; /* owned; used only by the exporter thread after creation */
        otel_batch_worker worker;     /* the queue and the exporter thread; its items are spans */
} otel_batch_processor;

typedef struct otel_simple_processor {
        otel_span_processor base;     /* first: the provider only sees this */
        otel_span_exporter *exporter; /* owned */
        pthread_mutex_t lock;         /* exports never run concurrently (exporter contract) */
} otel_simple_processor;

#define BSP_FROM_WORKER(w) ((otel_batch_processor *)((char *)(w)-offsetof(otel_batch_processor, worker)))

void otel_batch_config_from_env(otel_batch_config *ret)
{
        static const otel_batch_config defaults = {
                .max_queue_size = OTEL_BSP_DEFAULT_MAX_QUEUE_SIZE,
                .max_export_batch_size = OTEL_BSP_DEFAULT_MAX_EXPORT_BATCH,
                .schedule_delay_ms = OTEL_BSP_DEFAULT_SCHEDULE_DELAY_MS,
                .export_timeout_ms = OTEL_BSP_DEFAULT_EXPORT_TIMEOUT_MS,
        };

        /* Spec "Batch Span Processor" variables. */
        otel_batch_config_from_env_prefix("OTEL_BSP", &defaults, ret);
}

/* ---- batch processor: request path ------------------------------------------------------------ */

static void bsp_on_end(otel_span_processor *base, otel_span *span)
{
        otel_batch_processor *p = (otel_batch_processor *)base;

        otel_span_ref(span);
        if (otel_batch_worker_push(&p->worker, span) == 0) {
                otel_span_unref(span);
                OTEL_COUNT(spans_dropped_queue_full, 1);
                return;
        }
        OTEL_COUNT(spans_queued, 1);
}

/* ---- batch processor: exporter thread --------------------------------------------------------- */

static void bsp_export_batch(otel_batch_worker *w, void *const *items, size_t n, uint64_t deadline_ns)
{
        otel_batch_processor *p = BSP_FROM_WORKER(w);
        int r;

        r = p->exporter->export_spans(p->exporter, (otel_span *const *)items, n, deadline_ns);
        if (r < 0)
                otel_diag(OTEL_DIAG_DEBUG, "batch span processor: export of %zu spans failed: %s", n,
                          strerror(-r));
}

static void bsp_release(void *const *items, size_t n)
{
        for (size_t i = 0; i < n; i++)
                otel_span_unref(items[i]);
}

static void bsp_count_abandoned(size_t n)
{
        OTEL_COUNT(spans_export_failed, n);
}

static void bsp_destroy(otel_batch_worker *w)
{
        otel_batch_processor *p = BSP_FROM_WORKER(w);
        otel_span_exporter *exporter = p->exporter;

        free(p);
        otel_span_exporter_free(exporter);
}

static const otel_batch_worker_ops bsp_ops = {
        .name = "batch span processor",
        .item_name = "spans",
        .export_batch = bsp_export_batch,
        .release = bsp_release,
        .count_abandoned = bsp_count_abandoned,
        .destroy = bsp_destroy,
};

/* ---- batch processor: flush and shutdown ------------------------------------------------------ */

static int bsp_force_flush(otel_span_processor *base, uint64_t deadline_ns)
{
        return otel_batch_worker_flush(&((otel_batch_processor *)base)->worker, deadline_ns);
}

static int bsp_shutdown(otel_span_processor *base, uint64_t deadline_ns)
{
        /* The provider calls on_end no more. */
        return otel_batch_worker_shutdown(&((otel_batch_processor *)base)->worker, deadline_ns);
}

int otel_batch_processor_new(const otel_batch_config *cfg, otel_span_exporter *exporter,
                             otel_span_processor **ret)
{
        otel_batch_processor *p;
        int r;

        /* aligned_alloc: the ring inside is cache-line aligned; the struct's size is a multiple of that. */
        p = aligned_alloc(_Alignof(otel_batch_processor), sizeof(*p));
        if (!p) {
                otel_span_exporter_free(exporter);
                return -ENOMEM;
        }
        memset(p, 0, sizeof(*p));
        p->base.on_end = bsp_on_end;
        p->base.force_flush = bsp_force_flush;
        p->base.shutdown = bsp_shutdown;
        p->exporter = exporter;
        r = otel_batch_worker_start(&p->worker, cfg, &bsp_ops);
        if (r < 0) {
                free(p);
                otel_span_exporter_free(exporter);
                return r;
        }
        *ret = &p->base;
        return 0;
}

/* ---- simple processor ------------------------------------------------------------------------- */

static void simple_on_end(otel_span_processor *base, otel_span *span)
{
        otel_simple_processor *p = (otel_simple_processor *)base;
        uint64_t deadline =
                otel_add_saturating(otel_mono_ns(), otel_ms_to_ns(OTEL_SIMPLE_EXPORT_TIMEOUT_MS));
        int r;

        /* The caller's reference keeps the span alive for the synchronous export. */
        pthread_mutex_lock(&p->lock);
        r = p->exporter->export_spans(p->exporter, &span, 1, deadline);
        pthread_mutex_unlock(&p->lock);
        if (r < 0)
                otel_diag(OTEL_DIAG_DEBUG, "simple span processor: export failed: %s", strerror(-r));
}

static int simple_force_flush(otel_span_processor *base, uint64_t deadline_ns)
{
        otel_simple_processor *p = (otel_simple_processor *)base;

        (void)deadline_ns;
        /* Nothing is queued; taking the lock waits for an export under way on another thread. */
        pthread_mutex_lock(&p->lock);
        pthread_mutex_unlock(&p->lock);
        return 0;
}

static int simple_shutdown(otel_span_processor *base, uint64_t deadline_ns)
{
        otel_simple_processor *p = (otel_simple_processor *)base;

        (void)simple_force_flush(base, deadline_ns);
        otel_span_exporter_free(p->exporter);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return 0;
}

int otel_simple_processor_new(otel_span_exporter *exporter, otel_span_processor **ret)
{
        otel_simple_processor *p;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p) {
                otel_span_exporter_free(exporter);
                return -ENOMEM;
        }
        r = -pthread_mutex_init(&p->lock, NULL);
        if (r < 0) {
                free(p);
                otel_span_exporter_free(exporter);
                return r;
        }
        p->base.on_end = simple_on_end;
        p->base.force_flush = simple_force_flush;
        p->base.shutdown = simple_shutdown;
        p->exporter = exporter;
        *ret = &p->base;
        return 0;
}
