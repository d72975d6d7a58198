/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The data side's metrics: the pool registers its own db.client.* instruments (db_pool_metrics_init);
 * this module adds oteldemo.orders.created, oteldemo.orders.expired and oteldemo.payment.failures.
 * Instruments are created by shop_telemetry_init; until then recording is a no-op.
 */
#include "shop-metrics.h"

#include "config.h"
#include "db-pool.h"
#include "otel.h"
#include "shop.h"

static otel_instrument *m_orders_created; /* oteldemo.orders.created */
static otel_instrument *m_orders_expired; /* oteldemo.orders.expired */
static otel_instrument *m_payment_fails;  /* oteldemo.payment.failures */

int shop_telemetry_init(db_pool *pool)
{
        otel_meter *meter = otel_meter_get("oteldemo-backend", OTELDEMO_VERSION);
        otel_instrument *i;
        int r;

        r = db_pool_metrics_init(pool);
        if (r < 0)
                return r;
        i = otel_instrument_new(meter, OTEL_INSTRUMENT_COUNTER, "oteldemo.orders.created",
                                &(otel_instrument_opts){
                                        .unit = "{order}",
                                        .description = "Orders created.",
                                        .integer = true,
                                });
        __atomic_store_n(&m_orders_created, i, __ATOMIC_RELEASE);
        i = otel_instrument_new(meter, OTEL_INSTRUMENT_COUNTER, "oteldemo.orders.expired",
                                &(otel_instrument_opts){
                                        .unit = "{order}",
                                        .description = "Orders abandoned pending (a crash before the "
                                                       "payment's answer) and compensated by the sweeper.",
                                        .integer = true,
                                });
        __atomic_store_n(&m_orders_expired, i, __ATOMIC_RELEASE);
        i = otel_instrument_new(meter, OTEL_INSTRUMENT_COUNTER, "oteldemo.payment.failures",
                                &(otel_instrument_opts){
                                        .unit = "{payment}",
                                        .description = "Payment authorisations that failed, by reason.",
                                        .integer = true,
                                });
        __atomic_store_n(&m_payment_fails, i, __ATOMIC_RELEASE);
        return 0;
}

void shop_metrics_order_created(void)
{
        otel_instrument *i = __atomic_load_n(&m_orders_created, __ATOMIC_ACQUIRE);

        if (i)
                otel_instrument_add(i, 1, NULL, 0);
}

void shop_metrics_order_expired(void)
{
        otel_instrument *i = __atomic_load_n(&m_orders_expired, __ATOMIC_ACQUIRE);

        if (i)
                otel_instrument_add(i, 1, NULL, 0);
}

void shop_metrics_payment_failure(const char *reason)
{
        otel_instrument *i = __atomic_load_n(&m_payment_fails, __ATOMIC_ACQUIRE);

        if (i)
                otel_instrument_add(i, 1, (otel_attr[]){OTEL_ATTR_STR("error.type", reason)}, 1);
}
