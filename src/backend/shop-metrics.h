/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shop-metrics.h - the shop's own counters: oteldemo.orders.created, oteldemo.orders.expired and
 * oteldemo.payment.failures.
 * shop_telemetry_init (shop.h) creates them; until then recording is a no-op.
 */
#pragma once

void shop_metrics_order_created(void);
void shop_metrics_order_expired(void);
/* reason: the error.type attribute ("declined", "unreachable", "timeout"). */
void shop_metrics_payment_failure(const char *reason);
