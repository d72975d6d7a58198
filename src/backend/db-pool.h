/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db-pool.h - private interface of the PostgreSQL connection pool for the data-side modules: acquiring a
 * connection, running named prepared statements (each with its CLIENT span and duration metric) under a
 * deadline, and the error mapping the domain modules share.
 */
#pragma once

#include <libpq-fe.h>
#include <stdint.h>

#include "cleanup.h"
#include "shop.h"

/* Every prepared statement of the data side. A connection prepares a statement the first time it runs
 * it (PQprepare once per connection, under the statement's name). */
typedef enum db_stmt_id {
        DB_STMT_PING,
        DB_STMT_SCHEMA_EXISTS,
        DB_STMT_SCHEMA_VERSION,
        DB_STMT_USERS_LIST,
        DB_STMT_USER_GET,
        DB_STMT_USER_CREATE,
        DB_STMT_PRODUCTS_LIST,
        DB_STMT_PRODUCT_GET,
        DB_STMT_ORDER_BY_KEY,
        DB_STMT_ORDER_INSERT,
        DB_STMT_ORDER_LOCK_PRODUCTS,
        DB_STMT_ORDER_DECREMENT_STOCK,
        DB_STMT_ORDER_INSERT_ITEMS,
        DB_STMT_ORDER_FINISH,
        DB_STMT_ORDER_GET,
        DB_STMT_USER_ORDERS_COUNT,
        DB_STMT_USER_ORDERS,
        _DB_STMT_MAX,
        _DB_STMT_INVALID = -1,
} db_stmt_id;

/* A statement: SQL with $n placeholders only (never built from input) and what its span reports. */
typedef struct db_stmt {
        db_stmt_id id;          /* index into the per-connection "prepared" set */
        const char *name;       /* PQprepare name */
        const char *sql;        /* parameterised text; also db.query.text */
        const char *operation;  /* db.operation.name, e.g. "SELECT" */
        const char *collection; /* db.collection.name, e.g. "products" */
        int n_params;           /* number of $n parameters */
} db_stmt;

/* Deadline of one statement (plus any db_slow_query_ms fault); the server-side statement_timeout is the
 * same, so the server stops work the client has given up on. */
#define DB_QUERY_TIMEOUT_MS 5000u

typedef struct db_conn db_conn;

/* A timestamptz column as the RFC 3339 UTC text of the JSON replies. */
#define DB_SQL_TIMESTAMP(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Integer column value of a result row (the server sends canonical decimal text). */
int64_t db_value_i64(const PGresult *res, int row, int col);

/* Takes a healthy connection, reconnecting a broken one (with backoff) or waiting up to the pool's
 * acquire timeout for a free one. -EAGAIN when none can be had in time (→ 503). */
int db_pool_acquire(db_pool *pool, db_conn **ret);
/* Gives the connection back; one that failed mid-transaction or lost its server is closed and
 * reconnected on a later acquire. NULL-safe. */
void db_pool_release(db_pool *pool, db_conn *conn);
/* db_pool_release() to the pool the connection came from. NULL-safe. */
void db_conn_release(db_conn *conn);

/* cleanup.h helpers: a result is PQclear()ed, a connection given back, when the local goes out of scope. */
DEFINE_CLEANUP_FUNC(db_result_clearp, PGresult *, PQclear)
#define _cleanup_result_ _cleanup_(db_result_clearp)
DEFINE_CLEANUP_FUNC(db_conn_releasep, db_conn *, db_conn_release)
#define _cleanup_conn_ _cleanup_(db_conn_releasep)

/*
 * Runs a prepared statement with text parameters (NULL = SQL NULL) inside a CLIENT span. On success
 * returns 0 and a result with PGRES_TUPLES_OK or PGRES_COMMAND_OK in *ret (caller PQclear()s it).
 * Errors: -EAGAIN connection lost or unusable (→ 503), -ETIMEDOUT deadline passed (→ 504),
 * -EEXIST unique violation, -ENOENT foreign-key violation, -ERANGE check violation, -EINVAL data
 * exception, -EIO anything else. db_conn_sqlstate() tells the SQLSTATE of the last failure.
 */
int db_exec(db_conn *conn, const db_stmt *stmt, const char *const *params, PGresult **ret);
/* BEGIN / COMMIT / ROLLBACK (constant SQL, simple protocol), same span and error handling. */
int db_exec_simple(db_conn *conn, const char *sql);
/* SQLSTATE of the last failed db_exec on this connection ("" when none or not from the server). */
const char *db_conn_sqlstate(const db_conn *conn);

/* Fills err for a db_exec failure that the caller has no more specific meaning for. Returns r. */
int db_error(int r, shop_error *err);
/* Fills err with status and a printf-style message. Returns r (a negative errno). */
int shop_error_set(shop_error *err, int r, int status, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Builds libpq keyword/value arrays from conninfo plus the password credential and our defaults
 * (connect_timeout, application_name). Used by the pool and by shop_migrate. */
typedef struct db_params {
        char **keywords; /* NULL-terminated */
        char **values;   /* parallel to keywords */
        size_t n;        /* entries used */
} db_params;
int db_params_build(const char *conninfo, db_params *ret);
/* The value of keyword key, or NULL. */
const char *db_params_get(const db_params *p, const char *key);
void db_params_done(db_params *p);

#define DB_ERROR_LINE_MAX 512u /* a libpq message as one log line; longer ones are cut */

/* msg (a libpq message, NULL for none) on one line: libpq ends lines with "\n" and indents hints with
 * "\t", which would split a log record. A run of newlines and tabs becomes one space; trailing ones go.
 * Returns buf. */
const char *db_error_line(const char *msg, char buf[static DB_ERROR_LINE_MAX]);

/* libpq notice processor that drops NOTICEs (they would go to stderr, bypassing the log). */
void db_notice_ignore(void *arg, const char *message);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t db_now_ms(void);

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

/* Metric recording shared by the data-side modules (no-ops before shop_telemetry_init). error_type
 * NULL = success. */
void shop_metrics_db_operation(const char *operation, const char *collection, const char *error_type,
                               double seconds);
/* Stops observing pool (db_pool_free calls it). */
void shop_metrics_forget_pool(db_pool *pool);
void shop_metrics_order_created(void);
void shop_metrics_payment_failure(const char *reason);
