/* SPDX-License-Identifier: Apache-2.0 */
/* Users: list with paging, get by id, create (unique email). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db-pool.h"
#include "validate.h"

static const db_stmt STMT_USERS_LIST = {
        .id = DB_STMT_USERS_LIST,
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
        .id = DB_STMT_USER_GET,
        .name = "user_get",
        .sql = "SELECT id, name, email, " DB_SQL_TIMESTAMP("created_at") " FROM users WHERE id = $1",
        .operation = "SELECT",
        .collection = "users",
        .n_params = 1,
};

static const db_stmt STMT_USER_CREATE = {
        .id = DB_STMT_USER_CREATE,
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

int shop_list_json(const PGresult *res, shop_row_to_json_fn fn, int64_t limit, int64_t offset,
                   json_object **ret)
{
        json_object *o = json_object_new_object(), *items = json_object_new_array();
        int64_t total = PQntuples(res) > 0 ? db_value_i64(res, 0, 0) : 0;

        if (!o || !items)
                goto oom;
        for (int i = 0; i < PQntuples(res); i++) {
                json_object *item;

                if (PQgetisnull(res, i, 1))
                        continue;
                item = fn(res, i, 1);
                if (!item || json_object_array_add(items, item) < 0) {
                        json_object_put(item);
                        goto oom;
                }
        }
        if (shop_json_add(o, "items", items) < 0) {
                items = NULL;
                goto oom;
        }
        items = NULL;
        if (shop_json_add(o, "limit", json_object_new_int64(limit)) < 0 ||
            shop_json_add(o, "offset", json_object_new_int64(offset)) < 0 ||
            shop_json_add(o, "total", json_object_new_int64(total)) < 0)
                goto oom;
        *ret = o;
        return 0;
oom:
        json_object_put(items);
        json_object_put(o);
        return -ENOMEM;
}

int shop_users_list(db_pool *pool, int64_t limit, int64_t offset, json_object **ret, shop_error *err)
{
        char l[24], off[24];
        const char *params[2] = {l, off};
        PGresult *res = NULL;
        db_conn *c;
        int r;

        r = validate_paging(&limit, offset, err);
        if (r < 0)
                return r;
        snprintf(l, sizeof(l), "%" PRId64, limit);
        snprintf(off, sizeof(off), "%" PRId64, offset);
        r = db_pool_acquire(pool, &c);
        if (r < 0)
                return db_error(r, err);
        r = db_exec(c, &STMT_USERS_LIST, params, &res);
        db_pool_release(pool, c);
        if (r < 0)
                return db_error(r, err);
        r = shop_list_json(res, user_json, limit, offset, ret);
        PQclear(res);
        return r < 0 ? db_error(r, err) : 0;
}

int shop_user_get(db_pool *pool, int64_t id, json_object **ret, shop_error *err)
{
        char idbuf[24];
        const char *params[1] = {idbuf};
        PGresult *res = NULL;
        json_object *o;
        db_conn *c;
        int r;

        if (id <= 0)
                return shop_error_set(err, -EINVAL, 400, "user id must be a positive integer");
        snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
        r = db_pool_acquire(pool, &c);
        if (r < 0)
                return db_error(r, err);
        r = db_exec(c, &STMT_USER_GET, params, &res);
        db_pool_release(pool, c);
        if (r < 0)
                return db_error(r, err);
        if (PQntuples(res) == 0) {
                PQclear(res);
                return shop_error_set(err, -ENOENT, 404, "user %" PRId64 " not found", id);
        }
        o = user_json(res, 0, 0);
        PQclear(res);
        if (!o)
                return db_error(-ENOMEM, err);
        *ret = o;
        return 0;
}

int shop_user_create(db_pool *pool, json_object *body, json_object **ret, shop_error *err)
{
        static const char *const fields[] = {"name", "email", NULL};
        const char *params[2];
        PGresult *res = NULL;
        json_object *o;
        db_conn *c;
        int r;

        r = validate_object(body, err);
        if (r >= 0)
                r = validate_known_fields(body, fields, err);
        if (r >= 0)
                r = validate_text_field(body, "name", VALIDATE_NAME_MIN_CHARS, VALIDATE_NAME_MAX_CHARS,
                                        &params[0], err);
        if (r >= 0)
                r = validate_email_field(body, "email", &params[1], err);
        if (r < 0)
                return r;
        r = db_pool_acquire(pool, &c);
        if (r < 0)
                return db_error(r, err);
        r = db_exec(c, &STMT_USER_CREATE, params, &res);
        db_pool_release(pool, c);
        if (r == -EEXIST)
                return shop_error_set(err, r, 409, "a user with this email already exists");
        if (r == -ERANGE || r == -EINVAL)
                return shop_error_set(err, r, 400, "invalid user");
        if (r < 0)
                return db_error(r, err);
        o = PQntuples(res) == 1 ? user_json(res, 0, 0) : NULL;
        PQclear(res);
        if (!o)
                return db_error(-ENOMEM, err);
        *ret = o;
        return 0;
}
