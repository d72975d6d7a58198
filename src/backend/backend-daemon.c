/* SPDX-License-Identifier: Apache-2.0 */
/* The backend's run-time state and main-loop callbacks (see backend-daemon.h). */
#include "backend-daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config-file.h"
#include "config.h" /* OTELDEMO_VERSION (generated) */
#include "notify.h"

static uint64_t backend_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int backend_daemon_open(backend_daemon *d)
{
        int listen_fd, r;

        shop_faults_set(&d->config.faults);
        r = admin_token_resolve(d->config.admin_credential, d->config.admin_token, &d->app.admin_token);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r,
                                      "Cannot read the admin token credential '%s': %m",
                                      d->config.admin_credential);
        if (!d->app.admin_token)
                otel_log(OTEL_SEVERITY_INFO,
                         "No admin token configured: /admin/faults refuses every request");

        r = db_pool_new(d->config.conninfo, d->config.pool_size, d->config.acquire_timeout_ms, &d->app.pool);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot create the database pool: %m");
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
        return 0;
}

int backend_daemon_database_ping(void *userdata)
{
        backend_daemon *d = userdata;

        return db_pool_ping(d->app.pool, BACKEND_DB_PING_MS);
}

/* SIGHUP: the whole file must still be valid; then faults, the log level and the sampler take effect. */
static int backend_daemon_reload(void *userdata)
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

static int backend_daemon_probe(void *userdata, unsigned timeout_ms)
{
        backend_daemon *d = userdata;

        return http_server_probe(d->http, timeout_ms);
}

static void backend_daemon_status(void *userdata, char *buf, size_t size)
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

const service_ops backend_daemon_ops = {
        .reload = backend_daemon_reload,
        .probe = backend_daemon_probe,
        .status = backend_daemon_status,
};

void backend_daemon_close(backend_daemon *d)
{
        int r;

        if (d->http) {
                r = http_server_drain(d->http, d->config.server.drain_timeout_ms);
                if (r < 0)
                        otel_log(OTEL_SEVERITY_WARN, "Requests still running after %u ms, cutting them off",
                                 d->config.server.drain_timeout_ms);
                http_server_free(d->http);
                d->http = NULL;
        }
        r = otel_sdk_shutdown(BACKEND_TELEMETRY_FLUSH_MS);
        if (r < 0)
                otel_log_errno(OTEL_SEVERITY_WARN, r, "Telemetry not fully flushed: %m");
        db_pool_free(d->app.pool);
        d->app.pool = NULL;
        if (d->app.admin_token)
                explicit_bzero(d->app.admin_token, strlen(d->app.admin_token));
        free(d->app.admin_token);
        d->app.admin_token = NULL;
        pthread_mutex_destroy(&d->app.faults_lock);
        backend_config_free(&d->config);
}
