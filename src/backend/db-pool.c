/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fixed-size pool of libpq connections. Every wait is bounded: acquiring waits at most the pool's
 * acquire timeout, connecting and queries run non-blocking under a deadline, and a server that is down
 * makes requests fail at once with -EAGAIN (503) while broken connections are reopened with exponential
 * backoff. Each query runs as a named prepared statement inside a CLIENT span and is measured by the
 * pool's own db.client.* metrics.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db-params.h"
#include "db-pool.h"
#include "otel.h"

/* Reconnect backoff of one connection: doubles from MIN to MAX after each failed attempt. */
#define DB_BACKOFF_MIN_MS 100u
#define DB_BACKOFF_MAX_MS 2000u
/* Budget of one connection attempt; small so that a request while the server is down stays < 1 s. */
#define DB_CONNECT_TIMEOUT_MS 500u
#define DB_POOL_SIZE_MAX      256u
#define DB_SQLSTATE_LEN       5
#define DB_DEFAULT_PORT       5432

struct db_conn {
        PGconn *pg;                         /* NULL when not connected */
        uint64_t prepared;                  /* bit per statement slot prepared on this connection */
        bool in_use;                        /* handed out by db_pool_acquire */
        bool broken;                        /* close on release (lost server, timeout, unknown state) */
        unsigned backoff_ms;                /* next reconnect delay; 0 after a success */
        uint64_t retry_at_ms;               /* no reconnect before this (monotonic ms) */
        uint64_t deadline_ms;               /* deadline of the statement being run (0 = default) */
        char sqlstate[DB_SQLSTATE_LEN + 1]; /* of the last failure */
        db_pool *pool;                      /* owner, for span attributes */
};

struct db_pool {
        pthread_mutex_t lock;                    /* guards in_use, backoff and n_used; a conn's pg is only
                                                  * written by the thread that claimed it */
        pthread_cond_t cond;                     /* signalled when a connection is released */
        db_params params;                        /* libpq keywords/values, incl. the password */
        unsigned size;                           /* number of connections */
        unsigned acquire_timeout_ms;             /* bound of the wait for a free connection */
        unsigned n_used;                         /* connections handed out */
        bool server_down_logged;                 /* one warning per outage, not per request (atomic) */
        char *db_name;                           /* db.namespace */
        char *host;                              /* server.address */
        int64_t port;                            /* server.port */
        db_conn *conns;                          /* size entries */
        db_delay_fn statement_delay;             /* extra wait of each statement, NULL = none */
        const db_stmt *stmts[DB_POOL_STMTS_MAX]; /* registered statements; a slot is an index */
        size_t n_stmts;                          /* slots used (atomic: appended under lock) */
        otel_instrument *op_duration;            /* db.client.operation.duration, NULL before init */
};

/* The pool the db.client.connection.count callback observes (instruments outlive a pool). */
static pthread_mutex_t observed_lock = PTHREAD_MUTEX_INITIALIZER;
static db_pool *observed_pool;

/* ---- small helpers ---------------------------------------------------------------------------- */

uint64_t db_now_ms(void)
{
        return otel_mono_ns() / 1000000u; /* the one monotonic clock, in ms */
}

static int ms_until(uint64_t deadline_ms)
{
        uint64_t now = db_now_ms();

        if (now >= deadline_ms)
                return 0;
        return deadline_ms - now > INT32_MAX ? INT32_MAX : (int)(deadline_ms - now);
}

const char *db_conn_sqlstate(const db_conn *conn)
{
        return conn ? conn->sqlstate : "";
}

/* ---- connecting ------------------------------------------------------------------------------- */

/* Waits until fd is ready for events or the deadline passes: 1 ready, 0 timeout, negative errno. */
static int wait_fd(int fd, short events, uint64_t deadline_ms)
{
        struct pollfd pfd = {.fd = fd, .events = events};
        int r;

        for (;;) {
                r = poll(&pfd, 1, ms_until(deadline_ms));
                if (r >= 0)
                        return r;
                if (errno != EINTR)
                        return -errno;
        }
}

/* Opens a connection non-blocking within DB_CONNECT_TIMEOUT_MS (libpq's connect_timeout cannot go
 * below 2 s). Returns 0 or -EAGAIN/-ENOMEM. */
static int conn_open(db_pool *pool, db_conn *c)
{
        uint64_t deadline = db_now_ms() + DB_CONNECT_TIMEOUT_MS;
        PostgresPollingStatusType st = PGRES_POLLING_WRITING;
        char line[DB_ERROR_LINE_MAX];
        PGconn *pg;
        int r;

        pg = PQconnectStartParams((const char *const *)pool->params.keywords,
                                  (const char *const *)pool->params.values, 0);
        if (!pg)
                return -ENOMEM;
        if (PQstatus(pg) == CONNECTION_BAD)
                goto fail;
        for (;;) {
                if (st == PGRES_POLLING_OK)
                        break;
                if (st == PGRES_POLLING_FAILED)
                        goto fail;
                r = wait_fd(PQsocket(pg), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
                if (r <= 0)
                        goto fail;
                st = PQconnectPoll(pg);
        }
        if (PQsetnonblocking(pg, 1) < 0)
                goto fail;
        PQsetNoticeProcessor(pg, db_notice_ignore, NULL);
        c->pg = pg;
        c->prepared = 0;
        c->broken = false;
        return 0;
fail:
        /* One warning per outage; PQerrorMessage names host and port, never the password. */
        if (!__atomic_exchange_n(&pool->server_down_logged, true, __ATOMIC_RELAXED))
                otel_log(OTEL_SEVERITY_WARN, "Database connection failed, retrying with backoff: %s",
                         PQstatus(pg) == CONNECTION_BAD ? db_error_line(PQerrorMessage(pg), line)
                                                        : "timed out");
        PQfinish(pg);
        return -EAGAIN;
}

static void conn_close(db_conn *c)
{
        PQfinish(c->pg);
        c->pg = NULL;
        c->prepared = 0;
        c->broken = false;
}

/* A pooled connection is usable when libpq thinks so, the server has not closed it meanwhile (it sends
 * a FATAL message on shutdown, which PQconsumeInput reads) and no transaction was left open. */
static bool conn_healthy(db_conn *c)
{
        if (!c->pg || c->broken || PQstatus(c->pg) != CONNECTION_OK)
                return false;
        if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK)
                return false;
        return PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

/* ---- the pool --------------------------------------------------------------------------------- */

/* server.port of the spans: the conninfo port when it is a number, else PostgreSQL's default. */
static int64_t db_port_parse(const char *v)
{
        char *end;
        long port;

        if (!v)
                return DB_DEFAULT_PORT;
        errno = 0;
        port = strtol(v, &end, 10);
        if (errno || end == v || *end || port <= 0 || port > 65535)
                return DB_DEFAULT_PORT;
        return port;
}

unsigned db_pool_acquire_timeout_ms(const db_pool *pool)
{
        return pool->acquire_timeout_ms;
}

int db_pool_new(const char *conninfo, unsigned size, unsigned acquire_timeout_ms, db_pool **ret)
{
        const char *v;
        db_pool *p;
        int r;

        if (size == 0 || size > DB_POOL_SIZE_MAX || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        r = db_params_build(conninfo, &p->params);
        if (r < 0) {
                free(p);
                return r;
        }
        v = db_params_get(&p->params, "dbname");
        if (!v)
                v = db_params_get(&p->params, "user");
        p->db_name = strdup(v ? v : "postgres");
        v = db_params_get(&p->params, "host");
        if (!v)
                v = db_params_get(&p->params, "hostaddr");
        p->host = strdup(v ? v : "localhost");
        v = db_params_get(&p->params, "port");
        p->port = db_port_parse(v);
        p->conns = calloc(size, sizeof(*p->conns));
        if (!p->conns || !p->db_name || !p->host) {
                db_params_done(&p->params);
                free(p->conns);
                free(p->db_name);
                free(p->host);
                free(p);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < size; i++)
                p->conns[i].pool = p;
        p->size = size;
        p->acquire_timeout_ms = acquire_timeout_ms;
        pthread_mutex_init(&p->lock, NULL);
        {
                pthread_condattr_t ca;

                pthread_condattr_init(&ca);
                pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
                pthread_cond_init(&p->cond, &ca);
                pthread_condattr_destroy(&ca);
        }
        *ret = p;
        return 0;
}

void db_pool_free(db_pool *pool)
{
        if (!pool)
                return;
        pthread_mutex_lock(&observed_lock);
        if (observed_pool == pool)
                observed_pool = NULL;
        pthread_mutex_unlock(&observed_lock);
        for (unsigned i = 0; i < pool->size; i++)
                if (pool->conns[i].pg)
                        PQfinish(pool->conns[i].pg);
        free(pool->conns);
        db_params_done(&pool->params);
        free(pool->db_name);
        free(pool->host);
        pthread_cond_destroy(&pool->cond);
        pthread_mutex_destroy(&pool->lock);
        free(pool);
}

void db_pool_counts(db_pool *pool, unsigned *ret_used, unsigned *ret_idle)
{
        unsigned idle = 0, used;

        pthread_mutex_lock(&pool->lock);
        used = pool->n_used;
        for (unsigned i = 0; i < pool->size; i++)
                if (!pool->conns[i].in_use && pool->conns[i].pg)
                        idle++;
        pthread_mutex_unlock(&pool->lock);
        if (ret_used)
                *ret_used = used;
        if (ret_idle)
                *ret_idle = idle;
}

void db_pool_set_statement_delay(db_pool *pool, db_delay_fn fn)
{
        pool->statement_delay = fn;
}

static void observe_connections(otel_observer *obs, void *userdata)
{
        unsigned used, idle;

        (void)userdata;
        pthread_mutex_lock(&observed_lock);
        if (observed_pool) {
                db_pool_counts(observed_pool, &used, &idle);
                otel_observe(obs, used,
                             (otel_attr[]){OTEL_ATTR_STR("db.client.connection.state", "used"),
                                           OTEL_ATTR_STR("db.client.connection.pool.name", "backend")},
                             2);
                otel_observe(obs, idle,
                             (otel_attr[]){OTEL_ATTR_STR("db.client.connection.state", "idle"),
                                           OTEL_ATTR_STR("db.client.connection.pool.name", "backend")},
                             2);
        }
        pthread_mutex_unlock(&observed_lock);
}

/* Semantic conventions' recommended buckets for db.client.operation.duration (seconds). */
static const double db_duration_bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};

int db_pool_metrics_init(db_pool *pool)
{
        otel_meter *meter = otel_meter_get("oteldemo-backend", OTELDEMO_VERSION);
        otel_instrument *i;

        pthread_mutex_lock(&observed_lock);
        observed_pool = pool;
        pthread_mutex_unlock(&observed_lock);
        i = otel_instrument_new(
                meter, OTEL_INSTRUMENT_HISTOGRAM, "db.client.operation.duration",
                &(otel_instrument_opts){
                        .unit = "s",
                        .description = "Duration of database client operations.",
                        .bounds = db_duration_bounds,
                        .n_bounds = sizeof(db_duration_bounds) / sizeof(db_duration_bounds[0]),
                });
        __atomic_store_n(&pool->op_duration, i, __ATOMIC_RELEASE);
        (void)otel_instrument_new(meter, OTEL_INSTRUMENT_OBSERVABLE_UP_DOWN_COUNTER,
                                  "db.client.connection.count",
                                  &(otel_instrument_opts){
                                          .unit = "{connection}",
                                          .description = "Database connections by state.",
                                          .integer = true,
                                          .callback = observe_connections,
                                  });
        return 0;
}

/* error_type NULL = success. */
static void record_operation(db_pool *pool, const char *operation, const char *collection,
                             const char *error_type, double seconds)
{
        otel_instrument *hist = __atomic_load_n(&pool->op_duration, __ATOMIC_ACQUIRE);
        otel_attr attrs[4];
        size_t n = 0;

        if (!hist)
                return;
        attrs[n++] = OTEL_ATTR_STR("db.system.name", "postgresql");
        attrs[n++] = OTEL_ATTR_STR("db.operation.name", operation);
        if (collection)
                attrs[n++] = OTEL_ATTR_STR("db.collection.name", collection);
        if (error_type)
                attrs[n++] = OTEL_ATTR_STR("error.type", error_type);
        otel_instrument_record(hist, seconds, attrs, n);
}

/* The slot of stmt in pool: found among the registered ones, or registered now (the first time its
 * owner runs it). -E2BIG when DB_POOL_STMTS_MAX are registered. */
static int stmt_slot(db_pool *pool, const db_stmt *stmt)
{
        size_t n = __atomic_load_n(&pool->n_stmts, __ATOMIC_ACQUIRE), i;

        for (i = 0; i < n; i++)
                if (pool->stmts[i] == stmt)
                        return (int)i;
        pthread_mutex_lock(&pool->lock);
        n = pool->n_stmts;
        for (; i < n; i++) /* registered by another thread meanwhile */
                if (pool->stmts[i] == stmt)
                        break;
        if (i == n && n < DB_POOL_STMTS_MAX) {
                pool->stmts[n] = stmt;
                __atomic_store_n(&pool->n_stmts, n + 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&pool->lock);
        return i < DB_POOL_STMTS_MAX ? (int)i : -E2BIG;
}

static void claim(db_pool *pool, db_conn *c)
{
        c->in_use = true;
        pool->n_used++;
}

static void unclaim(db_pool *pool, db_conn *c)
{
        pthread_mutex_lock(&pool->lock);
        c->in_use = false;
        pool->n_used--;
        pthread_cond_signal(&pool->cond);
        pthread_mutex_unlock(&pool->lock);
}

static void backoff_after_failure(db_conn *c)
{
        if (c->backoff_ms == 0)
                c->backoff_ms = DB_BACKOFF_MIN_MS;
        c->retry_at_ms = db_now_ms() + c->backoff_ms;
        c->backoff_ms = c->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Makes a claimed connection usable: health check, reconnect if needed. 0 or -EAGAIN/-ENOMEM. */
static int conn_prepare_for_use(db_pool *pool, db_conn *c)
{
        bool was_connected = c->pg != NULL;
        int r;

        if (was_connected && conn_healthy(c))
                return 0;
        if (was_connected)
                conn_close(c);
        /* A connection that was fine until now reconnects at once (server restarted); one already
         * failing waits for its backoff, checked by the caller. */
        r = conn_open(pool, c);
        pthread_mutex_lock(&pool->lock);
        if (r < 0) {
                backoff_after_failure(c);
        } else {
                if (__atomic_exchange_n(&pool->server_down_logged, false, __ATOMIC_RELAXED))
                        otel_log(OTEL_SEVERITY_INFO, "Database connection re-established");
                c->backoff_ms = 0;
                c->retry_at_ms = 0;
        }
        pthread_mutex_unlock(&pool->lock);
        return r;
}

/* Waits (pool->lock held) for a release or the deadline; the condvar runs on CLOCK_MONOTONIC. */
static void cond_wait_until(db_pool *pool, uint64_t deadline_ms)
{
        uint64_t wait_ms = (uint64_t)ms_until(deadline_ms);
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(wait_ms / 1000u);
        ts.tv_nsec += (long)(wait_ms % 1000u) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&pool->cond, &pool->lock, &ts);
}

static int pool_acquire_until(db_pool *pool, uint64_t deadline_ms, db_conn **ret)
{
        db_conn *c = NULL;
        int r;

        pthread_mutex_lock(&pool->lock);
        for (;;) {
                db_conn *reconnectable = NULL;
                bool all_down = true;
                uint64_t now = db_now_ms();

                for (unsigned i = 0; i < pool->size; i++) {
                        db_conn *x = &pool->conns[i];

                        if (x->in_use) {
                                all_down = false;
                                continue;
                        }
                        if (x->pg) {
                                c = x;
                                break;
                        }
                        if (x->retry_at_ms <= now) {
                                all_down = false;
                                if (!reconnectable)
                                        reconnectable = x;
                        }
                }
                if (!c)
                        c = reconnectable;
                if (c)
                        break;
                /* Every free connection is waiting out a backoff: the server is down, so fail at once
                 * instead of making the client wait for a timeout. */
                if (all_down) {
                        pthread_mutex_unlock(&pool->lock);
                        return -EAGAIN;
                }
                if (db_now_ms() >= deadline_ms) {
                        pthread_mutex_unlock(&pool->lock);
                        return -EAGAIN;
                }
                cond_wait_until(pool, deadline_ms);
        }
        claim(pool, c);
        pthread_mutex_unlock(&pool->lock);

        r = conn_prepare_for_use(pool, c);
        if (r < 0) {
                unclaim(pool, c);
                return r;
        }
        c->deadline_ms = 0;
        c->sqlstate[0] = '\0';
        *ret = c;
        return 0;
}

int db_pool_acquire(db_pool *pool, db_conn **ret)
{
        return pool_acquire_until(pool, db_now_ms() + pool->acquire_timeout_ms, ret);
}

void db_pool_release(db_pool *pool, db_conn *c)
{
        if (!c)
                return;
        /* A connection returned mid-transaction or after a timeout is in an unknown state. */
        if (c->pg &&
            (c->broken || PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) != PQTRANS_IDLE))
                conn_close(c);
        unclaim(pool, c);
}

void db_conn_release(db_conn *c)
{
        if (c)
                db_pool_release(c->pool, c);
}

/* ---- running statements ----------------------------------------------------------------------- */

static otel_tracer *db_tracer(void)
{
        return otel_tracer_get("oteldemo-backend.db", OTELDEMO_VERSION);
}

static int map_sqlstate(const char *st)
{
        if (strcmp(st, "23505") == 0)
                return -EEXIST;
        if (strcmp(st, "23503") == 0)
                return -ENOENT;
        if (strcmp(st, "23514") == 0)
                return -ERANGE;
        if (strcmp(st, "57014") == 0)
                return -ETIMEDOUT;
        /* connection exceptions, admin/crash shutdown, cannot connect now */
        if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0)
                return -EAGAIN;
        if (strncmp(st, "22", 2) == 0)
                return -EINVAL;
        return -EIO;
}

/* Flushes the outgoing buffer and collects the results of one command under the deadline. Keeps the
 * first failed result, or the last one. */
static int conn_collect(db_conn *c, uint64_t deadline_ms, PGresult **ret)
{
        PGresult *keep = NULL, *res;
        int r;

        for (;;) {
                r = PQflush(c->pg);
                if (r == 0)
                        break;
                if (r < 0)
                        goto lost;
                r = wait_fd(PQsocket(c->pg), POLLOUT | POLLIN, deadline_ms);
                if (r == 0)
                        goto timeout;
                if (r < 0)
                        goto lost;
                if (!PQconsumeInput(c->pg))
                        goto lost;
        }
        for (;;) {
                while (PQisBusy(c->pg)) {
                        r = wait_fd(PQsocket(c->pg), POLLIN, deadline_ms);
                        if (r == 0)
                                goto timeout;
                        if (r < 0 || !PQconsumeInput(c->pg))
                                goto lost;
                }
                res = PQgetResult(c->pg);
                if (!res)
                        break;
                if (!keep || PQresultStatus(keep) != PGRES_FATAL_ERROR) {
                        PQclear(keep);
                        keep = res;
                } else {
                        PQclear(res);
                }
        }
        if (!keep)
                goto lost;
        *ret = keep;
        return 0;
timeout:
        PQclear(keep);
        c->broken = true; /* the server is still working on it; do not reuse the session */
        snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", "57014");
        return -ETIMEDOUT;
lost:
        PQclear(keep);
        c->broken = true;
        snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", "08006");
        return -EAGAIN;
}

static int result_check(db_conn *c, PGresult *res)
{
        ExecStatusType st = PQresultStatus(res);
        const char *state, *msg;
        char line[DB_ERROR_LINE_MAX];
        int r;

        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
                return 0;
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "08006");
        if (!state || PQstatus(c->pg) != CONNECTION_OK) {
                c->broken = true;
                return -EAGAIN;
        }
        r = map_sqlstate(c->sqlstate);
        if (r == -EAGAIN) {
                c->broken = true;
        } else if (r == -EIO) {
                /* The primary message carries no parameter values (those go in DETAIL). */
                msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
                otel_log(OTEL_SEVERITY_ERROR, "Query failed: SQLSTATE %s: %s", c->sqlstate,
                         db_error_line(msg, line));
        }
        return r;
}

static uint64_t stmt_deadline(db_conn *c, uint32_t slow_ms)
{
        return c->deadline_ms ? c->deadline_ms : db_now_ms() + DB_QUERY_TIMEOUT_MS + slow_ms;
}

static void slow_query_fault(uint32_t ms)
{
        struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};

        while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static otel_span *query_span_start(db_conn *c, const char *operation, const char *collection,
                                   const char *sql)
{
        char name[128];
        otel_attr attrs[7];
        size_t n = 0;

        if (collection)
                snprintf(name, sizeof(name), "%s %s", operation, collection);
        else
                snprintf(name, sizeof(name), "%s", operation);
        attrs[n++] = OTEL_ATTR_STR("db.system.name", "postgresql");
        attrs[n++] = OTEL_ATTR_STR("db.namespace", c->pool->db_name);
        attrs[n++] = OTEL_ATTR_STR("db.operation.name", operation);
        if (collection)
                attrs[n++] = OTEL_ATTR_STR("db.collection.name", collection);
        attrs[n++] = OTEL_ATTR_STR("db.query.text", sql);
        attrs[n++] = OTEL_ATTR_STR("server.address", c->pool->host);
        attrs[n++] = OTEL_ATTR_I64("server.port", c->pool->port);
        return otel_span_start(db_tracer(), name, OTEL_SPAN_KIND_CLIENT,
                               &(otel_span_start_opts){.attrs = attrs, .n_attrs = n});
}

static void query_span_end(db_conn *c, otel_span *span, const char *operation, const char *collection,
                           uint64_t start_ns, int r)
{
        const char *etype = NULL;

        if (r < 0) {
                etype = r == -ETIMEDOUT ? "timeout" : c->sqlstate[0] ? c->sqlstate : "error";
                if (c->sqlstate[0])
                        otel_span_set_str(span, "db.response.status_code", c->sqlstate);
                otel_span_set_str(span, "error.type", etype);
                otel_span_set_status(span, OTEL_STATUS_ERROR, r == -EAGAIN ? "connection lost" : etype);
        }
        otel_span_end(span);
        record_operation(c->pool, operation, collection, etype,
                         (double)(otel_time_now_ns() - start_ns) / 1e9);
}

/* slow_ms: the statement delay, 0 for the pool's own health ping (which must answer while a large
 * db_slow_query_ms fault slows every shop query, or READY=1 and /readyz would wait for it). */
static int exec_stmt(db_conn *c, const db_stmt *stmt, const char *const *params, uint32_t slow_ms,
                     PGresult **ret)
{
        uint64_t start_ns = otel_time_now_ns(), deadline, bit;
        PGresult *res = NULL;
        otel_span *span;
        int slot, r;

        slot = stmt_slot(c->pool, stmt);
        if (slot < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, slot,
                                      "Statement %s not registered: over %u statements", stmt->name,
                                      DB_POOL_STMTS_MAX);
        bit = UINT64_C(1) << slot;
        span = query_span_start(c, stmt->operation, stmt->collection, stmt->sql);
        slow_query_fault(slow_ms);
        deadline = stmt_deadline(c, slow_ms);
        c->sqlstate[0] = '\0';

        if (!(c->prepared & bit)) {
                if (!PQsendPrepare(c->pg, stmt->name, stmt->sql, stmt->n_params, NULL)) {
                        c->broken = true;
                        r = -EAGAIN;
                        goto done;
                }
                r = conn_collect(c, deadline, &res);
                if (r >= 0) {
                        r = result_check(c, res);
                        PQclear(res);
                        res = NULL;
                }
                if (r < 0)
                        goto done;
                c->prepared |= bit;
        }
        if (!PQsendQueryPrepared(c->pg, stmt->name, stmt->n_params, params, NULL, NULL, 0)) {
                c->broken = true;
                r = -EAGAIN;
                goto done;
        }
        r = conn_collect(c, deadline, &res);
        if (r >= 0)
                r = result_check(c, res);
        if (r < 0) {
                PQclear(res);
                res = NULL;
        }
done:
        query_span_end(c, span, stmt->operation, stmt->collection, start_ns, r);
        if (r >= 0)
                *ret = res;
        return r;
}

int db_exec(db_conn *c, const db_stmt *stmt, const char *const *params, PGresult **ret)
{
        db_delay_fn delay = c->pool->statement_delay;

        return exec_stmt(c, stmt, params, delay ? delay() : 0, ret);
}

int db_exec_simple(db_conn *c, const char *sql)
{
        uint64_t start_ns = otel_time_now_ns();
        PGresult *res = NULL;
        otel_span *span;
        int r;

        span = query_span_start(c, sql, NULL, sql);
        c->sqlstate[0] = '\0';
        if (!PQsendQuery(c->pg, sql)) {
                c->broken = true;
                r = -EAGAIN;
        } else {
                r = conn_collect(c, stmt_deadline(c, 0), &res);
                if (r >= 0)
                        r = result_check(c, res);
                PQclear(res);
        }
        query_span_end(c, span, sql, NULL, start_ns, r);
        return r;
}

static const db_stmt STMT_PING = {
        .name = "ping",
        .sql = "SELECT 1",
        .operation = "SELECT",
        .n_params = 0,
};

int db_pool_ping(db_pool *pool, unsigned timeout_ms)
{
        uint64_t deadline = db_now_ms() + timeout_ms;
        _cleanup_result_ PGresult *res = NULL;
        _cleanup_conn_ db_conn *c = NULL;
        int r;

        r = pool_acquire_until(pool, deadline, &c);
        if (r < 0)
                return r;
        c->deadline_ms = deadline;
        r = exec_stmt(c, &STMT_PING, NULL, 0, &res);
        c->deadline_ms = 0;
        return r;
}

int64_t db_value_i64(const PGresult *res, int row, int col)
{
        const char *text = PQgetvalue(res, row, col);
        char *end;
        long long v;

        /* The server's canonical decimal text; anything else (a NULL column's "") reads as 0. */
        errno = 0;
        v = strtoll(text, &end, 10);
        return errno || end == text || *end ? 0 : v;
}
