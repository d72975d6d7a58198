/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl transport of the CLI with its CLIENT spans (see http-client.h). Attributes follow the HTTP
 * client semantic conventions: http.request.method, url.full, url.template, server.address,
 * server.port, http.response.status_code and error.type; status >= 400 is an error on a client span.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "http-client.h"

#define HTTP_CLIENT_SCOPE    "oteldemo-cli"
#define HTTP_CLIENT_HOST_MAX 256
/* Connecting to a dead local port fails at once; a remote host that drops SYNs gets this long. */
#define HTTP_CLIENT_CONNECT_TIMEOUT_MS 5000u
#define HTTP_CLIENT_HEADER_MAX         512

struct http_client {
        CURL *curl;                      /* kept across requests: one kept-alive connection */
        char *base_url;                  /* without trailing '/' */
        char host[HTTP_CLIENT_HOST_MAX]; /* server.address */
        long port;                       /* server.port */
        uint64_t timeout_ms;             /* whole request */
        char *token;                     /* bearer token, or NULL */
        otel_tracer *tracer;             /* the CLI's instrumentation scope */
};

typedef struct body_buf {
        char *data;
        size_t len;
        size_t cap;
        bool too_large;
} body_buf;

static int parse_server(http_client *c)
{
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL, *end;
        int r = -EINVAL;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, c->base_url, 0) != CURLUE_OK)
                goto out;
        if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
                goto out;
        if (strlen(host) >= sizeof(c->host))
                goto out;
        /* An IPv6 literal comes back in brackets; server.address is the bare address. */
        if (host[0] == '[' && host[strlen(host) - 1] == ']')
                (void)snprintf(c->host, sizeof(c->host), "%.*s", (int)strlen(host) - 2, host + 1);
        else
                (void)snprintf(c->host, sizeof(c->host), "%s", host);
        c->port = strtol(port, &end, 10);
        if (*end || c->port <= 0 || c->port > 65535)
                goto out;
        r = 0;
out:
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return r;
}

int http_client_new(const char *base_url, uint64_t timeout_ms, const char *token, http_client **ret)
{
        http_client *c;
        size_t len;
        int r;

        if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->base_url = strdup(base_url);
        c->token = token ? strdup(token) : NULL;
        c->curl = curl_easy_init();
        if (!c->base_url || (token && !c->token) || !c->curl) {
                http_client_free(c);
                return -ENOMEM;
        }
        len = strlen(c->base_url);
        while (len > 0 && c->base_url[len - 1] == '/')
                c->base_url[--len] = '\0';
        r = parse_server(c);
        if (r < 0) {
                http_client_free(c);
                return r;
        }
        c->timeout_ms = timeout_ms;
        c->tracer = otel_tracer_get(HTTP_CLIENT_SCOPE, OTELDEMO_VERSION);
        *ret = c;
        return 0;
}

void http_client_free(http_client *c)
{
        if (!c)
                return;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        free(c->base_url);
        free(c->token);
        free(c);
}

void http_client_response_done(http_client_response *resp)
{
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
        body_buf *b = userdata;
        size_t n = size * nmemb;

        if (n > HTTP_CLIENT_BODY_MAX - b->len) {
                b->too_large = true;
                return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
        }
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                char *p;

                while (cap < b->len + n + 1)
                        cap *= 2;
                p = realloc(b->data, cap);
                if (!p)
                        return 0;
                b->data = p;
                b->cap = cap;
        }
        memcpy(b->data + b->len, data, n);
        b->len += n;
        b->data[b->len] = '\0';
        return n;
}

typedef struct header_list {
        struct curl_slist *list;
        bool failed; /* an allocation failed */
} header_list;

static void header_add(header_list *h, const char *name, const char *value)
{
        char line[HTTP_CLIENT_HEADER_MAX + 1];
        struct curl_slist *l;
        int n;

        n = snprintf(line, sizeof(line), "%s: %s", name, value);
        if (n < 0 || (size_t)n >= sizeof(line)) {
                /* Only a propagation header can be this long (tracestate is capped at 512): drop it
                 * rather than send it cut, which the server would have to reject. */
                return;
        }
        l = curl_slist_append(h->list, line);
        if (!l) {
                h->failed = true;
                return;
        }
        h->list = l;
}

static void inject_header(void *carrier, const char *name, const char *value)
{
        header_add(carrier, name, value);
}

/* error.type for a transport failure: a short, low-cardinality name. */
static int map_curl_error(CURLcode cc, bool too_large, const char **ret_type)
{
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                *ret_type = "connection_refused";
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                *ret_type = "timeout";
                return -ETIMEDOUT;
        case CURLE_OUT_OF_MEMORY:
                *ret_type = "out_of_memory";
                return -ENOMEM;
        case CURLE_WRITE_ERROR:
                *ret_type = too_large ? "response_too_large" : "out_of_memory";
                return too_large ? -E2BIG : -ENOMEM;
        default:
                *ret_type = "transport_error";
                return -EIO;
        }
}

int http_client_do(http_client *c, const http_client_request *req, http_client_response *ret)
{
        char url[HTTP_CLIENT_URL_MAX], errbuf[CURL_ERROR_SIZE] = "", name[HTTP_CLIENT_HEADER_MAX];
        header_list headers = {};
        body_buf body = {};
        otel_span *span;
        CURLcode cc;
        int r, n;

        memset(ret, 0, sizeof(*ret));
        n = snprintf(url, sizeof(url), "%s%s", c->base_url, req->path);
        if (n < 0 || (size_t)n >= sizeof(url))
                return -E2BIG;

        (void)snprintf(name, sizeof(name), "%s %s", req->method, req->route);
        otel_attr attrs[] = {
                OTEL_ATTR_STR("http.request.method", req->method),
                OTEL_ATTR_STR("url.full", url),
                OTEL_ATTR_STR("url.template", req->route),
                OTEL_ATTR_STR("server.address", c->host),
                OTEL_ATTR_I64("server.port", c->port),
                OTEL_ATTR_STR("user_agent.original", HTTP_CLIENT_USER_AGENT),
        };
        span = otel_span_start(
                c->tracer, name, OTEL_SPAN_KIND_CLIENT,
                &(otel_span_start_opts){.attrs = attrs, .n_attrs = sizeof(attrs) / sizeof(*attrs)});
        if (otel_span_context_is_valid(otel_span_get_context(span)))
                otel_trace_id_to_hex(otel_span_get_context(span)->trace_id, ret->trace_id);

        header_add(&headers, "Accept", "application/json");
        if (req->json_body)
                header_add(&headers, "Content-Type", "application/json");
        if (req->idempotency_key)
                header_add(&headers, "Idempotency-Key", req->idempotency_key);
        if (req->auth && c->token) {
                char auth[HTTP_CLIENT_HEADER_MAX];

                (void)snprintf(auth, sizeof(auth), "Bearer %s", c->token);
                header_add(&headers, "Authorization", auth);
        }
        otel_propagation_inject(span, NULL, inject_header, &headers);
        if (headers.failed) {
                r = -ENOMEM;
                (void)snprintf(ret->error, sizeof(ret->error), "out of memory");
                otel_span_set_str(span, "error.type", "out_of_memory");
                otel_span_set_status(span, OTEL_STATUS_ERROR, ret->error);
                goto out;
        }

        curl_easy_reset(c->curl);
        (void)curl_easy_setopt(c->curl, CURLOPT_URL, url);
        (void)curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, req->method);
        if (strcmp(req->method, "GET") == 0)
                (void)curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
        if (req->json_body) {
                (void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, req->json_body);
                (void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(req->json_body));
        }
        (void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers.list);
        (void)curl_easy_setopt(c->curl, CURLOPT_USERAGENT, HTTP_CLIENT_USER_AGENT);
        (void)curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
        (void)curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
                               (long)(c->timeout_ms < HTTP_CLIENT_CONNECT_TIMEOUT_MS
                                              ? c->timeout_ms
                                              : HTTP_CLIENT_CONNECT_TIMEOUT_MS));
        (void)curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
        (void)curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
        (void)curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");

        cc = curl_easy_perform(c->curl);
        if (cc != CURLE_OK) {
                const char *type;

                r = map_curl_error(cc, body.too_large, &type);
                (void)snprintf(ret->error, sizeof(ret->error), "%s",
                               errbuf[0] ? errbuf : curl_easy_strerror(cc));
                otel_span_set_str(span, "error.type", type);
                otel_span_set_status(span, OTEL_STATUS_ERROR, ret->error);
                free(body.data);
                goto out;
        }
        (void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &ret->status);
        ret->body = body.data;
        ret->body_len = body.len;
        otel_span_set_int(span, "http.response.status_code", ret->status);
        if (ret->status >= 400) {
                char code[24]; /* any long */

                (void)snprintf(code, sizeof(code), "%ld", ret->status);
                otel_span_set_str(span, "error.type", code);
                otel_span_set_status(span, OTEL_STATUS_ERROR, NULL);
        }
        r = 0;
out:
        curl_slist_free_all(headers.list);
        otel_span_end(span);
        return r;
}
