/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP server layer both daemons share, over libmicrohttpd (one worker daemon per thread, each
 * thread running its daemon's events and a hook's beside them from one epoll set, http-worker.c; fed
 * by one acceptor that applies the connection limits and deadlines, http-accept.c): a routing
 * table, request bodies with limits, JSON replies, and OpenTelemetry instrumentation of every request
 * (SERVER span continuing the caller's W3C context, http.server.* metrics, a traceresponse header).
 * Built-in endpoints: /healthz, /readyz, /metrics, /debug/tracez.
 *
 * Handlers run on the server's worker threads with the request's span and baggage current, so spans
 * and log lines made inside are children of / correlated with the request. A handler answers with one
 * of the http_reply_*() calls; the http_request_*() parsers that can fail reply 400/415 themselves and
 * return a negative errno, after which the handler just returns.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config-file.h"
#include "http-router.h" /* http_handler_fn */
#include "http-tls.h"
#include "otel.h"

#define HTTP_LISTEN_MAX        128u /* "host:port" text */
#define HTTP_THREADS_MAX       256u
#define HTTP_CONNECTIONS_MAX   65536u
#define HTTP_HEALTH_CONNS_MAX  1024u
#define HTTP_TIMEOUT_MAX_S     3600u
#define HTTP_BODY_MAX_BYTES    (64u * 1024u * 1024u)
#define HTTP_HEADER_MIN_BYTES  4096u /* below this libmicrohttpd cannot hold a normal request */
#define HTTP_HEADER_MAX_BYTES  (1024u * 1024u)
#define HTTP_REPLY_HEADERS_MAX 16u /* extra headers a handler may add */
#define HTTP_JSON_MAX_DEPTH    32  /* nesting accepted in request bodies */

typedef struct http_server http_server;
struct epoll_event;
/* Readiness for /readyz: 0 when ready, else a negative errno and a short reason in ret_reason. */
typedef int (*http_ready_fn)(void *userdata, char *ret_reason, size_t reason_size);

/* The [server] section both daemons share. */
typedef struct http_server_config {
        char listen[HTTP_LISTEN_MAX]; /* "host:port", "[v6addr]:port" (ignored under socket activation) */
        unsigned threads;             /* request workers (one libmicrohttpd daemon and thread each) */
        unsigned max_connections;     /* concurrent connections; more go to the health reserve, then 503 */
        unsigned max_connections_per_client; /* concurrent connections of one client address; more → 429 */
        unsigned health_connections;         /* reserved beyond max_connections for /healthz and /readyz */
        unsigned request_head_timeout_s;     /* the whole request head must arrive within this → 408 */
        unsigned request_body_timeout_s; /* the whole body must arrive within this after the head → 408 */
        unsigned connection_timeout_s; /* idle keep-alive connections (and stalled replies) close after this
                                        */
        size_t max_body_bytes;         /* larger request bodies → 413 */
        size_t max_header_bytes;       /* largest request line + headers → 431 */
        unsigned drain_timeout_ms;     /* how long SIGTERM waits for in-flight requests */
        bool access_log;               /* a log line per request (access-log.h) */
        http_tls_config tls;           /* tls_cert, tls_key, tls_client_ca (http-tls.h) */
} http_server_config;

/* Reads [server] listen, threads, max_connections, max_connections_per_client, health_connections,
 * request_head_timeout_s, request_body_timeout_s, connection_timeout_s, max_body_bytes,
 * max_header_bytes, drain_timeout_ms, access_log and the TLS keys; the listen address is checked for
 * syntax, the TLS files by loading them; threads defaults to default_threads (each daemon's own,
 * e.g. http_server_default_threads()). -EINVAL with config_error(cfg) set. */
int http_server_config_load(config_file *cfg, const char *default_listen, unsigned default_threads,
                            http_server_config *ret) OTEL_WUR;
/* threads_per_cpu × sysconf(_SC_NPROCESSORS_ONLN), within 1..HTTP_THREADS_MAX. */
unsigned http_server_default_threads(unsigned threads_per_cpu);

typedef struct http_server_options {
        const http_server_config *config;
        int listen_fd;          /* a listening socket to use (socket activation), or -1 to bind */
        const char *scope_name; /* instrumentation scope of the spans and metrics */
        const char *scope_version;
        http_ready_fn ready; /* /readyz check; NULL = always ready */
        void *ready_userdata;
        const struct http_worker_hooks *worker_hooks; /* work beside each worker's requests, or NULL */
        void *worker_userdata;                        /* passed to worker_hooks->start */
} http_server_options;

/* Work that runs on every worker's thread beside libmicrohttpd, so that a handler can start it and
 * see it end without a second thread (the frontend's backend exchanges: one libcurl multi per
 * worker). The thread waits on one epoll set: libmicrohttpd's, and whatever descriptors the hook adds
 * with a data.ptr of its own; an event the server does not know goes to event(). */
typedef struct http_worker_hooks {
        /* Once per worker (the health reserve's too), on the starting thread before the worker's
         * thread runs: epoll_fd is the worker's set; *ret_state is what the other callbacks and
         * http_worker_state() get. 0 or a negative errno (the server does not start). */
        int (*start)(void *userdata, int epoll_fd, void **ret_state);
        /* An event of one of the hook's descriptors. */
        void (*event)(void *state, const struct epoll_event *ev);
        /* Before every wait, after libmicrohttpd ran: due timers, finished work (replies and resumes
         * made here go out before the wait). Returns how long the wait may last: ms, -1 = no limit. */
        int (*run)(void *state);
        /* http_server_abort_deferred(): end every piece of work that a request waits for. */
        void (*abort)(void *state);
        /* After the worker's thread ended, before its daemon stops (requests still suspended are
         * resumed here at the latest). */
        void (*stop)(void *state);
} http_worker_hooks;

/* On a worker's thread (inside a handler or a hook): that worker's hook state; NULL elsewhere. */
void *http_worker_state(void);

/* Creates the server with its built-in routes; nothing listens yet. */
int http_server_new(const http_server_options *opts, http_server **ret) OTEL_WUR;
/* Adds a route (see http-router.h for patterns). Before http_server_start(). */
int http_server_route(http_server *s, const char *method, const char *pattern, http_handler_fn handler,
                      void *userdata) OTEL_WUR;
/* Binds (unless given a socket) and starts the worker threads. -EADDRINUSE, -EACCES, … */
int http_server_start(http_server *s) OTEL_WUR;
/* The bound address as "host:port" (after start), for log lines. */
const char *http_server_address(const http_server *s);
/* One GET /healthz through the listening socket, answered by a worker thread, within timeout_ms:
 * proves the request path is alive (the watchdog's check). 0, or a negative errno. */
int http_server_probe(http_server *s, unsigned timeout_ms);
/* Requests completed since start, and requests in flight now. */
void http_server_stats(http_server *s, uint64_t *ret_completed, unsigned *ret_in_flight);
/* Stops accepting connections and waits until the in-flight requests have completed or timeout_ms
 * passed. 0, or -ETIMEDOUT (some are still running; http_server_free() cuts them off). */
int http_server_drain(http_server *s, unsigned timeout_ms);
/* Calls every worker's abort hook on its own thread (and waits for none of them): what waits for work
 * ends now (the frontend answers 503 at shutdown). */
void http_server_abort_deferred(http_server *s);
/* SIGHUP: the TLS certificate, key and client CAs of fresh (a reloaded [server]) replace the current
 * ones for new handshakes; the listener and open connections are untouched. A set that does not load
 * is logged and the previous one stays (then a negative errno). Turning TLS on or off takes a restart. */
int http_server_tls_reload(http_server *s, const http_server_config *fresh);
/* Stops the threads and frees everything. NULL-safe. */
void http_server_free(http_server *s);

/* ---- inside a handler ---------------------------------------------------------------------------- */

const char *http_request_method(const http_request *req);
/* The percent-decoded path, without the query string. */
const char *http_request_path(const http_request *req);
/* First value of a header (case-insensitive name), or NULL. */
const char *http_request_header(const http_request *req, const char *name);
/* Calls fn for every request header line, in order. */
void http_request_foreach_header(const http_request *req,
                                 void (*fn)(void *userdata, const char *name, const char *value),
                                 void *userdata);
/* Decoded query argument, or NULL (present without a value: ""). */
const char *http_request_query(const http_request *req, const char *name);
/* The raw query string as received ("" when none). */
const char *http_request_query_string(const http_request *req);
/* A {name} segment of the route, or NULL; what the route's "*" matched, or NULL. */
const char *http_request_param(const http_request *req, const char *name);
const char *http_request_rest(const http_request *req);
/* The request body (NUL-terminated for convenience; len excludes the NUL). */
const char *http_request_body(const http_request *req, size_t *ret_len);
/* The request's SERVER span (borrowed), and its trace id in hex. */
otel_span *http_request_span(const http_request *req);
void http_request_trace_id(const http_request *req, char ret_hex[OTEL_TRACE_ID_HEX + 1]);

/* Parsers that reply 400 (naming the parameter) or 415 themselves on failure and return -EINVAL /
 * -EPROTO; the handler then returns. */
/* A path parameter that must be a decimal integer in 1..INT64_MAX (no sign, no leading zeros). */
int http_request_param_id(http_request *req, const char *name, int64_t *ret) OTEL_WUR;
/* A query argument that must be a decimal integer in min..max; def when absent. */
int http_request_query_int(http_request *req, const char *name, int64_t min, int64_t max, int64_t def,
                           int64_t *ret) OTEL_WUR;
/* The body as JSON: Content-Type must be application/json (415), the body well-formed JSON of at most
 * HTTP_JSON_MAX_DEPTH levels and nothing else (400). *ret is a new reference owned by the caller. */
int http_request_json(http_request *req, json_object **ret) OTEL_WUR;

/* A reply made later, so that no worker thread waits for a slow call: the handler calls
 * http_request_defer() and returns without replying; the server then suspends the connection
 * (libmicrohttpd suspend/resume) and calls start(arg), which hands the work on (to another thread, or
 * to the worker's own hook). Whoever finishes it replies with one of the http_reply_*() calls (from any
 * thread; with the request's span current if it logs) and then calls http_request_resume(), after
 * which req must not be touched. On a request that
 * was not deferred (its work finished inside the handler) http_request_resume() does nothing. */
void http_request_defer(http_request *req, void (*start)(void *arg), void *arg);
void http_request_resume(http_request *req);

/* ---- replies (one per request; a second one is ignored) ------------------------------------------ */

/* Adds a header to the reply (before http_reply_*); at most HTTP_REPLY_HEADERS_MAX. */
int http_reply_header(http_request *req, const char *name, const char *value);
/* Copies body. content_type NULL: no Content-Type (only for replies without a body, e.g. 304). */
int http_reply(http_request *req, unsigned status, const char *content_type, const void *body, size_t len);
/* Takes ownership of a malloc'ed body (freed even on failure). */
int http_reply_take(http_request *req, unsigned status, const char *content_type, char *body, size_t len);
/* Serializes obj and drops the caller's reference to it. */
int http_reply_json(http_request *req, unsigned status, json_object *obj);
/* {"error": "<message>", "trace_id": "<32 hex>"} */
int http_reply_error(http_request *req, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
