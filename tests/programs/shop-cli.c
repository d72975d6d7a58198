/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the backend's data side (shop.h) directly, for tests/integration/test_backend_data.py.
 * Each command prints one JSON line:
 *   {"ok": true, "body": {...}, "replayed": false, "elapsed_ms": 3.2}
 *   {"ok": false, "status": 409, "error": "...", "errno": -16, "elapsed_ms": 1.0}
 * Usage: shop-cli COMMAND ARGS...   or   shop-cli repl   (one JSON array of strings per stdin line,
 * e.g. ["product-get", "5"], answered line by line with one pool kept across commands, so that tests
 * can stop and restart the server under a live pool).
 * Commands: migrate DIR | check-schema | ping TIMEOUT_MS | pool-counts | users-list LIMIT OFFSET |
 * user-get ID | user-create JSON | products-list LIMIT OFFSET [Q] | product-get ID |
 * order-create JSON [KEY] | order-get ID | user-orders ID | concurrent-orders N JSON [KEY] |
 * faults JSON (partial update, prints the resulting faults).
 * Environment: SHOP_CONNINFO (libpq conninfo), SHOP_POOL_SIZE (default 4), SHOP_ACQUIRE_TIMEOUT_MS
 * (default 2000), SHOP_FAULTS (JSON, applied at start), and the OTEL_* variables.
 * Exit status: 0 when the command ran (whatever its result), 2 on a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db-pool.h"
#include "otel.h"
#include "shop.h"

#define CLI_POOL_SIZE_DEFAULT       4
#define CLI_ACQUIRE_TIMEOUT_DEFAULT 2000
#define CLI_CONCURRENCY_MAX         200
#define CLI_LINE_MAX                65536
#define CLI_ARGS_MAX                8
#define CLI_SHUTDOWN_MS             5000

static db_pool *pool;
static const char *conninfo;

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t parse_i64(const char *s)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end)
                return INT64_MIN;
        return v;
}

static void print_result(int r, json_object *body, bool replayed, const shop_error *err, double elapsed)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "ok", json_object_new_boolean(r >= 0));
        if (r >= 0) {
                json_object_object_add(o, "body", body ? json_object_get(body) : NULL);
                json_object_object_add(o, "replayed", json_object_new_boolean(replayed));
        } else {
                json_object_object_add(o, "status", json_object_new_int(err->status));
                json_object_object_add(o, "error", json_object_new_string(err->message));
                json_object_object_add(o, "errno", json_object_new_int(r));
        }
        json_object_object_add(o, "elapsed_ms", json_object_new_double(elapsed));
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        fflush(stdout);
        json_object_put(o);
}

typedef struct order_job {
        json_object *body; /* shared, read-only */
        const char *key;   /* may be NULL */
        int r;             /* result of shop_order_create */
        shop_error err;    /* its error */
        int64_t order_id;  /* of the order returned */
        bool replayed;     /* the key matched an earlier order */
} order_job;

static void *order_thread(void *userdata)
{
        order_job *job = userdata;
        json_object *ret = NULL;

        job->r = shop_order_create(pool, job->body, job->key, &ret, &job->replayed, &job->err);
        if (job->r >= 0)
                job->order_id = json_object_get_int64(json_object_object_get(ret, "id"));
        json_object_put(ret);
        return NULL;
}

/* Runs n orders at once and prints {"ok": true, "body": {"results": [{status, order_id, replayed}]}}. */
static int concurrent_orders(int64_t n, json_object *body, const char *key, json_object **ret)
{
        order_job *jobs = calloc((size_t)n, sizeof(*jobs));
        pthread_t *threads = calloc((size_t)n, sizeof(*threads));
        json_object *results, *o;

        if (!jobs || !threads) {
                free(jobs);
                free(threads);
                return -ENOMEM;
        }
        for (int64_t i = 0; i < n; i++) {
                jobs[i] = (order_job){.body = body, .key = key};
                if (pthread_create(&threads[i], NULL, order_thread, &jobs[i]) != 0) {
                        fprintf(stderr, "pthread_create failed\n");
                        exit(1);
                }
        }
        results = json_object_new_array();
        for (int64_t i = 0; i < n; i++) {
                json_object *r = json_object_new_object();

                pthread_join(threads[i], NULL);
                json_object_object_add(r, "status",
                                       json_object_new_int(jobs[i].r >= 0 ? (jobs[i].replayed ? 200 : 201)
                                                                          : jobs[i].err.status));
                json_object_object_add(r, "order_id", json_object_new_int64(jobs[i].order_id));
                json_object_object_add(r, "replayed", json_object_new_boolean(jobs[i].replayed));
                if (jobs[i].r < 0)
                        json_object_object_add(r, "error", json_object_new_string(jobs[i].err.message));
                json_object_array_add(results, r);
        }
        o = json_object_new_object();
        json_object_object_add(o, "results", results);
        free(jobs);
        free(threads);
        *ret = o;
        return 0;
}

static int usage(void)
{
        fprintf(stderr, "usage: see the comment at the top of tests/programs/shop-cli.c\n");
        return 2;
}

/* Runs one command; returns 2 on a usage error, else 0 (the result is printed). */
static int run_command(int argc, char **argv)
{
        const char *cmd = argc > 0 ? argv[0] : "";
        json_object *ret = NULL, *body = NULL;
        shop_error err = {0};
        bool replayed = false;
        double start = now_ms();
        int r;

        if (strcmp(cmd, "migrate") == 0 && argc == 2) {
                r = shop_migrate(conninfo, argv[1]);
                err = (shop_error){.status = 500};
                snprintf(err.message, sizeof(err.message), "migrate failed: %s", strerror(-r));
        } else if (strcmp(cmd, "check-schema") == 0 && argc == 1) {
                r = shop_check_schema(pool);
                err = (shop_error){.status = 500};
                snprintf(err.message, sizeof(err.message), "check failed: %s", strerror(-r));
        } else if (strcmp(cmd, "ping") == 0 && argc == 2) {
                r = db_pool_ping(pool, (unsigned)parse_i64(argv[1]));
                err = (shop_error){.status = 503};
                snprintf(err.message, sizeof(err.message), "ping failed: %s", strerror(-r));
        } else if (strcmp(cmd, "pool-counts") == 0 && argc == 1) {
                unsigned used, idle;

                db_pool_counts(pool, &used, &idle);
                ret = json_object_new_object();
                json_object_object_add(ret, "used", json_object_new_int(used));
                json_object_object_add(ret, "idle", json_object_new_int(idle));
                r = 0;
        } else if (strcmp(cmd, "users-list") == 0 && argc == 3) {
                r = shop_users_list(pool, parse_i64(argv[1]), parse_i64(argv[2]), &ret, &err);
        } else if (strcmp(cmd, "user-get") == 0 && argc == 2) {
                r = shop_user_get(pool, parse_i64(argv[1]), &ret, &err);
        } else if (strcmp(cmd, "user-create") == 0 && argc == 2) {
                body = json_tokener_parse(argv[1]);
                r = shop_user_create(pool, body, &ret, &err);
        } else if (strcmp(cmd, "products-list") == 0 && (argc == 3 || argc == 4)) {
                r = shop_products_list(pool, parse_i64(argv[1]), parse_i64(argv[2]),
                                       argc == 4 ? argv[3] : NULL, &ret, &err);
        } else if (strcmp(cmd, "product-get") == 0 && argc == 2) {
                r = shop_product_get(pool, parse_i64(argv[1]), &ret, &err);
        } else if (strcmp(cmd, "order-create") == 0 && (argc == 2 || argc == 3)) {
                body = json_tokener_parse(argv[1]);
                r = shop_order_create(pool, body, argc == 3 ? argv[2] : NULL, &ret, &replayed, &err);
        } else if (strcmp(cmd, "order-get") == 0 && argc == 2) {
                r = shop_order_get(pool, parse_i64(argv[1]), &ret, &err);
        } else if (strcmp(cmd, "user-orders") == 0 && argc == 2) {
                r = shop_user_orders(pool, parse_i64(argv[1]), &ret, &err);
        } else if (strcmp(cmd, "concurrent-orders") == 0 && (argc == 3 || argc == 4)) {
                int64_t n = parse_i64(argv[1]);

                if (n < 1 || n > CLI_CONCURRENCY_MAX)
                        return usage();
                body = json_tokener_parse(argv[2]);
                r = concurrent_orders(n, body, argc == 4 ? argv[3] : NULL, &ret);
        } else if (strcmp(cmd, "faults") == 0 && argc == 2) {
                shop_faults f;

                shop_faults_get(&f);
                body = json_tokener_parse(argv[1]);
                r = shop_faults_from_json(body, &f, &err);
                if (r >= 0) {
                        shop_faults_set(&f);
                        ret = shop_faults_to_json(&f);
                }
        } else {
                return usage();
        }
        print_result(r, ret, replayed, &err, now_ms() - start);
        json_object_put(ret);
        json_object_put(body);
        return 0;
}

/* Reads ["cmd", "arg", ...] lines until EOF. */
static int repl(void)
{
        static char line[CLI_LINE_MAX];

        while (fgets(line, sizeof(line), stdin)) {
                json_object *a = json_tokener_parse(line);
                char *args[CLI_ARGS_MAX];
                size_t n;
                int r;

                if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) > CLI_ARGS_MAX) {
                        json_object_put(a);
                        return usage();
                }
                n = json_object_array_length(a);
                for (size_t i = 0; i < n; i++)
                        args[i] = (char *)json_object_get_string(json_object_array_get_idx(a, i));
                r = run_command((int)n, args);
                json_object_put(a);
                if (r != 0)
                        return r;
        }
        return 0;
}

int main(int argc, char **argv)
{
        const char *faults_json = getenv("SHOP_FAULTS");
        const char *s;
        unsigned size = CLI_POOL_SIZE_DEFAULT, timeout = CLI_ACQUIRE_TIMEOUT_DEFAULT;
        int r;

        conninfo = getenv("SHOP_CONNINFO");
        if (!conninfo || argc < 2)
                return usage();
        s = getenv("SHOP_POOL_SIZE");
        if (s)
                size = (unsigned)parse_i64(s);
        s = getenv("SHOP_ACQUIRE_TIMEOUT_MS");
        if (s)
                timeout = (unsigned)parse_i64(s);

        r = otel_sdk_init(&(otel_sdk_options){.service_name = "shop-cli"});
        if (r < 0) {
                fprintf(stderr, "otel_sdk_init: %s\n", strerror(-r));
                return 1;
        }
        if (faults_json) {
                json_object *fj = json_tokener_parse(faults_json);
                shop_faults f;
                shop_error err;

                shop_faults_get(&f);
                if (shop_faults_from_json(fj, &f, &err) < 0) {
                        fprintf(stderr, "SHOP_FAULTS: %s\n", err.message);
                        json_object_put(fj);
                        return 2;
                }
                shop_faults_set(&f);
                json_object_put(fj);
        }
        r = db_pool_new(conninfo, size, timeout, &pool);
        if (r < 0) {
                fprintf(stderr, "db_pool_new: %s\n", strerror(-r));
                return 1;
        }
        db_pool_set_statement_delay(pool, shop_faults_db_slow_query_ms);
        (void)shop_telemetry_init(pool);

        if (strcmp(argv[1], "repl") == 0 && argc == 2)
                r = repl();
        else
                r = run_command(argc - 1, argv + 1);

        (void)otel_sdk_shutdown(CLI_SHUTDOWN_MS);
        db_pool_free(pool);
        return r;
}
