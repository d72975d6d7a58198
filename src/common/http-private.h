/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by http-server.c (libmicrohttpd glue, instrumentation), http-request.c (request
 * accessors, replies) and http-builtin.c (the built-in endpoints). Not for the daemons. */
#pragma once

#include <microhttpd.h>
#include <stdatomic.h>

#include "http-router.h"
#include "http-server.h"
#include "http-tls.h"

#define HTTP_METHOD_MAX         16u
#define HTTP_CLIENT_ADDRESS_MAX 46u /* INET6_ADDRSTRLEN */

typedef struct http_reply_header_entry {
        char *name;  /* owned */
        char *value; /* owned */
} http_reply_header_entry;

struct http_request {
        http_server *server;
        struct MHD_Connection *conn;
        char method[HTTP_METHOD_MAX]; /* as received (validated token) */
        bool begun;                   /* the first access callback has run */
        char *raw_uri;                /* owned: the request target as received (with the query) */
        const char *url;              /* libmicrohttpd's decoded path, valid for the request */
        const char *version;          /* "HTTP/1.1" */
        uint64_t start_mono_ns;       /* CLOCK_MONOTONIC at the first callback */

        http_route_match match;            /* when route_result == 0 */
        int route_result;                  /* 0, -ENOENT (404), -EOPNOTSUPP (405) or -EILSEQ (400) */
        char allow[HTTP_ROUTER_ALLOW_MAX]; /* for 405 */

        char *body; /* owned, NUL-terminated */
        size_t body_len;
        size_t body_cap;
        bool body_too_large;    /* more than max_body_bytes arrived: 413 */
        size_t body_dropped;    /* bytes of an oversized body read and dropped (bounded drain) */
        bool headers_too_large; /* request line + headers over max_header_bytes: 431 */

        otel_span *span;       /* the SERVER span (owned reference) */
        otel_baggage *baggage; /* extracted baggage (owned, may be NULL) */

        /* The reply, queued by the dispatcher once the handler returns. */
        bool replied;
        unsigned status;
        char *reply_body; /* owned */
        size_t reply_len;
        char *reply_content_type; /* owned */
        http_reply_header_entry headers[HTTP_REPLY_HEADERS_MAX];
        size_t n_headers;

        /* A deferred reply (http_request_defer): the connection is suspended after the handler returns,
         * then defer_start runs; http_request_resume sets resumed and the next access call queues. */
        void (*defer_start)(void *arg);
        void *defer_arg;
        bool suspended; /* suspended, not yet resumed */
        bool resumed;   /* resumed with its reply made: queue it */
};

typedef struct http_server_metrics {
        otel_instrument *duration;        /* http.server.request.duration (s) */
        otel_instrument *active_requests; /* http.server.active_requests */
} http_server_metrics;

struct http_server {
        http_server_config config;
        http_router *router;
        struct MHD_Daemon *mhd;
        int listen_fd;                 /* bound here or passed by systemd; closed at free */
        char address[HTTP_LISTEN_MAX]; /* bound "host:port" */
        char host[HTTP_LISTEN_MAX];    /* server.address default (no Host header) */
        int port;                      /* server.port default */
        otel_tracer *tracer;
        http_tls *tls; /* NULL: plain HTTP */
        http_server_metrics metrics;
        http_ready_fn ready;
        void *ready_userdata;
        atomic_uint in_flight;          /* requests started, not yet completed */
        atomic_uint_fast64_t completed; /* requests completed since start */
        bool quiesced;
};

/* Registers /healthz, /readyz, /metrics and /debug/tracez. */
int http_builtin_register(http_server *s);
/* Frees the reply and body state of a request (not the request). */
void http_request_clear(http_request *req);
/* The User-Agent of the watchdog's own probe: its successful GET /healthz every few seconds is no
 * request anyone needs in the access log. */
#define HTTP_PROBE_USER_AGENT "oteldemo-watchdog"
/* GET /healthz over a new connection to the bound socket's address within timeout_ms (over TLS when
 * tls is not NULL). */
int http_probe_healthz(int listen_fd, const http_tls *tls, unsigned timeout_ms);
/* The client's IP address as text ("" when unknown), into a buffer of HTTP_CLIENT_ADDRESS_MAX. */
void http_client_address(struct MHD_Connection *conn, char *buf, size_t size);
/* Parses "host:port" / "[v6]:port" into host and port. -EINVAL on bad syntax. */
int http_listen_split(const char *listen, char *ret_host, size_t host_size, char *ret_port,
                      size_t port_size);
