/* SPDX-License-Identifier: Apache-2.0 */
/* payment.h - the simulated external payment provider called while an order is created. */
#pragma once

#include <stdint.h>

#include "shop.h"

/* Client-side timeout of the provider call: a payment_latency_ms fault above it yields 504. */
#define PAYMENT_TIMEOUT_MS 5000u

/* Authorises amount_cents for order_id inside a CLIENT span (peer.service=payment-provider).
 * 0 authorised; -EPERM declined (402), -ECONNREFUSED unreachable (502), -ETIMEDOUT timed out (504). */
int payment_authorize(int64_t order_id, int64_t amount_cents, const char *currency, shop_error *err);
