/* SPDX-License-Identifier: Apache-2.0 */
/* See trace-view.h. The backend is asked with a plain libcurl GET per request: these are debug pages,
 * not the request path, and a fresh handle keeps them apart from the proxy's connection pool. */
#include "trace-view.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_VIEW_URL_MAX        (PROXY_URL_MAX + 512u)
#define TRACE_VIEW_ERROR_MAX      (PROXY_URL_MAX + CURL_ERROR_SIZE + 64u)
#define TRACE_VIEW_NAME_MAX       256u /* a span name in ?name= (tracez keeps at most 128 bytes) */
#define TRACE_VIEW_BODY_INITIAL   16384u
#define TRACE_VIEW_TRACEZ_BUCKETS 9 /* tracez's latency buckets, ?bucket=0..8 */

typedef struct trace_view_body {
        char *data; /* NUL-terminated */
        size_t len;
        size_t cap;
        bool too_large; /* more than TRACE_VIEW_BODY_MAX arrived */
        bool oom;
} trace_view_body;

static size_t trace_view_write(char *data, size_t size, size_t n, void *userdata)
{
        trace_view_body *b = userdata;
        size_t len = size * n;

        if (b->len + len > TRACE_VIEW_BODY_MAX) {
                b->too_large = true;
                return 0;
        }
        if (b->len + len + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : TRACE_VIEW_BODY_INITIAL;
                char *grown;

                while (cap < b->len + len + 1)
                        cap *= 2;
                grown = realloc(b->data, cap);
                if (!grown) {
                        b->oom = true;
                        return 0;
                }
                b->data = grown;
                b->cap = cap;
        }
        memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = 0;
        return len;
}

/* GETs backend_url + path_and_query and parses the reply as a JSON object. 0 and *ret, or a negative
 * errno with a sentence in ret_error. */
static int trace_view_fetch(const proxy_config *backend, const char *path_and_query, json_object **ret,
                            char ret_error[TRACE_VIEW_ERROR_MAX])
{
        char url[TRACE_VIEW_URL_MAX], curl_error[CURL_ERROR_SIZE] = "";
        trace_view_body body = {0};
        json_object *obj = NULL;
        long status = 0;
        CURLcode rc;
        CURL *c;
        int r = 0;

        if ((size_t)snprintf(url, sizeof(url), "%s%s", backend->backend_url, path_and_query) >=
            sizeof(url)) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX, "the backend URL is too long");
                return -ENAMETOOLONG;
        }
        c = curl_easy_init();
        if (!c) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX, "out of memory");
                return -ENOMEM;
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)backend->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)backend->connect_timeout_ms);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, trace_view_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_error);
        proxy_tls_setopt(c, backend);
        rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);

        if (body.too_large) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX,
                               "the backend's tracez reply is over %u bytes", TRACE_VIEW_BODY_MAX);
                r = -EFBIG;
        } else if (body.oom) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX, "out of memory");
                r = -ENOMEM;
        } else if (rc != CURLE_OK) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX, "cannot reach the backend at %s: %s",
                               backend->backend_url, curl_error[0] ? curl_error : curl_easy_strerror(rc));
                r = -EHOSTUNREACH;
        } else if (status != 200) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX, "the backend's tracez answered HTTP %ld",
                               status);
                r = -EPROTO;
        } else {
                obj = body.data ? json_tokener_parse(body.data) : NULL;
                if (!obj || !json_object_is_type(obj, json_type_object)) {
                        (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX,
                                       "the backend's tracez reply is not a JSON object");
                        json_object_put(obj);
                        r = -EBADMSG;
                }
        }
        free(body.data);
        if (r < 0)
                return r;
        *ret = obj;
        return 0;
}

/* This process's tracez JSON for one trace. */
static int trace_view_local(const char *trace_id, json_object **ret)
{
        char *text = NULL;
        size_t len = 0;
        int r;

        r = otel_tracez_render(&(otel_tracez_query){.json = true, .trace_id = trace_id}, &text, &len);
        if (r < 0)
                return r;
        *ret = json_tokener_parse(text);
        free(text);
        return *ret ? 0 : -EBADMSG;
}

/* {"service": role, "samples": [...]} or {"service": role, "samples": [], "error": "..."}. */
static json_object *trace_view_service(const char *role, json_object *tracez, const char *error)
{
        json_object *o = json_object_new_object(), *samples = NULL;

        if (!o)
                return NULL;
        if (tracez && json_object_object_get_ex(tracez, "samples", &samples) &&
            json_object_is_type(samples, json_type_array))
                samples = json_object_get(samples);
        else
                samples = json_object_new_array();
        if (json_object_object_add(o, "service", json_object_new_string(role)) < 0 ||
            json_object_object_add(o, "samples", samples) < 0 ||
            (error && json_object_object_add(o, "error", json_object_new_string(error)) < 0)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static bool trace_view_is_trace_id(const char *s)
{
        return s && strlen(s) == OTEL_TRACE_ID_HEX && strspn(s, "0123456789abcdef") == OTEL_TRACE_ID_HEX &&
               strspn(s, "0") != OTEL_TRACE_ID_HEX;
}

/* GET /debug/trace/{trace_id} */
static void trace_view_trace(http_request *req, void *userdata)
{
        const proxy_config *backend = userdata;
        const char *trace_id = http_request_param(req, "trace_id");
        char path[128], error[TRACE_VIEW_ERROR_MAX] = "";
        json_object *local = NULL, *remote = NULL, *out, *services;
        int r;

        if (!trace_view_is_trace_id(trace_id)) {
                (void)http_reply_error(req, 400, "trace id must be 32 lowercase hex digits, not all zero");
                return;
        }
        r = trace_view_local(trace_id, &local);
        if (r < 0) {
                otel_log_errno(OTEL_SEVERITY_ERROR, r, "Failed to render tracez: %m");
                (void)http_reply_error(req, 500, "cannot render tracez");
                return;
        }
        (void)snprintf(path, sizeof(path), "/debug/tracez?format=json&trace_id=%s", trace_id);
        if (trace_view_fetch(backend, path, &remote, error) < 0)
                otel_log(OTEL_SEVERITY_WARN, "Trace view of %s without the backend's spans: %s", trace_id,
                         error);

        out = json_object_new_object();
        services = json_object_new_array();
        if (!out || !services ||
            json_object_object_add(out, "trace_id", json_object_new_string(trace_id)) < 0 ||
            json_object_array_add(services, trace_view_service("frontend", local, NULL)) < 0 ||
            json_object_array_add(services, trace_view_service("backend", remote, error[0] ? error : NULL)) <
                    0 ||
            json_object_object_add(out, "services", services) < 0) {
                json_object_put(out);
                json_object_put(services);
                json_object_put(local);
                json_object_put(remote);
                (void)http_reply_error(req, 500, "out of memory");
                return;
        }
        json_object_put(local);
        json_object_put(remote);
        (void)http_reply_header(req, "Cache-Control", "no-store");
        (void)http_reply_json(req, 200, out);
}

/* GET /debug/backend/tracez?name=&bucket= : the backend's summary (and samples) as JSON. */
static void trace_view_backend_tracez(http_request *req, void *userdata)
{
        const proxy_config *backend = userdata;
        const char *name = http_request_query(req, "name"), *bucket = http_request_query(req, "bucket");
        char path[TRACE_VIEW_NAME_MAX * 3 + 128], error[TRACE_VIEW_ERROR_MAX] = "";
        json_object *remote = NULL;
        size_t len;

        len = (size_t)snprintf(path, sizeof(path), "/debug/tracez?format=json");
        if (bucket && *bucket) {
                /* tracez's own syntax, checked here so that only it is forwarded. */
                bool digit = bucket[0] >= '0' && bucket[0] < '0' + TRACE_VIEW_TRACEZ_BUCKETS && !bucket[1];

                if (!digit && strcmp(bucket, "error") != 0) {
                        (void)http_reply_error(req, 400, "bucket must be 0..8 or error");
                        return;
                }
                len += (size_t)snprintf(path + len, sizeof(path) - len, "&bucket=%s", bucket);
        }
        if (name && *name) {
                char *escaped;

                if (strlen(name) > TRACE_VIEW_NAME_MAX) {
                        (void)http_reply_error(req, 400, "name is longer than %u bytes",
                                               TRACE_VIEW_NAME_MAX);
                        return;
                }
                escaped = curl_easy_escape(NULL, name, 0);
                if (!escaped) {
                        (void)http_reply_error(req, 500, "out of memory");
                        return;
                }
                (void)snprintf(path + len, sizeof(path) - len, "&name=%s", escaped);
                curl_free(escaped);
        }
        if (trace_view_fetch(backend, path, &remote, error) < 0) {
                (void)http_reply_error(req, 502, "%s", error);
                return;
        }
        (void)http_reply_header(req, "Cache-Control", "no-store");
        (void)http_reply_json(req, 200, remote);
}

int trace_view_register(http_server *s, const proxy_config *backend)
{
        int r;

        if ((r = http_server_route(s, "GET", "/debug/trace/{trace_id}", trace_view_trace, (void *)backend)) <
                    0 ||
            (r = http_server_route(s, "GET", "/debug/backend/tracez", trace_view_backend_tracez,
                                   (void *)backend)) < 0)
                return r;
        return 0;
}
