/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A simulated payment provider, the backend's "external API": it costs a realistic 20-80 ms by default
 * ([payment] latency_min_ms, latency_jitter_ms; 0 for benchmarks of the shop itself), and the fault flags
 * make it slow, decline a share of payments or be unreachable, so traces show a CLIENT span to another
 * service with the failures an operator would see from a real one. The latency is a timer (timer-queue.c),
 * not a sleep: no server thread waits for the provider.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "config.h"
#include "otel.h"
#include "payment.h"
#include "shop-error.h"
#include "shop-metrics.h"
#include "shop.h"
#include "timer-queue.h"

#define PAYMENT_PEER_SERVICE   "payment-provider"
#define PAYMENT_SERVER_ADDRESS "payments.oteldemo.internal"
#define PAYMENT_SERVER_PORT    443
/* Threads that deliver the provider's answers: each answer confirms or compensates its order (one
 * database round trip), so one thread would serialise every order's last step. */
#define PAYMENT_ANSWER_THREADS 4u
/* What a refused TCP connect to a down host costs. */
#define PAYMENT_UNREACHABLE_MS 3u

/* Per-thread xorshift64*, seeded from getrandom: cheap and lock-free, and good enough to simulate. */
static __thread uint64_t rng_state;

static uint64_t rng_next(void)
{
        uint64_t x = rng_state;

        if (x == 0) {
                if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
                        x = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&x;
                x |= 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        rng_state = x;
        return x * UINT64_C(2685821657736338717);
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
        return (double)(rng_next() >> 11) / (double)(UINT64_C(1) << 53);
}

/* One authorisation in flight: decided when it starts, answered when its timer fires. */
typedef struct payment_call {
        otel_span *span;      /* the CLIENT span, ended when the answer comes */
        const char *reason;   /* error.type of a failure, NULL when authorised */
        int r;                /* the answer: 0 or a negative errno */
        shop_error err;       /* filled when r < 0 */
        int64_t order_id;     /* for the failure's log line */
        payment_done_fn done; /* called with the answer, on a timer thread */
        void *userdata;
} payment_call;

static pthread_mutex_t payment_lock = PTHREAD_MUTEX_INITIALIZER;
static timer_queue *payment_queue; /* started on first use, stopped by payment_shutdown */
static payment_config payment_settings = PAYMENT_CONFIG_DEFAULT; /* under payment_lock */

void payment_configure(const payment_config *c)
{
        pthread_mutex_lock(&payment_lock);
        payment_settings = *c;
        pthread_mutex_unlock(&payment_lock);
}

uint32_t payment_timeout_ms(void)
{
        uint32_t t;

        pthread_mutex_lock(&payment_lock);
        t = payment_settings.timeout_ms;
        pthread_mutex_unlock(&payment_lock);
        return t;
}

static void payment_answer(void *userdata)
{
        payment_call *c = userdata;
        otel_context_token token = otel_context_attach(c->span, NULL);

        if (c->reason) {
                otel_span_set_str(c->span, "error.type", c->reason);
                otel_span_set_status(c->span, OTEL_STATUS_ERROR, c->err.message);
                shop_metrics_payment_failure(c->reason);
                otel_log(OTEL_SEVERITY_WARN, "Payment for order %lld failed: %s", (long long)c->order_id,
                         c->reason);
        } else {
                otel_span_set_str(c->span, "oteldemo.payment.status", "authorized");
        }
        otel_context_detach(token);
        otel_span_end(c->span);
        c->done(c->userdata, c->r, c->r < 0 ? &c->err : NULL);
        free(c);
}

/* The timer queue (started on first use) and the settings in force, read together under the lock. */
static int payment_queue_get(timer_queue **ret, payment_config *ret_config)
{
        int r = 0;

        pthread_mutex_lock(&payment_lock);
        if (!payment_queue)
                r = timer_queue_new(PAYMENT_ANSWER_THREADS, &payment_queue);
        *ret = payment_queue;
        *ret_config = payment_settings;
        pthread_mutex_unlock(&payment_lock);
        return r;
}

void payment_shutdown(void)
{
        timer_queue *q;

        pthread_mutex_lock(&payment_lock);
        q = payment_queue;
        payment_queue = NULL;
        pthread_mutex_unlock(&payment_lock);
        timer_queue_free(q); /* the calls still pending are answered first */
}

int payment_authorize_start(int64_t order_id, int64_t amount_cents, const char *currency,
                            payment_done_fn done, void *userdata)
{
        otel_tracer *tracer = otel_tracer_get("oteldemo-backend.payment", OTELDEMO_VERSION);
        otel_attr attrs[] = {
                OTEL_ATTR_STR("peer.service", PAYMENT_PEER_SERVICE),
                OTEL_ATTR_STR("server.address", PAYMENT_SERVER_ADDRESS),
                OTEL_ATTR_I64("server.port", PAYMENT_SERVER_PORT),
                OTEL_ATTR_STR("rpc.method", "Authorize"),
                OTEL_ATTR_I64("oteldemo.order.id", order_id),
                OTEL_ATTR_I64("oteldemo.payment.amount_cents", amount_cents),
                OTEL_ATTR_STR("oteldemo.payment.currency", currency),
        };
        payment_config cfg;
        timer_queue *q;
        payment_call *c;
        uint64_t latency;
        shop_faults f;
        int r;

        r = payment_queue_get(&q, &cfg);
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->order_id = order_id;
        c->done = done;
        c->userdata = userdata;
        shop_faults_get(&f);
        if (f.payment_unreachable) {
                latency = PAYMENT_UNREACHABLE_MS;
                c->reason = "unreachable";
                c->r = shop_error_set(&c->err, -ECONNREFUSED, 502, "payment provider unreachable");
        } else {
                latency = (uint64_t)cfg.latency_min_ms + f.payment_latency_ms;
                if (cfg.latency_jitter_ms > 0)
                        latency += (uint64_t)(rng_unit() * (double)cfg.latency_jitter_ms);
                if (latency > cfg.timeout_ms) {
                        latency = cfg.timeout_ms;
                        c->reason = "timeout";
                        c->r = shop_error_set(&c->err, -ETIMEDOUT, 504, "payment provider timed out");
                } else if (f.payment_failure_rate > 0 && rng_unit() < f.payment_failure_rate) {
                        c->reason = "declined";
                        c->r = shop_error_set(&c->err, -EPERM, 402, "payment declined");
                }
        }
        c->span = otel_span_start(
                tracer, "payment.authorize", OTEL_SPAN_KIND_CLIENT,
                &(otel_span_start_opts){.attrs = attrs, .n_attrs = sizeof(attrs) / sizeof(attrs[0])});
        r = timer_queue_add(q, (uint32_t)latency, payment_answer, c);
        if (r < 0) {
                otel_span_set_status(c->span, OTEL_STATUS_ERROR, "payment queue full");
                otel_span_end(c->span);
                free(c);
        }
        return r;
}
