/* SPDX-License-Identifier: Apache-2.0 */
/* The read paths the shop's modules share: one statement on a pooled connection, a resource by id
 * (400 for a bad id, 404 when absent), a paged list as {items, limit, offset, total}. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "db-pool.h"
#include "shop-error.h"
#include "shop-json.h"
#include "shop-query.h"
#include "shop.h"

#define SHOP_INT_TEXT_MAX 24 /* an int64 as text, with sign and NUL */

int shop_exec(db_pool *pool, const db_stmt *stmt, const char *const *params, PGresult **ret)
{
        _cleanup_conn_ db_conn *c = NULL;
        int r;

        r = db_pool_acquire(pool, &c);
        if (r < 0)
                return r;
        return db_exec(c, stmt, params, ret);
}

int shop_get_by_id(db_pool *pool, const db_stmt *stmt, const char *what, int64_t id, PGresult **ret,
                   shop_error *err)
{
        char idbuf[SHOP_INT_TEXT_MAX];
        _cleanup_result_ PGresult *res = NULL;
        int r;

        if (id <= 0)
                return shop_error_set(err, -EINVAL, 400, "%s id must be a positive integer", what);
        snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
        r = shop_exec(pool, stmt, (const char *const[]){idbuf}, &res);
        if (r < 0)
                return db_error(r, err);
        if (PQntuples(res) == 0)
                return shop_error_set(err, -ENOENT, 404, "%s %" PRId64 " not found", what, id);
        *ret = TAKE_PTR(res);
        return 0;
}

int shop_row_json(PGresult *res, shop_row_to_json_fn fn, json_object **ret, shop_error *err)
{
        json_object *o = PQntuples(res) > 0 ? fn(res, 0, 0) : NULL;

        PQclear(res);
        if (!o)
                return db_error(-ENOMEM, err);
        *ret = o;
        return 0;
}

int shop_list(db_pool *pool, const db_stmt *stmt, const char *filter, shop_row_to_json_fn fn, int64_t limit,
              int64_t offset, json_object **ret, shop_error *err)
{
        char l[SHOP_INT_TEXT_MAX], off[SHOP_INT_TEXT_MAX];
        _cleanup_result_ PGresult *res = NULL;
        int r;

        snprintf(l, sizeof(l), "%" PRId64, limit);
        snprintf(off, sizeof(off), "%" PRId64, offset);
        r = shop_exec(pool, stmt, (const char *const[]){l, off, filter}, &res);
        if (r < 0)
                return db_error(r, err);
        r = shop_list_json(res, fn, limit, offset, ret);
        return r < 0 ? db_error(r, err) : 0;
}

int shop_list_json(const PGresult *res, shop_row_to_json_fn fn, int64_t limit, int64_t offset,
                   json_object **ret)
{
        _cleanup_json_ json_object *o = json_object_new_object(), *items = json_object_new_array();
        int64_t total = PQntuples(res) > 0 ? db_value_i64(res, 0, 0) : 0;

        if (!o || !items)
                return -ENOMEM;
        for (int i = 0; i < PQntuples(res); i++) {
                json_object *item;

                if (PQgetisnull(res, i, 1))
                        continue;
                item = fn(res, i, 1);
                if (!item || json_object_array_add(items, item) < 0) {
                        json_object_put(item);
                        return -ENOMEM;
                }
        }
        if (shop_json_add(o, "items", TAKE_PTR(items)) < 0 ||
            shop_json_add(o, "limit", json_object_new_int64(limit)) < 0 ||
            shop_json_add(o, "offset", json_object_new_int64(offset)) < 0 ||
            shop_json_add(o, "total", json_object_new_int64(total)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}
