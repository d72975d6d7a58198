/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shop.h - the data side of oteldemo-backend: PostgreSQL connection pool, migrations, fault flags and
 * the domain operations (users, products, orders, payment) the HTTP side calls.
 *
 * Conventions: functions return 0 or a negative errno. Domain operations additionally fill a shop_error
 * (HTTP status + client-safe message) whenever they fail; the HTTP side turns it into
 * {"error": message, "trace_id": ...}. The errno is informative only (-EINVAL bad input, -ENOENT not
 * found, -EBUSY not enough stock, -EAGAIN database unavailable, -EIO database error, -ECONNREFUSED /
 * -ETIMEDOUT payment provider, -EPERM payment declined, -ENOMEM); the status in err is authoritative.
 *
 * Telemetry: every query gets a CLIENT span that is a child of the current context (the HTTP side
 * attaches its SERVER span before calling in), so no context is passed explicitly.
 *
 * JSON shapes (all integers are JSON integers, timestamps RFC 3339 strings in UTC with microseconds,
 * e.g. "2024-05-01T12:00:00.123456Z"):
 *   user    {"id", "name", "email", "created_at"}
 *   product {"id", "sku", "name", "description", "price_cents", "currency", "stock"}
 *   list    {"items": [...], "limit", "offset", "total"}          (users and products)
 *   order   {"id", "user_id", "status", "total_cents", "currency", "created_at",
 *            "items": [{"product_id", "quantity", "unit_price_cents"}]}
 *   user orders: {"items": [order, ...], "total"}                  (newest first, at most
 *                                                                    SHOP_USER_ORDERS_MAX)
 * Order status is "paid" for orders created through shop_order_create; while the payment is authorised
 * (outside any transaction) the order exists as "pending" with its stock taken, and a failed payment
 * deletes it again and gives the stock back, so no "failed" orders are stored.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct db_pool db_pool;

/* Paging limits of the list operations (the router may pass -1 for "not given"). */
#define SHOP_LIMIT_DEFAULT   50
#define SHOP_LIMIT_MAX       200
#define SHOP_USER_ORDERS_MAX 200
/* Longest search text accepted by shop_products_list (bytes). */
#define SHOP_QUERY_MAX 200
/* Longest Idempotency-Key accepted by shop_order_create (bytes, printable ASCII). */
#define SHOP_IDEMPOTENCY_KEY_MAX 128

/* An API-level failure: HTTP status + message for {"error": message, "trace_id": …}. */
typedef struct shop_error {
        int status;        /* 400, 402, 404, 409, 500, 502, 503, 504 */
        char message[256]; /* human-readable, no secrets, no SQL */
} shop_error;

/* Fault flags ([faults] in the config, PUT /admin/faults). */
typedef struct shop_faults {
        double payment_failure_rate; /* 0..1: share of payments declined by the simulated provider */
        uint32_t payment_latency_ms; /* added latency of the payment call, 0..60000 */
        bool payment_unreachable;    /* the payment call fails as if the host were down */
        uint32_t db_slow_query_ms;   /* extra latency of every query (client-side delay inside its span) */
        int64_t product_failure_id;  /* GET /api/products/{id} and orders with it fail with 500; 0 = off */
} shop_faults;

#define SHOP_FAULT_LATENCY_MAX_MS 60000u

/* The connection pool (db_pool_new, db_pool_ping, ...) is declared in db-pool.h. */

/* Migrations in dir (db/), tracked in schema_migrations; idempotent. */
int shop_migrate(const char *conninfo, const char *migrations_dir);
/* The schema version this binary needs (highest migration it knows). */
int shop_schema_version_required(void);
/* 0 when the database schema is at least what this binary needs; -ESTALE (with a log line) otherwise. */
int shop_check_schema(db_pool *pool);

/* Faults are read by the data side on every call; set atomically by the daemon (reload / admin). */
void shop_faults_set(const shop_faults *f);
void shop_faults_get(shop_faults *ret);
/* The db_slow_query_ms fault in force: the pool's statement delay (db_pool_set_statement_delay). */
uint32_t shop_faults_db_slow_query_ms(void);
/* Parses and validates a JSON object of fault fields (partial update of *inout); 400-style error.
 * Unknown keys are rejected. *inout is only changed when the whole object is valid. */
int shop_faults_from_json(json_object *obj, shop_faults *inout, shop_error *err);
json_object *shop_faults_to_json(const shop_faults *f);

/* Domain operations. Each returns 0 and sets *ret to a new json_object reference, or a negative errno
 * and fills err (status + message). Inputs from the URL are already parsed as integers by the router
 * (id > 0 checked there too); JSON bodies are passed as parsed json_object and validated here
 * (types, ranges: ids > 0, 1 <= quantity <= 1000, name 1..100 chars, email 3..254 chars with one '@',
 * valid UTF-8, no control characters).
 * limit < 0 means SHOP_LIMIT_DEFAULT; limit 0 or > SHOP_LIMIT_MAX, offset < 0 → 400.
 * query may be NULL or "" (no filter); otherwise a case-insensitive substring match on the product name
 * (LIKE metacharacters in it are matched literally). */
int shop_users_list(db_pool *pool, int64_t limit, int64_t offset, json_object **ret, shop_error *err);
int shop_user_get(db_pool *pool, int64_t id, json_object **ret, shop_error *err);
/* 201-style create; duplicate email → 409. */
int shop_user_create(db_pool *pool, json_object *body, json_object **ret, shop_error *err);
int shop_products_list(db_pool *pool, int64_t limit, int64_t offset, const char *query, json_object **ret,
                       shop_error *err);
int shop_product_get(db_pool *pool, int64_t id, json_object **ret, shop_error *err);
/* body: {user_id, product_id, quantity} or {user_id, items: [{product_id, quantity}, ...]} (1..50 items,
 * a product at most once). Errors: 400 invalid, 404 unknown user/product, 409 not enough stock,
 * 402 payment declined, 502 payment provider unreachable, 504 payment provider timeout, 500
 * product_failure_id fault, 503 database unavailable.
 * idempotency_key may be NULL. *ret_replayed is true when the key matched an earlier order (reply 200
 * with the first order instead of 201). A key longer than SHOP_IDEMPOTENCY_KEY_MAX or with
 * non-printable characters → 400. */
int shop_order_create(db_pool *pool, json_object *body, const char *idempotency_key, json_object **ret,
                      bool *ret_replayed, shop_error *err);
/* The same, for a server that must not block a thread on the payment provider. done gets the outcome:
 * r 0 with order (a new reference for the caller) and replayed, or a negative errno with err.
 * Returns 0 when the order is finished already (done was called on this thread), or 1 when it waits for
 * the provider: the caller then passes *ret_op to shop_order_continue() once it is ready for done to be
 * called on another thread (a payment timer thread). */
typedef struct shop_order_op shop_order_op;
typedef void (*shop_order_done_fn)(void *userdata, int r, json_object *order, bool replayed,
                                   const shop_error *err);
int shop_order_create_start(db_pool *pool, json_object *body, const char *idempotency_key,
                            shop_order_done_fn done, void *userdata, shop_order_op **ret_op);
void shop_order_continue(shop_order_op *op);
int shop_order_get(db_pool *pool, int64_t id, json_object **ret, shop_error *err);
/* The compensation of an order whose payment failed (or never answered): if order_id is still pending,
 * its stock is given back and it is deleted with its items (its Idempotency-Key free again), in one
 * statement; *ret_cancelled tells whether it was. 0 or a negative errno of db_exec. */
int shop_order_cancel(db_pool *pool, int64_t order_id, bool *ret_cancelled);
/* A margin on top of the longest a live order stays pending (payment timeout + one acquire of a pooled
 * connection for the confirmation): a loaded machine runs the payment timers late. */
#define SHOP_ORDER_EXPIRY_MARGIN_MS 5000u
/* How long an order may stay pending before it is taken for abandoned, by a retry with its key and by
 * the sweeper (order-sweeper.h) alike. Every backend sharing a database must use the same payment
 * timeout and acquire timeout, or one may cancel the other's orders in flight (those then fail with 500
 * and are compensated: nothing is lost or sold twice). */
uint32_t shop_order_expiry_ms(uint32_t payment_timeout_ms, uint32_t acquire_timeout_ms);
/* Unknown user → 404. */
int shop_user_orders(db_pool *pool, int64_t user_id, json_object **ret, shop_error *err);

/* Telemetry instruments of the data side: the pool's db.client.* (db_pool_metrics_init) and
 * oteldemo.orders.created, oteldemo.payment.failures. Call once after the meter provider is installed
 * (otel_init); safe to skip (then no metrics are recorded). */
int shop_telemetry_init(db_pool *pool);
