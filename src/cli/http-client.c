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
#include "otel-http.h"

#define HTTP_CLIENT_SCOPE "oteldemo-cli"
/* Connecting to a dead local port fails at once; a remote host that drops SYNs gets this long. */
#define HTTP_CLIENT_CONNECT_TIMEOUT_MS 5000u
#define HTTP_CLIENT_HEADER_MAX         512

struct http_client {
        CURL *curl;              /* kept across requests: one kept-alive connection */
        char *base_url;          /* without trailing '/' */
        otel_http_server server; /* server.address, server.port */
        uint64_t timeout_ms;     /* whole request */
        char *token;             /* bearer token of requests marked auth (the admin's), or NULL */
        char *write_token;       /* bearer token of the other requests but GET (the writes'), or NULL */
        cli_tls_files tls;       /* CA file and client certificate (NULL members: none) */
        otel_tracer *tracer;     /* the CLI's instrumentation scope */
};

int http_client_new(const char *base_url, uint64_t timeout_ms, const char *token, const char *write_token,
                    const cli_tls_files *tls, http_client **ret)
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
        c->write_token = write_token ? strdup(write_token) : NULL;
        c->curl = curl_easy_init();
        if (!c->base_url || (token && !c->token) || (write_token && !c->write_token) || !c->curl) {
                http_client_free(c);
                return -ENOMEM;
        }
        len = strlen(c->base_url);
        while (len > 0 && c->base_url[len - 1] == '/')
                c->base_url[--len] = '\0';
        r = otel_http_url_server(c->base_url, &c->server);
        if (r < 0) {
                http_client_free(c);
                return r;
        }
        c->timeout_ms = timeout_ms;
        if (tls)
                c->tls = *tls;
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
        if (c->token)
                explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        if (c->write_token)
                explicit_bzero(c->write_token, strlen(c->write_token));
        free(c->write_token);
        free(c);
}

void http_client_response_done(http_client_response *resp)
{
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
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

/* This client's contract (http-client.h) over the SDK's CURLcode table: the CLI only tells "cannot
 * connect" (refused, unknown host, timeout, broken connection) from its own failures. */
static int transport_errno(CURLcode cc, const otel_http_body *body)
{
        int err = otel_http_curl_error_lookup(cc)->err;

        if (body->too_large)
                return -E2BIG;
        if (body->oom)
                return -ENOMEM;
        switch (err) {
        case -ETIMEDOUT:
        case -ENOMEM:
        case -ECONNREFUSED:
                return err;
        case -EHOSTUNREACH:
                return -ECONNREFUSED;
        default:
                return -EIO;
        }
}

int http_client_do(http_client *c, const http_client_request *req, http_client_response *ret)
{
        char url[HTTP_CLIENT_URL_MAX], errbuf[CURL_ERROR_SIZE] = "", name[HTTP_CLIENT_HEADER_MAX];
        header_list headers = {};
        otel_http_body body = {.buf.max = HTTP_CLIENT_BODY_MAX};
        otel_http_client call;
        const char *bearer;
        CURLcode cc;
        int r, n;

        memset(ret, 0, sizeof(*ret));
        n = snprintf(url, sizeof(url), "%s%s", c->base_url, req->path);
        if (n < 0 || (size_t)n >= sizeof(url))
                return -E2BIG;

        (void)snprintf(name, sizeof(name), "%s %s", req->method, req->route);
        otel_attr attrs[] = {
                OTEL_ATTR_STR("url.template", req->route),
                OTEL_ATTR_STR("user_agent.original", HTTP_CLIENT_USER_AGENT),
        };
        otel_http_client_start(&call, &(otel_http_client_opts){
                                              .tracer = c->tracer,
                                              .span_name = name,
                                              .method = req->method,
                                              .url = url,
                                              .server = &c->server,
                                              .attrs = attrs,
                                              .n_attrs = sizeof(attrs) / sizeof(*attrs),
                                      });
        if (otel_span_context_is_valid(otel_span_get_context(call.span)))
                otel_trace_id_to_hex(otel_span_get_context(call.span)->trace_id, ret->trace_id);

        header_add(&headers, "Accept", "application/json");
        if (req->json_body)
                header_add(&headers, "Content-Type", "application/json");
        if (req->idempotency_key)
                header_add(&headers, "Idempotency-Key", req->idempotency_key);
        bearer = req->auth ? c->token : strcmp(req->method, "GET") != 0 ? c->write_token : NULL;
        if (bearer) {
                char auth[HTTP_CLIENT_HEADER_MAX];

                (void)snprintf(auth, sizeof(auth), "Bearer %s", bearer);
                header_add(&headers, "Authorization", auth);
                explicit_bzero(auth, sizeof(auth));
        }
        otel_propagation_inject(call.span, NULL, inject_header, &headers);
        if (headers.failed) {
                r = -ENOMEM;
                (void)snprintf(ret->error, sizeof(ret->error), "out of memory");
                otel_http_client_end(&call, CURLE_OUT_OF_MEMORY, 0, NULL, ret->error);
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
        (void)curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, otel_http_body_write);
        (void)curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
        (void)curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        /* Verification stays on (libcurl's default): a CA file only changes whom to trust. */
        if (c->tls.ca_file)
                (void)curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->tls.ca_file);
        if (c->tls.cert_file) {
                (void)curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->tls.cert_file);
                (void)curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->tls.key_file);
        }

        cc = curl_easy_perform(c->curl);
        if (cc != CURLE_OK) {
                r = transport_errno(cc, &body);
                (void)snprintf(ret->error, sizeof(ret->error), "%s",
                               errbuf[0] ? errbuf : curl_easy_strerror(cc));
                otel_http_client_end(&call, cc, 0,
                                     body.too_large ? "response_too_large"
                                     : body.oom     ? "out_of_memory"
                                                    : NULL,
                                     ret->error);
                otel_buf_free(&body.buf);
                goto out;
        }
        (void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &ret->status);
        /* The response takes over the buffer's malloc'ed bytes (NULL when the reply had no body). */
        ret->body = (char *)body.buf.data;
        ret->body_len = body.buf.len;
        otel_http_client_end(&call, cc, ret->status, NULL, NULL);
        r = 0;
out:
        curl_slist_free_all(headers.list);
        return r;
}
