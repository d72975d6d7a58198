/* SPDX-License-Identifier: Apache-2.0 */
/* The batching machine shared by the batch span processor and the batch log record processor: config
 * from the environment, the exporter thread, force_flush and shutdown with deadlines, and abandoning a
 * thread whose exporter overruns shutdown's deadline. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch-worker.h"
#include "clock.h"
#include "diag.h"
#include "env.h"

/* Upper bound for the millisecond durations (about 24 days): keeps ns arithmetic far from overflow. */
#define OTEL_BATCH_DURATION_LIMIT_MS INT32_MAX
/* A schedule delay of 0 means "as soon as possible"; the thread still sleeps this long between polls
 * so an idle process does not spin. */
#define OTEL_BATCH_MIN_POLL_MS 1
/* Room for "<PREFIX>_MAX_EXPORT_BATCH_SIZE". */
#define OTEL_BATCH_ENV_NAME_MAX 64

#define OTEL_NO_DEADLINE UINT64_MAX

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

static int64_t env_int(const char *prefix, const char *suffix, int64_t def, int64_t min, int64_t max)
{
        char name[OTEL_BATCH_ENV_NAME_MAX];

        (void)snprintf(name, sizeof(name), "%s_%s", prefix, suffix);
        return otel_env_int(name, def, min, max);
}

void otel_batch_config_from_env_prefix(const char *prefix, const otel_batch_config *defaults,
                                       otel_batch_config *ret)
{
        char batch_name[OTEL_BATCH_ENV_NAME_MAX];
        int64_t queue, batch;

        /* Durations are non-negative milliseconds. A zero queue could hold nothing, so it is invalid
         * like any other bad value. */
        ret->schedule_delay_ms =
                (uint64_t)env_int(prefix, "SCHEDULE_DELAY", (int64_t)defaults->schedule_delay_ms, 0,
                                  OTEL_BATCH_DURATION_LIMIT_MS);
        ret->export_timeout_ms =
                (uint64_t)env_int(prefix, "EXPORT_TIMEOUT", (int64_t)defaults->export_timeout_ms, 0,
                                  OTEL_BATCH_DURATION_LIMIT_MS);
        queue = env_int(prefix, "MAX_QUEUE_SIZE", defaults->max_queue_size, 1, OTEL_RING_SIZE_LIMIT);
        batch = env_int(prefix, "MAX_EXPORT_BATCH_SIZE", defaults->max_export_batch_size, 1,
                        OTEL_RING_SIZE_LIMIT);
        /* The spec requires maxExportBatchSize <= maxQueueSize. Only a batch size the operator chose
         * is worth a warning; the default simply follows a smaller queue. */
        (void)snprintf(batch_name, sizeof(batch_name), "%s_MAX_EXPORT_BATCH_SIZE", prefix);
        if (batch > queue && otel_env_get(batch_name))
                otel_diag(OTEL_DIAG_WARN, "%s=%lld > %s_MAX_QUEUE_SIZE=%lld, using %lld", batch_name,
                          (long long)batch, prefix, (long long)queue, (long long)queue);
        if (batch > queue)
                batch = queue;
        ret->max_queue_size = (uint32_t)queue;
        ret->max_export_batch_size = (uint32_t)batch;
}

/* ---- request path ----------------------------------------------------------------------------- */

void otel_batch_worker_wake(otel_batch_worker *w)
{
        /* The lock makes the signal impossible to lose against the thread's check-then-wait. */
        pthread_mutex_lock(&w->lock);
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
}

/* ---- exporter thread -------------------------------------------------------------------------- */

/* Moves up to max_export_batch_size published items from the ring into w->batch (thread only). Stops
 * at a position claimed but not yet published by a producer that is mid-push. */
static size_t worker_take(otel_batch_worker *w)
{
        size_t n = 0;
        void *item;

        while (n < w->cfg.max_export_batch_size && (item = otel_ring_pop(&w->queue)))
                w->batch[n++] = item;
        otel_ring_release(&w->queue, n);
        return n;
}

/* Called with the lock held, past shutdown's deadline: what is left is given up on. */
static void worker_drop_remaining(otel_batch_worker *w)
{
        size_t n, total = 0;

        while ((n = worker_take(w)) > 0) {
                w->ops->release(w->batch, n);
                total += n;
        }
        if (total > 0) {
                w->ops->count_abandoned(total);
                otel_diag(OTEL_DIAG_WARN, "%s: shutdown deadline passed, dropped %zu %s", w->ops->name,
                          total, w->ops->item_name);
        }
}

static void worker_done(otel_batch_worker *w)
{
        pthread_cond_destroy(&w->progress);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        otel_ring_done(&w->queue);
        free(w->batch);
}

static void worker_free(otel_batch_worker *w)
{
        /* Normally empty: the thread drained the ring before exiting. */
        for (void *item; (item = otel_ring_pop(&w->queue));)
                w->ops->release(&item, 1);
        worker_done(w);
        w->ops->destroy(w);
}

static void *worker_thread(void *arg)
{
        otel_batch_worker *w = arg;
        uint64_t delay_ns =
                otel_ms_to_ns(w->cfg.schedule_delay_ms > OTEL_BATCH_MIN_POLL_MS ? w->cfg.schedule_delay_ms
                                                                                : OTEL_BATCH_MIN_POLL_MS);
        uint64_t timeout_ns =
                w->cfg.export_timeout_ms ? otel_ms_to_ns(w->cfg.export_timeout_ms) : OTEL_NO_DEADLINE;
        uint64_t next_export_ns = otel_add_saturating(otel_mono_ns(), delay_ns);
        bool abandoned;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                uint64_t now = otel_mono_ns(), deadline;
                bool flushing = w->flush_target > w->exported_pos;
                size_t n;

                if (w->stopping && !flushing)
                        break;
                if (w->stopping && now >= w->stop_deadline_ns) {
                        worker_drop_remaining(w);
                        break;
                }
                if (!flushing) {
                        w->flush_deadline_ns = 0;
                        if (otel_ring_length(&w->queue) < w->cfg.max_export_batch_size) {
                                if (now < next_export_ns) {
                                        (void)cond_wait_until(&w->wake, &w->lock, next_export_ns);
                                        continue;
                                }
                                if (otel_ring_length(&w->queue) == 0) {
                                        next_export_ns = otel_add_saturating(now, delay_ns);
                                        continue;
                                }
                        }
                }

                /* Each export gets the export timeout, cut to the deadline of whoever waits for it
                 * (shutdown, or a force_flush that has not given up yet). */
                deadline = otel_add_saturating(now, timeout_ns);
                if (w->stopping && w->stop_deadline_ns < deadline)
                        deadline = w->stop_deadline_ns;
                else if (flushing && w->flush_deadline_ns > now && w->flush_deadline_ns < deadline)
                        deadline = w->flush_deadline_ns;
                pthread_mutex_unlock(&w->lock);

                n = worker_take(w);
                if (n > 0) {
                        w->ops->export_batch(w, w->batch, n, deadline);
                        /* The exporter must not keep the items: they are released right here. */
                        w->ops->release(w->batch, n);
                        next_export_ns = otel_add_saturating(otel_mono_ns(), delay_ns);
                } else
                        /* A producer claimed the next position but has not published it yet: retry
                         * (keeping the timer expired) instead of sleeping a whole delay. */
                        sched_yield();

                pthread_mutex_lock(&w->lock);
                w->exported_pos = otel_ring_dequeued(&w->queue);
                pthread_cond_broadcast(&w->progress);
        }
        w->thread_exited = true;
        abandoned = w->abandoned;
        pthread_cond_broadcast(&w->progress);
        pthread_mutex_unlock(&w->lock);

        /* Shutdown returned -ETIMEDOUT and no one else will ever touch w again. */
        if (abandoned)
                worker_free(w);
        return NULL;
}

/* ---- flush and shutdown ----------------------------------------------------------------------- */

int otel_batch_worker_flush(otel_batch_worker *w, uint64_t deadline_ns)
{
        size_t target;
        int r = 0;

        pthread_mutex_lock(&w->lock);
        /* Everything pushed when we were called; later items may ride along. */
        target = otel_ring_enqueued(&w->queue);
        if (target > w->flush_target)
                w->flush_target = target;
        if (deadline_ns > w->flush_deadline_ns)
                w->flush_deadline_ns = deadline_ns;
        pthread_cond_signal(&w->wake);
        while (w->exported_pos < target && !w->thread_exited)
                if (cond_wait_until(&w->progress, &w->lock, deadline_ns) == ETIMEDOUT &&
                    w->exported_pos < target) {
                        r = -ETIMEDOUT;
                        break;
                }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int otel_batch_worker_shutdown(otel_batch_worker *w, uint64_t deadline_ns)
{
        pthread_t thread;

        pthread_mutex_lock(&w->lock);
        /* Nothing is pushed any more, so the ring only shrinks from here. */
        w->stopping = true;
        w->stop_deadline_ns = deadline_ns;
        w->flush_target = otel_ring_enqueued(&w->queue);
        pthread_cond_signal(&w->wake);
        while (!w->thread_exited)
                if (cond_wait_until(&w->progress, &w->lock, deadline_ns) == ETIMEDOUT && !w->thread_exited) {
                        /* The exporter overran its deadline. The thread still uses w and the exporter,
                         * so it gets to free them when (if ever) the export returns. */
                        w->abandoned = true;
                        thread = w->thread;
                        pthread_mutex_unlock(&w->lock);
                        pthread_detach(thread);
                        otel_diag(OTEL_DIAG_WARN, "%s: exporter did not finish by the shutdown deadline",
                                  w->ops->name);
                        return -ETIMEDOUT;
                }
        pthread_mutex_unlock(&w->lock);

        pthread_join(w->thread, NULL);
        worker_free(w);
        return 0;
}

int otel_batch_worker_start(otel_batch_worker *w, const otel_batch_config *cfg,
                            const otel_batch_worker_ops *ops)
{
        sigset_t all, saved;
        int r;

        if (cfg->max_queue_size == 0 || cfg->max_export_batch_size == 0 ||
            cfg->max_export_batch_size > cfg->max_queue_size)
                return -EINVAL;

        memset(w, 0, sizeof(*w));
        w->cfg = *cfg;
        w->ops = ops;
        w->batch = calloc(cfg->max_export_batch_size, sizeof(*w->batch));
        if (!w->batch)
                return -ENOMEM;
        r = otel_ring_init(&w->queue, cfg->max_queue_size);
        if (r < 0)
                goto fail_batch;
        r = -pthread_mutex_init(&w->lock, NULL);
        if (r < 0)
                goto fail_ring;
        r = cond_init_monotonic(&w->wake);
        if (r < 0)
                goto fail_mutex;
        r = cond_init_monotonic(&w->progress);
        if (r < 0)
                goto fail_wake;

        /* The thread must not take the application's signals (SIGTERM, SIGHUP handlers...). */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        r = -pthread_create(&w->thread, NULL, worker_thread, w);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                goto fail_progress;
        return 0;

fail_progress:
        pthread_cond_destroy(&w->progress);
fail_wake:
        pthread_cond_destroy(&w->wake);
fail_mutex:
        pthread_mutex_destroy(&w->lock);
fail_ring:
        otel_ring_done(&w->queue);
fail_batch:
        free(w->batch);
        return r;
}
