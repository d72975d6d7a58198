/* SPDX-License-Identifier: Apache-2.0 */
/* Span processors (SDK spec "Batching processor", "Simple processor"). The batch processor puts ended
 * spans into a bounded lock-free ring on the request path (no lock, no allocation; drop and count when
 * full) and exports them in batches from one background thread. The simple processor exports each
 * span synchronously, for the console exporter and tests. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "diag.h"
#include "env.h"
#include "processor.h"
#include "ring.h"
#include "stats.h"

/* Upper bound for OTEL_BSP_MAX_QUEUE_SIZE / _MAX_EXPORT_BATCH_SIZE (see ring.h). */
#define OTEL_BSP_QUEUE_SIZE_LIMIT OTEL_RING_SIZE_LIMIT
/* Upper bound for the millisecond durations (about 24 days): keeps ns arithmetic far from overflow. */
#define OTEL_BSP_DURATION_LIMIT_MS INT32_MAX
/* A schedule delay of 0 means "as soon as possible"; the thread still sleeps this long between polls
 * so an idle process does not spin. */
#define OTEL_BSP_MIN_POLL_MS 1
/* Simple processor: each synchronous export may take at most this long. */
#define OTEL_SIMPLE_EXPORT_TIMEOUT_MS 30000

#define OTEL_NO_DEADLINE UINT64_MAX

typedef struct otel_batch_processor {
        otel_span_processor base;     /* first: the provider only sees this */
        otel_batch_config cfg;        /* validated configuration */
        otel_span_exporter *exporter; /* owned; used only by the exporter thread after creation */
        otel_span **batch;            /* exporter thread's buffer of max_export_batch_size spans */
        pthread_t thread;             /* the exporter thread */

        otel_ring queue;              /* ended spans (references), bounded by max_queue_size */

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
} otel_batch_processor;

typedef struct otel_simple_processor {
        otel_span_processor base;     /* first: the provider only sees this */
        otel_span_exporter *exporter; /* owned */
        pthread_mutex_t lock;         /* exports never run concurrently (exporter contract) */
} otel_simple_processor;

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t ms_to_ns(uint64_t ms)
{
        return ms > UINT64_MAX / OTEL_NSEC_PER_MSEC ? UINT64_MAX : ms * OTEL_NSEC_PER_MSEC;
}

/* Waits on a CLOCK_MONOTONIC condition variable until deadline_ns; returns 0 or ETIMEDOUT. */
static int cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t deadline_ns)
{
        struct timespec ts;

        if (deadline_ns == OTEL_NO_DEADLINE)
                return pthread_cond_wait(cond, lock);
        ts.tv_sec = (time_t)(deadline_ns / OTEL_NSEC_PER_SEC);
        ts.tv_nsec = (long)(deadline_ns % OTEL_NSEC_PER_SEC);
        return pthread_cond_timedwait(cond, lock, &ts);
}

static int cond_init_monotonic(pthread_cond_t *cond)
{
        pthread_condattr_t attr;
        int r;

        r = pthread_condattr_init(&attr);
        if (r)
                return -r;
        r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (r == 0)
                r = pthread_cond_init(cond, &attr);
        pthread_condattr_destroy(&attr);
        return -r;
}

/* ---- configuration ---------------------------------------------------------------------------- */

void otel_batch_config_from_env(otel_batch_config *ret)
{
        int64_t queue, batch;

        /* Spec "Batch Span Processor" variables; durations are non-negative milliseconds. A zero queue
         * could hold nothing, so it is invalid like any other bad value. */
        ret->schedule_delay_ms =
                (uint64_t)otel_env_int("OTEL_BSP_SCHEDULE_DELAY", OTEL_BSP_DEFAULT_SCHEDULE_DELAY_MS, 0,
                                       OTEL_BSP_DURATION_LIMIT_MS);
        ret->export_timeout_ms =
                (uint64_t)otel_env_int("OTEL_BSP_EXPORT_TIMEOUT", OTEL_BSP_DEFAULT_EXPORT_TIMEOUT_MS, 0,
                                       OTEL_BSP_DURATION_LIMIT_MS);
        queue = otel_env_int("OTEL_BSP_MAX_QUEUE_SIZE", OTEL_BSP_DEFAULT_MAX_QUEUE_SIZE, 1,
                             OTEL_BSP_QUEUE_SIZE_LIMIT);
        batch = otel_env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", OTEL_BSP_DEFAULT_MAX_EXPORT_BATCH, 1,
                             OTEL_BSP_QUEUE_SIZE_LIMIT);
        /* The spec requires maxExportBatchSize <= maxQueueSize. Only a batch size the operator chose
         * is worth a warning; the default simply follows a smaller queue. */
        if (batch > queue && !otel_env_get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"))
                batch = queue;
        if (batch > queue) {
                otel_diag(OTEL_DIAG_WARN,
                          "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=%lld > OTEL_BSP_MAX_QUEUE_SIZE=%lld, using %lld",
                          (long long)batch, (long long)queue, (long long)queue);
                batch = queue;
        }
        ret->max_queue_size = (uint32_t)queue;
        ret->max_export_batch_size = (uint32_t)batch;
}

/* ---- batch processor: request path ------------------------------------------------------------ */

static void bsp_on_end(otel_span_processor *base, otel_span *span)
{
        otel_batch_processor *p = (otel_batch_processor *)base;
        size_t len;

        otel_span_ref(span);
        len = otel_ring_push(&p->queue, span);
        if (len == 0) {
                otel_span_unref(span);
                OTEL_COUNT(spans_dropped_queue_full, 1);
                return;
        }
        OTEL_COUNT(spans_queued, 1);

        /* Only the span that fills a batch wakes the thread; all others rely on the schedule delay. The
         * lock makes the signal impossible to lose against the thread's check-then-wait. */
        if (len == p->cfg.max_export_batch_size) {
                pthread_mutex_lock(&p->lock);
                pthread_cond_signal(&p->wake);
                pthread_mutex_unlock(&p->lock);
        }
}

/* ---- batch processor: exporter thread --------------------------------------------------------- */

/* Moves up to max_export_batch_size published spans from the ring into p->batch (thread only). Stops
 * at a position claimed but not yet published by a producer that is mid-on_end. */
static size_t bsp_take(otel_batch_processor *p)
{
        size_t n = 0;
        otel_span *span;

        while (n < p->cfg.max_export_batch_size && (span = otel_ring_pop(&p->queue)))
                p->batch[n++] = span;
        otel_ring_release(&p->queue, n);
        return n;
}

static void bsp_unref_batch(otel_batch_processor *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                otel_span_unref(p->batch[i]);
}

/* Called with the lock held, past shutdown's deadline: what is left is given up on. */
static void bsp_drop_remaining(otel_batch_processor *p)
{
        size_t n, total = 0;

        while ((n = bsp_take(p)) > 0) {
                bsp_unref_batch(p, n);
                total += n;
        }
        if (total > 0) {
                OTEL_COUNT(spans_export_failed, total);
                otel_diag(OTEL_DIAG_WARN,
                          "batch span processor: shutdown deadline passed, dropped %zu spans", total);
        }
}

static void bsp_free(otel_batch_processor *p)
{
        otel_span_exporter *exporter;

        /* Normally empty: the thread drained the ring before exiting. */
        for (otel_span *span; (span = otel_ring_pop(&p->queue));)
                otel_span_unref(span);
        otel_ring_done(&p->queue);
        exporter = p->exporter;
        pthread_cond_destroy(&p->progress);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p->batch);
        free(p);
        /* Last, so that an exporter's free() marks the end of everything an abandoned thread does. */
        otel_span_exporter_free(exporter);
}

static void *bsp_thread_main(void *arg)
{
        otel_batch_processor *p = arg;
        uint64_t delay_ns =
                ms_to_ns(p->cfg.schedule_delay_ms > OTEL_BSP_MIN_POLL_MS ? p->cfg.schedule_delay_ms
                                                                         : OTEL_BSP_MIN_POLL_MS);
        uint64_t timeout_ns =
                p->cfg.export_timeout_ms ? ms_to_ns(p->cfg.export_timeout_ms) : OTEL_NO_DEADLINE;
        uint64_t next_export_ns = add_saturating(otel_mono_ns(), delay_ns);
        bool abandoned;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                uint64_t now = otel_mono_ns(), deadline;
                bool flushing = p->flush_target > p->exported_pos;
                size_t n;

                if (p->stopping && !flushing)
                        break;
                if (p->stopping && now >= p->stop_deadline_ns) {
                        bsp_drop_remaining(p);
                        break;
                }
                if (!flushing) {
                        p->flush_deadline_ns = 0;
                        if (otel_ring_length(&p->queue) <
                            p->cfg.max_export_batch_size) {
                                if (now < next_export_ns) {
                                        (void)cond_wait_until(&p->wake, &p->lock, next_export_ns);
                                        continue;
                                }
                                if (otel_ring_length(&p->queue) == 0) {
                                        next_export_ns = add_saturating(now, delay_ns);
                                        continue;
                                }
                        }
                }

                /* Each export gets the export timeout, cut to the deadline of whoever waits for it
                 * (shutdown, or a force_flush that has not given up yet). */
                deadline = add_saturating(now, timeout_ns);
                if (p->stopping && p->stop_deadline_ns < deadline)
                        deadline = p->stop_deadline_ns;
                else if (flushing && p->flush_deadline_ns > now && p->flush_deadline_ns < deadline)
                        deadline = p->flush_deadline_ns;
                pthread_mutex_unlock(&p->lock);

                n = bsp_take(p);
                if (n > 0) {
                        int r = p->exporter->export_spans(p->exporter, (otel_span *const *)p->batch, n,
                                                          deadline);
                        if (r < 0)
                                otel_diag(OTEL_DIAG_DEBUG,
                                          "batch span processor: export of %zu spans failed: %s", n,
                                          strerror(-r));
                        /* The exporter must not keep the spans: they are released right here. */
                        bsp_unref_batch(p, n);
                        next_export_ns = add_saturating(otel_mono_ns(), delay_ns);
                } else
                        /* A producer claimed the next position but has not published it yet: retry
                         * (keeping the timer expired) instead of sleeping a whole delay. */
                        sched_yield();

                pthread_mutex_lock(&p->lock);
                p->exported_pos = otel_ring_dequeued(&p->queue);
                pthread_cond_broadcast(&p->progress);
        }
        p->thread_exited = true;
        abandoned = p->abandoned;
        pthread_cond_broadcast(&p->progress);
        pthread_mutex_unlock(&p->lock);

        /* Shutdown returned -ETIMEDOUT and no one else will ever touch p again. */
        if (abandoned)
                bsp_free(p);
        return NULL;
}

/* ---- batch processor: flush and shutdown ------------------------------------------------------ */

static int bsp_force_flush(otel_span_processor *base, uint64_t deadline_ns)
{
        otel_batch_processor *p = (otel_batch_processor *)base;
        size_t target;
        int r = 0;

        pthread_mutex_lock(&p->lock);
        /* Everything that on_end had accepted when we were called; later spans may ride along. */
        target = otel_ring_enqueued(&p->queue);
        if (target > p->flush_target)
                p->flush_target = target;
        if (deadline_ns > p->flush_deadline_ns)
                p->flush_deadline_ns = deadline_ns;
        pthread_cond_signal(&p->wake);
        while (p->exported_pos < target && !p->thread_exited)
                if (cond_wait_until(&p->progress, &p->lock, deadline_ns) == ETIMEDOUT &&
                    p->exported_pos < target) {
                        r = -ETIMEDOUT;
                        break;
                }
        pthread_mutex_unlock(&p->lock);
        return r;
}

static int bsp_shutdown(otel_span_processor *base, uint64_t deadline_ns)
{
        otel_batch_processor *p = (otel_batch_processor *)base;
        pthread_t thread;

        pthread_mutex_lock(&p->lock);
        /* The provider calls on_end no more, so the ring only shrinks from here. */
        p->stopping = true;
        p->stop_deadline_ns = deadline_ns;
        p->flush_target = otel_ring_enqueued(&p->queue);
        pthread_cond_signal(&p->wake);
        while (!p->thread_exited)
                if (cond_wait_until(&p->progress, &p->lock, deadline_ns) == ETIMEDOUT && !p->thread_exited) {
                        /* The exporter overran its deadline. The thread still uses p and the exporter,
                         * so it gets to free them when (if ever) the export returns. */
                        p->abandoned = true;
                        thread = p->thread;
                        pthread_mutex_unlock(&p->lock);
                        pthread_detach(thread);
                        otel_diag(OTEL_DIAG_WARN,
                                  "batch span processor: exporter did not finish by the shutdown deadline");
                        return -ETIMEDOUT;
                }
        pthread_mutex_unlock(&p->lock);

        pthread_join(p->thread, NULL);
        bsp_free(p);
        return 0;
}

int otel_batch_processor_new(const otel_batch_config *cfg, otel_span_exporter *exporter,
                             otel_span_processor **ret)
{
        otel_batch_processor *p;
        sigset_t all, saved;
        int r;

        if (cfg->max_queue_size == 0 || cfg->max_export_batch_size == 0 ||
            cfg->max_export_batch_size > cfg->max_queue_size) {
                otel_span_exporter_free(exporter);
                return -EINVAL;
        }

        /* aligned_alloc: the struct is cache-line aligned; its size is a multiple of that. */
        p = aligned_alloc(_Alignof(otel_batch_processor), sizeof(*p));
        if (!p) {
                otel_span_exporter_free(exporter);
                return -ENOMEM;
        }
        memset(p, 0, sizeof(*p));
        p->base.on_end = bsp_on_end;
        p->base.force_flush = bsp_force_flush;
        p->base.shutdown = bsp_shutdown;
        p->cfg = *cfg;
        p->exporter = exporter;
        p->batch = calloc(cfg->max_export_batch_size, sizeof(*p->batch));
        if (!p->batch) {
                free(p);
                otel_span_exporter_free(exporter);
                return -ENOMEM;
        }
        r = otel_ring_init(&p->queue, cfg->max_queue_size);
        if (r < 0)
                goto fail_batch;

        r = -pthread_mutex_init(&p->lock, NULL);
        if (r < 0)
                goto fail_ring;
        r = cond_init_monotonic(&p->wake);
        if (r < 0)
                goto fail_mutex;
        r = cond_init_monotonic(&p->progress);
        if (r < 0)
                goto fail_wake;

        /* The thread must not take the application's signals (SIGTERM, SIGHUP handlers...). */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        r = -pthread_create(&p->thread, NULL, bsp_thread_main, p);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                goto fail_progress;

        *ret = &p->base;
        return 0;

fail_progress:
        pthread_cond_destroy(&p->progress);
fail_wake:
        pthread_cond_destroy(&p->wake);
fail_mutex:
        pthread_mutex_destroy(&p->lock);
fail_ring:
        otel_ring_done(&p->queue);
fail_batch:
        free(p->batch);
        free(p);
        otel_span_exporter_free(exporter);
        return r;
}

/* ---- simple processor ------------------------------------------------------------------------- */

static void simple_on_end(otel_span_processor *base, otel_span *span)
{
        otel_simple_processor *p = (otel_simple_processor *)base;
        uint64_t deadline = add_saturating(otel_mono_ns(), ms_to_ns(OTEL_SIMPLE_EXPORT_TIMEOUT_MS));
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
