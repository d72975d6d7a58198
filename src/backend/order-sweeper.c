/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sweeper of abandoned orders (see order-sweeper.h). The periodic look-up runs under a parent that
 * is not sampled, so that an idle shop does not export a trace every few seconds; when it finds orders,
 * their compensation is one trace (orders.expire) with a log line per order.
 */
#include "order-sweeper.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "config.h"
#include "db-pool.h"
#include "otel.h"
#include "shop-metrics.h"

static const db_stmt STMT_ORDERS_EXPIRED = {
        .name = "orders_expired",
        .sql = "SELECT id FROM orders WHERE status = 'pending'"
               " AND created_at < now() - $1::integer * interval '1 millisecond' ORDER BY id LIMIT $2",
        .operation = "SELECT",
        .collection = "orders",
        .n_params = 2,
};

struct order_sweeper {
        db_pool *pool;
        uint32_t expiry_ms;   /* orders pending longer are abandoned */
        uint32_t interval_ms; /* between sweeps */
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake; /* signalled by order_sweeper_stop */
        bool stopping;       /* under lock */
};

/* A non-recording parent with a fresh trace id and the sampled flag off: its children are not sampled
 * (under the parent-based samplers) and nothing of an empty sweep is exported. */
static otel_span *sweep_quiet_parent(void)
{
        otel_span_context sc = {.trace_flags = 0};

        if (getrandom(sc.trace_id, sizeof(sc.trace_id), GRND_NONBLOCK) != sizeof(sc.trace_id) ||
            getrandom(sc.span_id, sizeof(sc.span_id), GRND_NONBLOCK) != sizeof(sc.span_id))
                return NULL;
        sc.trace_id[0] |= 1; /* never the invalid all-zero id */
        sc.span_id[0] |= 1;
        return otel_span_wrap_context(&sc, NULL);
}

/* The ids of the expired orders, at most ORDER_SWEEP_BATCH, in *ret (PQclear). */
static int sweep_find(db_pool *pool, uint32_t expiry_ms, PGresult **ret)
{
        otel_span *quiet = sweep_quiet_parent();
        otel_context_token token = otel_context_attach(quiet, NULL);
        _cleanup_conn_ db_conn *c = NULL;
        char age[16], limit[16];
        int r;

        snprintf(age, sizeof(age), "%" PRIu32, expiry_ms);
        snprintf(limit, sizeof(limit), "%d", ORDER_SWEEP_BATCH);
        r = db_pool_acquire(pool, &c);
        if (r >= 0)
                r = db_exec(c, &STMT_ORDERS_EXPIRED, (const char *const[]){age, limit}, ret);
        otel_context_detach(token);
        otel_span_unref(quiet);
        return r;
}

int order_sweep(db_pool *pool, uint32_t expiry_ms, unsigned *ret_n)
{
        otel_tracer *tracer = otel_tracer_get("oteldemo-backend.orders", OTELDEMO_VERSION);
        _cleanup_result_ PGresult *res = NULL;
        otel_context_token token;
        otel_span *span;
        int r;

        *ret_n = 0;
        r = sweep_find(pool, expiry_ms, &res);
        if (r < 0 || PQntuples(res) == 0)
                return r;
        span = otel_span_start(tracer, "orders.expire", OTEL_SPAN_KIND_INTERNAL,
                               &(otel_span_start_opts){.root = true});
        token = otel_context_attach(span, NULL);
        for (int i = 0; i < PQntuples(res) && r >= 0; i++) {
                int64_t id = db_value_i64(res, i, 0);
                bool cancelled = false;

                r = shop_order_cancel(pool, id, &cancelled);
                if (r >= 0 && cancelled) {
                        (*ret_n)++;
                        shop_metrics_order_expired();
                        otel_log(OTEL_SEVERITY_WARN,
                                 "Order %" PRId64
                                 " was abandoned pending (no payment answer for over %" PRIu32
                                 " ms): compensated, stock given back",
                                 id, expiry_ms);
                }
        }
        otel_span_set_int(span, "oteldemo.orders.expired", *ret_n);
        if (r < 0)
                otel_span_set_status(span, OTEL_STATUS_ERROR, "compensation failed");
        otel_context_detach(token);
        otel_span_end(span);
        return r;
}

static void *sweeper_run(void *arg)
{
        order_sweeper *s = arg;
        struct timespec ts;

        pthread_mutex_lock(&s->lock);
        while (!s->stopping) {
                unsigned n;
                int r;

                pthread_mutex_unlock(&s->lock);
                r = order_sweep(s->pool, s->expiry_ms, &n);
                if (r < 0 && r != -EAGAIN) /* -EAGAIN: the database is down, which /readyz reports */
                        otel_log_errno(OTEL_SEVERITY_WARN, r, "Sweep of abandoned orders failed: %m");
                pthread_mutex_lock(&s->lock);
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += s->interval_ms / 1000u;
                ts.tv_nsec += (long)(s->interval_ms % 1000u) * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &ts) != ETIMEDOUT)
                        ;
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

int order_sweeper_start(db_pool *pool, uint32_t expiry_ms, order_sweeper **ret)
{
        order_sweeper *s = calloc(1, sizeof(*s));
        pthread_condattr_t ca;
        int r;

        if (!s)
                return -ENOMEM;
        s->pool = pool;
        s->expiry_ms = expiry_ms;
        s->interval_ms = expiry_ms / 2;
        if (s->interval_ms < ORDER_SWEEP_INTERVAL_MIN_MS)
                s->interval_ms = ORDER_SWEEP_INTERVAL_MIN_MS;
        if (s->interval_ms > ORDER_SWEEP_INTERVAL_MAX_MS)
                s->interval_ms = ORDER_SWEEP_INTERVAL_MAX_MS;
        pthread_mutex_init(&s->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->wake, &ca);
        pthread_condattr_destroy(&ca);
        r = pthread_create(&s->thread, NULL, sweeper_run, s);
        if (r != 0) {
                pthread_cond_destroy(&s->wake);
                pthread_mutex_destroy(&s->lock);
                free(s);
                return -r;
        }
        *ret = s;
        return 0;
}

void order_sweeper_stop(order_sweeper *s)
{
        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
}
