/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin endpoint: GET/PUT /admin/faults with "Authorization: Bearer <token>" (RFC 6750). 401 when
 * the credentials are missing or malformed, 403 when they are wrong (or no token is configured, which
 * disables the endpoint); see http-auth.h. The token: [admin] token_credential, token_file or token.
 */
#include "admin.h"

#include "backend-app.h"
#include "http-auth.h"
#include "shop.h"

#define ADMIN_REALM "oteldemo-admin"

/* 0 when the request carries the admin token; otherwise the 401/403 reply is made. */
static int admin_authorize(http_request *req, const backend_app *app)
{
        return http_auth_require(req, app->admin_token, ADMIN_REALM);
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
