/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Schema migrations: db/NNNN_name.sql files applied in version order, each in its own transaction
 * together with its row in schema_migrations, so a migration is either fully applied and recorded or
 * not at all. An advisory lock serialises concurrent runs (two daemons started with --migrate at once).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db-params.h"
#include "db-pool.h"
#include "otel.h"
#include "shop.h"

/* The schema this binary needs: the highest migration in db/. Keep in sync when adding one. */
#define SHOP_SCHEMA_VERSION 4
/* Arbitrary constant naming "oteldemo migrations" among advisory locks ('otdm'). */
#define MIGRATE_LOCK_KEY       "1869899885"
#define MIGRATE_MAX_FILES      1000
#define MIGRATE_FILE_MAX_BYTES (16u * 1024u * 1024u)
#define MIGRATE_VERSION_DIGITS 4

typedef struct migration {
        int version; /* NNNN of the file name */
        char *name;  /* file name without directory */
} migration;

int shop_schema_version_required(void)
{
        return SHOP_SCHEMA_VERSION;
}

/* "NNNN_name.sql" with name of [a-z0-9_]: 1..9999 in *ret_version. */
static bool migration_name_parse(const char *name, int *ret_version)
{
        size_t len = strlen(name);
        int v = 0;

        if (len < MIGRATE_VERSION_DIGITS + 6 || strcmp(name + len - 4, ".sql") != 0 ||
            name[MIGRATE_VERSION_DIGITS] != '_')
                return false;
        for (size_t i = 0; i < MIGRATE_VERSION_DIGITS; i++) {
                if (name[i] < '0' || name[i] > '9')
                        return false;
                v = v * 10 + (name[i] - '0');
        }
        for (size_t i = MIGRATE_VERSION_DIGITS + 1; i < len - 4; i++)
                if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
                      name[i] == '_'))
                        return false;
        if (v == 0)
                return false;
        *ret_version = v;
        return true;
}

static int migration_compare(const void *a, const void *b)
{
        const migration *x = a, *y = b;

        return (x->version > y->version) - (x->version < y->version);
}

static void migrations_free(migration *m, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(m[i].name);
        free(m);
}

static int migrations_list(const char *dir, migration **ret, size_t *ret_n)
{
        migration *m = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return otel_log_errno(OTEL_SEVERITY_ERROR, errno, "Cannot open migrations directory %s",
                                      dir);
        m = calloc(MIGRATE_MAX_FILES, sizeof(*m));
        if (!m) {
                closedir(d);
                return -ENOMEM;
        }
        while ((de = readdir(d))) {
                int v;

                if (!migration_name_parse(de->d_name, &v))
                        continue;
                if (n == MIGRATE_MAX_FILES) {
                        r = otel_log_errno(OTEL_SEVERITY_ERROR, E2BIG, "Too many migrations in %s", dir);
                        break;
                }
                m[n].name = strdup(de->d_name);
                if (!m[n].name) {
                        r = -ENOMEM;
                        break;
                }
                m[n++].version = v;
        }
        closedir(d);
        if (r < 0) {
                migrations_free(m, n);
                return r;
        }
        qsort(m, n, sizeof(*m), migration_compare);
        for (size_t i = 1; i < n; i++)
                if (m[i].version == m[i - 1].version) {
                        r = otel_log_errno(OTEL_SEVERITY_ERROR, EINVAL,
                                           "Migrations %s and %s share a version", m[i - 1].name, m[i].name);
                        migrations_free(m, n);
                        return r;
                }
        *ret = m;
        *ret_n = n;
        return 0;
}

static int read_file(const char *dir, const char *name, char **ret)
{
        char path[4096];
        struct stat st;
        char *buf;
        size_t off = 0;
        int fd, r;

        r = snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (r < 0 || (size_t)r >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (st.st_size < 0 || (uint64_t)st.st_size > MIGRATE_FILE_MAX_BYTES) {
                close(fd);
                return -EFBIG;
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        while (off < (size_t)st.st_size) {
                ssize_t k = read(fd, buf + off, (size_t)st.st_size - off);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? -errno : -EIO;
                        free(buf);
                        close(fd);
                        return r;
                }
                off += (size_t)k;
        }
        close(fd);
        buf[off] = '\0';
        *ret = buf;
        return 0;
}

/* Runs sql (which may hold several statements) and logs a failure with its SQLSTATE. */
static int exec_logged(PGconn *pg, const char *sql, int n_params, const char *const *params,
                       const char *what)
{
        char line[DB_ERROR_LINE_MAX];
        _cleanup_result_ PGresult *res = NULL;
        ExecStatusType st;
        int r = 0;

        res = n_params > 0 ? PQexecParams(pg, sql, n_params, NULL, params, NULL, NULL, 0) : PQexec(pg, sql);
        st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

                r = otel_log_errno(OTEL_SEVERITY_ERROR, EIO, "Migration step \"%s\" failed: SQLSTATE %s: %s",
                                   what, state ? state : "?",
                                   db_error_line(msg ? msg : PQerrorMessage(pg), line));
        }
        return r;
}

static int apply_one(PGconn *pg, const char *dir, const migration *m)
{
        char version[16];
        const char *params[2] = {version, m->name};
        _cleanup_free_ char *sql = NULL;
        int r;

        r = read_file(dir, m->name, &sql);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot read migration %s/%s", dir, m->name);
        snprintf(version, sizeof(version), "%d", m->version);
        r = exec_logged(pg, "BEGIN", 0, NULL, "BEGIN");
        if (r >= 0)
                r = exec_logged(pg, sql, 0, NULL, m->name);
        if (r >= 0)
                r = exec_logged(pg, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                                params, "record version");
        if (r >= 0)
                r = exec_logged(pg, "COMMIT", 0, NULL, "COMMIT");
        if (r < 0)
                PQclear(PQexec(pg, "ROLLBACK"));
        else
                otel_log(OTEL_SEVERITY_INFO, "Applied migration %s", m->name);
        return r;
}

int shop_migrate(const char *conninfo, const char *migrations_dir)
{
        const char *lock_params[1] = {MIGRATE_LOCK_KEY};
        migration *m = NULL;
        db_params params = {0};
        size_t n = 0, applied = 0;
        char line[DB_ERROR_LINE_MAX];
        PGconn *pg = NULL;
        int r;

        r = migrations_list(migrations_dir, &m, &n);
        if (r < 0)
                return r;
        r = db_params_build(conninfo, &params);
        if (r < 0)
                goto out;
        pg = PQconnectdbParams((const char *const *)params.keywords, (const char *const *)params.values, 0);
        if (!pg) {
                r = -ENOMEM;
                goto out;
        }
        if (PQstatus(pg) != CONNECTION_OK) {
                r = otel_log_errno(OTEL_SEVERITY_ERROR, ECONNREFUSED, "Cannot connect to the database: %s",
                                   db_error_line(PQerrorMessage(pg), line));
                goto out;
        }
        PQsetNoticeProcessor(pg, db_notice_ignore, NULL);
        /* Session-level lock, released by the unlock below or when the connection ends. */
        r = exec_logged(pg, "SELECT pg_advisory_lock($1::bigint)", 1, lock_params, "lock");
        if (r < 0)
                goto out;
        r = exec_logged(pg,
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version integer PRIMARY KEY,"
                        " name text NOT NULL,"
                        " applied_at timestamptz NOT NULL DEFAULT now())",
                        0, NULL, "create schema_migrations");
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                char version[16];
                const char *p[1] = {version};
                _cleanup_result_ PGresult *res = NULL;

                snprintf(version, sizeof(version), "%d", m[i].version);
                res = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, p,
                                   NULL, NULL, 0);
                if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                        r = otel_log_errno(OTEL_SEVERITY_ERROR, EIO, "Cannot read schema_migrations: %s",
                                           db_error_line(PQerrorMessage(pg), line));
                        goto out;
                }
                if (PQntuples(res) > 0)
                        continue;
                r = apply_one(pg, migrations_dir, &m[i]);
                if (r < 0)
                        goto out;
                applied++;
        }
        r = exec_logged(pg, "SELECT pg_advisory_unlock($1::bigint)", 1, lock_params, "unlock");
        if (r >= 0)
                otel_log(OTEL_SEVERITY_INFO, "Database schema up to date (%zu migration(s) applied now)",
                         applied);
out:
        PQfinish(pg);
        db_params_done(&params);
        migrations_free(m, n);
        return r;
}

/* One statement, so one round trip more before READY=1 rather than three: a database without the
 * table (never migrated) fails it with undefined_table, which reads as version 0. */
static const db_stmt STMT_SCHEMA_VERSION = {
        .name = "schema_version",
        .sql = "SELECT coalesce(max(version), 0) FROM schema_migrations",
        .operation = "SELECT",
        .collection = "schema_migrations",
};
#define SQLSTATE_UNDEFINED_TABLE "42P01"

int shop_check_schema(db_pool *pool)
{
        _cleanup_result_ PGresult *res = NULL;
        _cleanup_conn_ db_conn *c = NULL;
        int64_t version = 0;
        int r;

        r = db_pool_acquire(pool, &c);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot check the database schema");
        r = db_exec(c, &STMT_SCHEMA_VERSION, NULL, &res);
        if (r >= 0 && PQntuples(res) == 1)
                version = db_value_i64(res, 0, 0);
        else if (r < 0 && strcmp(db_conn_sqlstate(c), SQLSTATE_UNDEFINED_TABLE) == 0)
                r = 0;
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot read the database schema version");
        if (version < SHOP_SCHEMA_VERSION) {
                otel_log(OTEL_SEVERITY_ERROR,
                         "Database schema is at version %" PRId64 ", this binary needs %d: run "
                         "oteldemo-backend --migrate",
                         version, SHOP_SCHEMA_VERSION);
                return -ESTALE;
        }
        return 0;
}
