/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A simulated payment provider, the backend's "external API": it costs a realistic 20-80 ms, and the
 * fault flags make it slow, decline a share of payments or be unreachable, so traces show a CLIENT span
 * to another service with the failures an operator would see from a real one.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

#include "config.h"
#include "otel.h"
#include "payment.h"
#include "shop-error.h"
#include "shop-metrics.h"
#include "shop.h"

#define PAYMENT_PEER_SERVICE    "payment-provider"
#define PAYMENT_SERVER_ADDRESS  "payments.oteldemo.internal"
#define PAYMENT_SERVER_PORT     443
#define PAYMENT_LATENCY_MIN_MS  20u
#define PAYMENT_LATENCY_SPAN_MS 60u /* latency is MIN + uniform [0, SPAN] */
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

static void sleep_ms(uint32_t ms)
{
        struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int payment_authorize(int64_t order_id, int64_t amount_cents, const char *currency, shop_error *err)
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
        const char *reason = NULL;
        uint32_t latency;
        otel_span *span;
        shop_faults f;
        int r = 0;

        shop_faults_get(&f);
        span = otel_span_start(
                tracer, "payment.authorize", OTEL_SPAN_KIND_CLIENT,
                &(otel_span_start_opts){.attrs = attrs, .n_attrs = sizeof(attrs) / sizeof(attrs[0])});
        if (f.payment_unreachable) {
                sleep_ms(PAYMENT_UNREACHABLE_MS);
                reason = "unreachable";
                r = shop_error_set(err, -ECONNREFUSED, 502, "payment provider unreachable");
                goto done;
        }
        latency = PAYMENT_LATENCY_MIN_MS + (uint32_t)(rng_unit() * PAYMENT_LATENCY_SPAN_MS) +
                  f.payment_latency_ms;
        if (latency > PAYMENT_TIMEOUT_MS) {
                sleep_ms(PAYMENT_TIMEOUT_MS);
                reason = "timeout";
                r = shop_error_set(err, -ETIMEDOUT, 504, "payment provider timed out");
                goto done;
        }
        sleep_ms(latency);
        if (f.payment_failure_rate > 0 && rng_unit() < f.payment_failure_rate) {
                reason = "declined";
                r = shop_error_set(err, -EPERM, 402, "payment declined");
                goto done;
        }
done:
        if (reason) {
                otel_span_set_str(span, "error.type", reason);
                otel_span_set_status(span, OTEL_STATUS_ERROR, err ? err->message : reason);
                shop_metrics_payment_failure(reason);
                otel_log(OTEL_SEVERITY_WARN, "Payment for order %lld failed: %s", (long long)order_id,
                         reason);
        } else {
                otel_span_set_str(span, "oteldemo.payment.status", "authorized");
        }
        otel_span_end(span);
        return r;
}
