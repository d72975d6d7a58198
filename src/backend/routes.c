/* SPDX-License-Identifier: Apache-2.0 */
/* The backend's API routes (see routes.h): each handler parses the URL, calls one shop_* operation with
 * the request's span current (so the data side's spans are its children) and maps the result. */
#include "routes.h"

#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "db-pool.h"
#include "http-auth.h"

#define BACKEND_WRITE_REALM "oteldemo" /* WWW-Authenticate realm of the writes */

/* The reply for a failed shop operation: its status and message; an unset status is our bug. */
static void backend_reply_shop_error(http_request *req, const shop_error *err)
{
        if (err->status < 400 || err->status > 599) {
                http_reply_error(req, 500, "internal error");
                return;
        }
        http_reply_error(req, (unsigned)err->status, "%s",
                         err->message[0] ? err->message : "request failed");
}

static void backend_reply(http_request *req, int r, unsigned status, json_object *obj, const shop_error *err)
{
        if (r < 0) {
                json_object_put(obj);
                backend_reply_shop_error(req, err);
                return;
        }
        http_reply_json(req, status, obj);
}

/* The writes need the write token when one is configured ([auth]); checked before the body is. */
static bool backend_write_allowed(http_request *req, const backend_app *app)
{
        return !app->write_token || http_auth_require(req, app->write_token, BACKEND_WRITE_REALM) >= 0;
}

/* limit (1..SHOP_LIMIT_MAX, default SHOP_LIMIT_DEFAULT) and offset (>= 0, default 0). */
static int backend_paging(http_request *req, int64_t *ret_limit, int64_t *ret_offset)
{
        int r;

        r = http_request_query_int(req, "limit", 1, SHOP_LIMIT_MAX, SHOP_LIMIT_DEFAULT, ret_limit);
        if (r < 0)
                return r;
        return http_request_query_int(req, "offset", 0, INT64_MAX, 0, ret_offset);
}

/* GET .../{id}: the many routes that read one thing by the id in the path. */
typedef int (*backend_get_by_id_fn)(db_pool *pool, int64_t id, json_object **ret, shop_error *err);

static void backend_reply_by_id(http_request *req, backend_app *app, backend_get_by_id_fn get)
{
        shop_error err = {0};
        json_object *obj = NULL;
        int64_t id;
        int r;

        if (http_request_param_id(req, "id", &id) < 0)
                return;
        r = get(app->pool, id, &obj, &err);
        backend_reply(req, r, 200, obj, &err);
}

/* A created resource: Location names it (collection + its "id"), then the usual reply. */
static void backend_reply_created(http_request *req, int r, unsigned status, json_object *obj,
                                  const shop_error *err, const char *collection)
{
        json_object *id;

        if (r >= 0 && json_object_object_get_ex(obj, "id", &id)) {
                char location[64];

                snprintf(location, sizeof(location), "%s/%lld", collection,
                         (long long)json_object_get_int64(id));
                (void)http_reply_header(req, "Location", location);
        }
        backend_reply(req, r, status, obj, err);
}

static void route_users_list(http_request *req, void *userdata)
{
        backend_app *app = userdata;
        shop_error err = {0};
        json_object *obj = NULL;
        int64_t limit, offset;
        int r;

        if (backend_paging(req, &limit, &offset) < 0)
                return;
        r = shop_users_list(app->pool, limit, offset, &obj, &err);
        backend_reply(req, r, 200, obj, &err);
}

static void route_user_get(http_request *req, void *userdata)
{
        backend_reply_by_id(req, userdata, shop_user_get);
}

static void route_user_create(http_request *req, void *userdata)
{
        backend_app *app = userdata;
        shop_error err = {0};
        json_object *body, *obj = NULL;
        int r;

        if (!backend_write_allowed(req, app) || http_request_json(req, &body) < 0)
                return;
        r = shop_user_create(app->pool, body, &obj, &err);
        json_object_put(body);
        backend_reply_created(req, r, 201, obj, &err, "/api/users");
}

static void route_user_orders(http_request *req, void *userdata)
{
        backend_reply_by_id(req, userdata, shop_user_orders);
}

static void route_products_list(http_request *req, void *userdata)
{
        backend_app *app = userdata;
        shop_error err = {0};
        json_object *obj = NULL;
        int64_t limit, offset;
        int r;

        const char *q = http_request_query(req, "q"), *query = http_request_query(req, "query");

        if (backend_paging(req, &limit, &offset) < 0)
                return;
        /* ?query= is the CLI's --query spelled as a parameter; ?q= the short form the shop uses. */
        if (q && query && strcmp(q, query) != 0) {
                http_reply_error(req, 400, "give the search text once: q and query differ");
                return;
        }
        r = shop_products_list(app->pool, limit, offset, q ? q : query, &obj, &err);
        backend_reply(req, r, 200, obj, &err);
}

static void route_product_get(http_request *req, void *userdata)
{
        backend_reply_by_id(req, userdata, shop_product_get);
}

/* The outcome of an order, on the thread that finished it: the handler's when no payment was needed,
 * else a payment timer thread, which then resumes the suspended connection. */
static void order_created(void *userdata, int r, json_object *order, bool replayed, const shop_error *err)
{
        http_request *req = userdata;
        otel_context_token token = otel_context_attach(http_request_span(req), NULL);

        /* A replayed Idempotency-Key answers with the first order, as 200 rather than 201. */
        backend_reply_created(req, r, replayed ? 200 : 201, order, err, "/api/orders");
        otel_context_detach(token);
        http_request_resume(req);
}

static void order_continue(void *op)
{
        shop_order_continue(op);
}

static void route_order_create(http_request *req, void *userdata)
{
        backend_app *app = userdata;
        shop_order_op *op;
        json_object *body;
        int r;

        if (!backend_write_allowed(req, app) || http_request_json(req, &body) < 0)
                return;
        r = shop_order_create_start(app->pool, body, http_request_header(req, "Idempotency-Key"),
                                    order_created, req, &op);
        json_object_put(body);
        if (r == 1) /* waits for the payment provider: no thread does */
                http_request_defer(req, order_continue, op);
}

static void route_order_get(http_request *req, void *userdata)
{
        backend_reply_by_id(req, userdata, shop_order_get);
}

int backend_ready(void *userdata, char *ret_reason, size_t size)
{
        backend_app *app = userdata;
        int r = db_pool_ping(app->pool, BACKEND_READY_PING_MS);

        if (r < 0)
                snprintf(ret_reason, size, "database does not answer");
        return r;
}

int backend_routes_register(http_server *s, backend_app *app)
{
        static const struct {
                const char *method;
                const char *pattern;
                http_handler_fn handler;
        } routes[] = {
                {"GET", "/api/users", route_users_list},
                {"POST", "/api/users", route_user_create},
                {"GET", "/api/users/{id}", route_user_get},
                {"GET", "/api/users/{id}/orders", route_user_orders},
                {"GET", "/api/products", route_products_list},
                {"GET", "/api/products/{id}", route_product_get},
                {"POST", "/api/orders", route_order_create},
                {"GET", "/api/orders/{id}", route_order_get},
                {"GET", "/admin/faults", admin_faults_get},
                {"PUT", "/admin/faults", admin_faults_put},
        };
        int r;

        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
                r = http_server_route(s, routes[i].method, routes[i].pattern, routes[i].handler, app);
                if (r < 0)
                        return r;
        }
        return 0;
}
