/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The access log (see access-log.h): formats one line per request through otel_log(), so that it goes
 * to journald with TRACE_ID/SPAN_ID and the request's fields, or to stderr, and to the OTLP logs
 * pipeline. Rejections share one token bucket per process.
 */
#include "access-log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http-private.h"
#include "otel.h"

#define NSEC_PER_SEC UINT64_C(1000000000)

/* The messages libmicrohttpd logs when it turns a connection away before any request (0.9.x and 1.x
 * spellings start alike). */
static const char *const refusal_prefixes[] = {
        "Server reached connection limit",
        "Hit process or system resource limit",
        "Error accepting connection",
};

/* Rejection lines: a token bucket of ACCESS_LOG_REJECT_BURST lines refilled at ACCESS_LOG_REJECT_PER_S. */
typedef struct access_log_bucket {
        pthread_mutex_t lock;
        double tokens;       /* lines that may go out now */
        uint64_t last_ns;    /* CLOCK_MONOTONIC of the last refill, 0 before the first */
        uint64_t suppressed; /* lines held back since the last one that went out */
} access_log_bucket;

static access_log_bucket bucket = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .tokens = ACCESS_LOG_REJECT_BURST,
};

int access_log_config_load(config_file *cfg, bool *ret_enabled)
{
        return config_get_bool(cfg, "server", "access_log", ACCESS_LOG_DEFAULT_ON, ret_enabled);
}

bool access_log_is_rejection(unsigned status)
{
        switch (status) {
        case 0:   /* no reply: timed out or aborted */
        case 408: /* request timeout */
        case 413: /* body over max_body_bytes */
        case 414: /* URI too long */
        case 429: /* too many requests */
        case 431: /* headers over max_header_bytes */
                return true;
        default:
                return status >= 500;
        }
}

bool access_log_rate_take(uint64_t now_ns, uint64_t *ret_suppressed)
{
        bool ok;

        pthread_mutex_lock(&bucket.lock);
        if (bucket.last_ns && now_ns > bucket.last_ns) {
                bucket.tokens += (double)(now_ns - bucket.last_ns) * ACCESS_LOG_REJECT_PER_S / NSEC_PER_SEC;
                if (bucket.tokens > ACCESS_LOG_REJECT_BURST)
                        bucket.tokens = ACCESS_LOG_REJECT_BURST;
        }
        if (!bucket.last_ns || now_ns > bucket.last_ns)
                bucket.last_ns = now_ns;
        ok = bucket.tokens >= 1.0;
        if (ok) {
                bucket.tokens -= 1.0;
                *ret_suppressed = bucket.suppressed;
                bucket.suppressed = 0;
        } else {
                bucket.suppressed++;
                *ret_suppressed = 0;
        }
        pthread_mutex_unlock(&bucket.lock);
        return ok;
}

void access_log_rate_reset(void)
{
        pthread_mutex_lock(&bucket.lock);
        bucket.tokens = ACCESS_LOG_REJECT_BURST;
        bucket.last_ns = 0;
        bucket.suppressed = 0;
        pthread_mutex_unlock(&bucket.lock);
}

/* " (N similar lines suppressed)" when the bucket held some back, else "". */
static void suppressed_note(uint64_t suppressed, char *buf, size_t size)
{
        buf[0] = '\0';
        if (suppressed)
                (void)snprintf(buf, size, " (%" PRIu64 " earlier rejection%s not logged)", suppressed,
                               suppressed == 1 ? "" : "s");
}

void access_log_request(bool enabled, const access_log_entry *e)
{
        bool rejection = access_log_is_rejection(e->status);
        const char *target = e->route ? e->route : e->path ? e->path : "-";
        uint64_t suppressed = 0;
        char note[64], status[16];
        otel_attr attrs[8];
        size_t n = 0;

        if (!enabled && !rejection)
                return;
        if (rejection && !access_log_rate_take(otel_mono_ns(), &suppressed))
                return;
        suppressed_note(suppressed, note, sizeof(note));
        if (e->status)
                (void)snprintf(status, sizeof(status), "%u", e->status);
        else
                (void)snprintf(status, sizeof(status), "%s", e->failure ? e->failure : "aborted");

        attrs[n++] = OTEL_ATTR_STR("http.request.method", e->method);
        if (e->route)
                attrs[n++] = OTEL_ATTR_STR("http.route", e->route);
        attrs[n++] = OTEL_ATTR_STR("url.path", e->path ? e->path : "");
        if (e->status)
                attrs[n++] = OTEL_ATTR_I64("http.response.status_code", e->status);
        else
                attrs[n++] = OTEL_ATTR_STR("error.type", e->failure ? e->failure : "aborted");
        attrs[n++] = OTEL_ATTR_F64("http.server.request.duration", (double)e->duration_ns / 1e9);
        attrs[n++] = OTEL_ATTR_I64("http.response.body.size", (int64_t)e->bytes);
        if (e->client && e->client[0])
                attrs[n++] = OTEL_ATTR_STR("client.address", e->client);
        /* One line a person can read: what, which route (or the path when none matched), outcome. */
        otel_log_attrs(rejection ? OTEL_SEVERITY_WARN : OTEL_SEVERITY_INFO, attrs, n,
                       "%s %s %s %.1f ms %" PRIu64 " B %s%s", e->method, target, status,
                       (double)e->duration_ns / 1e6, e->bytes, e->client && e->client[0] ? e->client : "-",
                       note);
}

void access_log_refused(const char *reason)
{
        access_log_limit("Connection refused", reason);
}

void access_log_limit(const char *what, const char *detail)
{
        uint64_t suppressed = 0;
        char note[64];

        if (!access_log_rate_take(otel_mono_ns(), &suppressed))
                return;
        suppressed_note(suppressed, note, sizeof(note));
        otel_log(OTEL_SEVERITY_WARN, "%s: %s%s", what, detail, note);
}

bool access_log_mhd_message(const char *msg)
{
        for (size_t i = 0; i < sizeof(refusal_prefixes) / sizeof(refusal_prefixes[0]); i++)
                if (strncmp(msg, refusal_prefixes[i], strlen(refusal_prefixes[i])) == 0) {
                        access_log_refused(msg);
                        return true;
                }
        return false;
}

/* ---- the HTTP server's hooks ---------------------------------------------------------------------- */

/* The watchdog's probe, answered 200: anything else it meets (a 503, a timeout) is still logged. */
static bool access_log_is_own_probe(const http_request *req, unsigned status)
{
        const char *ua = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);

        return status == 200 && ua && strcmp(ua, HTTP_PROBE_USER_AGENT) == 0 && req->url &&
               strcmp(req->url, "/healthz") == 0;
}

void access_log_http_completed(const http_request *req, int termination)
{
        char client[HTTP_CLIENT_ADDRESS_MAX];
        otel_context_token token;
        access_log_entry e = {
                .method = req->method,
                .route = req->route_result == 0 ? req->match.pattern : NULL,
                .path = req->url,
                .status = req->replied ? req->status : 0,
                .failure = req->replied                                            ? NULL
                           : termination == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
                                                                                   : "aborted",
                .duration_ns = otel_mono_ns() - req->start_mono_ns,
                .bytes = req->replied ? req->reply_len : 0,
                .client = client,
        };

        if (!req->server->config.access_log && !access_log_is_rejection(e.status))
                return;
        if (access_log_is_own_probe(req, e.status))
                return;
        http_client_address(req->conn, client, sizeof(client));
        /* The line belongs to the request's trace: its span is current while it is logged. */
        token = otel_context_attach(req->span, NULL);
        access_log_request(req->server->config.access_log, &e);
        otel_context_detach(token);
}
