/* SPDX-License-Identifier: Apache-2.0 */
/* Reads backend.conf into a backend_config (see backend-config.h); every key is range-checked here so
 * that a bad value stops the start with one clear line. */
#include "backend-config.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char backend_config_help[] =
        "Configuration (INI; defaults in brackets):\n"
        "  [server]    listen [127.0.0.1:8081], threads [4 per CPU], max_connections [8192],\n"
        "              max_connections_per_client [256], health_connections [32],\n"
        "              request_head_timeout_s [10], request_body_timeout_s [30],\n"
        "              connection_timeout_s [30], max_body_bytes [1048576], max_header_bytes [16384],\n"
        "              drain_timeout_ms [10000], access_log [true], tls_cert, tls_key, tls_client_ca\n"
        "              (TLS files: systemd credentials tls-cert, tls-key, tls-client-ca win)\n"
        "  [database]  conninfo [dbname=oteldemo], pool_size [8], acquire_timeout_ms [1000],\n"
        "              migrations_dir [/usr/share/oteldemo/db]\n"
        "              (password: systemd credential 'db-password', else a libpq passfile)\n"
        "  [telemetry] service_name [" BACKEND_SERVICE_NAME "]" TELEMETRY_CONFIG_HELP_KEYS
        "  [payment]   latency_min_ms [20], latency_jitter_ms [60], timeout_ms [5000]\n"
        "  [faults]    payment_failure_rate [0], payment_latency_ms [0], payment_unreachable [false],\n"
        "              db_slow_query_ms [0], product_failure_id [0]\n"
        "  [admin]     token_credential [admin-token], token_file, token (at least 16 characters;\n"
        "              inline only in a file group and others cannot read)\n"
        "  [auth]      write_token_credential [write-token], write_token_file, write_token: when one\n"
        "              is found, POST /api/users and /api/orders need \"Authorization: Bearer <it>\"\n"
        "SIGHUP reloads [faults], log_level, sampler, sampler_arg and the TLS certificate.\n";

/* true when conninfo (keywords or URI) carries a password; a conninfo libpq cannot parse is reported
 * when the pool first uses it. */
static bool backend_conninfo_has_password(const char *conninfo)
{
        PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
        bool found = false;

        for (PQconninfoOption *o = opts; o && o->keyword; o++)
                if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0])
                        found = true;
        PQconninfoFree(opts);
        return found;
}

static int backend_config_database(config_file *cfg, backend_config *c)
{
        const char *conninfo, *dir;
        int r;

        if ((r = config_get_string(cfg, "database", "conninfo", BACKEND_DEFAULT_CONNINFO, &conninfo)) < 0 ||
            (r = config_get_uint(cfg, "database", "pool_size", 8, 1, BACKEND_POOL_MAX, &c->pool_size)) < 0 ||
            (r = config_get_uint(cfg, "database", "acquire_timeout_ms", 1000, 1, BACKEND_ACQUIRE_MAX_MS,
                                 &c->acquire_timeout_ms)) < 0 ||
            (r = config_get_string(cfg, "database", "migrations_dir", BACKEND_DEFAULT_MIGRATIONS, &dir)) < 0)
                return r;
        if (conninfo[0] == '\0')
                return config_reject(cfg, "database", "conninfo", "must not be empty");
        if (config_is_shared(cfg) && backend_conninfo_has_password(conninfo))
                return config_reject(cfg, "database", "conninfo",
                                     "a password inline in a file group or others may read; use the "
                                     "credential 'db-password' or a libpq passfile");
        if ((r = config_strdup(conninfo, &c->conninfo)) < 0 ||
            (r = config_strdup(dir, &c->migrations_dir)) < 0)
                return r;
        return 0;
}

static int backend_config_payment(config_file *cfg, backend_config *c)
{
        unsigned min, jitter, timeout;
        int r;

        if ((r = config_get_uint(cfg, "payment", "latency_min_ms", PAYMENT_LATENCY_MIN_MS_DEFAULT, 0,
                                 PAYMENT_LATENCY_MAX_MS, &min)) < 0 ||
            (r = config_get_uint(cfg, "payment", "latency_jitter_ms", PAYMENT_LATENCY_JITTER_MS_DEFAULT, 0,
                                 PAYMENT_LATENCY_MAX_MS, &jitter)) < 0 ||
            (r = config_get_uint(cfg, "payment", "timeout_ms", PAYMENT_TIMEOUT_MS_DEFAULT, 1,
                                 PAYMENT_TIMEOUT_MAX_MS, &timeout)) < 0)
                return r;
        c->payment =
                (payment_config){.latency_min_ms = min, .latency_jitter_ms = jitter, .timeout_ms = timeout};
        return 0;
}

static int backend_config_faults(config_file *cfg, backend_config *c)
{
        shop_faults *f = &c->faults;
        unsigned latency, slow;
        int64_t product;
        int r;

        if ((r = config_get_double(cfg, "faults", "payment_failure_rate", 0, 0, 1,
                                   &f->payment_failure_rate)) < 0 ||
            (r = config_get_uint(cfg, "faults", "payment_latency_ms", 0, 0, SHOP_FAULT_LATENCY_MAX_MS,
                                 &latency)) < 0 ||
            (r = config_get_bool(cfg, "faults", "payment_unreachable", false, &f->payment_unreachable)) <
                    0 ||
            (r = config_get_uint(cfg, "faults", "db_slow_query_ms", 0, 0, SHOP_FAULT_LATENCY_MAX_MS,
                                 &slow)) < 0 ||
            (r = config_get_int(cfg, "faults", "product_failure_id", 0, 0, INT64_MAX, &product)) < 0)
                return r;
        f->payment_latency_ms = latency;
        f->db_slow_query_ms = slow;
        f->product_failure_id = product;
        return 0;
}

/* [admin] token and [auth] write_token: credential, root-only file or (in a private config file)
 * inline. */
static int backend_config_tokens(config_file *cfg, backend_config *c)
{
        int r;

        if ((r = credential_source_load(cfg, "admin", "token", BACKEND_ADMIN_CREDENTIAL,
                                        CREDENTIAL_TOKEN_MIN, &c->admin_token)) < 0 ||
            (r = credential_source_load(cfg, "auth", "write_token", BACKEND_WRITE_CREDENTIAL,
                                        CREDENTIAL_TOKEN_MIN, &c->write_token)) < 0)
                return r;
        return 0;
}

static int backend_config_read(config_file *cfg, void *userdata)
{
        backend_config *c = userdata;
        int r;

        if ((r = http_server_config_load(cfg, BACKEND_DEFAULT_LISTEN,
                                         http_server_default_threads(BACKEND_THREADS_PER_CPU), &c->server)) <
                    0 ||
            (r = backend_config_database(cfg, c)) < 0 ||
            (r = telemetry_config_load(cfg, BACKEND_SERVICE_NAME, &c->telemetry)) < 0 ||
            (r = backend_config_payment(cfg, c)) < 0 || (r = backend_config_faults(cfg, c)) < 0 ||
            (r = backend_config_tokens(cfg, c)) < 0)
                return r;
        return 0;
}

int backend_config_load(const char *path, backend_config *ret, char *ret_error)
{
        backend_config c = {0};
        int r;

        r = config_read(path, backend_config_read, &c, ret_error);
        if (r < 0) {
                backend_config_free(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void backend_config_free(backend_config *c)
{
        free(c->conninfo);
        free(c->migrations_dir);
        telemetry_config_free(&c->telemetry);
        credential_source_free(&c->admin_token);
        credential_source_free(&c->write_token);
        *c = (backend_config){0};
}
