/* SPDX-License-Identifier: Apache-2.0 */
/* payment.h - the simulated external payment provider called while an order is created (asynchronously: a timer, not a thread, waits). */
#pragma once

#include <stdint.h>

#include "shop.h"

/* Client-side timeout of the provider call: a payment_latency_ms fault above it yields 504. */
#define PAYMENT_TIMEOUT_MS 5000u

/* The answer of an authorisation: r 0 authorised; -EPERM declined (402), -ECONNREFUSED unreachable (502),
 * -ETIMEDOUT timed out (504), with err filled (else NULL). */
typedef void (*payment_done_fn)(void *userdata, int r, const shop_error *err);

/* Starts authorising amount_cents for order_id: a CLIENT span (peer.service=payment-provider, child of
 * the current span) now, and done() on the payment timer thread once the simulated provider answers.
 * Returns 0 (done will be called exactly once), or a negative errno (-ENOMEM, -EAGAIN: too many calls in
 * flight) and done is never called. */
int payment_authorize_start(int64_t order_id, int64_t amount_cents, const char *currency, payment_done_fn done,
                            void *userdata);
/* Answers the calls still in flight (at their time) and stops the timer thread; later calls start it
 * again. For an orderly shutdown, after the HTTP server has drained. */
void payment_shutdown(void);
