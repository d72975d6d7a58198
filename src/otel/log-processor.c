/* SPDX-License-Identifier: Apache-2.0 */
/* The batch log record processor (SDK spec "Batch LogRecord processor", OTEL_BLRP_*): otel_log_full()
 * pushes records into the shared lock-free ring (ring.h) without blocking, dropping and counting when
 * it is full; one thread exports them in batches, on the schedule delay, when a batch is full, on
 * force_flush and on shutdown (bounded by its deadline). Modelled on the batch span processor. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "diag.h"
#include "env.h"
#include "logs.h"
#include "ring.h"

#define LOGS_DURATION_LIMIT_MS INT32_MAX /* about 24 days: keeps ns arithmetic far from overflow */
#define LOGS_MIN_POLL_MS       1         /* a schedule delay of 0 still sleeps this long when idle */
#define LOGS_NO_DEADLINE       UINT64_MAX

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
        otel_batch_log_config cfg;   /* validated configuration */
        otel_log_exporter *exporter; /* owned; used only by the thread after creation */
        otel_ring queue;             /* records waiting for export, owned by the queue */
        otel_log_record **batch;     /* the thread's buffer of max_export_batch_size records */
        pthread_t thread;            /* the exporter thread */
        pthread_mutex_t lock;        /* guards the fields below and the condition variables */
        pthread_cond_t wake;         /* the thread sleeps here */
        pthread_cond_t progress;     /* force_flush and shutdown wait here */
        size_t flush_target;         /* positions below this are exported without waiting */
        size_t exported_pos;         /* every position below has been through export */
        uint64_t flush_deadline_ns;  /* latest deadline of a pending force_flush; 0 when none */
        uint64_t stop_deadline_ns;   /* shutdown's deadline */
        bool stopping;               /* shutdown was called: drain and exit */
        bool thread_exited;          /* the thread no longer touches the exporter */
        bool abandoned;              /* shutdown gave up waiting: the thread frees everything */
};

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t ms_to_ns(uint64_t ms)
{
        return ms > UINT64_MAX / OTEL_NSEC_PER_MSEC ? UINT64_MAX : ms * OTEL_NSEC_PER_MSEC;
}

static int cond_init_monotonic(pthread_cond_t *cond)
{
        pthread_condattr_t attr;
        int r = pthread_condattr_init(&attr);

        if (r)
                return -r;
        r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (r == 0)
                r = pthread_cond_init(cond, &attr);
        pthread_condattr_destroy(&attr);
        return -r;
}

static int cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t deadline_ns)
{
        struct timespec ts;

        if (deadline_ns == LOGS_NO_DEADLINE)
                return pthread_cond_wait(cond, lock);
        ts.tv_sec = (time_t)(deadline_ns / OTEL_NSEC_PER_SEC);
        ts.tv_nsec = (long)(deadline_ns % OTEL_NSEC_PER_SEC);
        return pthread_cond_timedwait(cond, lock, &ts);
}

void otel_batch_log_config_from_env(otel_batch_log_config *ret)
{
        int64_t queue, batch;

        ret->schedule_delay_ms = (uint64_t)otel_env_int(
                "OTEL_BLRP_SCHEDULE_DELAY", OTEL_BLRP_DEFAULT_SCHEDULE_DELAY_MS, 0, LOGS_DURATION_LIMIT_MS);
        ret->export_timeout_ms = (uint64_t)otel_env_int(
                "OTEL_BLRP_EXPORT_TIMEOUT", OTEL_BLRP_DEFAULT_EXPORT_TIMEOUT_MS, 0, LOGS_DURATION_LIMIT_MS);
        queue = otel_env_int("OTEL_BLRP_MAX_QUEUE_SIZE", OTEL_BLRP_DEFAULT_MAX_QUEUE_SIZE, 1,
                             OTEL_RING_SIZE_LIMIT);
        batch = otel_env_int("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", OTEL_BLRP_DEFAULT_MAX_EXPORT_BATCH, 1,
                             OTEL_RING_SIZE_LIMIT);
        /* The spec requires maxExportBatchSize <= maxQueueSize; only an explicit batch size is worth a
         * warning, the default simply follows a smaller queue. */
        if (batch > queue && otel_env_get("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"))
                otel_diag(OTEL_DIAG_WARN,
                          "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=%lld > OTEL_BLRP_MAX_QUEUE_SIZE=%lld, using %lld",
                          (long long)batch, (long long)queue, (long long)queue);
        if (batch > queue)
                batch = queue;
        ret->max_queue_size = (uint32_t)queue;
        ret->max_export_batch_size = (uint32_t)batch;
}

/* Request path: never blocks; a full queue drops the record and counts it. */
void otel_log_processor_emit(otel_log_processor *p, otel_log_record *rec)
{
        size_t len = otel_ring_push(&p->queue, rec);

        if (len == 0) {
                otel_log_record_free(rec);
                LOG_COUNT(dropped_queue_full, 1);
                return;
        }
        LOG_COUNT(queued, 1);
        /* Only the record that fills a batch wakes the thread; the others wait for the schedule delay.
         * The lock makes the signal impossible to lose against the thread's check-then-wait. */
        if (len == p->cfg.max_export_batch_size) {
                pthread_mutex_lock(&p->lock);
                pthread_cond_signal(&p->wake);
                pthread_mutex_unlock(&p->lock);
        }
}

static size_t processor_take(otel_log_processor *p)
{
        size_t n = 0;
        otel_log_record *rec;

        while (n < p->cfg.max_export_batch_size && (rec = otel_ring_pop(&p->queue)))
                p->batch[n++] = rec;
        otel_ring_release(&p->queue, n);
        return n;
}

static void processor_free_batch(otel_log_processor *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                otel_log_record_free(p->batch[i]);
}

static void processor_free(otel_log_processor *p)
{
        otel_log_exporter *exporter = p->exporter;

        for (otel_log_record *rec; (rec = otel_ring_pop(&p->queue));)
                otel_log_record_free(rec);
        otel_ring_done(&p->queue);
        pthread_cond_destroy(&p->progress);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p->batch);
        free(p);
        /* Last, so that an exporter's free() marks the end of everything an abandoned thread does. */
        if (exporter)
                exporter->free(exporter);
}

/* With the lock held, past shutdown's deadline: what is left is given up on. */
static void processor_drop_remaining(otel_log_processor *p)
{
        size_t n, total = 0;

        while ((n = processor_take(p)) > 0) {
                processor_free_batch(p, n);
                total += n;
        }
        if (total > 0) {
                LOG_COUNT(export_failed, total);
                otel_diag(OTEL_DIAG_WARN,
                          "batch log record processor: shutdown deadline passed, dropped %zu records",
                          total);
        }
}

static void *processor_thread(void *arg)
{
        otel_log_processor *p = arg;
        uint64_t delay_ns = ms_to_ns(p->cfg.schedule_delay_ms > LOGS_MIN_POLL_MS ? p->cfg.schedule_delay_ms
                                                                                 : LOGS_MIN_POLL_MS);
        uint64_t timeout_ns =
                p->cfg.export_timeout_ms ? ms_to_ns(p->cfg.export_timeout_ms) : LOGS_NO_DEADLINE;
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
                        processor_drop_remaining(p);
                        break;
                }
                if (!flushing) {
                        p->flush_deadline_ns = 0;
                        if (otel_ring_length(&p->queue) < p->cfg.max_export_batch_size) {
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
                /* The export timeout, cut to the deadline of whoever waits (shutdown or force_flush). */
                deadline = add_saturating(now, timeout_ns);
                if (p->stopping && p->stop_deadline_ns < deadline)
                        deadline = p->stop_deadline_ns;
                else if (flushing && p->flush_deadline_ns > now && p->flush_deadline_ns < deadline)
                        deadline = p->flush_deadline_ns;
                pthread_mutex_unlock(&p->lock);

                n = processor_take(p);
                if (n > 0) {
                        int r = p->exporter->export_logs(p->exporter, p->batch, n, deadline);
                        if (r < 0) {
                                LOG_COUNT(export_failed, n);
                                otel_diag(OTEL_DIAG_DEBUG,
                                          "batch log record processor: export of %zu records failed: %s", n,
                                          strerror(-r));
                        } else {
                                size_t rejected = (size_t)r < n ? (size_t)r : n;
                                LOG_COUNT(exported, n - rejected);
                                LOG_COUNT(export_failed, rejected);
                        }
                        processor_free_batch(p, n);
                        next_export_ns = add_saturating(otel_mono_ns(), delay_ns);
                } else
                        /* A producer claimed the next position but has not published it yet. */
                        sched_yield();

                pthread_mutex_lock(&p->lock);
                p->exported_pos = otel_ring_dequeued(&p->queue);
                pthread_cond_broadcast(&p->progress);
        }
        p->thread_exited = true;
        abandoned = p->abandoned;
        pthread_cond_broadcast(&p->progress);
        pthread_mutex_unlock(&p->lock);
        if (abandoned)
                processor_free(p);
        return NULL;
}

int otel_log_processor_flush(otel_log_processor *p, uint64_t deadline_ns)
{
        size_t target;
        int r = 0;

        pthread_mutex_lock(&p->lock);
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

int otel_log_processor_shutdown(otel_log_processor *p, uint64_t deadline_ns)
{
        pthread_t thread;

        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        p->stop_deadline_ns = deadline_ns;
        p->flush_target = otel_ring_enqueued(&p->queue);
        pthread_cond_signal(&p->wake);
        while (!p->thread_exited)
                if (cond_wait_until(&p->progress, &p->lock, deadline_ns) == ETIMEDOUT && !p->thread_exited) {
                        /* The exporter overran the deadline; the thread frees everything when it returns. */
                        p->abandoned = true;
                        thread = p->thread;
                        pthread_mutex_unlock(&p->lock);
                        pthread_detach(thread);
                        otel_diag(OTEL_DIAG_WARN, "batch log record processor: exporter did not finish by "
                                                  "the shutdown deadline");
                        return -ETIMEDOUT;
                }
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
        processor_free(p);
        return 0;
}

int otel_log_processor_new(const otel_batch_log_config *cfg, otel_log_exporter *exporter,
                           otel_log_processor **ret)
{
        otel_log_processor *p;
        sigset_t all, saved;
        int r;

        if (cfg->max_queue_size == 0 || cfg->max_export_batch_size == 0 ||
            cfg->max_export_batch_size > cfg->max_queue_size) {
                exporter->free(exporter);
                return -EINVAL;
        }
        p = aligned_alloc(_Alignof(otel_log_processor), sizeof(*p));
        if (!p) {
                exporter->free(exporter);
                return -ENOMEM;
        }
        memset(p, 0, sizeof(*p));
        p->cfg = *cfg;
        p->exporter = exporter;
        p->batch = calloc(cfg->max_export_batch_size, sizeof(*p->batch));
        if (!p->batch) {
                r = -ENOMEM;
                goto fail_batch;
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
        /* The thread must not take the application's signals. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        r = -pthread_create(&p->thread, NULL, processor_thread, p);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                goto fail_progress;
        *ret = p;
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
        exporter->free(exporter);
        return r;
}

void otel_log_count_no_memory(void)
{
        LOG_COUNT(dropped_no_memory, 1);
}
