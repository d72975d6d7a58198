/* SPDX-License-Identifier: Apache-2.0 */
/* See trace-view.h. The backend is asked as the proxy asks it, without the worker thread waiting: the
 * request is deferred and the GET runs in the worker's proxy loop (proxy-loop.c), over its kept-alive
 * connections; the reply is made when the backend has answered. */
#include "trace-view.h"

#include "proxy-loop.h"

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

/* One GET of the backend's tracez for a deferred request, run by the worker's proxy loop. */
typedef struct trace_view_call trace_view_call;
/* Makes the reply from what the backend answered (remote, or NULL with error set); owns remote. */
typedef void (*trace_view_reply_fn)(trace_view_call *call, json_object *remote, const char *error);

struct trace_view_call {
        proxy_loop_transfer xfer; /* the easy handle, handed to the worker's loop */
        proxy_loop *loop;
        http_request *req;
        const proxy_config *backend;
        trace_view_reply_fn reply;
        trace_view_body body;
        char curl_error[CURL_ERROR_SIZE];
        char trace_id[OTEL_TRACE_ID_HEX + 1]; /* /debug/trace/{trace_id} */
        json_object *local;                   /* this process's spans of it (owned) */
};

static void trace_view_call_free(trace_view_call *call)
{
        json_object_put(call->local);
        free(call->body.data);
        free(call);
}

/* The backend's answer as a JSON object: 0 and *ret, or a negative errno with a sentence in ret_error. */
static int trace_view_result(trace_view_call *call, CURLcode rc, long status, json_object **ret,
                             char ret_error[TRACE_VIEW_ERROR_MAX])
{
        const trace_view_body *body = &call->body;
        json_object *obj;

        if (body->too_large) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX,
                               "the backend's tracez reply is over %u bytes", TRACE_VIEW_BODY_MAX);
                return -EFBIG;
        }
        if (body->oom || rc == CURLE_OUT_OF_MEMORY) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX, "out of memory");
                return -ENOMEM;
        }
        if (rc == CURLE_ABORTED_BY_CALLBACK) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX, "the frontend is shutting down");
                return -ESHUTDOWN;
        }
        if (rc != CURLE_OK) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX, "cannot reach the backend at %s: %s",
                               call->backend->backend_url,
                               call->curl_error[0] ? call->curl_error : curl_easy_strerror(rc));
                return -EHOSTUNREACH;
        }
        if (status != 200) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX, "the backend's tracez answered HTTP %ld",
                               status);
                return -EPROTO;
        }
        obj = body->data ? json_tokener_parse(body->data) : NULL;
        if (!obj || !json_object_is_type(obj, json_type_object)) {
                (void)snprintf(ret_error, TRACE_VIEW_ERROR_MAX,
                               "the backend's tracez reply is not a JSON object");
                json_object_put(obj);
                return -EBADMSG;
        }
        *ret = obj;
        return 0;
}

/* proxy_loop_done_fn: in the worker's loop. The reply, then the request goes back to the server. */
static void trace_view_done(proxy_loop_transfer *t, CURLcode rc, bool aborted)
{
        trace_view_call *call = t->userdata;
        char error[TRACE_VIEW_ERROR_MAX] = "";
        json_object *remote = NULL;
        http_request *req = call->req;
        otel_context_token token;
        long status = 0;

        (void)aborted; /* rc is CURLE_ABORTED_BY_CALLBACK then */
        if (rc == CURLE_OK)
                (void)curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        (void)trace_view_result(call, rc, status, &remote, error);
        /* With the request's span current, as in its handler (the log line's trace id). */
        token = otel_context_attach(http_request_span(req), NULL);
        call->reply(call, remote, remote ? NULL : error);
        otel_context_detach(token);
        trace_view_call_free(call);
        http_request_resume(req);
}

/* http_request_defer()'s start: the request is suspended now. */
static void trace_view_submit(void *arg)
{
        trace_view_call *call = arg;

        proxy_loop_submit(call->loop, &call->xfer);
}

/* GETs backend_url + path_and_query without the worker waiting: the request is deferred and reply
 * runs when the backend has answered (or failed). On a failure to start, reply runs at once. call is
 * the caller's calloc'ed call (req, backend, reply and the fields reply reads set); it is freed. */
static void trace_view_fetch(trace_view_call *call, const char *path_and_query)
{
        char url[TRACE_VIEW_URL_MAX], error[TRACE_VIEW_ERROR_MAX];
        const proxy_config *backend = call->backend;
        CURL *c;

        call->loop = http_worker_state(); /* this worker's (proxy_worker_hooks) */
        if ((size_t)snprintf(url, sizeof(url), "%s%s", backend->backend_url, path_and_query) >=
            sizeof(url)) {
                (void)snprintf(error, sizeof(error), "the backend URL is too long");
                goto fail;
        }
        c = call->loop ? proxy_loop_easy(call->loop) : NULL;
        if (!c) {
                (void)snprintf(error, sizeof(error), call->loop ? "out of memory" : "no backend loop here");
                goto fail;
        }
        /* The URL is copied by libcurl; every option is set here (pooled handles are reset). */
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)backend->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)backend->connect_timeout_ms);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, trace_view_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &call->body);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, call->curl_error);
        proxy_tls_setopt(c, backend);
        call->xfer = (proxy_loop_transfer){.easy = c, .done = trace_view_done, .userdata = call};
        http_request_defer(call->req, trace_view_submit, call);
        return;
fail:
        call->reply(call, NULL, error);
        trace_view_call_free(call);
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

/* /debug/trace/{trace_id}'s reply: this process's spans and the backend's (or why not). */
static void trace_view_trace_reply(trace_view_call *call, json_object *remote, const char *error)
{
        http_request *req = call->req;
        json_object *out, *services;

        if (error)
                otel_log(OTEL_SEVERITY_WARN, "Trace view of %s without the backend's spans: %s",
                         call->trace_id, error);
        out = json_object_new_object();
        services = json_object_new_array();
        if (!out || !services ||
            json_object_object_add(out, "trace_id", json_object_new_string(call->trace_id)) < 0 ||
            json_object_array_add(services, trace_view_service("frontend", call->local, NULL)) < 0 ||
            json_object_array_add(services, trace_view_service("backend", remote, error)) < 0 ||
            json_object_object_add(out, "services", services) < 0) {
                json_object_put(out);
                json_object_put(services);
                json_object_put(remote);
                (void)http_reply_error(req, 500, "out of memory");
                return;
        }
        json_object_put(remote);
        (void)http_reply_header(req, "Cache-Control", "no-store");
        (void)http_reply_json(req, 200, out);
}

/* GET /debug/trace/{trace_id} */
static void trace_view_trace(http_request *req, void *userdata)
{
        const char *trace_id = http_request_param(req, "trace_id");
        trace_view_call *call;
        char path[128];
        int r;

        if (!trace_view_is_trace_id(trace_id)) {
                (void)http_reply_error(req, 400, "trace id must be 32 lowercase hex digits, not all zero");
                return;
        }
        call = calloc(1, sizeof(*call));
        if (!call) {
                (void)http_reply_error(req, 500, "out of memory");
                return;
        }
        *call = (trace_view_call){.req = req, .backend = userdata, .reply = trace_view_trace_reply};
        memcpy(call->trace_id, trace_id, OTEL_TRACE_ID_HEX + 1);
        r = trace_view_local(trace_id, &call->local);
        if (r < 0) {
                otel_log_errno(OTEL_SEVERITY_ERROR, r, "Failed to render tracez: %m");
                (void)http_reply_error(req, 500, "cannot render tracez");
                trace_view_call_free(call);
                return;
        }
        (void)snprintf(path, sizeof(path), "/debug/tracez?format=json&trace_id=%s", trace_id);
        trace_view_fetch(call, path);
}

/* /debug/backend/tracez's reply: the backend's JSON as it came, or 502. */
static void trace_view_backend_tracez_reply(trace_view_call *call, json_object *remote, const char *error)
{
        if (!remote) {
                (void)http_reply_error(call->req, 502, "%s", error);
                return;
        }
        (void)http_reply_header(call->req, "Cache-Control", "no-store");
        (void)http_reply_json(call->req, 200, remote);
}

/* GET /debug/backend/tracez?name=&bucket= : the backend's summary (and samples) as JSON. */
static void trace_view_backend_tracez(http_request *req, void *userdata)
{
        const char *name = http_request_query(req, "name"), *bucket = http_request_query(req, "bucket");
        char path[TRACE_VIEW_NAME_MAX * 3 + 128];
        trace_view_call *call;
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
        call = calloc(1, sizeof(*call));
        if (!call) {
                (void)http_reply_error(req, 500, "out of memory");
                return;
        }
        *call = (trace_view_call){.req = req, .backend = userdata, .reply = trace_view_backend_tracez_reply};
        trace_view_fetch(call, path);
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
