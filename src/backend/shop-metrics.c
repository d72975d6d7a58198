/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The data side's metrics: db.client.operation.duration, db.client.connection.count (observed from the
 * pool at each collection), oteldemo.orders.created and oteldemo.payment.failures. Instruments are
 * created by shop_telemetry_init; until then recording is a no-op.
 */
#include <pthread.h>

#include "config.h"
#include "db-pool.h"
#include "otel.h"

static otel_instrument *m_op_duration;    /* db.client.operation.duration */
static otel_instrument *m_conn_count;     /* db.client.connection.count */
static otel_instrument *m_orders_created; /* oteldemo.orders.created */
static otel_instrument *m_payment_fails;  /* oteldemo.payment.failures */
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static db_pool *metrics_pool; /* observed by the connection-count callback */

static void observe_connections(otel_observer *obs, void *userdata)
{
        unsigned used, idle;

        (void)userdata;
        pthread_mutex_lock(&metrics_lock);
        if (metrics_pool) {
                db_pool_counts(metrics_pool, &used, &idle);
                otel_observe(obs, used,
                             (otel_attr[]){OTEL_ATTR_STR("db.client.connection.state", "used"),
                                           OTEL_ATTR_STR("db.client.connection.pool.name", "backend")},
                             2);
                otel_observe(obs, idle,
                             (otel_attr[]){OTEL_ATTR_STR("db.client.connection.state", "idle"),
                                           OTEL_ATTR_STR("db.client.connection.pool.name", "backend")},
                             2);
        }
        pthread_mutex_unlock(&metrics_lock);
}

void shop_metrics_forget_pool(db_pool *pool)
{
        pthread_mutex_lock(&metrics_lock);
        if (metrics_pool == pool)
                metrics_pool = NULL;
        pthread_mutex_unlock(&metrics_lock);
}

/* Semantic conventions' recommended buckets for db.client.operation.duration (seconds). */
static const double db_duration_bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};

int shop_telemetry_init(db_pool *pool)
{
        otel_meter *meter = otel_meter_get("oteldemo-backend", OTELDEMO_VERSION);
        otel_instrument *i;

        pthread_mutex_lock(&metrics_lock);
        metrics_pool = pool;
        pthread_mutex_unlock(&metrics_lock);

        i = otel_instrument_new(
                meter, OTEL_INSTRUMENT_HISTOGRAM, "db.client.operation.duration",
                &(otel_instrument_opts){
                        .unit = "s",
                        .description = "Duration of database client operations.",
                        .bounds = db_duration_bounds,
                        .n_bounds = sizeof(db_duration_bounds) / sizeof(db_duration_bounds[0]),
                });
        __atomic_store_n(&m_op_duration, i, __ATOMIC_RELEASE);
        i = otel_instrument_new(meter, OTEL_INSTRUMENT_OBSERVABLE_UP_DOWN_COUNTER,
                                "db.client.connection.count",
                                &(otel_instrument_opts){
                                        .unit = "{connection}",
                                        .description = "Database connections by state.",
                                        .integer = true,
                                        .callback = observe_connections,
                                });
        __atomic_store_n(&m_conn_count, i, __ATOMIC_RELEASE);
        i = otel_instrument_new(meter, OTEL_INSTRUMENT_COUNTER, "oteldemo.orders.created",
                                &(otel_instrument_opts){
                                        .unit = "{order}",
                                        .description = "Orders created.",
                                        .integer = true,
                                });
        __atomic_store_n(&m_orders_created, i, __ATOMIC_RELEASE);
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

void shop_metrics_payment_failure(const char *reason)
{
        otel_instrument *i = __atomic_load_n(&m_payment_fails, __ATOMIC_ACQUIRE);

        if (i)
                otel_instrument_add(i, 1, (otel_attr[]){OTEL_ATTR_STR("error.type", reason)}, 1);
}

void shop_metrics_db_operation(const char *operation, const char *collection, const char *error_type,
                               double seconds)
{
        otel_instrument *hist = __atomic_load_n(&m_op_duration, __ATOMIC_ACQUIRE);
        otel_attr attrs[4];
        size_t n = 0;

        if (!hist)
                return;
        attrs[n++] = OTEL_ATTR_STR("db.system.name", "postgresql");
        attrs[n++] = OTEL_ATTR_STR("db.operation.name", operation);
        if (collection)
                attrs[n++] = OTEL_ATTR_STR("db.collection.name", collection);
        if (error_type)
                attrs[n++] = OTEL_ATTR_STR("error.type", error_type);
        otel_instrument_record(hist, seconds, attrs, n);
}
