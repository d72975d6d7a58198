/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shop-query.h - the read paths the shop's modules share on top of the pool: one statement on a pooled
 * connection, a resource by id (400 for a bad id, 404 when absent), a paged list as
 * {items, limit, offset, total}.
 */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "db-pool.h"
#include "shop.h"

/* {items, limit, offset, total} around the rows of a "total, columns..." list result; a row whose
 * columns are NULL stands for "no items" (LEFT JOIN of the count with an empty page). 0 or -ENOMEM. */
typedef json_object *(*shop_row_to_json_fn)(const PGresult *res, int row, int col);
int shop_list_json(const PGresult *res, shop_row_to_json_fn fn, int64_t limit, int64_t offset,
                   json_object **ret);

/* stmt on a connection of pool, released right after; db_exec's errors. */
int shop_exec(db_pool *pool, const db_stmt *stmt, const char *const *params, PGresult **ret);
/* stmt (one parameter: the id) for the "what" with this id: 400 when id <= 0, 404 when no row comes
 * back, else 0 and the result in *ret (the caller clears it). */
int shop_get_by_id(db_pool *pool, const db_stmt *stmt, const char *what, int64_t id, PGresult **ret,
                   shop_error *err);
/* fn of res's first row into *ret; clears res. 0 or (out of memory) db_error(-ENOMEM). */
int shop_row_json(PGresult *res, shop_row_to_json_fn fn, json_object **ret, shop_error *err);
/* A page of stmt ($1 limit, $2 offset, $3 filter when stmt has three parameters; limit already
 * validated) as shop_list_json() builds it. */
int shop_list(db_pool *pool, const db_stmt *stmt, const char *filter, shop_row_to_json_fn fn, int64_t limit,
              int64_t offset, json_object **ret, shop_error *err);
