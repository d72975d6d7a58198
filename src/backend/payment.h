/* SPDX-License-Identifier: Apache-2.0 */
/* payment.h - the simulated external payment provider called while an order is created (asynchronously: a
 * timer, not a thread, waits). */
#pragma once

#include <stdint.h>

#include "shop.h"

/* The simulated provider's behaviour ([payment] in backend.conf): it answers after latency_min_ms +
 * uniform [0, latency_jitter_ms] + the payment_latency_ms fault; a call that would take longer than
 * timeout_ms (the client-side timeout) fails with 504 after timeout_ms. */
typedef struct payment_config {
        uint32_t latency_min_ms;    /* base latency of every call */
        uint32_t latency_jitter_ms; /* uniform extra on top of the base */
        uint32_t timeout_ms;        /* client-side timeout, 1..PAYMENT_TIMEOUT_MAX_MS */
} payment_config;

/* The defaults: a realistic 20-80 ms provider behind a 5 s client timeout. */
#define PAYMENT_LATENCY_MIN_MS_DEFAULT    20u
#define PAYMENT_LATENCY_JITTER_MS_DEFAULT 60u
#define PAYMENT_TIMEOUT_MS_DEFAULT        5000u
#define PAYMENT_LATENCY_MAX_MS            60000u
#define PAYMENT_TIMEOUT_MAX_MS            60000u
#define PAYMENT_CONFIG_DEFAULT                                                                              \
        ((payment_config){.latency_min_ms = PAYMENT_LATENCY_MIN_MS_DEFAULT,                                 \
                          .latency_jitter_ms = PAYMENT_LATENCY_JITTER_MS_DEFAULT,                           \
                          .timeout_ms = PAYMENT_TIMEOUT_MS_DEFAULT})

/* Sets the provider's behaviour for the calls started from now on (process-wide; the default until
 * called is PAYMENT_CONFIG_DEFAULT). */
void payment_configure(const payment_config *c);
/* The client-side timeout in force: the longest an order waits for its payment's answer. */
uint32_t payment_timeout_ms(void);

/* The answer of an authorisation: r 0 authorised; -EPERM declined (402), -ECONNREFUSED unreachable (502),
 * -ETIMEDOUT timed out (504), with err filled (else NULL). */
typedef void (*payment_done_fn)(void *userdata, int r, const shop_error *err);

/* Starts authorising amount_cents for order_id: a CLIENT span (peer.service=payment-provider, child of
 * the current span) now, and done() on a payment timer thread once the simulated provider answers.
 * Returns 0 (done will be called exactly once), or a negative errno (-ENOMEM, -EAGAIN: too many calls in
 * flight) and done is never called. */
int payment_authorize_start(int64_t order_id, int64_t amount_cents, const char *currency,
                            payment_done_fn done, void *userdata);
/* Answers the calls still in flight (at their time) and stops the timer threads; later calls start it
 * again. For an orderly shutdown, after the HTTP server has drained. */
void payment_shutdown(void);
