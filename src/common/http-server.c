/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmicrohttpd glue: listening socket (bound here or passed by systemd), the access handler that
 * collects the body, routes and runs the handler with the request's span current, and the completion
 * callback that ends the span and records the http.server.* metrics (semantic conventions, HTTP
 * server spans and metrics, stable).
 */
#include "http-private.h"

#include "access-log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otel-http.h"

/* Connections the kernel queues before the acceptor takes them: a burst bigger than this (a flood opening
 * thousands at once) drops SYNs, and every client, health probes too, then waits for the 1 s SYN
 * retransmit. The kernel caps it at net.core.somaxconn (4096 by default). */
#define HTTP_LISTEN_BACKLOG 4096
#define HTTP_DRAIN_POLL_NS  (10 * 1000 * 1000L)
/* Limits and their defaults: a connection costs an fd, ~1 KiB of kernel and a libmicrohttpd pool
 * touched only as far as the request needs, so thousands are cheap; what must not be cheap is holding
 * one without sending a request (the head and body deadlines) or taking all of them from one address. */
#define HTTP_DEFAULT_MAX_CONNS      8192u
#define HTTP_DEFAULT_PER_CLIENT     256u
#define HTTP_DEFAULT_HEALTH_CONNS   32u
#define HTTP_DEFAULT_HEAD_TIMEOUT_S 10u
#define HTTP_DEFAULT_BODY_TIMEOUT_S 30u
#define HTTP_DEFAULT_TIMEOUT_S      30u
#define HTTP_DEFAULT_BODY           (1024u * 1024u)
#define HTTP_DEFAULT_HEADERS        (16u * 1024u) /* Node.js's default; nginx allows 4 x 8 KiB */
#define HTTP_DEFAULT_DRAIN_MS       10000u
#define HTTP_DRAIN_MAX_MS           600000u
#define HTTP_BODY_INITIAL           4096u
/* A refused request (413, 431) whose body is on its way is read and dropped up to this many bytes
 * before the reply, as production servers linger: closing on a client that is still sending makes
 * its next write fail (EPIPE, RST) and it never reads the answer. Past this, the reply goes at once
 * and the connection closes: the drain stays bounded. */
#define HTTP_DRAIN_MAX_BYTES (8u * 1024u * 1024u)
/* libmicrohttpd answers requests whose headers overflow its per-connection pool with an HTML page of
 * its own; a pool this many times max_header_bytes leaves room to see the overflow first and answer
 * with the JSON 431 (only headers over about this factor still meet libmicrohttpd's page). The pool
 * is also libmicrohttpd 0.9.75's cost per request: it zeroes the whole pool when a keep-alive
 * connection starts its next request (callgrind: ~1.5 instructions per byte, 200k of a GET's 300k
 * with a 128 KiB pool), so the factor is the smallest that still answers the JSON 431. A pool of
 * 32 KiB or less comes from malloc(), and after a flood of connections glibc keeps the freed pools
 * (tests/faults/test_floods.py: RSS 12 → 87 MB); a larger one is mmap()ed and goes back to the
 * kernel when its connection closes, hence the page over that threshold. */
#define HTTP_HEADER_POOL_FACTOR 2u
#define HTTP_POOL_MMAP_MIN      (32u * 1024u + 4096u)

/* ---- configuration -------------------------------------------------------------------------------- */

int http_listen_split(const char *listen, char *ret_host, size_t host_size, char *ret_port, size_t port_size)
{
        const char *colon, *host = listen;
        size_t hlen;
        char *end;
        long port;

        if (listen[0] == '[') {
                const char *close = strchr(listen, ']');

                if (!close || close[1] != ':')
                        return -EINVAL;
                host = listen + 1;
                hlen = (size_t)(close - host);
                colon = close + 1;
        } else {
                colon = strrchr(listen, ':');
                if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
                        return -EINVAL; /* IPv6 needs brackets */
                hlen = (size_t)(colon - listen);
        }
        if (hlen == 0 || hlen >= host_size)
                return -EINVAL;
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || errno || port < 0 || port > 65535 ||
            strlen(colon + 1) >= port_size)
                return -EINVAL;
        memcpy(ret_host, host, hlen);
        ret_host[hlen] = '\0';
        memcpy(ret_port, colon + 1, strlen(colon + 1) + 1);
        return 0;
}

unsigned http_server_default_threads(unsigned threads_per_cpu)
{
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned long n = (unsigned long)(cpus > 0 ? cpus : 1) * threads_per_cpu;

        return n < 1 ? 1 : n > HTTP_THREADS_MAX ? HTTP_THREADS_MAX : (unsigned)n;
}

int http_server_config_load(config_file *cfg, const char *default_listen, unsigned default_threads,
                            http_server_config *ret)
{
        http_server_config c = {0};
        const char *listen;
        char host[HTTP_LISTEN_MAX], port[8];
        unsigned body, headers;
        int r;

        r = config_get_string(cfg, "server", "listen", default_listen, &listen);
        if (r < 0)
                return r;
        if (strlen(listen) >= sizeof(c.listen) ||
            http_listen_split(listen, host, sizeof(host), port, sizeof(port)) < 0)
                return config_reject(cfg, "server", "listen", "expected host:port or [ipv6]:port, got '%s'",
                                     listen);
        memcpy(c.listen, listen, strlen(listen) + 1);

        const config_uint_key uints[] = {
                {"threads", default_threads, 1, HTTP_THREADS_MAX, &c.threads},
                {"max_connections", HTTP_DEFAULT_MAX_CONNS, 1, HTTP_CONNECTIONS_MAX, &c.max_connections},
                {"max_connections_per_client", HTTP_DEFAULT_PER_CLIENT, 1, HTTP_CONNECTIONS_MAX,
                 &c.max_connections_per_client},
                {"health_connections", HTTP_DEFAULT_HEALTH_CONNS, 0, HTTP_HEALTH_CONNS_MAX,
                 &c.health_connections},
                {"request_head_timeout_s", HTTP_DEFAULT_HEAD_TIMEOUT_S, 1, HTTP_TIMEOUT_MAX_S,
                 &c.request_head_timeout_s},
                {"request_body_timeout_s", HTTP_DEFAULT_BODY_TIMEOUT_S, 1, HTTP_TIMEOUT_MAX_S,
                 &c.request_body_timeout_s},
                {"connection_timeout_s", HTTP_DEFAULT_TIMEOUT_S, 1, HTTP_TIMEOUT_MAX_S,
                 &c.connection_timeout_s},
                {"max_body_bytes", HTTP_DEFAULT_BODY, 1, HTTP_BODY_MAX_BYTES, &body},
                {"max_header_bytes", HTTP_DEFAULT_HEADERS, HTTP_HEADER_MIN_BYTES, HTTP_HEADER_MAX_BYTES,
                 &headers},
                {"drain_timeout_ms", HTTP_DEFAULT_DRAIN_MS, 0, HTTP_DRAIN_MAX_MS, &c.drain_timeout_ms},
        };

        if ((r = config_get_uints(cfg, "server", uints, sizeof(uints) / sizeof(uints[0]))) < 0 ||
            (r = access_log_config_load(cfg, &c.access_log)) < 0 ||
            (r = http_tls_config_load(cfg, &c.tls)) < 0)
                return r;
        c.max_body_bytes = body;
        c.max_header_bytes = headers;
        *ret = c;
        return 0;
}

/* ---- listening socket ----------------------------------------------------------------------------- */

static int http_bind(const char *listen_addr, int *ret_fd)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        char host[HTTP_LISTEN_MAX], port[8];
        int fd, r, one = 1;

        if (http_listen_split(listen_addr, host, sizeof(host), port, sizeof(port)) < 0)
                return -EINVAL;
        r = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res);
        if (r != 0)
                return r == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        /* Restarts must not wait for TIME_WAIT connections of the previous instance. */
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6)
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
                r = -errno;
                close(fd);
                goto out;
        }
        *ret_fd = fd;
        r = 0;
out:
        freeaddrinfo(res);
        return r;
}

/* Fills s->address/host/port from the socket, so that logs and span attributes show what is bound. */
static void http_describe_socket(http_server *s)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char host[INET6_ADDRSTRLEN] = "";

        if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &len) < 0)
                return;
        if (ss.ss_family == AF_INET) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

                inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
                s->port = ntohs(sin->sin_port);
                snprintf(s->address, sizeof(s->address), "%s:%d", host, s->port);
        } else if (ss.ss_family == AF_INET6) {
                const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

                inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
                s->port = ntohs(sin6->sin6_port);
                snprintf(s->address, sizeof(s->address), "[%s]:%d", host, s->port);
        } else {
                snprintf(s->address, sizeof(s->address), "fd:%d", s->listen_fd);
        }
        snprintf(s->host, sizeof(s->host), "%s", host);
}

/* ---- instrumentation ------------------------------------------------------------------------------ */

typedef struct http_header_cursor {
        const char *name; /* header looked for */
        size_t idx;       /* which occurrence */
        size_t seen;      /* occurrences so far */
        const char *value;
} http_header_cursor;

static enum MHD_Result http_header_nth(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
        http_header_cursor *c = cls;

        (void)kind;
        if (!key || strcasecmp(key, c->name) != 0)
                return MHD_YES;
        if (c->seen++ == c->idx) {
                c->value = value ? value : "";
                return MHD_NO;
        }
        return MHD_YES;
}

/* otel_carrier_get_fn over the request headers: every line of a repeated header is visible. */
static const char *http_carrier_get(void *carrier, const char *name, size_t idx)
{
        http_header_cursor c = {.name = name, .idx = idx};

        MHD_get_connection_values(carrier, MHD_HEADER_KIND, http_header_nth, &c);
        return c.value;
}

void http_sockaddr_text(const struct sockaddr *sa, char *buf, size_t size)
{
        buf[0] = '\0';
        if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                          (socklen_t)size);
        else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                          (socklen_t)size);
}

void http_client_address(struct MHD_Connection *conn, char *buf, size_t size)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

        buf[0] = '\0';
        if (ci && ci->client_addr)
                http_sockaddr_text(ci->client_addr, buf, size);
}

/* server.address / server.port from the Host header (what the client asked for), else the socket. */
static void http_server_host(const http_request *req, char *host, size_t size, int64_t *port)
{
        const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        char p[8];

        *port = req->server->port;
        snprintf(host, size, "%s", req->server->host);
        if (!h || !*h)
                return;
        if (http_listen_split(h, host, size, p, sizeof(p)) == 0) {
                char *end;
                long v = strtol(p, &end, 10);

                *port = *end || v <= 0 || v > 65535 ? req->server->port : v;
        } else if (strlen(h) < size && !strchr(h, ':')) {
                memcpy(host, h, strlen(h) + 1);
                *port = req->server->tls ? 443 : 80; /* the scheme's default port */
        } else {
                snprintf(host, size, "%s", req->server->host);
        }
}

static void http_span_start(http_request *req)
{
        http_server *s = req->server;
        otel_span *parent = NULL;
        char host[HTTP_LISTEN_MAX], client[INET6_ADDRSTRLEN],
                name[HTTP_METHOD_MAX + HTTP_ROUTER_MAX_PATH + 2];
        const char *method = otel_http_method_semconv(req->method);
        const char *ua = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
        const char *proto =
                req->version && strncmp(req->version, "HTTP/", 5) == 0 ? req->version + 5 : "1.1";
        otel_attr attrs[12];
        size_t n = 0;
        int64_t port;

        otel_propagation_extract(http_carrier_get, req->conn, &parent, &req->baggage);
        http_server_host(req, host, sizeof(host), &port);
        http_client_address(req->conn, client, sizeof(client));

        attrs[n++] = OTEL_ATTR_STR("http.request.method", method);
        if (strcmp(method, "_OTHER") == 0)
                attrs[n++] = OTEL_ATTR_STR("http.request.method_original", req->method);
        attrs[n++] = OTEL_ATTR_STR("url.path", req->url);
        attrs[n++] = OTEL_ATTR_STR("url.scheme", http_tls_scheme(s->tls));
        attrs[n++] = OTEL_ATTR_STR("server.address", host);
        attrs[n++] = OTEL_ATTR_I64("server.port", port);
        attrs[n++] = OTEL_ATTR_STR("network.protocol.version", proto);
        if (client[0])
                attrs[n++] = OTEL_ATTR_STR("client.address", client);
        if (ua)
                attrs[n++] = OTEL_ATTR_STR("user_agent.original", ua);
        /* The span name is "{method} {http.route}", or just the method when no route matched. */
        if (req->route_result == 0) {
                attrs[n++] = OTEL_ATTR_STR("http.route", req->match.pattern);
                snprintf(name, sizeof(name), "%s %s", method, req->match.pattern);
        } else {
                snprintf(name, sizeof(name), "%s", method);
        }

        req->span = otel_span_start(
                s->tracer, name, OTEL_SPAN_KIND_SERVER,
                &(otel_span_start_opts){.parent = parent, .root = !parent, .attrs = attrs, .n_attrs = n});
        otel_span_unref(parent);
}

/* Ends the span and records the metrics once the response has gone out (or the client went away). */
static void http_request_finish(http_request *req, enum MHD_RequestTerminationCode toe)
{
        http_server *s = req->server;
        const char *method = otel_http_method_semconv(req->method);
        const char *proto =
                req->version && strncmp(req->version, "HTTP/", 5) == 0 ? req->version + 5 : "1.1";
        double seconds = (double)(otel_mono_ns() - req->start_mono_ns) / 1e9;
        char status_text[8];
        const char *error_type = NULL;
        otel_attr attrs[7];
        size_t n = 0;

        snprintf(status_text, sizeof(status_text), "%u", req->status);
        if (!req->replied)
                error_type = toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout" : "aborted";
        else if (req->status >= 500)
                error_type = status_text;

        if (req->replied)
                otel_span_set_int(req->span, "http.response.status_code", req->status);
        if (error_type) {
                otel_span_set_str(req->span, "error.type", error_type);
                otel_span_set_status(req->span, OTEL_STATUS_ERROR, NULL);
        }
        otel_span_end(req->span);
        req->span = NULL;

        attrs[n++] = OTEL_ATTR_STR("http.request.method", method);
        attrs[n++] = OTEL_ATTR_STR("url.scheme", http_tls_scheme(s->tls));
        attrs[n++] = OTEL_ATTR_STR("network.protocol.version", proto);
        if (req->route_result == 0)
                attrs[n++] = OTEL_ATTR_STR("http.route", req->match.pattern);
        if (req->replied)
                attrs[n++] = OTEL_ATTR_I64("http.response.status_code", req->status);
        if (error_type)
                attrs[n++] = OTEL_ATTR_STR("error.type", error_type);
        otel_instrument_record(s->metrics.duration, seconds, attrs, n);
        otel_instrument_add(s->metrics.active_requests, -1, attrs, 2);
}

/* ---- libmicrohttpd callbacks ---------------------------------------------------------------------- */

static enum MHD_Result http_queue(http_request *req)
{
        struct MHD_Response *resp;
        const otel_span_context *sc = otel_span_get_context(req->span);
        char traceresponse[OTEL_TRACEPARENT_LEN + 1];
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(req->reply_len, req->reply_body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return MHD_NO;
        req->reply_body = NULL; /* libmicrohttpd frees it with the response */

        /* W3C Trace Context Level 2: the traceresponse header names the server's span. */
        otel_traceparent_format(sc, traceresponse);
        MHD_add_response_header(resp, "traceresponse", traceresponse);
        if (req->reply_content_type)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->reply_content_type);
        else if (req->reply_len > 0 || !req->replied)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        for (size_t i = 0; i < req->n_headers; i++)
                MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
        if (req->reserve) /* a reserve slot serves one probe and is free again */
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        ret = MHD_queue_response(req->conn, req->status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static void http_dispatch(http_request *req)
{
        otel_context_token token = otel_context_attach(req->span, req->baggage);
        http_conn *c = http_conn_of(req->conn);

        if (c)
                (void)http_conn_move(c, HTTP_CONN_BODY, HTTP_CONN_BUSY);
        if (req->framing_status) {
                /* The connection's framing is in doubt: what follows is not read (RFC 9112 §6.3). */
                http_reply_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
                http_reply_error(req, req->framing_status, "%s", req->framing_why);
        } else if (req->headers_too_large) {
                http_limit_hit(req->server, "max_header_bytes");
                http_reply_error(req, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                                 "request headers larger than %zu bytes",
                                 req->server->config.max_header_bytes);
        } else if (req->body_too_large) {
                http_limit_hit(req->server, "max_body_bytes");
                http_reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "request body larger than %zu bytes",
                                 req->server->config.max_body_bytes);
        } else if (req->route_result == -EBUSY) {
                http_limit_hit(req->server, "max_connections");
                http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, "1");
                http_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                                 "server at its connection limit (%u); only /healthz and /readyz answered",
                                 req->server->acceptor.max_connections);
        } else if (req->route_result == -EILSEQ)
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "request path contains a control character");
        else if (req->route_result == -ENOENT)
                http_reply_error(req, MHD_HTTP_NOT_FOUND, "no such resource: %s", req->url);
        else if (req->route_result == -EOPNOTSUPP) {
                http_reply_header(req, MHD_HTTP_HEADER_ALLOW, req->allow);
                http_reply_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed here",
                                 req->method);
        } else {
                /* While the handler runs, this worker's thread serves nothing else: new connections
                 * go to another (http_pick_worker). */
                if (c)
                        atomic_store(&req->server->workers[c->worker].in_handler, true);
                req->match.handler(req, req->match.userdata);
                if (c)
                        atomic_store(&req->server->workers[c->worker].in_handler, false);
                if (!req->replied && !req->defer_start) {
                        otel_log(OTEL_SEVERITY_ERROR, "handler of %s %s made no reply", req->method,
                                 req->match.pattern);
                        http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
                }
        }
        otel_context_detach(token);
}

/* libmicrohttpd's URI log callback runs first for each request and is the only place that sees the
 * raw request target (with the query string, for proxying): the request state starts here. */
static void *http_request_alloc(void *cls, const char *uri, struct MHD_Connection *conn)
{
        http_request *req = calloc(1, sizeof(*req));
        http_conn *c = http_conn_of(conn);

        (void)cls;
        if (c && atomic_load(&c->phase) == HTTP_CONN_IDLE) {
                /* The next request on a kept-alive connection: its head has a deadline of its own. */
                atomic_store(&c->since_ns, otel_mono_ns());
                (void)http_conn_move(c, HTTP_CONN_IDLE, HTTP_CONN_HEAD);
        }
        if (!req)
                return NULL;
        req->raw_uri = strdup(uri ? uri : "");
        if (!req->raw_uri) {
                free(req);
                return NULL;
        }
        return req;
}

/* The first access call for a request: state, routing, span. */
static http_request *http_request_begin(http_server *s, http_request *req, struct MHD_Connection *conn,
                                        const char *url, const char *method, const char *version,
                                        const http_conn *c)
{
        otel_attr attrs[2];

        if (!req) {
                req = calloc(1, sizeof(*req));
                if (!req)
                        return NULL;
        }
        req->begun = true;
        req->server = s;
        req->worker = http_worker_self();
        req->reserve = c && c->worker == s->n_workers;
        req->conn = conn;
        req->url = url;
        req->version = version;
        req->start_mono_ns = otel_mono_ns();
        snprintf(req->method, sizeof(req->method), "%s", method);
        req->framing_status =
                http_framing_check(conn, method, req->raw_uri, url, version, &req->framing_why);
        /* The raw target, because the decoded url ends at a "%00". */
        if (http_path_check(req->raw_uri ? req->raw_uri : url, NULL) < 0)
                req->route_result = -EILSEQ;
        else
                req->route_result = http_router_lookup(s->router, req->method, url, &req->match, req->allow);
        if (req->reserve && req->route_result != -EILSEQ &&
            !(req->route_result == 0 &&
              (strcmp(req->match.pattern, "/healthz") == 0 || strcmp(req->match.pattern, "/readyz") == 0)))
                req->route_result = -EBUSY;
        atomic_fetch_add(&s->in_flight, 1);
        http_span_start(req);

        attrs[0] = OTEL_ATTR_STR("http.request.method", otel_http_method_semconv(req->method));
        attrs[1] = OTEL_ATTR_STR("url.scheme", http_tls_scheme(s->tls));
        otel_instrument_add(s->metrics.active_requests, 1, attrs, 2);
        return req;
}

static int http_body_append(http_request *req, const char *data, size_t len)
{
        size_t max = req->server->config.max_body_bytes;

        if (req->headers_too_large || req->body_too_large || req->body_len + len > max) {
                req->body_too_large = true; /* the rest is read and dropped; the reply is 413 */
                req->body_dropped += len;
                return 0;
        }
        if (req->body_len + len + 1 > req->body_cap) {
                size_t ncap = req->body_cap ? req->body_cap : HTTP_BODY_INITIAL;
                char *p;

                while (ncap < req->body_len + len + 1)
                        ncap *= 2;
                if (ncap > max + 1)
                        ncap = max + 1;
                p = realloc(req->body, ncap);
                if (!p)
                        return -ENOMEM;
                req->body = p;
                req->body_cap = ncap;
        }
        memcpy(req->body + req->body_len, data, len);
        req->body_len += len;
        req->body[req->body_len] = '\0';
        return 0;
}

static enum MHD_Result http_header_size_add(void *cls, enum MHD_ValueKind kind, const char *key,
                                            const char *value)
{
        size_t *total = cls;

        (void)kind;
        *total += strlen(key ? key : "") + strlen(value ? value : "") + 4; /* ": " and CRLF */
        return MHD_YES;
}

/* Request line and header fields as they came on the wire (less folding and extra whitespace). */
static size_t http_header_size(http_request *req)
{
        size_t total = strlen(req->method) + strlen(req->raw_uri ? req->raw_uri : "") +
                       strlen(req->version ? req->version : "") + 4;

        (void)MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_header_size_add, &total);
        return total;
}

static bool http_expects_continue(struct MHD_Connection *conn)
{
        const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

        return expect && strcasecmp(expect, "100-continue") == 0;
}

/* The first access call: refuses oversized headers (431) and a declared oversized body (413). The
 * refusal is answered at once when no body will come (none declared, or the client waits for
 * "100 Continue" and will now send none) or when the declared body is over the drain bound; otherwise
 * the body is read and dropped first and the reply follows it. Returns true to answer now. */
static bool http_refuse_early(http_server *s, http_request *req)
{
        const char *cl =
                MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *te =
                MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        unsigned long long declared = 0;
        bool bad_length = false;

        if (req->framing_status)
                return true; /* answered at once; libmicrohttpd closes when a body was announced */
        if (cl) {
                char *end;

                errno = 0;
                declared = strtoull(cl, &end, 10);
                bad_length = errno != 0 || end == cl || *end;
        }
        if (http_header_size(req) > s->config.max_header_bytes)
                req->headers_too_large = true;
        else if (bad_length || declared > s->config.max_body_bytes)
                req->body_too_large = true;
        else
                return false;
        if (bad_length || declared > HTTP_DRAIN_MAX_BYTES || http_expects_continue(req->conn))
                return true;
        return declared == 0 && !te; /* nothing to drain */
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
        http_server *s = cls;
        http_request *req = *con_cls;

        if (!req || !req->begun) {
                http_conn *c = http_conn_of(conn);

                if (c) {
                        /* The head is complete: its deadline ends, the body's starts; unless the sweep
                         * has already cut the connection. */
                        atomic_store(&c->since_ns, otel_mono_ns());
                        if (!http_conn_move(c, HTTP_CONN_HEAD, HTTP_CONN_BODY) &&
                            !http_conn_move(c, HTTP_CONN_IDLE, HTTP_CONN_BODY))
                                return MHD_NO;
                }
                req = http_request_begin(s, req, conn, url, method, version, c);
                if (!req)
                        return MHD_NO;
                *con_cls = req;
                if (http_refuse_early(s, req)) {
                        http_dispatch(req);
                        return http_queue(req);
                }
                return MHD_YES;
        }
        if (req->resumed) {
                req->resumed = false;
                return http_queue(req);
        }
        if (req->replied || req->suspended) {
                *upload_data_size = 0; /* early reply (413): drop the rest */
                /* A body dropped after an early reply still has its deadline (the sweep leaves
                 * connections that have a reply alone): past it, the connection closes. */
                if (req->replied && otel_mono_ns() - req->start_mono_ns >
                                            (uint64_t)s->config.request_body_timeout_s * 1000000000u) {
                        http_limit_hit(s, "request_body_timeout_s");
                        return MHD_NO;
                }
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                if (http_body_append(req, upload_data, *upload_data_size) < 0)
                        return MHD_NO;
                *upload_data_size = 0;
                /* A chunked body that keeps coming past the drain bound: answer now, then close. */
                if (req->body_dropped > HTTP_DRAIN_MAX_BYTES) {
                        http_dispatch(req);
                        return http_queue(req);
                }
                return MHD_YES;
        }
        http_dispatch(req);
        if (req->defer_start && !req->replied) {
                /* Suspended before the work is handed on, so that the resume always comes after. */
                req->suspended = true;
                MHD_suspend_connection(conn);
                req->defer_start(req->defer_arg);
                return MHD_YES;
        }
        return http_queue(req);
}

void http_request_defer(http_request *req, void (*start)(void *arg), void *arg)
{
        req->defer_start = start;
        req->defer_arg = arg;
}

void http_request_resume(http_request *req)
{
        http_worker *w = req->worker; /* req may be gone once resumed */

        if (!req->defer_start)
                return; /* answered before it was deferred: the dispatcher queues the reply */
        if (!req->replied)
                http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
        req->suspended = false;
        req->resumed = true;
        MHD_resume_connection(req->conn);
        /* libmicrohttpd without its own thread has no channel to wake ours; on the worker's own
         * thread the loop runs libmicrohttpd before it waits again. */
        if (w && w != http_worker_self())
                http_worker_wake(w);
        else if (w)
                w->resumed = true;
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
        http_server *s = cls;
        http_request *req = *con_cls;
        http_conn *c;

        if (!req)
                return;
        *con_cls = NULL;
        if (!req->begun) {
                /* The connection failed before the request line was complete. */
                http_request_clear(req);
                free(req);
                return;
        }
        if ((c = http_conn_of(conn))) {
                /* Kept alive: the idle timeout runs until the next request line. */
                atomic_store(&c->since_ns, otel_mono_ns());
                if (!http_conn_move(c, HTTP_CONN_BUSY, HTTP_CONN_IDLE))
                        (void)http_conn_move(c, HTTP_CONN_BODY, HTTP_CONN_IDLE);
        }
        access_log_http_completed(req, (int)toe);
        http_request_finish(req, toe);
        otel_baggage_unref(req->baggage);
        http_request_clear(req);
        free(req);
        atomic_fetch_add(&s->completed, 1);
        atomic_fetch_sub(&s->in_flight, 1);
}

__attribute__((format(printf, 2, 0))) static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
        char msg[512];

        (void)cls;
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        msg[strcspn(msg, "\n")] = '\0';
        if (access_log_mhd_message(msg))
                return;
        otel_log(OTEL_SEVERITY_DEBUG, "libmicrohttpd: %s", msg);
}

/* ---- lifecycle ------------------------------------------------------------------------------------ */

int http_server_new(const http_server_options *opts, http_server **ret)
{
        char why[HTTP_TLS_ERROR_MAX] = "";
        http_server *s;
        otel_meter *meter;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->config = *opts->config;
        s->listen_fd = opts->listen_fd;
        http_accept_init(s);
        s->ready = opts->ready;
        s->ready_userdata = opts->ready_userdata;
        s->worker_hooks = opts->worker_hooks;
        s->worker_userdata = opts->worker_userdata;
        atomic_init(&s->in_flight, 0);
        atomic_init(&s->completed, 0);
        r = http_tls_new(&s->config.tls, &s->tls, why, sizeof(why));
        if (r < 0) {
                otel_log(OTEL_SEVERITY_ERROR, "Cannot set up TLS: %s", why[0] ? why : strerror(-r));
                goto fail;
        }
        r = http_router_new(&s->router);
        if (r < 0)
                goto fail;
        r = http_builtin_register(s);
        if (r < 0)
                goto fail;

        s->tracer = otel_tracer_get(opts->scope_name, opts->scope_version);
        meter = otel_meter_get(opts->scope_name, opts->scope_version);
        s->metrics.duration = otel_instrument_new(
                meter, OTEL_INSTRUMENT_HISTOGRAM, "http.server.request.duration",
                &(otel_instrument_opts){.unit = "s",
                                        .description = "Duration of HTTP server requests.",
                                        .bounds = otel_http_duration_bounds,
                                        .n_bounds = otel_http_duration_bounds_len});
        s->metrics.active_requests = otel_instrument_new(
                meter, OTEL_INSTRUMENT_UP_DOWN_COUNTER, "http.server.active_requests",
                &(otel_instrument_opts){.unit = "{request}",
                                        .description = "Number of active HTTP server requests.",
                                        .integer = true});
        s->metrics.limit_hits = otel_instrument_new(
                meter, OTEL_INSTRUMENT_COUNTER, "oteldemo.http.limit_hits",
                &(otel_instrument_opts){.unit = "{event}",
                                        .description = "Connections or requests turned away or cut by a "
                                                       "[server] limit (reason: the key).",
                                        .integer = true});
        s->metrics.worker_conns = otel_instrument_new(
                meter, OTEL_INSTRUMENT_COUNTER, "oteldemo.http.worker.connections",
                &(otel_instrument_opts){.unit = "{connection}",
                                        .description = "Connections handed to each server worker.",
                                        .integer = true});
        *ret = s;
        return 0;
fail:
        http_server_free(s);
        return r;
}

int http_server_route(http_server *s, const char *method, const char *pattern, http_handler_fn handler,
                      void *userdata)
{
        return http_router_add(s->router, method, pattern, handler, userdata);
}

/* libmicrohttpd's per-connection pool: see HTTP_HEADER_POOL_FACTOR. */
static size_t http_pool_bytes(const http_server_config *c)
{
        size_t bytes = c->max_header_bytes * HTTP_HEADER_POOL_FACTOR;

        return bytes < HTTP_POOL_MMAP_MIN ? HTTP_POOL_MMAP_MIN : bytes;
}

/* Starts one worker's daemon: libmicrohttpd without a listening socket (the acceptor hands it
 * connections) and without a thread (http-worker.c runs it). Every option of the server is here, plus extra
 * flags and an extra option array (TLS: http-tls.c; an empty array without TLS). */
static struct MHD_Daemon *http_daemon_start(http_server *s, unsigned timeout_s, unsigned extra_flags,
                                            const struct MHD_OptionItem *extra_options)
{
        return MHD_start_daemon(
                MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                        MHD_USE_ERROR_LOG | extra_flags,
                0, NULL, NULL, http_access, s,
                /* The acceptor enforces the limits; libmicrohttpd's own would only refuse silently. */
                MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX + HTTP_HEALTH_CONNS_MAX,
                MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                http_pool_bytes(&s->config), MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
                MHD_OPTION_NOTIFY_CONNECTION, http_accept_notify, s, MHD_OPTION_URI_LOG_CALLBACK,
                http_request_alloc, s, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL, MHD_OPTION_ARRAY,
                extra_options, MHD_OPTION_END);
}

int http_server_start(http_server *s)
{
        /* libmicrohttpd's inactivity timeout is the backstop for what the acceptor's sweep does not
         * watch (a client that stops reading its reply); one second later, so that the sweep, which
         * answers and counts, cuts idle connections first. */
        unsigned timeout_s = s->config.connection_timeout_s + 1;
        /* What the listener needs beyond plain HTTP (TLS). */
        unsigned flags = http_tls_mhd_flags(s->tls);
        const struct MHD_OptionItem *options = http_tls_mhd_options(s->tls);
        int r;

        if (s->listen_fd < 0) {
                r = http_bind(s->config.listen, &s->listen_fd);
                if (r < 0)
                        return r;
        }
        http_describe_socket(s);

        s->n_workers = s->config.threads;
        s->workers = calloc(s->n_workers + 1, sizeof(*s->workers));
        if (!s->workers)
                return -ENOMEM;
        for (unsigned i = 0; i <= s->n_workers; i++)
                http_worker_init(s, &s->workers[i]);
        for (unsigned i = 0; i <= s->n_workers; i++) {
                http_worker *w = &s->workers[i];

                if (i == s->n_workers)
                        snprintf(w->name, sizeof(w->name), "health");
                else
                        snprintf(w->name, sizeof(w->name), "%u", i);
                w->mhd = http_daemon_start(s, timeout_s, flags, options);
                if (!w->mhd)
                        return -EIO;
                r = http_worker_start(w);
                if (r < 0)
                        return r;
        }
        r = http_accept_start(s);
        if (r < 0)
                return r;
        s->started = true;
        return 0;
}

const char *http_server_address(const http_server *s)
{
        return s->address;
}

int http_server_probe(http_server *s, unsigned timeout_ms)
{
        if (!s->started || s->quiesced)
                return -ESHUTDOWN;
        return http_probe_healthz(s->listen_fd, s->tls, timeout_ms);
}

void http_server_stats(http_server *s, uint64_t *ret_completed, unsigned *ret_in_flight)
{
        *ret_completed = atomic_load(&s->completed);
        *ret_in_flight = atomic_load(&s->in_flight);
}

void http_server_abort_deferred(http_server *s)
{
        for (unsigned i = 0; s->started && i <= s->n_workers; i++) {
                atomic_store(&s->workers[i].abort, true);
                http_worker_wake(&s->workers[i]);
        }
}

int http_server_drain(http_server *s, unsigned timeout_ms)
{
        uint64_t deadline = otel_mono_ns() + (uint64_t)timeout_ms * 1000000u;

        if (!s->started)
                return 0;
        if (!s->quiesced) {
                /* The listening socket stays open until http_server_free(); new connections wait in
                 * the backlog and are refused when it closes. */
                http_accept_pause(s);
                s->quiesced = true;
        }
        while (atomic_load(&s->in_flight) > 0) {
                if (otel_mono_ns() >= deadline)
                        return -ETIMEDOUT;
                nanosleep(&(struct timespec){.tv_nsec = HTTP_DRAIN_POLL_NS}, NULL);
        }
        return 0;
}

void http_server_free(http_server *s)
{
        if (!s)
                return;
        /* The acceptor first (no connection arrives at a stopped worker), the workers (their
         * connections close, releasing slots), then the acceptor's tables. */
        http_accept_stop(s);
        for (unsigned i = 0; s->workers && i <= s->n_workers; i++) {
                http_worker_stop(&s->workers[i]);
                if (s->workers[i].mhd)
                        MHD_stop_daemon(s->workers[i].mhd);
                http_worker_free(&s->workers[i]);
        }
        http_accept_free(s);
        free(s->workers);
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        http_router_free(s->router);
        http_tls_free(s->tls);
        free(s);
}

int http_server_tls_reload(http_server *s, const http_server_config *fresh)
{
        char why[HTTP_TLS_ERROR_MAX] = "";
        int r;

        if (!s->tls) {
                if (fresh->tls.cert[0])
                        otel_log(OTEL_SEVERITY_WARN, "TLS is configured now: it takes a restart to turn on");
                return 0;
        }
        r = http_tls_reload(s->tls, &fresh->tls, why, sizeof(why));
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r,
                                      "Cannot reload TLS, keeping the previous "
                                      "certificate: %s",
                                      why);
        if (r > 0)
                otel_log(OTEL_SEVERITY_INFO, "TLS certificate reloaded from %s", fresh->tls.cert);
        return 0;
}
