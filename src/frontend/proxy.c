/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/... → backend without a server thread waiting: the handler builds the exchange (URL, forwarded
 * headers, a CLIENT span that is a child of the request's SERVER span, its context injected as
 * traceparent/tracestate/baggage), defers the request (http_request_defer) and returns; the exchange
 * runs in the worker's own event loop (proxy-loop.c: one libcurl multi per server worker, keep-alive
 * connections to the backend, driven through the server's http_worker_hooks), which ends the CLIENT
 * span, records http.client.request.duration, builds the reply and resumes the request, all on the
 * thread that took the request. At most max_in_flight exchanges at once: beyond, a quick 503.
 *
 * The reply is built after the handler has returned, in the loop's part of the worker's turn, where no
 * span is current: the request's SERVER span is attached explicitly for it.
 */
#include "proxy.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-auth.h"
#include "otel-http.h"
#include "otel.h"
#include "proxy-loop.h"

#define PROXY_DEFAULT_URL           "http://127.0.0.1:8081"
#define PROXY_DEFAULT_TIMEOUT_MS    10000u
#define PROXY_DEFAULT_CONNECT_MS    1000u
#define PROXY_DEFAULT_CONNECTIONS   128u /* backend connections (Little: 2,000/s x 50 ms = 100 busy) */
#define PROXY_DEFAULT_MAX_IN_FLIGHT 512u /* exchanges admitted at once; beyond, 503 */
#define PROXY_IN_FLIGHT_MAX         65536u
#define PROXY_RETRY_AFTER_S         "1"   /* Retry-After of the 503 at the in-flight cap */
#define PROXY_REPLY_HEADERS_MAX     10u   /* backend headers passed on (http_reply_header caps at 16) */
#define PROXY_HEADER_LINE_MAX       8192u /* one forwarded header line */
#define PROXY_TARGET_MAX            (PROXY_URL_MAX + 3u * 2048u + 4096u)
#define PROXY_SCOPE                 "oteldemo-frontend/proxy"
#define PROXY_CLIENT_REALM          "oteldemo-shop" /* WWW-Authenticate realm of the client token */

/* libcurl's receive buffer, malloc()ed for each exchange while it runs (libcurl's default is 16 KiB:
 * 50 exchanges in flight held 800 KiB). A reply of the shop is a few hundred bytes, a page of products
 * a few KiB; a larger one takes more recv() calls, not more memory (the body is collected anyway). */
#define PROXY_RECV_BUFFER_BYTES 4096L

struct proxy {
        proxy_config config;
        otel_http_server server;     /* server.address and server.port of the backend */
        unsigned worker_connections; /* max_connections split over the server's workers */
        atomic_uint in_flight;       /* exchanges admitted and not yet answered (/readyz not counted) */
        otel_tracer *tracer;
        otel_instrument *duration; /* http.client.request.duration (s) */
        char *auth_header;         /* "Authorization: Bearer <backend token>" (owned), or NULL */
        char *client_token;        /* required of the writes (owned), or NULL */
};

typedef struct proxy_header {
        char *name;
        char *value;
} proxy_header;

/* One backend exchange: the request headers sent and the reply collected. Heap-allocated; it lives
 * from the handler until the reply is made (or the readiness check has read it). */
typedef struct proxy_exchange {
        proxy *proxy;
        proxy_loop *loop;         /* the worker's, or NULL for the readiness check (blocking) */
        proxy_loop_transfer xfer; /* the easy handle, handed to the loop */
        http_request *req;        /* the deferred request, or NULL for the readiness check */
        char *url;                /* url.full (owned: the span's url.full borrows it) */
        otel_http_client call;    /* the CLIENT span and its duration */
        struct curl_slist *send;  /* request header lines */
        bool oom;                 /* an allocation failed while building or receiving */
        bool aborted;             /* the loop stopped (shutdown) before the exchange ended */
        const char *connection;   /* the client's Connection header (names more hop-by-hop headers) */
        bool have_content_type;   /* the client sent one (else curl's form default is suppressed) */
        bool have_accept;
        CURLcode rc;                                   /* the transfer's result */
        long status;                                   /* the backend's HTTP status, 0 when none */
        otel_http_body body;                           /* reply body, capped at PROXY_RESPONSE_MAX_BYTES */
        char *content_type;                            /* reply Content-Type (owned) */
        proxy_header headers[PROXY_REPLY_HEADERS_MAX]; /* reply headers passed on (owned) */
        size_t n_headers;
} proxy_exchange;

/* ---- configuration -------------------------------------------------------------------------------- */

static int proxy_config_tls(config_file *cfg, proxy_config *c);

/* The backend's server.address/port; its base URL must have no path beyond "/". */
static int proxy_url_parse(const char *url, otel_http_server *ret)
{
        otel_http_server srv;
        int r = otel_http_url_server(url, &srv);

        if (r < 0)
                return r;
        if (!srv.path_is_root)
                return -EINVAL;
        *ret = srv;
        return 0;
}

int proxy_config_load(config_file *cfg, proxy_config *ret)
{
        proxy_config c = {0};
        const char *url;
        otel_http_server srv;
        size_t len;
        int r;
        const config_uint_key uints[] = {
                {"timeout_ms", PROXY_DEFAULT_TIMEOUT_MS, 1, PROXY_TIMEOUT_MAX_MS, &c.timeout_ms},
                {"connect_timeout_ms", PROXY_DEFAULT_CONNECT_MS, 1, PROXY_TIMEOUT_MAX_MS,
                 &c.connect_timeout_ms},
                {"max_connections", PROXY_DEFAULT_CONNECTIONS, 1, PROXY_LOOP_CONNECTIONS_MAX,
                 &c.max_connections},
                {"max_in_flight", PROXY_DEFAULT_MAX_IN_FLIGHT, 1, PROXY_IN_FLIGHT_MAX, &c.max_in_flight},
        };

        r = config_get_string(cfg, "backend", "url", PROXY_DEFAULT_URL, &url);
        if (r < 0)
                return r;
        len = strlen(url);
        while (len > 0 && url[len - 1] == '/')
                len--;
        if (len == 0 || len >= sizeof(c.backend_url))
                return config_reject(cfg, "backend", "url", "expected http(s)://host:port, got '%s'", url);
        memcpy(c.backend_url, url, len);
        c.backend_url[len] = '\0';
        r = proxy_url_parse(c.backend_url, &srv);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return config_reject(cfg, "backend", "url",
                                     "expected http(s)://host:port (no path), got '%s'", url);
        if ((r = config_get_uints(cfg, "backend", uints, sizeof(uints) / sizeof(uints[0]))) < 0 ||
            (r = proxy_config_tls(cfg, &c)) < 0)
                return r;
        if ((r = credential_source_load(cfg, "backend", "token", PROXY_TOKEN_CREDENTIAL,
                                        CREDENTIAL_TOKEN_MIN, &c.token)) < 0)
                return r;
        /* Off by default: the shop is public and browsers post orders through it. */
        r = credential_source_load(cfg, "auth", "client_token", NULL, CREDENTIAL_TOKEN_MIN, &c.client_token);
        if (r < 0) {
                credential_source_free(&c.token);
                return r;
        }
        *ret = c;
        return 0;
}

void proxy_config_free(proxy_config *c)
{
        credential_source_free(&c->token);
        credential_source_free(&c->client_token);
}

/* The header line sent to the backend with the frontend's token. */
static int proxy_auth_header(const proxy_config *config, char **ret)
{
        char *token = NULL;
        int r = credential_source_read(&config->token, &token);

        *ret = NULL;
        if (r < 0)
                return r;
        if (!token) {
                otel_log(OTEL_SEVERITY_INFO, "No backend token ([backend] token_credential, token_file): "
                                             "writes go to the backend without one");
                return 0;
        }
        r = asprintf(ret, "Authorization: Bearer %s", token);
        credential_free(token);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* [backend] ca_file, client_cert, client_key: files that exist and load, for an https:// url only. The
 * credentials backend-ca, backend-client-cert and backend-client-key win over them for an https:// url
 * and are ignored for an http:// one: the packaged unit always passes them, and an operator who points
 * the frontend at a plain backend elsewhere changes only the url. */
static int proxy_config_tls(config_file *cfg, proxy_config *c)
{
        bool https = strncasecmp(c->backend_url, "https://", 8) == 0;
        char why[HTTP_TLS_ERROR_MAX];
        int r;

        if ((r = http_tls_config_file(cfg, "backend", "ca_file", https ? "backend-ca" : NULL, false,
                                      c->ca_file)) < 0 ||
            (r = http_tls_config_file(cfg, "backend", "client_cert", https ? "backend-client-cert" : NULL,
                                      false, c->client_cert)) < 0 ||
            (r = http_tls_config_file(cfg, "backend", "client_key", https ? "backend-client-key" : NULL,
                                      true, c->client_key)) < 0)
                return r;
        if (!https) {
                const char *set = c->ca_file[0]       ? "ca_file"
                                  : c->client_cert[0] ? "client_cert"
                                  : c->client_key[0]  ? "client_key"
                                                      : NULL;

                if (set)
                        return config_reject(cfg, "backend", set, "applies only to an https:// url");
                return 0;
        }
        if (c->client_cert[0] && !c->client_key[0])
                return config_reject(cfg, "backend", "client_key",
                                     "client_cert is set: client_key must be too");
        if (!c->client_cert[0] && c->client_key[0])
                return config_reject(cfg, "backend", "client_cert",
                                     "client_key is set: client_cert must be too");
        r = http_tls_check_files(c->client_cert, c->client_key, "", why, sizeof(why));
        if (r == -EINVAL)
                return config_reject(cfg, "backend", "client_cert", "%s", why);
        if (r >= 0)
                r = http_tls_check_files("", "", c->ca_file, why, sizeof(why));
        if (r == -EINVAL)
                return config_reject(cfg, "backend", "ca_file", "%s", why);
        return r;
}

void proxy_tls_setopt(void *curl, const proxy_config *config)
{
        if (config->ca_file[0])
                curl_easy_setopt(curl, CURLOPT_CAINFO, config->ca_file);
        if (config->client_cert[0]) {
                curl_easy_setopt(curl, CURLOPT_SSLCERT, config->client_cert);
                curl_easy_setopt(curl, CURLOPT_SSLKEY, config->client_key);
        }
}

/* ---- lifecycle ------------------------------------------------------------------------------------ */

int proxy_new(const proxy_config *config, unsigned workers, proxy **ret)
{
        otel_instrument_opts dur = {
                .unit = "s",
                .description = "Duration of HTTP client requests.",
                .bounds = otel_http_duration_bounds,
                .n_bounds = otel_http_duration_bounds_len,
        };
        otel_meter *meter;
        proxy *p;
        int r;

        /* Reference-counted in libcurl; the OTLP exporter may have done it already. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        p = calloc(1, sizeof(*p));
        if (!p) {
                curl_global_cleanup();
                return -ENOMEM;
        }
        p->config = *config;
        atomic_init(&p->in_flight, 0);
        /* The secrets' sources stay with the configuration; the proxy keeps only what it read. */
        p->config.token = p->config.client_token = (credential_source){0};
        r = proxy_url_parse(p->config.backend_url, &p->server);
        if (r < 0)
                goto fail;
        if ((r = proxy_auth_header(config, &p->auth_header)) < 0 ||
            (r = credential_source_read(&config->client_token, &p->client_token)) < 0)
                goto fail;
        /* Each worker's loop its share, at least one: the total stays within max_connections
         * unless that is below the number of workers. */
        workers = workers ? workers : 1;
        p->worker_connections = p->config.max_connections / workers;
        if (p->worker_connections == 0)
                p->worker_connections = 1;
        p->tracer = otel_tracer_get(PROXY_SCOPE, OTELDEMO_VERSION);
        meter = otel_meter_get(PROXY_SCOPE, OTELDEMO_VERSION);
        p->duration =
                otel_instrument_new(meter, OTEL_INSTRUMENT_HISTOGRAM, "http.client.request.duration", &dur);
        *ret = p;
        return 0;
fail:
        credential_free(p->auth_header);
        credential_free(p->client_token);
        free(p);
        curl_global_cleanup();
        return r;
}

/* ---- the workers' loops (http_worker_hooks) ---------------------------------------------------- */

static int proxy_worker_start(void *userdata, int epoll_fd, void **ret_state)
{
        proxy *p = userdata;
        proxy_loop *l;
        int r = proxy_loop_new(p->worker_connections, epoll_fd, &l);

        if (r < 0)
                return r;
        *ret_state = l;
        return 0;
}

static void proxy_worker_event(void *state, const struct epoll_event *ev)
{
        (void)proxy_loop_event(state, ev);
}

static int proxy_worker_run(void *state)
{
        return proxy_loop_run(state);
}

static void proxy_worker_abort(void *state)
{
        proxy_loop_abort(state);
}

static void proxy_worker_stop(void *state)
{
        proxy_loop_free(state);
}

const http_worker_hooks proxy_worker_hooks = {
        .start = proxy_worker_start,
        .event = proxy_worker_event,
        .run = proxy_worker_run,
        .abort = proxy_worker_abort,
        .stop = proxy_worker_stop,
};

void proxy_free(proxy *p)
{
        if (!p)
                return;
        credential_free(p->auth_header);
        credential_free(p->client_token);
        free(p);
        curl_global_cleanup();
}

/* ---- headers ------------------------------------------------------------------------------------- */

static bool proxy_token_listed(const char *list, const char *name)
{
        size_t nlen = strlen(name);
        const char *p = list;

        while (p && *p) {
                const char *end = strchrnul(p, ',');
                const char *tok = p;
                size_t tlen;

                while (tok < end && (*tok == ' ' || *tok == '\t'))
                        tok++;
                tlen = (size_t)(end - tok);
                while (tlen > 0 && (tok[tlen - 1] == ' ' || tok[tlen - 1] == '\t'))
                        tlen--;
                if (tlen == nlen && strncasecmp(tok, name, nlen) == 0)
                        return true;
                p = *end ? end + 1 : end;
        }
        return false;
}

bool proxy_header_is_hop_by_hop(const char *name, const char *connection)
{
        /* RFC 9110 7.6.1 and the usual suspects; Host, Content-Length and the trace context headers are
         * set by the proxy itself (curl and the propagators); Authorization too, with its own token. */
        static const char *const own[] = {
                "connection",
                "keep-alive",
                "proxy-connection",
                "proxy-authenticate",
                "proxy-authorization",
                "authorization", /* the client's credentials are not the frontend's to pass on */
                "te",
                "trailer",
                "transfer-encoding",
                "upgrade",
                "host",
                "content-length",
                "expect",
                "traceparent",
                "tracestate",
                "baggage",
        };

        for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
                if (strcasecmp(name, own[i]) == 0)
                        return true;
        return connection && proxy_token_listed(connection, name);
}

static void proxy_send_line(proxy_exchange *ex, const char *line)
{
        struct curl_slist *next = curl_slist_append(ex->send, line);

        if (!next) {
                ex->oom = true; /* the list is unchanged and still freed with the exchange */
                return;
        }
        ex->send = next;
}

static void proxy_send_header(proxy_exchange *ex, const char *name, const char *value)
{
        char line[PROXY_HEADER_LINE_MAX];
        int n;

        /* "Name;" is how curl sends a header with an empty value ("Name:" would remove it). */
        if (value[0] == '\0')
                n = snprintf(line, sizeof(line), "%s;", name);
        else
                n = snprintf(line, sizeof(line), "%s: %s", name, value);
        if (n < 0 || (size_t)n >= sizeof(line))
                return; /* longer than any header the backend accepts: drop it */
        proxy_send_line(ex, line);
}

static void proxy_forward_header(void *userdata, const char *name, const char *value)
{
        proxy_exchange *ex = userdata;

        if (proxy_header_is_hop_by_hop(name, ex->connection))
                return;
        if (strcasecmp(name, "content-type") == 0)
                ex->have_content_type = true;
        if (strcasecmp(name, "accept") == 0)
                ex->have_accept = true;
        proxy_send_header(ex, name, value);
}

static void proxy_inject(void *carrier, const char *name, const char *value)
{
        proxy_send_header(carrier, name, value);
}

/* Reply headers not passed on: hop-by-hop, framing (MHD sets it), and those the frontend's own server
 * sets (its traceresponse names the frontend's span of the same trace). */
static bool proxy_reply_header_dropped(const char *name)
{
        static const char *const dropped[] = {
                "connection",        "keep-alive", "proxy-connection", "te",   "trailer",
                "transfer-encoding", "upgrade",    "content-length",   "date", "server",
                "traceresponse",
        };

        for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
                if (strcasecmp(name, dropped[i]) == 0)
                        return true;
        return false;
}

static void proxy_exchange_clear_headers(proxy_exchange *ex)
{
        for (size_t i = 0; i < ex->n_headers; i++) {
                free(ex->headers[i].name);
                free(ex->headers[i].value);
        }
        ex->n_headers = 0;
        free(ex->content_type);
        ex->content_type = NULL;
}

static size_t proxy_on_header(char *data, size_t size, size_t nitems, void *userdata)
{
        proxy_exchange *ex = userdata;
        size_t len = size * nitems, nlen, vlen;
        const char *colon, *value;
        char *name_copy, *value_copy;

        /* A status line starts a response; an interim one (100 Continue) had headers we drop. */
        if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
                proxy_exchange_clear_headers(ex);
                return len;
        }
        colon = memchr(data, ':', len);
        if (!colon)
                return len; /* the empty line that ends the headers */
        nlen = (size_t)(colon - data);
        value = colon + 1;
        vlen = len - nlen - 1;
        while (vlen > 0 && (*value == ' ' || *value == '\t')) {
                value++;
                vlen--;
        }
        while (vlen > 0 && (value[vlen - 1] == '\r' || value[vlen - 1] == '\n' || value[vlen - 1] == ' ' ||
                            value[vlen - 1] == '\t'))
                vlen--;
        name_copy = strndup(data, nlen);
        value_copy = strndup(value, vlen);
        if (!name_copy || !value_copy) {
                free(name_copy);
                free(value_copy);
                ex->oom = true;
                return 0; /* aborts the transfer */
        }
        if (strcasecmp(name_copy, "content-type") == 0 && !ex->content_type) {
                ex->content_type = value_copy;
                free(name_copy);
        } else if (proxy_reply_header_dropped(name_copy) || ex->n_headers >= PROXY_REPLY_HEADERS_MAX) {
                free(name_copy);
                free(value_copy);
        } else {
                ex->headers[ex->n_headers].name = name_copy;
                ex->headers[ex->n_headers].value = value_copy;
                ex->n_headers++;
        }
        return len;
}

static void proxy_exchange_free(proxy_exchange *ex)
{
        if (!ex)
                return;
        proxy_exchange_clear_headers(ex);
        curl_slist_free_all(ex->send);
        otel_buf_free(&ex->body.buf);
        free(ex->url);
        free(ex);
}

/* ---- the exchange -------------------------------------------------------------------------------- */

static bool proxy_unreserved_path(unsigned char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

/* Bytes of the query that pass unchanged: what a URL may hold, less '#' (it would start a fragment). */
static bool proxy_query_char(unsigned char c)
{
        return c > 0x20 && c < 0x7f && c != '#';
}

/* Appends s to buf at *pos, percent-encoding every byte keep() refuses; always NUL-terminated. */
static int proxy_encode(const char *s, bool (*keep)(unsigned char), char *buf, size_t size, size_t *pos)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t o = *pos;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (keep(*p)) {
                        if (o + 1 >= size)
                                return -ENAMETOOLONG;
                        buf[o++] = (char)*p;
                } else {
                        if (o + 3 >= size)
                                return -ENAMETOOLONG;
                        buf[o++] = '%';
                        buf[o++] = hex[*p >> 4];
                        buf[o++] = hex[*p & 15];
                }
        }
        buf[o] = '\0';
        *pos = o;
        return 0;
}

int proxy_encode_path(const char *path, char *ret, size_t size)
{
        size_t pos = 0;

        if (size == 0)
                return -ENAMETOOLONG;
        return proxy_encode(path, proxy_unreserved_path, ret, size, &pos);
}

/* The query exactly as received, except that bytes no URL may hold are encoded. */
static int proxy_append_query(const char *query, char *buf, size_t size, size_t *pos)
{
        if (!query[0])
                return 0;
        if (*pos + 1 >= size)
                return -ENAMETOOLONG;
        buf[(*pos)++] = '?';
        return proxy_encode(query, proxy_query_char, buf, size, pos);
}

/* ---- the exchange's life: handler → loop → reply ------------------------------------------------ */

static void proxy_exchange_done(proxy_loop_transfer *t, CURLcode rc, bool aborted);

/* A new exchange with url for req (NULL: the readiness check). NULL without memory. */
static proxy_exchange *proxy_exchange_new(proxy *p, http_request *req, const char *url)
{
        proxy_exchange *ex = calloc(1, sizeof(*ex));

        if (!ex)
                return NULL;
        ex->url = strdup(url);
        if (!ex->url) {
                free(ex);
                return NULL;
        }
        ex->proxy = p;
        ex->req = req;
        ex->connection = req ? http_request_header(req, "Connection") : NULL;
        ex->body.buf.max = PROXY_RESPONSE_MAX_BYTES;
        ex->xfer.done = proxy_exchange_done;
        ex->xfer.userdata = ex;
        return ex;
}

/* Every per-exchange libcurl option is set here and nowhere else (the backend's TLS options too):
 * easy handles are reused, and proxy_loop_easy() resets them to libcurl's defaults first. */
static void proxy_easy_setup(proxy *p, CURL *c, proxy_exchange *ex, const char *method, const char *body,
                             size_t body_len, unsigned timeout_ms)
{
        curl_easy_setopt(c, CURLOPT_URL, ex->url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, PROXY_RECV_BUFFER_BYTES);
        /* Counted from the hand-over to the loop, a wait for a free connection included. */
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(p->config.connect_timeout_ms < timeout_ms ? p->config.connect_timeout_ms
                                                                          : timeout_ms));
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, proxy_on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, ex);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, otel_http_body_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex->body);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, ex->send);
        proxy_tls_setopt(c, &p->config);
        if (strcmp(method, "GET") == 0) {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        } else if (strcmp(method, "HEAD") == 0) {
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else {
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
                if (body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                    strcmp(method, "PATCH") == 0) {
                        /* Not copied: the request's body lives until the request is resumed, after
                         * the transfer has left the loop. */
                        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
                        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body_len ? body : "");
                }
        }
}

/* On the calling thread: the CLIENT span (a child of this thread's current span), its context injected,
 * and the easy handle set up. ex->oom when something could not be allocated. */
static void proxy_exchange_start(proxy_exchange *ex, const char *method, const char *body, size_t body_len,
                                 unsigned timeout_ms)
{
        proxy *p = ex->proxy;

        otel_http_client_start(&ex->call, &(otel_http_client_opts){
                                                  .tracer = p->tracer,
                                                  .method = method,
                                                  .url = ex->url,
                                                  .server = &p->server,
                                                  .duration = p->duration,
                                          });
        otel_propagation_inject(ex->call.span, NULL, proxy_inject, ex);
        if (p->auth_header)
                proxy_send_line(ex, p->auth_header);
        /* "Name:" removes a header curl would add by itself: a form Content-Type for bodies, a
         * default Accept header, and "Expect: 100-continue" (a round trip of waiting before larger bodies).
         */
        if (!ex->have_content_type)
                proxy_send_line(ex, "Content-Type:");
        if (!ex->have_accept)
                proxy_send_line(ex, "Accept:");
        proxy_send_line(ex, "Expect:");
        if (ex->oom)
                return;
        ex->xfer.easy = ex->loop ? proxy_loop_easy(ex->loop) : curl_easy_init();
        if (!ex->xfer.easy) {
                ex->oom = true;
                return;
        }
        proxy_easy_setup(p, ex->xfer.easy, ex, method, body, body_len, timeout_ms);
}

static void proxy_exchange_end_span(proxy_exchange *ex)
{
        const char *error_type = NULL, *why = NULL;

        if (ex->body.oom)
                ex->oom = true; /* the reply body could not be kept */
        if (ex->aborted) {
                error_type = "aborted";
                why = "the frontend is shutting down";
        } else if (ex->rc == CURLE_OK) {
                /* the status decides */
        } else if (ex->body.too_large) {
                error_type = "response_too_large";
                why = "backend reply too large";
        } else if (ex->oom) {
                error_type = "out_of_memory";
        }
        otel_http_client_end(&ex->call, ex->rc, ex->status, error_type, why);
}

static void proxy_reply_failure(http_request *req, proxy *p, const proxy_exchange *ex)
{
        if (ex->aborted) {
                (void)http_reply_error(req, 503, "the frontend is shutting down");
        } else if (ex->oom) {
                (void)http_reply_error(req, 500, "out of memory");
        } else if (ex->body.too_large) {
                (void)http_reply_error(req, 502, "the backend's reply is larger than %u bytes",
                                       PROXY_RESPONSE_MAX_BYTES);
        } else if (ex->rc == CURLE_OPERATION_TIMEDOUT) {
                (void)http_reply_error(req, 504, "the backend did not answer within %u ms",
                                       p->config.timeout_ms);
        } else {
                (void)http_reply_error(req, 502, "the backend is unavailable: %s",
                                       curl_easy_strerror(ex->rc));
        }
}

/* The backend's reply, or the failure, as the request's reply. */
static void proxy_reply(proxy_exchange *ex)
{
        http_request *req = ex->req;
        const char *ctype = ex->content_type ? ex->content_type : "application/octet-stream";

        if (ex->aborted || ex->rc != CURLE_OK || ex->oom) {
                proxy_reply_failure(req, ex->proxy, ex);
                return;
        }
        for (size_t i = 0; i < ex->n_headers; i++)
                (void)http_reply_header(req, ex->headers[i].name, ex->headers[i].value);
        if (ex->body.buf.data) {
                /* The reply takes over the buffer's malloc'ed bytes. */
                (void)http_reply_take(req, (unsigned)ex->status, ctype, (char *)ex->body.buf.data,
                                      ex->body.buf.len);
                ex->body.buf = (otel_buf){0};
        } else {
                (void)http_reply(req, (unsigned)ex->status, ctype, "", 0);
        }
}

/* The end of an exchange, in the worker's loop or in the handler when it never got there. Ends the
 * CLIENT span, then answers the request and resumes it (ex is freed); the readiness check reads and
 * frees ex itself. */
static void proxy_exchange_finish(proxy_exchange *ex)
{
        proxy *p = ex->proxy;
        http_request *req = ex->req;
        otel_context_token token;

        proxy_exchange_end_span(ex);
        if (!req)
                return;
        /* The reply with the request's span current, as on its own server thread. */
        token = otel_context_attach(http_request_span(req), NULL);
        proxy_reply(ex);
        otel_context_detach(token);
        proxy_exchange_free(ex);
        atomic_fetch_sub(&p->in_flight, 1);
        http_request_resume(req); /* req is the server's again */
}

/* proxy_loop_done_fn: in the worker's loop (or in the submit after an abort). */
static void proxy_exchange_done(proxy_loop_transfer *t, CURLcode rc, bool aborted)
{
        proxy_exchange *ex = t->userdata;

        ex->rc = rc;
        ex->aborted = aborted;
        if (rc == CURLE_OK)
                (void)curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &ex->status);
        proxy_exchange_finish(ex);
}

/* An exchange that could not be set up (no memory) ends where it started. */
static void proxy_exchange_fail(proxy_exchange *ex)
{
        if (ex->loop)
                proxy_loop_easy_release(ex->loop, ex->xfer.easy);
        else
                curl_easy_cleanup(ex->xfer.easy);
        ex->xfer.easy = NULL;
        ex->rc = CURLE_OUT_OF_MEMORY;
        ex->oom = true;
        proxy_exchange_finish(ex);
}

/* http_request_defer()'s start: the request is suspended now, so the loop may answer at any time. */
static void proxy_exchange_submit(void *arg)
{
        proxy_exchange *ex = arg;

        proxy_loop_submit(ex->loop, &ex->xfer);
}

/* Admits one more exchange unless max_in_flight are running. */
static bool proxy_admit(proxy *p)
{
        if (atomic_fetch_add(&p->in_flight, 1) < p->config.max_in_flight)
                return true;
        atomic_fetch_sub(&p->in_flight, 1);
        return false;
}

void proxy_handle(http_request *req, void *userdata)
{
        proxy *p = userdata;
        proxy_loop *loop = http_worker_state(); /* this worker's (proxy_worker_hooks) */
        const char *method = http_request_method(req), *body;
        char target[PROXY_TARGET_MAX];
        proxy_exchange *ex;
        size_t pos, body_len;

        if (!loop) {
                (void)http_reply_error(req, 500, "no backend loop on this thread");
                return;
        }

        /* With a client token every write needs it; GET and HEAD stay open to the shop's browsers. */
        if (p->client_token && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
            http_auth_require(req, p->client_token, PROXY_CLIENT_REALM) < 0)
                return;
        pos = strlen(p->config.backend_url);
        memcpy(target, p->config.backend_url, pos);
        if (proxy_encode_path(http_request_path(req), target + pos, sizeof(target) - pos) < 0) {
                (void)http_reply_error(req, 414, "request target too long");
                return;
        }
        pos += strlen(target + pos);
        if (proxy_append_query(http_request_query_string(req), target, sizeof(target), &pos) < 0) {
                (void)http_reply_error(req, 414, "request target too long");
                return;
        }
        /* Beyond the cap, at once: a queue that only grows helps nobody, and memory stays bounded. */
        if (!proxy_admit(p)) {
                (void)http_reply_header(req, "Retry-After", PROXY_RETRY_AFTER_S);
                (void)http_reply_error(req, 503,
                                       "%u backend requests in flight, the most allowed; try again",
                                       p->config.max_in_flight);
                return;
        }
        ex = proxy_exchange_new(p, req, target);
        if (!ex) {
                atomic_fetch_sub(&p->in_flight, 1);
                (void)http_reply_error(req, 500, "out of memory");
                return;
        }
        ex->loop = loop;
        http_request_foreach_header(req, proxy_forward_header, ex);
        body = http_request_body(req, &body_len);
        proxy_exchange_start(ex, method, body, body_len, p->config.timeout_ms);
        if (ex->oom) {
                proxy_exchange_fail(ex); /* replies 500 here: the request was not deferred */
                return;
        }
        http_request_defer(req, proxy_exchange_submit, ex);
}

/* The one blocking exchange: http_ready_fn is synchronous, so /readyz asks the backend with
 * curl_easy_perform() on its server thread (at most PROXY_READY_TIMEOUT_MS), over a connection of its
 * own. A probe's new connection goes to a worker that is not inside a handler (http-accept.c). */
int proxy_ready(void *userdata, char *ret_reason, size_t reason_size)
{
        proxy *p = userdata;
        char url[PROXY_URL_MAX + sizeof("/readyz")];
        unsigned timeout = p->config.timeout_ms < PROXY_READY_TIMEOUT_MS ? p->config.timeout_ms
                                                                         : PROXY_READY_TIMEOUT_MS;
        proxy_exchange *ex;
        int r = 0;

        snprintf(url, sizeof(url), "%s/readyz", p->config.backend_url);
        ex = proxy_exchange_new(p, NULL, url);
        if (!ex) {
                snprintf(ret_reason, reason_size, "out of memory");
                return -ENOMEM;
        }
        proxy_exchange_start(ex, "GET", NULL, 0, timeout);
        if (ex->oom) {
                proxy_exchange_fail(ex);
        } else {
                CURLcode rc = curl_easy_perform(ex->xfer.easy);

                proxy_exchange_done(&ex->xfer, rc, false);
                curl_easy_cleanup(ex->xfer.easy);
                ex->xfer.easy = NULL;
        }

        if (ex->aborted) {
                snprintf(ret_reason, reason_size, "shutting down");
                r = -ESHUTDOWN;
        } else if (ex->rc != CURLE_OK || ex->oom) {
                snprintf(ret_reason, reason_size, "backend: %s",
                         ex->oom ? "out of memory" : curl_easy_strerror(ex->rc));
                r = ex->rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
        } else if (ex->status != 200) {
                snprintf(ret_reason, reason_size, "backend /readyz answered %ld", ex->status);
                r = -EHOSTUNREACH;
        }
        proxy_exchange_free(ex);
        return r;
}
