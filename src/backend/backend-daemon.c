/* SPDX-License-Identifier: Apache-2.0 */
/* The backend's run-time state and main-loop callbacks (see backend-daemon.h). */
#include "backend-daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "config-file.h"
#include "credential.h"
#include "config.h" /* OTELDEMO_VERSION (generated) */
#include "db-pool.h"
#include "notify.h"
#include "payment.h"

static uint64_t backend_now_ms(void)
{
        return otel_mono_ns() / 1000000u; /* the one monotonic clock, in ms */
}

int backend_daemon_config_load(void *userdata, const char *path, char *ret_error)
{
        backend_daemon *d = userdata;

        d->config_path = path;
        return backend_config_load(path, &d->config, ret_error);
}

const telemetry_config *backend_daemon_telemetry(void *userdata)
{
        backend_daemon *d = userdata;

        return &d->config.telemetry;
}

static int backend_daemon_tokens(backend_daemon *d)
{
        int r;

        if ((r = credential_source_read(&d->config.admin_token, &d->app.admin_token)) < 0 ||
            (r = credential_source_read(&d->config.write_token, &d->app.write_token)) < 0)
                return r;
        if (!d->app.admin_token)
                otel_log(OTEL_SEVERITY_INFO,
                         "No admin token configured: /admin/faults refuses every request");
        if (!d->app.write_token)
                otel_log(OTEL_SEVERITY_WARN, "No write token configured ([auth] write_token_credential, "
                                             "write_token_file): POST /api/users and /api/orders accept "
                                             "anyone");
        return 0;
}

int backend_daemon_open(void *userdata, http_server **ret_http, const http_server_config **ret_server)
{
        backend_daemon *d = userdata;
        int listen_fd, r;

        shop_faults_set(&d->config.faults);
        payment_configure(&d->config.payment);
        r = backend_daemon_tokens(d);
        if (r < 0)
                return r;

        r = db_pool_new(d->config.conninfo, d->config.pool_size, d->config.acquire_timeout_ms, &d->app.pool);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot create the database pool: %m");
        db_pool_set_statement_delay(d->app.pool, shop_faults_db_slow_query_ms);
        r = shop_telemetry_init(d->app.pool);
        if (r < 0)
                otel_log_errno(OTEL_SEVERITY_WARN, r, "Database metrics unavailable: %m");

        r = notify_listen_fd(&listen_fd);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r,
                                      "Expected exactly one socket from systemd: %m");
        r = http_server_new(&(http_server_options){.config = &d->config.server,
                                                   .listen_fd = listen_fd,
                                                   .scope_name = BACKEND_SERVICE_NAME,
                                                   .scope_version = OTELDEMO_VERSION,
                                                   .ready = backend_ready,
                                                   .ready_userdata = &d->app},
                            &d->http);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot create the HTTP server: %m");
        r = backend_routes_register(d->http, &d->app);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot register the routes: %m");
        *ret_http = d->http;
        *ret_server = &d->config.server;
        return 0;
}

static int backend_daemon_database_ping(void *userdata)
{
        backend_daemon *d = userdata;

        return db_pool_ping(d->app.pool, BACKEND_DB_PING_MS);
}

/* READY=1 means "serving": listening, and the database answers with a schema we understand. */
int backend_daemon_wait_ready(void *userdata)
{
        backend_daemon *d = userdata;
        int r;

        r = service_wait_for(backend_daemon_database_ping, d, BACKEND_DB_WAIT_INTERVAL_MS,
                             "the database ([database] conninfo)");
        if (r < 0)
                return r;
        r = shop_check_schema(d->app.pool);
        if (r < 0)
                return otel_log_errno(
                        OTEL_SEVERITY_ERROR, r,
                        "The database schema is older than this version needs: run oteldemo-backend "
                        "--migrate");
        /* Orders a crash left pending are compensated from now on; the first sweep runs at once. */
        r = order_sweeper_start(
                d->app.pool,
                shop_order_expiry_ms(d->config.payment.timeout_ms, d->config.acquire_timeout_ms),
                &d->sweeper);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r,
                                      "Cannot start the sweeper of abandoned orders: %m");
        return 0;
}

int backend_daemon_migrate(void *userdata)
{
        backend_daemon *d = userdata;
        int r;

        r = shop_migrate(d->config.conninfo, d->config.migrations_dir);
        if (r >= 0)
                return OTELDEMO_EXIT_OK;
        otel_log_errno(OTEL_SEVERITY_ERROR, r, "Migrations from %s failed: %m", d->config.migrations_dir);
        return r == -ECONNREFUSED ? OTELDEMO_EXIT_UNAVAILABLE : OTELDEMO_EXIT_FAILURE;
}

/* SIGHUP: the whole file must still be valid; then faults, the log level, the sampler and the TLS
 * certificate take effect. */
int backend_daemon_reload(void *userdata)
{
        backend_daemon *d = userdata;
        backend_config c;
        char error[CONFIG_ERROR_MAX];
        int r;

        r = backend_config_load(d->config_path, &c, error);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r,
                                      "Invalid configuration, keeping the previous settings: %s", error);

        pthread_mutex_lock(&d->app.faults_lock);
        shop_faults_set(&c.faults);
        pthread_mutex_unlock(&d->app.faults_lock);
        telemetry_reload(&d->config.telemetry, &c.telemetry);
        (void)http_server_tls_reload(d->http, &c.server); /* logs what it did */
        d->config.faults = c.faults;
        otel_log(OTEL_SEVERITY_INFO,
                 "Fault flags: payment_failure_rate=%g payment_latency_ms=%u payment_unreachable=%s "
                 "db_slow_query_ms=%u product_failure_id=%lld",
                 c.faults.payment_failure_rate, c.faults.payment_latency_ms,
                 c.faults.payment_unreachable ? "true" : "false", c.faults.db_slow_query_ms,
                 (long long)c.faults.product_failure_id);
        backend_config_free(&c);
        return 0;
}

int backend_daemon_probe(void *userdata, unsigned timeout_ms)
{
        backend_daemon *d = userdata;

        return http_server_probe(d->http, timeout_ms);
}

void backend_daemon_status(void *userdata, char *buf, size_t size)
{
        backend_daemon *d = userdata;
        uint64_t completed, now = backend_now_ms();
        unsigned in_flight, used, idle;
        double rate = 0;

        http_server_stats(d->http, &completed, &in_flight);
        if (d->status_ms && now > d->status_ms)
                rate = (double)(completed - d->status_completed) * 1000.0 / (double)(now - d->status_ms);
        d->status_completed = completed;
        d->status_ms = now;
        db_pool_counts(d->app.pool, &used, &idle);
        snprintf(buf, size, "%.1f req/s, %u in flight, database pool %u/%u in use", rate, in_flight, used,
                 d->config.pool_size);
}

void backend_daemon_close(void *userdata)
{
        backend_daemon *d = userdata;

        if (d->http)
                payment_shutdown(); /* answers the orders still waiting for the provider (after the drain) */
        http_server_free(d->http);
        d->http = NULL;
        order_sweeper_stop(d->sweeper);
        d->sweeper = NULL;
        db_pool_free(d->app.pool);
        d->app.pool = NULL;
        credential_free(d->app.admin_token);
        d->app.admin_token = NULL;
        credential_free(d->app.write_token);
        d->app.write_token = NULL;
        pthread_mutex_destroy(&d->app.faults_lock);
        backend_config_free(&d->config);
}
