/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin endpoint: GET/PUT /admin/faults with "Authorization: Bearer <token>" (RFC 6750). 401 when
 * the credentials are missing or malformed, 403 when they are wrong (or no token is configured, which
 * disables the endpoint). The token comes from a systemd credential or [admin] token.
 */
#include "admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend-app.h"
#include "credential.h"
#include "shop.h"

bool admin_token_equal(const char *given, const char *expected)
{
        size_t lg = strlen(given), le = strlen(expected);
        unsigned char diff = lg != le;

        /* Every byte of the expected token is looked at whatever the input. */
        for (size_t i = 0; i < le; i++)
                diff |= (unsigned char)(expected[i] ^ (i < lg ? given[i] : 0));
        return diff == 0;
}

int admin_token_resolve(const char *credential, const char *config_token, char **ret)
{
        int r;

        r = credential_read(credential, ret);
        if (r >= 0)
                return 0;
        if (r != -ENOENT)
                return r;
        *ret = NULL;
        if (config_token) {
                *ret = strdup(config_token);
                if (!*ret)
                        return -ENOMEM;
        }
        return 0;
}

/* 0 when the request carries the right bearer token; otherwise the 401/403 reply is made. */
static int admin_authorize(http_request *req, const backend_app *app)
{
        static const char scheme[] = "Bearer ";
        const char *auth = http_request_header(req, "Authorization");

        if (!auth || strncasecmp(auth, scheme, sizeof(scheme) - 1) != 0 ||
            auth[sizeof(scheme) - 1] == '\0') {
                (void)http_reply_header(req, "WWW-Authenticate", "Bearer realm=\"oteldemo-admin\"");
                http_reply_error(req, 401, "bearer token required");
                return -EACCES;
        }
        if (!app->admin_token || !admin_token_equal(auth + sizeof(scheme) - 1, app->admin_token)) {
                otel_log(OTEL_SEVERITY_WARN, "Rejected admin request with a wrong token");
                http_reply_error(req, 403, "forbidden");
                return -EPERM;
        }
        return 0;
}

void admin_faults_get(http_request *req, void *userdata)
{
        backend_app *app = userdata;
        shop_faults f;

        if (admin_authorize(req, app) < 0)
                return;
        shop_faults_get(&f);
        http_reply_json(req, 200, shop_faults_to_json(&f));
}

void admin_faults_put(http_request *req, void *userdata)
{
        backend_app *app = userdata;
        shop_error err = {0};
        json_object *body;
        shop_faults f;
        int r;

        if (admin_authorize(req, app) < 0)
                return;
        if (http_request_json(req, &body) < 0)
                return;
        pthread_mutex_lock(&app->faults_lock);
        shop_faults_get(&f);
        r = shop_faults_from_json(body, &f, &err);
        if (r >= 0)
                shop_faults_set(&f);
        pthread_mutex_unlock(&app->faults_lock);
        json_object_put(body);
        if (r < 0) {
                http_reply_error(req, err.status >= 400 ? (unsigned)err.status : 400, "%s", err.message);
                return;
        }
        otel_log(OTEL_SEVERITY_INFO,
                 "Fault flags changed through the admin endpoint: payment_failure_rate=%g "
                 "payment_latency_ms=%u "
                 "payment_unreachable=%s db_slow_query_ms=%u product_failure_id=%lld",
                 f.payment_failure_rate, f.payment_latency_ms, f.payment_unreachable ? "true" : "false",
                 f.db_slow_query_ms, (long long)f.product_failure_id);
        http_reply_json(req, 200, shop_faults_to_json(&f));
}
