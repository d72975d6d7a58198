/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Orders: creation in one transaction (insert the order row first so that concurrent retries with the
 * same Idempotency-Key queue on its unique index, lock the products in id order so that concurrent
 * orders cannot deadlock, check and decrement stock, authorise the payment, mark paid, commit), plus
 * get by id and list by user.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db-pool.h"
#include "otel.h"
#include "payment.h"
#include "shop-error.h"
#include "shop-json.h"
#include "shop-metrics.h"
#include "shop-query.h"
#include "shop.h"
#include "validate.h"

/* Lines of one order; bounds the arrays passed to the server. */
#define ORDER_ITEMS_MAX 50
/* Text of an int64 array parameter: "{" + ORDER_ITEMS_MAX * (20 digits + ",") + "}". */
#define ORDER_ARRAY_TEXT_MAX (2 + ORDER_ITEMS_MAX * 21 + 1)
#define ORDER_CURRENCY_LEN   3

typedef struct order_line {
        int64_t product_id; /* > 0, unique within the order */
        int64_t quantity;   /* VALIDATE_QUANTITY_MIN..MAX */
        int64_t unit_price; /* cents, read under the row lock */
} order_line;

typedef struct order_request {
        int64_t user_id;                       /* > 0 */
        order_line lines[ORDER_ITEMS_MAX];     /* sorted by product_id */
        size_t n_lines;                        /* 1..ORDER_ITEMS_MAX */
        char currency[ORDER_CURRENCY_LEN + 1]; /* of the products, all equal */
        int64_t total_cents;                   /* sum of quantity * unit_price */
} order_request;

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

static const db_stmt STMT_ORDER_INSERT = {
        .name = "order_insert",
        /* A concurrent insert with the same key waits here for the other transaction; if that one
         * commits, DO NOTHING returns no row and we replay its order. A NULL key never conflicts. */
        .sql = "INSERT INTO orders (user_id, status, total_cents, currency, idempotency_key)"
               " VALUES ($1, 'pending', 0, 'USD', $2)"
               " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        .operation = "INSERT",
        .collection = "orders",
        .n_params = 2,
};

static const db_stmt STMT_ORDER_LOCK_PRODUCTS = {
        .name = "order_lock_products",
        /* Row locks are taken in id order (LockRows runs above the sort): no deadlock between orders. */
        .sql = "SELECT id, price_cents, currency, stock FROM products WHERE id = ANY($1::bigint[])"
               " ORDER BY id FOR UPDATE",
        .operation = "SELECT",
        .collection = "products",
        .n_params = 1,
};

static const db_stmt STMT_ORDER_DECREMENT_STOCK = {
        .name = "order_decrement_stock",
        .sql = "UPDATE products p SET stock = p.stock - u.q"
               " FROM unnest($1::bigint[], $2::integer[]) AS u(id, q) WHERE p.id = u.id",
        .operation = "UPDATE",
        .collection = "products",
        .n_params = 2,
};

static const db_stmt STMT_ORDER_INSERT_ITEMS = {
        .name = "order_insert_items",
        .sql = "INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)"
               " SELECT $1, u.id, u.q, u.price FROM unnest($2::bigint[], $3::integer[], $4::integer[])"
               " AS u(id, q, price)",
        .operation = "INSERT",
        .collection = "order_items",
        .n_params = 4,
};

static const db_stmt STMT_ORDER_FINISH = {
        .name = "order_finish",
        .sql = "UPDATE orders SET status = 'paid', total_cents = $2, currency = $3 WHERE id = $1"
               " RETURNING " DB_SQL_TIMESTAMP("created_at"),
        .operation = "UPDATE",
        .collection = "orders",
        .n_params = 3,
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

/* ---- request parsing -------------------------------------------------------------------------- */

static int line_compare(const void *a, const void *b)
{
        const order_line *x = a, *y = b;

        return (x->product_id > y->product_id) - (x->product_id < y->product_id);
}

/* A line is an items[] entry, or the body itself in the single-product form (whose fields the caller
 * checks, so check_fields is false). */
static int parse_line(json_object *obj, bool check_fields, order_line *ret, shop_error *err)
{
        static const char *const fields[] = {"product_id", "quantity", NULL};
        int r;

        r = validate_object(obj, err);
        if (r >= 0 && check_fields)
                r = validate_known_fields(obj, fields, err);
        if (r >= 0)
                r = validate_int_field(obj, "product_id", 1, INT64_MAX, &ret->product_id, err);
        if (r >= 0)
                r = validate_int_field(obj, "quantity", VALIDATE_QUANTITY_MIN, VALIDATE_QUANTITY_MAX,
                                       &ret->quantity, err);
        return r;
}

static int order_request_parse(json_object *body, order_request *req, shop_error *err)
{
        static const char *const single[] = {"user_id", "product_id", "quantity", NULL};
        static const char *const multi[] = {"user_id", "items", NULL};
        json_object *items;
        int r;

        r = validate_object(body, err);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(body, "items", &items)) {
                size_t n;

                r = validate_known_fields(body, multi, err);
                if (r < 0)
                        return r;
                if (!json_object_is_type(items, json_type_array))
                        return shop_error_set(err, -EINVAL, 400, "items must be an array");
                n = json_object_array_length(items);
                if (n < 1 || n > ORDER_ITEMS_MAX)
                        return shop_error_set(err, -EINVAL, 400, "items must hold 1 to %d entries",
                                              ORDER_ITEMS_MAX);
                for (size_t i = 0; i < n; i++) {
                        r = parse_line(json_object_array_get_idx(items, i), true, &req->lines[i], err);
                        if (r < 0)
                                return r;
                }
                req->n_lines = n;
        } else {
                r = validate_known_fields(body, single, err);
                if (r >= 0)
                        r = parse_line(body, false, &req->lines[0], err);
                if (r < 0)
                        return r;
                req->n_lines = 1;
        }
        r = validate_int_field(body, "user_id", 1, INT64_MAX, &req->user_id, err);
        if (r < 0)
                return r;
        qsort(req->lines, req->n_lines, sizeof(req->lines[0]), line_compare);
        for (size_t i = 1; i < req->n_lines; i++)
                if (req->lines[i].product_id == req->lines[i - 1].product_id)
                        return shop_error_set(err, -EINVAL, 400, "product %" PRId64 " is listed twice",
                                              req->lines[i].product_id);
        return 0;
}

/* "{a,b,c}" of one column of the lines (0 product_id, 1 quantity, 2 unit_price). */
static void lines_array_text(const order_request *req, int column, char buf[static ORDER_ARRAY_TEXT_MAX])
{
        size_t off = 0;

        buf[off++] = '{';
        for (size_t i = 0; i < req->n_lines; i++) {
                const order_line *l = &req->lines[i];
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

/* Locks the products, checks existence, currency and stock, decrements stock and records the items. */
static int reserve_stock(db_conn *c, int64_t order_id, order_request *req, shop_error *err)
{
        char ids[ORDER_ARRAY_TEXT_MAX], qty[ORDER_ARRAY_TEXT_MAX], prices[ORDER_ARRAY_TEXT_MAX], oid[24];
        PGresult *res = NULL;
        size_t found = 0;
        int r;

        lines_array_text(req, 0, ids);
        r = db_exec(c, &STMT_ORDER_LOCK_PRODUCTS, (const char *const[]){ids}, &res);
        if (r < 0)
                return db_error(r, err);
        /* Rows come back in product id order, as the lines are sorted. */
        for (size_t i = 0; i < req->n_lines; i++) {
                order_line *l = &req->lines[i];
                int64_t stock;

                if ((int)found >= PQntuples(res) || db_value_i64(res, (int)found, 0) != l->product_id) {
                        PQclear(res);
                        return shop_error_set(err, -ENOENT, 404, "product %" PRId64 " not found",
                                              l->product_id);
                }
                l->unit_price = db_value_i64(res, (int)found, 1);
                if (found == 0)
                        snprintf(req->currency, sizeof(req->currency), "%s", PQgetvalue(res, 0, 2));
                else if (strcmp(req->currency, PQgetvalue(res, (int)found, 2)) != 0) {
                        PQclear(res);
                        return shop_error_set(err, -EINVAL, 400,
                                              "all products of an order must share one currency");
                }
                stock = db_value_i64(res, (int)found, 3);
                if (stock < l->quantity) {
                        PQclear(res);
                        return shop_error_set(err, -EBUSY, 409,
                                              "not enough stock for product %" PRId64 " (%" PRId64
                                              " available)",
                                              l->product_id, stock);
                }
                req->total_cents += l->quantity * l->unit_price;
                found++;
        }
        PQclear(res);
        res = NULL;

        lines_array_text(req, 1, qty);
        r = db_exec(c, &STMT_ORDER_DECREMENT_STOCK, (const char *const[]){ids, qty}, &res);
        PQclear(res);
        res = NULL;
        if (r < 0)
                return db_error(r, err);
        lines_array_text(req, 2, prices);
        snprintf(oid, sizeof(oid), "%" PRId64, order_id);
        r = db_exec(c, &STMT_ORDER_INSERT_ITEMS, (const char *const[]){oid, ids, qty, prices}, &res);
        PQclear(res);
        if (r < 0)
                return db_error(r, err);
        return 0;
}

/* Builds the reply of a freshly created order from what the transaction wrote. */
static int created_order_json(int64_t order_id, const order_request *req, const char *created_at,
                              json_object **ret)
{
        json_object *items, *o;

        o = order_head_json(order_id, req->user_id, "paid", req->total_cents, req->currency, created_at,
                            &items);
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_lines; i++) {
                const order_line *l = &req->lines[i];
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

/* The transaction. 0 created (*ret), 1 replayed (*ret is the earlier order), or a negative errno. */
static int order_transaction(db_conn *c, order_request *req, const char *key, json_object **ret,
                             shop_error *err)
{
        char uid[24], oid[24], total[24];
        PGresult *res = NULL;
        char created_at[64];
        int64_t order_id;
        order_step step;
        int r;

        r = db_exec_simple(c, "BEGIN");
        if (r < 0)
                return db_error(r, err);

        snprintf(uid, sizeof(uid), "%" PRId64, req->user_id);
        r = db_exec(c, &STMT_ORDER_INSERT, (const char *const[]){uid, key}, &res);
        if (r == -ENOENT) {
                r = shop_error_set(err, r, 404, "user %" PRId64 " not found", req->user_id);
                goto rollback;
        }
        if (r < 0) {
                db_error(r, err);
                goto rollback;
        }
        if (PQntuples(res) == 0) {
                /* A concurrent request with the same key committed first. */
                PQclear(res);
                db_exec_simple(c, "ROLLBACK");
                r = order_by_key(c, key, ret, err);
                if (r == -ENOENT)
                        return shop_error_set(err, -EIO, 500, "idempotent order vanished");
                return r < 0 ? r : 1;
        }
        order_id = db_value_i64(res, 0, 0);
        PQclear(res);
        res = NULL;

        step = step_start("order.reserve_stock");
        r = step_end(step, reserve_stock(c, order_id, req, err), err);
        if (r < 0)
                goto rollback;

        step = step_start("order.payment");
        r = step_end(step, payment_authorize(order_id, req->total_cents, req->currency, err), err);
        if (r < 0)
                goto rollback;

        step = step_start("order.commit");
        otel_span_set_int(step.span, "oteldemo.order.id", order_id);
        snprintf(oid, sizeof(oid), "%" PRId64, order_id);
        snprintf(total, sizeof(total), "%" PRId64, req->total_cents);
        r = db_exec(c, &STMT_ORDER_FINISH, (const char *const[]){oid, total, req->currency}, &res);
        if (r >= 0) {
                snprintf(created_at, sizeof(created_at), "%s",
                         PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
                PQclear(res);
                res = NULL;
                r = db_exec_simple(c, "COMMIT");
        }
        if (r < 0)
                db_error(r, err);
        r = step_end(step, r, err);
        if (r < 0)
                goto rollback;

        r = created_order_json(order_id, req, created_at, ret);
        if (r < 0)
                return db_error(r, err);
        return 0;
rollback:
        PQclear(res);
        /* A failed ROLLBACK leaves the session in a transaction; release closes such a connection. */
        (void)db_exec_simple(c, "ROLLBACK");
        return r;
}

static int order_create(db_pool *pool, json_object *body, const char *idempotency_key, json_object **ret,
                        bool *ret_replayed, shop_error *err)
{
        order_request *req;
        order_step step;
        shop_faults f;
        db_conn *c;
        int r;

        req = calloc(1, sizeof(*req));
        if (!req)
                return db_error(-ENOMEM, err);

        step = step_start("order.validate");
        r = order_request_parse(body, req, err);
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
                goto out;

        r = db_pool_acquire(pool, &c);
        if (r < 0) {
                db_error(r, err);
                goto out;
        }
        if (idempotency_key) {
                /* The common retry: the first request finished long ago. */
                r = order_by_key(c, idempotency_key, ret, err);
                if (r >= 0) {
                        db_pool_release(pool, c);
                        *ret_replayed = true;
                        goto out;
                }
                if (r != -ENOENT) {
                        db_pool_release(pool, c);
                        goto out;
                }
        }
        r = order_transaction(c, req, idempotency_key, ret, err);
        db_pool_release(pool, c);
        if (r >= 0) {
                *ret_replayed = r == 1;
                if (r == 0)
                        shop_metrics_order_created();
                r = 0;
        }
out:
        free(req);
        return r;
}

int shop_order_create(db_pool *pool, json_object *body, const char *idempotency_key, json_object **ret,
                      bool *ret_replayed, shop_error *err)
{
        /* One parent for the steps, so that an order reads as one subtree under the request's span. */
        order_step step = step_start("order.create");
        bool replayed = false;
        int r;

        *ret_replayed = false;
        r = order_create(pool, body, idempotency_key, ret, &replayed, err);
        if (r >= 0) {
                *ret_replayed = replayed;
                otel_span_set_bool(step.span, "oteldemo.order.replayed", replayed);
        }
        return step_end(step, r, err);
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
