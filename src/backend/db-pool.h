/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db-pool.h - the PostgreSQL connection pool: acquiring a connection, running named prepared statements
 * (each with its CLIENT span and the db.client.* metrics) under a deadline. It knows connections and the
 * statements its users run, nothing of the shop: a statement is registered with the pool the first
 * time its owner runs it, and the extra delay of the db_slow_query_ms fault comes from a function the
 * pool's owner hands it.
 */
#pragma once

#include <libpq-fe.h>
#include <stdint.h>

#include "cleanup.h"

typedef struct db_pool db_pool;
typedef struct db_conn db_conn;

/* Statements one pool can run (one bit each in a connection's "prepared" set). */
#define DB_POOL_STMTS_MAX 64u

/* A statement: SQL with $n placeholders only (never built from input) and what its span reports.
 * Statements live in static storage (the pool keeps their addresses); names are unique. A connection
 * prepares a statement the first time it runs it (PQprepare once per connection, under its name). */
typedef struct db_stmt {
        const char *name;       /* PQprepare name */
        const char *sql;        /* parameterised text; also db.query.text */
        const char *operation;  /* db.operation.name, e.g. "SELECT" */
        const char *collection; /* db.collection.name, e.g. "products" */
        int n_params;           /* number of $n parameters */
} db_stmt;

/*
 * conninfo is a libpq conninfo string (keywords or URI). When $CREDENTIALS_DIRECTORY/db-password exists
 * its first line is passed as the password (never logged). db_pool_new does not touch the network:
 * connections are opened on first use, and a broken one is reopened on a later acquire with exponential
 * backoff (100 ms .. 2 s), so the daemon can start while the server is down (use db_pool_ping for
 * readiness). acquire_timeout_ms bounds how long a request waits for a free connection before failing
 * with 503; while the server is down requests fail at once with 503. Free the pool after
 * otel_sdk_shutdown() or before it - either is safe (the connection-count callback stops observing it
 * in db_pool_free). Returns 0, -EINVAL (size 0 or bad conninfo syntax), -ENOMEM.
 */
int db_pool_new(const char *conninfo, unsigned size, unsigned acquire_timeout_ms, db_pool **ret);
void db_pool_free(db_pool *pool);
/* The acquire_timeout_ms it was made with. */
unsigned db_pool_acquire_timeout_ms(const db_pool *pool);
/* One round trip ("SELECT 1") on a pooled connection within timeout_ms, without the statement delay:
 * 0, or negative errno. */
int db_pool_ping(db_pool *pool, unsigned timeout_ms);
/* Connections currently handed out (used) and connected-and-free (idle); for metrics and STATUS=. */
void db_pool_counts(db_pool *pool, unsigned *ret_used, unsigned *ret_idle);
/* Extra milliseconds each statement waits inside its span before it is sent (a fault of the owner);
 * fn NULL or never set: none. Call before the pool is shared. */
typedef uint32_t (*db_delay_fn)(void);
void db_pool_set_statement_delay(db_pool *pool, db_delay_fn fn);
/* The pool's db.client.operation.duration and db.client.connection.count (observed from this pool at
 * each collection). Call once after the meter provider is installed; before, nothing is recorded. */
int db_pool_metrics_init(db_pool *pool);

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
 * exception, -EIO anything else, -E2BIG for a statement over DB_POOL_STMTS_MAX. db_conn_sqlstate() tells the
 * SQLSTATE of the last failure.
 */
int db_exec(db_conn *conn, const db_stmt *stmt, const char *const *params, PGresult **ret);
/* BEGIN / COMMIT / ROLLBACK (constant SQL, simple protocol), same span and error handling. */
int db_exec_simple(db_conn *conn, const char *sql);
/* SQLSTATE of the last failed db_exec on this connection ("" when none or not from the server). */
const char *db_conn_sqlstate(const db_conn *conn);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t db_now_ms(void);
