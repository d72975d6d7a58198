/* SPDX-License-Identifier: Apache-2.0 */
/* Users: list with paging, get by id, create (unique email). */
#include <errno.h>

#include "db-pool.h"
#include "shop-error.h"
#include "shop-json.h"
#include "shop-query.h"
#include "shop-request.h"
#include "shop.h"
#include "validate.h"

static const db_stmt STMT_USERS_LIST = {
        .name = "users_list",
        /* One round trip: the total always comes back, even for an offset past the end. */
        .sql = "SELECT t.total, u.id, u.name, u.email, " DB_SQL_TIMESTAMP(
                "u.created_at") " FROM (SELECT count(*) AS total FROM users) t"
                                " LEFT JOIN LATERAL (SELECT id, name, email, created_at FROM users ORDER BY "
                                "id"
                                " LIMIT $1 OFFSET $2) u ON true ORDER BY u.id",
        .operation = "SELECT",
        .collection = "users",
        .n_params = 2,
};

static const db_stmt STMT_USER_GET = {
        .name = "user_get",
        .sql = "SELECT id, name, email, " DB_SQL_TIMESTAMP("created_at") " FROM users WHERE id = $1",
        .operation = "SELECT",
        .collection = "users",
        .n_params = 1,
};

static const db_stmt STMT_USER_CREATE = {
        .name = "user_create",
        .sql = "INSERT INTO users (name, email) VALUES ($1, $2)"
               " RETURNING id, name, email, " DB_SQL_TIMESTAMP("created_at"),
        .operation = "INSERT",
        .collection = "users",
        .n_params = 2,
};

/* {id, name, email, created_at} from columns col.. of row. */
static json_object *user_json(const PGresult *res, int row, int col)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (shop_json_add(o, "id", json_object_new_int64(db_value_i64(res, row, col))) < 0 ||
            shop_json_add(o, "name", json_object_new_string(PQgetvalue(res, row, col + 1))) < 0 ||
            shop_json_add(o, "email", json_object_new_string(PQgetvalue(res, row, col + 2))) < 0 ||
            shop_json_add(o, "created_at", json_object_new_string(PQgetvalue(res, row, col + 3))) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int shop_users_list(db_pool *pool, int64_t limit, int64_t offset, json_object **ret, shop_error *err)
{
        int r;

        r = validate_paging(&limit, offset, err);
        if (r < 0)
                return r;
        return shop_list(pool, &STMT_USERS_LIST, NULL, user_json, limit, offset, ret, err);
}

int shop_user_get(db_pool *pool, int64_t id, json_object **ret, shop_error *err)
{
        PGresult *res = NULL;
        int r;

        r = shop_get_by_id(pool, &STMT_USER_GET, "user", id, &res, err);
        if (r < 0)
                return r;
        return shop_row_json(res, user_json, ret, err);
}

int shop_user_create(db_pool *pool, json_object *body, json_object **ret, shop_error *err)
{
        shop_user_request user;
        const char *params[2];
        PGresult *res = NULL;
        int r;

        r = shop_user_request_parse(body, &user, err);
        if (r < 0)
                return r;
        params[0] = user.name;
        params[1] = user.email;
        r = shop_exec(pool, &STMT_USER_CREATE, params, &res);
        if (r == -EEXIST)
                return shop_error_set(err, r, 409, "a user with this email already exists");
        if (r == -ERANGE || r == -EINVAL)
                return shop_error_set(err, r, 400, "invalid user");
        if (r < 0)
                return db_error(r, err);
        return shop_row_json(res, user_json, ret, err);
}
