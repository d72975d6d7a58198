/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Orders: creation as reserve → pay → confirm (db/0003_order_flow.sql, order_reserve as of
 * db/0004_order_reserve_fewer_statements.sql), each database step one statement in its own transaction,
 * so that no lock, transaction or pooled connection is held while the payment provider answers; a failed
 * payment is compensated (stock back, order deleted). A duplicate Idempotency-Key replays the first order
 * once it is settled. Plus get by id and list by user.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db-pool.h"
#include "otel.h"
#include "payment.h"
#include "shop-error.h"
#include "shop-json.h"
#include "shop-metrics.h"
#include "shop-query.h"
#include "shop-request.h"
#include "shop.h"
#include "validate.h"

/* Text of an int64 array parameter: "{" + SHOP_ORDER_ITEMS_MAX * (20 digits + ",") + "}". */
#define ORDER_ARRAY_TEXT_MAX (2 + SHOP_ORDER_ITEMS_MAX * 21 + 1)
/* A concurrent duplicate waits for the first request's order to settle: it polls with pauses growing
 * from MIN to MAX, for at most the payment timeout plus this margin. */
#define ORDER_SETTLE_POLL_MIN_MS 2u
#define ORDER_SETTLE_POLL_MAX_MS 50u
#define ORDER_SETTLE_MARGIN_MS   1000u
/* A pending order older than order_stale_ms() has lost its request: the payment answers within
 * [payment] timeout_ms, and the confirmation that should have followed failed (the database went away
 * in between, so the compensation failed too, or the backend was killed). A retry with its key cancels
 * it (stock back) and orders afresh; without a retry the sweeper (order-sweeper.c) does, later. Both
 * take an order for abandoned at the same age, shop_order_expiry_ms(). */
static uint32_t order_stale_ms(const db_pool *pool)
{
        return shop_order_expiry_ms(payment_timeout_ms(), db_pool_acquire_timeout_ms(pool));
}
/* Reservations tried when a duplicate's order keeps vanishing (each time its payment failed). */
#define ORDER_RESERVE_ATTEMPTS 3

/* Columns of an order row joined with its items (see order_rows_json). */
#define ORDER_COLUMNS                                                                                       \
        "o.id, o.user_id, o.status, o.total_cents, o.currency, " DB_SQL_TIMESTAMP(                          \
                "o.created_at") ", i.product_id, i.quantity, i.unit_price_cents"

static const db_stmt STMT_ORDER_BY_KEY = {
        .name = "order_by_key",
        .sql = "SELECT " ORDER_COLUMNS " FROM orders o LEFT JOIN order_items i ON i.order_id = o.id"
               " WHERE o.idempotency_key = $1 ORDER BY i.product_id",
        .operation = "SELECT",
        .collection = "orders",
        .n_params = 1,
};

static const db_stmt STMT_ORDER_GET = {
        .name = "order_get",
        .sql = "SELECT " ORDER_COLUMNS " FROM orders o LEFT JOIN order_items i ON i.order_id = o.id"
               " WHERE o.id = $1 ORDER BY i.product_id",
        .operation = "SELECT",
        .collection = "orders",
        .n_params = 1,
};

/* The three steps of an order (db/0003_order_flow.sql, db/0004_...): each one statement in its own
 * transaction, so that nothing is locked while the payment provider answers. */
static const db_stmt STMT_ORDER_RESERVE = {
        .name = "order_reserve",
        .sql = "SELECT ret_outcome, ret_order_id, ret_status, ret_product_id, ret_available, "
               "ret_total_cents,"
               " ret_currency, ret_prices FROM order_reserve($1, $2, $3::bigint[], $4::integer[])",
        .operation = "order_reserve",
        .collection = "orders",
        .n_params = 4,
};

static const db_stmt STMT_ORDER_CONFIRM = {
        .name = "order_confirm",
        .sql = "UPDATE orders SET status = 'paid' WHERE id = $1 AND status = 'pending'"
               " RETURNING " DB_SQL_TIMESTAMP("created_at"),
        .operation = "UPDATE",
        .collection = "orders",
        .n_params = 1,
};

static const db_stmt STMT_ORDER_CANCEL = {
        .name = "order_cancel",
        .sql = "SELECT order_cancel($1)",
        .operation = "order_cancel",
        .collection = "orders",
        .n_params = 1,
};

static const db_stmt STMT_ORDER_CANCEL_STALE = {
        .name = "order_cancel_stale",
        .sql = "SELECT order_cancel(id) FROM orders WHERE idempotency_key = $1 AND status = 'pending'"
               " AND created_at < now() - $2::bigint * interval '1 millisecond'",
        .operation = "order_cancel",
        .collection = "orders",
        .n_params = 2,
};

static const db_stmt STMT_USER_ORDERS_COUNT = {
        .name = "user_orders_count",
        .sql = "SELECT (SELECT count(*) FROM orders WHERE user_id = $1) FROM users WHERE id = $1",
        .operation = "SELECT",
        .collection = "orders",
        .n_params = 1,
};

static const db_stmt STMT_USER_ORDERS = {
        .name = "user_orders",
        .sql = "SELECT " ORDER_COLUMNS " FROM (SELECT * FROM orders WHERE user_id = $1 ORDER BY id DESC"
               " LIMIT 200) o LEFT JOIN order_items i ON i.order_id = o.id ORDER BY o.id DESC, i.product_id",
        .operation = "SELECT",
        .collection = "orders",
        .n_params = 1,
};
_Static_assert(SHOP_USER_ORDERS_MAX == 200, "keep the LIMIT of user_orders in sync");

/* ---- JSON ------------------------------------------------------------------------------------- */

static json_object *item_json(int64_t product_id, int64_t quantity, int64_t unit_price)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (shop_json_add(o, "product_id", json_object_new_int64(product_id)) < 0 ||
            shop_json_add(o, "quantity", json_object_new_int64(quantity)) < 0 ||
            shop_json_add(o, "unit_price_cents", json_object_new_int64(unit_price)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static json_object *order_head_json(int64_t id, int64_t user_id, const char *status, int64_t total,
                                    const char *currency, const char *created_at, json_object **ret_items)
{
        json_object *o = json_object_new_object(), *items = json_object_new_array();

        if (!o || !items)
                goto oom;
        if (shop_json_add(o, "id", json_object_new_int64(id)) < 0 ||
            shop_json_add(o, "user_id", json_object_new_int64(user_id)) < 0 ||
            shop_json_add(o, "status", json_object_new_string(status)) < 0 ||
            shop_json_add(o, "total_cents", json_object_new_int64(total)) < 0 ||
            shop_json_add(o, "currency", json_object_new_string(currency)) < 0 ||
            shop_json_add(o, "created_at", json_object_new_string(created_at)) < 0)
                goto oom;
        *ret_items = items;
        if (shop_json_add(o, "items", items) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
oom:
        json_object_put(items);
        json_object_put(o);
        return NULL;
}

/* Groups rows of ORDER_COLUMNS (ordered by order) into order objects appended to array. */
static int order_rows_json(const PGresult *res, json_object *array)
{
        json_object *order = NULL, *items = NULL;
        int64_t current = 0;

        for (int i = 0; i < PQntuples(res); i++) {
                int64_t id = db_value_i64(res, i, 0);

                if (!order || id != current) {
                        order = order_head_json(id, db_value_i64(res, i, 1), PQgetvalue(res, i, 2),
                                                db_value_i64(res, i, 3), PQgetvalue(res, i, 4),
                                                PQgetvalue(res, i, 5), &items);
                        if (!order)
                                return -ENOMEM;
                        if (json_object_array_add(array, order) < 0) {
                                json_object_put(order);
                                return -ENOMEM;
                        }
                        current = id;
                }
                if (!PQgetisnull(res, i, 6)) {
                        json_object *it = item_json(db_value_i64(res, i, 6), db_value_i64(res, i, 7),
                                                    db_value_i64(res, i, 8));

                        if (!it || json_object_array_add(items, it) < 0) {
                                json_object_put(it);
                                return -ENOMEM;
                        }
                }
        }
        return 0;
}

/* The single order of res in *ret; -ENOENT when res has no rows. */
static int order_single_json(const PGresult *res, json_object **ret)
{
        json_object *array = json_object_new_array(), *o;
        int r;

        if (!array)
                return -ENOMEM;
        r = order_rows_json(res, array);
        if (r >= 0 && json_object_array_length(array) == 0)
                r = -ENOENT;
        if (r >= 0) {
                o = json_object_get(json_object_array_get_idx(array, 0));
                *ret = o;
        }
        json_object_put(array);
        return r;
}

/* "{a,b,c}" of one column of the lines (0 product_id, 1 quantity, 2 unit_price). */
static void lines_array_text(const shop_order_request *req, int column,
                             char buf[static ORDER_ARRAY_TEXT_MAX])
{
        size_t off = 0;

        buf[off++] = '{';
        for (size_t i = 0; i < req->n_lines; i++) {
                const shop_order_line *l = &req->lines[i];
                int64_t v = column == 0 ? l->product_id : column == 1 ? l->quantity : l->unit_price;

                off += (size_t)snprintf(buf + off, ORDER_ARRAY_TEXT_MAX - off, "%s%" PRId64, i ? "," : "",
                                        v);
        }
        snprintf(buf + off, ORDER_ARRAY_TEXT_MAX - off, "}");
}

/* ---- steps ------------------------------------------------------------------------------------ */

static otel_tracer *orders_tracer(void)
{
        return otel_tracer_get("oteldemo-backend.orders", OTELDEMO_VERSION);
}

typedef struct order_step {
        otel_span *span;          /* INTERNAL span of the step, current while it runs */
        otel_context_token token; /* restores the caller's current span */
} order_step;

static order_step step_start(const char *name)
{
        order_step s;

        s.span = otel_span_start(orders_tracer(), name, OTEL_SPAN_KIND_INTERNAL, NULL);
        s.token = otel_context_attach(s.span, NULL);
        return s;
}

static int step_end(order_step s, int r, const shop_error *err)
{
        otel_context_detach(s.token);
        if (r < 0)
                otel_span_set_status(s.span, OTEL_STATUS_ERROR, err ? err->message : "failed");
        otel_span_end(s.span);
        return r;
}

/* Looks up the order of an Idempotency-Key: 0 and *ret when found, -ENOENT when not. */
static int order_by_key(db_conn *c, const char *key, json_object **ret, shop_error *err)
{
        const char *params[1] = {key};
        PGresult *res = NULL;
        int r;

        r = db_exec(c, &STMT_ORDER_BY_KEY, params, &res);
        if (r < 0)
                return db_error(r, err);
        r = order_single_json(res, ret);
        PQclear(res);
        if (r == -ENOMEM)
                return db_error(r, err);
        return r;
}

/* Parses the "{a,b,c}" text of ret_prices into the lines' unit prices (one per line, in line order). */
static int prices_parse(const char *text, shop_order_request *req)
{
        const char *p = text;

        if (*p++ != '{')
                return -EIO;
        for (size_t i = 0; i < req->n_lines; i++) {
                char *end;

                errno = 0;
                req->lines[i].unit_price = strtoll(p, &end, 10);
                if (errno != 0 || end == p || req->lines[i].unit_price < 0 ||
                    *end != (i + 1 < req->n_lines ? ',' : '}'))
                        return -EIO;
                p = end + 1;
        }
        return *p == '\0' ? 0 : -EIO;
}

/* Turns a non-reserved outcome of order_reserve (row 0 of res) into its client error. */
static int reserve_failure(const PGresult *res, const char *outcome, shop_error *err)
{
        if (strcmp(outcome, "no_product") == 0)
                return shop_error_set(err, -ENOENT, 404, "product %" PRId64 " not found",
                                      db_value_i64(res, 0, 3));
        if (strcmp(outcome, "currency") == 0)
                return shop_error_set(err, -EINVAL, 400, "all products of an order must share one currency");
        if (strcmp(outcome, "no_stock") == 0)
                return shop_error_set(err, -EBUSY, 409,
                                      "not enough stock for product %" PRId64 " (%" PRId64 " available)",
                                      db_value_i64(res, 0, 3), db_value_i64(res, 0, 4));
        return shop_error_set(err, -EIO, 500, "unexpected order outcome");
}

/* Step 1, one statement: locks and checks the products, creates the order 'pending' with its items and
 * takes the stock. 0 reserved (*ret_order_id, the lines' prices, currency and total filled in), 1 an
 * order with this key exists already, or a negative errno with err set. */
static int order_reserve(db_conn *c, shop_order_request *req, const char *key, int64_t *ret_order_id,
                         shop_error *err)
{
        char uid[24], ids[ORDER_ARRAY_TEXT_MAX], qty[ORDER_ARRAY_TEXT_MAX];
        PGresult *res = NULL;
        const char *outcome;
        int r;

        snprintf(uid, sizeof(uid), "%" PRId64, req->user_id);
        lines_array_text(req, 0, ids);
        lines_array_text(req, 1, qty);
        r = db_exec(c, &STMT_ORDER_RESERVE, (const char *const[]){uid, key, ids, qty}, &res);
        if (r == -ENOENT) /* the user went away between the check and the insert */
                return shop_error_set(err, r, 404, "user %" PRId64 " not found", req->user_id);
        if (r < 0)
                return db_error(r, err);
        if (PQntuples(res) != 1) {
                PQclear(res);
                return shop_error_set(err, -EIO, 500, "unexpected order outcome");
        }
        outcome = PQgetvalue(res, 0, 0);
        if (strcmp(outcome, "reserved") == 0) {
                *ret_order_id = db_value_i64(res, 0, 1);
                req->total_cents = db_value_i64(res, 0, 5);
                snprintf(req->currency, sizeof(req->currency), "%s", PQgetvalue(res, 0, 6));
                r = prices_parse(PQgetvalue(res, 0, 7), req);
                if (r < 0)
                        r = shop_error_set(err, r, 500, "unexpected order prices");
        } else if (strcmp(outcome, "exists") == 0) {
                *ret_order_id = db_value_i64(res, 0, 1);
                r = 1;
        } else if (strcmp(outcome, "no_user") == 0) {
                r = shop_error_set(err, -ENOENT, 404, "user %" PRId64 " not found", req->user_id);
        } else {
                r = reserve_failure(res, outcome, err);
        }
        PQclear(res);
        return r;
}

uint32_t shop_order_expiry_ms(uint32_t payment_timeout_ms, uint32_t acquire_timeout_ms)
{
        return payment_timeout_ms + acquire_timeout_ms + SHOP_ORDER_EXPIRY_MARGIN_MS;
}

int shop_order_cancel(db_pool *pool, int64_t order_id, bool *ret_cancelled)
{
        _cleanup_result_ PGresult *res = NULL;
        _cleanup_conn_ db_conn *c = NULL;
        char oid[24];
        int r;

        snprintf(oid, sizeof(oid), "%" PRId64, order_id);
        r = db_pool_acquire(pool, &c);
        if (r < 0)
                return r;
        r = db_exec(c, &STMT_ORDER_CANCEL, (const char *const[]){oid}, &res);
        if (r < 0)
                return r;
        *ret_cancelled = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        return 0;
}

/* The compensation of a failed payment: stock back, pending order deleted (its key free again). A
 * failure leaves the order pending with its stock taken; it is logged for the operator, and the
 * sweeper (order-sweeper.c) compensates it later. */
static void order_compensate(db_pool *pool, int64_t order_id)
{
        order_step step = step_start("order.compensate");
        bool cancelled;
        shop_error err;
        int r;

        otel_span_set_int(step.span, "oteldemo.order.id", order_id);
        r = shop_order_cancel(pool, order_id, &cancelled);
        if (r < 0) {
                db_error(r, &err);
                otel_log(OTEL_SEVERITY_ERROR,
                         "Order %" PRId64 " stays pending with its stock reserved: compensation failed: %s",
                         order_id, err.message);
        }
        step_end(step, r, r < 0 ? &err : NULL);
}

/* Step 3, one statement: the authorised order becomes 'paid'; its created_at in ret_created_at. */
static int order_confirm(db_pool *pool, int64_t order_id, char ret_created_at[static 64], shop_error *err)
{
        order_step step = step_start("order.commit");
        char oid[24];
        PGresult *res = NULL;
        db_conn *c;
        int r;

        otel_span_set_int(step.span, "oteldemo.order.id", order_id);
        snprintf(oid, sizeof(oid), "%" PRId64, order_id);
        r = db_pool_acquire(pool, &c);
        if (r < 0)
                return step_end(step, db_error(r, err), err);
        r = db_exec(c, &STMT_ORDER_CONFIRM, (const char *const[]){oid}, &res);
        db_pool_release(pool, c);
        if (r < 0)
                r = db_error(r, err);
        else if (PQntuples(res) != 1)
                r = shop_error_set(err, -EIO, 500, "order %" PRId64 " is no longer pending", order_id);
        else
                snprintf(ret_created_at, 64, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return step_end(step, r, err);
}

/* Builds the reply of a freshly created order from what the steps wrote. */
static int created_order_json(int64_t order_id, const shop_order_request *req, const char *created_at,
                              json_object **ret)
{
        json_object *items, *o;

        o = order_head_json(order_id, req->user_id, "paid", req->total_cents, req->currency, created_at,
                            &items);
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_lines; i++) {
                const shop_order_line *l = &req->lines[i];
                json_object *it = item_json(l->product_id, l->quantity, l->unit_price);

                if (!it || json_object_array_add(items, it) < 0) {
                        json_object_put(it);
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        *ret = o;
        return 0;
}

/* Cancels the order of key if it is pending for over stale_ms (order_stale_ms()): 1 cancelled, 0 not. */
static int order_cancel_stale(db_conn *c, const char *key, uint32_t stale_ms, shop_error *err)
{
        char age[24];
        PGresult *res = NULL;
        int r;

        snprintf(age, sizeof(age), "%" PRIu32, stale_ms);
        r = db_exec(c, &STMT_ORDER_CANCEL_STALE, (const char *const[]){key, age}, &res);
        if (r < 0)
                return db_error(r, err);
        r = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (r)
                otel_log(OTEL_SEVERITY_WARN,
                         "Stale pending order of Idempotency-Key %s cancelled for its retry", key);
        return r;
}

/* The order of key once it is settled: 0 and *ret when paid; -ENOENT when it is gone (its payment
 * failed and was compensated, or it was stale and is cancelled now: the caller tries afresh); 409 when
 * it is still pending after the longest a payment can take. Polls with growing pauses, holding no
 * connection while it waits: only a duplicate of an order in flight, or of one whose request was
 * lost, comes here. */
static int order_settled(db_pool *pool, const char *key, json_object **ret, shop_error *err)
{
        uint32_t stale_ms = order_stale_ms(pool);
        uint64_t deadline = db_now_ms() + stale_ms + ORDER_SETTLE_MARGIN_MS;
        unsigned pause_ms = ORDER_SETTLE_POLL_MIN_MS;

        for (;;) {
                json_object *o = NULL, *status;
                db_conn *c;
                int r;

                r = db_pool_acquire(pool, &c);
                if (r < 0)
                        return db_error(r, err);
                r = order_cancel_stale(c, key, stale_ms, err);
                if (r == 0)
                        r = order_by_key(c, key, &o, err);
                else if (r > 0)
                        r = -ENOENT;
                db_pool_release(pool, c);
                if (r < 0)
                        return r;
                if (json_object_object_get_ex(o, "status", &status) &&
                    strcmp(json_object_get_string(status), "pending") != 0) {
                        *ret = o;
                        return 0;
                }
                json_object_put(o);
                if (db_now_ms() >= deadline)
                        return shop_error_set(
                                err, -EBUSY, 409,
                                "the order with this Idempotency-Key is still being processed");
                usleep(pause_ms * 1000u);
                pause_ms = pause_ms * 2 > ORDER_SETTLE_POLL_MAX_MS ? ORDER_SETTLE_POLL_MAX_MS : pause_ms * 2;
        }
}

/* Step 1 with its span, repeated when a concurrent duplicate's order vanished (compensated) before we
 * could replay it. 0 reserved (*ret_order_id), 1 replayed (*ret), or a negative errno. */
static int order_reserve_or_replay(db_pool *pool, shop_order_request *req, const char *key,
                                   int64_t *ret_order_id, json_object **ret, shop_error *err)
{
        for (int attempt = 0; attempt < ORDER_RESERVE_ATTEMPTS; attempt++) {
                order_step step = step_start("order.reserve_stock");
                db_conn *c;
                int r;

                r = db_pool_acquire(pool, &c);
                if (r < 0)
                        return step_end(step, db_error(r, err), err);
                r = order_reserve(c, req, key, ret_order_id, err);
                db_pool_release(pool, c);
                step_end(step, r, err);
                if (r <= 0)
                        return r;
                r = order_settled(pool, key, ret, err);
                if (r != -ENOENT)
                        return r < 0 ? r : 1;
        }
        return shop_error_set(err, -EBUSY, 409,
                              "the order with this Idempotency-Key is still being processed");
}

/* An order between its reservation and the payment's answer: what the answer needs, owned here. */
struct shop_order_op {
        db_pool *pool;
        shop_order_request req;  /* the parsed lines, with prices, currency and total */
        int64_t order_id;        /* the pending order */
        otel_span *root;         /* order.create: parent of every step, ended with the outcome */
        otel_span *payment_step; /* order.payment, ended when the provider answers */
        shop_order_done_fn done;
        void *userdata;
};

/* Ends order.create with the outcome and tells the caller; frees op. Runs on whatever thread finished. */
static void order_finish(shop_order_op *op, int r, json_object *order, bool replayed, const shop_error *err)
{
        if (r >= 0)
                otel_span_set_bool(op->root, "oteldemo.order.replayed", replayed);
        else
                otel_span_set_status(op->root, OTEL_STATUS_ERROR, err ? err->message : "failed");
        otel_span_end(op->root);
        op->done(op->userdata, r, order, replayed, err);
        free(op);
}

/* Step 3 on a payment timer thread: confirm or compensate, then the outcome. */
static void order_paid(void *userdata, int pr, const shop_error *perr)
{
        shop_order_op *op = userdata;
        otel_context_token token;
        char created_at[64] = "";
        json_object *order = NULL;
        shop_error err = {0};
        int r = pr;

        if (r < 0) {
                err = *perr;
                otel_span_set_status(op->payment_step, OTEL_STATUS_ERROR, err.message);
        }
        otel_span_end(op->payment_step);
        token = otel_context_attach(op->root, NULL);
        if (r < 0) {
                order_compensate(op->pool, op->order_id);
        } else {
                r = order_confirm(op->pool, op->order_id, created_at, &err);
                if (r >= 0)
                        r = created_order_json(op->order_id, &op->req, created_at, &order);
                if (r == -ENOMEM)
                        db_error(r, &err);
                if (r >= 0)
                        shop_metrics_order_created();
        }
        otel_context_detach(token);
        order_finish(op, r, order, false, &err);
}

/* Steps 1 and 2 up to the provider call, on the caller's thread. 0 finished (*ret_order or err), 1 the
 * reservation is made and op->payment_step started. */
static int order_begin(shop_order_op *op, json_object *body, const char *idempotency_key,
                       json_object **ret_order, bool *ret_replayed, shop_error *err)
{
        shop_order_request *req = &op->req;
        order_step step;
        shop_faults f;
        int r;

        step = step_start("order.validate");
        r = shop_order_request_parse(body, req, err);
        if (r >= 0 && idempotency_key)
                r = validate_idempotency_key(idempotency_key, err);
        if (r >= 0) {
                shop_faults_get(&f);
                for (size_t i = 0; i < req->n_lines && f.product_failure_id != 0; i++)
                        if (req->lines[i].product_id == f.product_failure_id) {
                                otel_log(OTEL_SEVERITY_ERROR,
                                         "Order for product %" PRId64 " failed (product_failure_id fault)",
                                         f.product_failure_id);
                                r = shop_error_set(err, -EIO, 500,
                                                   "product catalogue failure for product %" PRId64,
                                                   f.product_failure_id);
                        }
        }
        r = step_end(step, r, err);
        if (r < 0)
                return r;

        r = order_reserve_or_replay(op->pool, req, idempotency_key, &op->order_id, ret_order, err);
        if (r != 0) {
                *ret_replayed = r == 1;
                return r < 0 ? r : 0;
        }
        op->payment_step = otel_span_start(orders_tracer(), "order.payment", OTEL_SPAN_KIND_INTERNAL, NULL);
        return 1;
}

int shop_order_create_start(db_pool *pool, json_object *body, const char *idempotency_key,
                            shop_order_done_fn done, void *userdata, shop_order_op **ret_op)
{
        otel_context_token token;
        json_object *order = NULL;
        shop_error err = {0};
        bool replayed = false;
        shop_order_op *op;
        int r;

        op = calloc(1, sizeof(*op));
        if (!op) {
                done(userdata, db_error(-ENOMEM, &err), NULL, false, &err);
                return 0;
        }
        op->pool = pool;
        op->done = done;
        op->userdata = userdata;
        /* One parent for the steps, so that an order reads as one subtree under the request's span. */
        op->root = otel_span_start(orders_tracer(), "order.create", OTEL_SPAN_KIND_INTERNAL, NULL);
        token = otel_context_attach(op->root, NULL);
        r = order_begin(op, body, idempotency_key, &order, &replayed, &err);
        otel_context_detach(token);
        if (r == 1) {
                *ret_op = op;
                return 1;
        }
        order_finish(op, r, order, replayed, &err);
        return 0;
}

void shop_order_continue(shop_order_op *op)
{
        otel_context_token token = otel_context_attach(op->payment_step, NULL);
        shop_error err;
        int r;

        r = payment_authorize_start(op->order_id, op->req.total_cents, op->req.currency, order_paid, op);
        otel_context_detach(token);
        if (r < 0) {
                shop_error_set(&err, r, 503, "payment provider busy, try again");
                order_paid(op, r, &err);
        }
}

/* The synchronous form waits for the outcome on a condition variable. */
typedef struct order_wait {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool finished;
        int r;
        json_object *order;
        bool replayed;
        shop_error *err;
} order_wait;

static void order_wait_done(void *userdata, int r, json_object *order, bool replayed, const shop_error *err)
{
        order_wait *w = userdata;

        pthread_mutex_lock(&w->lock);
        w->r = r;
        w->order = order;
        w->replayed = replayed;
        if (r < 0 && err)
                *w->err = *err;
        w->finished = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

int shop_order_create(db_pool *pool, json_object *body, const char *idempotency_key, json_object **ret,
                      bool *ret_replayed, shop_error *err)
{
        order_wait w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .err = err};
        shop_order_op *op;

        if (shop_order_create_start(pool, body, idempotency_key, order_wait_done, &w, &op) == 1)
                shop_order_continue(op);
        pthread_mutex_lock(&w.lock);
        while (!w.finished)
                pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        pthread_cond_destroy(&w.cond);
        pthread_mutex_destroy(&w.lock);
        *ret_replayed = w.replayed;
        if (w.r >= 0)
                *ret = w.order;
        return w.r;
}

int shop_order_get(db_pool *pool, int64_t id, json_object **ret, shop_error *err)
{
        PGresult *res = NULL;
        int r;

        /* No row means no order: its items are LEFT JOINed. */
        r = shop_get_by_id(pool, &STMT_ORDER_GET, "order", id, &res, err);
        if (r < 0)
                return r;
        r = order_single_json(res, ret);
        PQclear(res);
        return r < 0 ? db_error(r, err) : 0;
}

int shop_user_orders(db_pool *pool, int64_t user_id, json_object **ret, shop_error *err)
{
        json_object *o = NULL, *items = NULL;
        char idbuf[24];
        PGresult *res = NULL;
        int64_t total;
        db_conn *c;
        int r;

        if (user_id <= 0)
                return shop_error_set(err, -EINVAL, 400, "user id must be a positive integer");
        snprintf(idbuf, sizeof(idbuf), "%" PRId64, user_id);
        r = db_pool_acquire(pool, &c);
        if (r < 0)
                return db_error(r, err);
        r = db_exec(c, &STMT_USER_ORDERS_COUNT, (const char *const[]){idbuf}, &res);
        if (r < 0) {
                db_pool_release(pool, c);
                return db_error(r, err);
        }
        if (PQntuples(res) == 0) {
                PQclear(res);
                db_pool_release(pool, c);
                return shop_error_set(err, -ENOENT, 404, "user %" PRId64 " not found", user_id);
        }
        total = db_value_i64(res, 0, 0);
        PQclear(res);
        res = NULL;
        r = db_exec(c, &STMT_USER_ORDERS, (const char *const[]){idbuf}, &res);
        db_pool_release(pool, c);
        if (r < 0)
                return db_error(r, err);

        o = json_object_new_object();
        items = json_object_new_array();
        r = o && items ? order_rows_json(res, items) : -ENOMEM;
        PQclear(res);
        if (r >= 0) {
                r = shop_json_add(o, "items", items);
                items = NULL;
        }
        if (r >= 0)
                r = shop_json_add(o, "total", json_object_new_int64(total));
        if (r < 0) {
                json_object_put(items);
                json_object_put(o);
                return db_error(r, err);
        }
        *ret = o;
        return 0;
}
