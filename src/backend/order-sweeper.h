/* SPDX-License-Identifier: Apache-2.0 */
/*
 * order-sweeper.h - compensation of the orders a crash left 'pending' (the backend killed between an
 * order's reservation and its payment's answer): at start and then periodically, every order pending
 * for longer than a live backend can keep one pending is compensated as a failed payment is.
 */
#pragma once

#include <stdint.h>

#include "shop.h"

/* Pause between sweeps: half the expiry, within these bounds. */
#define ORDER_SWEEP_INTERVAL_MIN_MS 1000u
#define ORDER_SWEEP_INTERVAL_MAX_MS 30000u
/* Orders compensated by one sweep at most (the next sweep takes the rest). */
#define ORDER_SWEEP_BATCH 1000

typedef struct order_sweeper order_sweeper;

/* One sweep: the orders pending for more than expiry_ms (shop_order_expiry_ms) (by the database's clock) are
 * compensated (shop_order_cancel), each in its own transaction; the count in *ret_n. Each one is logged and
 * counted in oteldemo.orders.expired. 0 or a negative errno (the count so far in *ret_n). */
int order_sweep(db_pool *pool, uint32_t expiry_ms, unsigned *ret_n);
/* A thread that sweeps now and then every interval until order_sweeper_stop. */
int order_sweeper_start(db_pool *pool, uint32_t expiry_ms, order_sweeper **ret);
/* Stops the thread (waits for a sweep in progress). NULL-safe. */
void order_sweeper_stop(order_sweeper *s);
