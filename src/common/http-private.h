/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by http-server.c (libmicrohttpd glue, instrumentation), http-request.c (request
 * accessors, replies) and http-builtin.c (the built-in endpoints). Not for the daemons. */
#pragma once

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "http-clients.h"
#include "http-router.h"
#include "http-server.h"
#include "http-tls.h"

#define HTTP_METHOD_MAX         16u
#define HTTP_CLIENT_ADDRESS_MAX 46u  /* INET6_ADDRSTRLEN */
#define HTTP_LINGER_MAX         256u /* refused connections lingering at once; more are closed at once */

typedef struct http_worker http_worker;

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
        bool body_too_large;     /* more than max_body_bytes arrived: 413 */
        size_t body_dropped;     /* bytes of an oversized body read and dropped (bounded drain) */
        bool headers_too_large;  /* request line + headers over max_header_bytes: 431 */
        unsigned framing_status; /* 400 or 501 from http_framing_check, else 0 */
        const char *framing_why; /* its reason (static text) */

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

        bool reserve; /* on the health reserve: only /healthz and /readyz, then the connection closes */
        struct http_worker *worker; /* whose thread runs the request's daemon */
};

typedef struct http_server_metrics {
        otel_instrument *duration;        /* http.server.request.duration (s) */
        otel_instrument *active_requests; /* http.server.active_requests */
        otel_instrument *limit_hits;      /* oteldemo.http.limit_hits {reason = the [server] key} */
        otel_instrument *worker_conns;    /* oteldemo.http.worker.connections {worker} */
} http_server_metrics;

/* Where a connection is in its life, as far as the deadlines of http-accept.c care. Changed only by
 * compare-and-swap, so that the sweep's cut and libmicrohttpd's progress never both win. */
typedef enum http_conn_phase {
        HTTP_CONN_FREE,    /* slot unused */
        HTTP_CONN_ADDED,   /* handed to a worker, libmicrohttpd has not taken it up yet */
        HTTP_CONN_HEAD,    /* waiting for a request head: since accept, or since a keep-alive request line */
        HTTP_CONN_IDLE,    /* kept alive between requests */
        HTTP_CONN_BODY,    /* head complete, body arriving */
        HTTP_CONN_BUSY,    /* handler running or reply going out: no deadline here */
        HTTP_CONN_CUTTING, /* the sweep is writing its 408 and shutting the socket down */
        HTTP_CONN_CUT,     /* cut by a deadline; libmicrohttpd is still to notice */
        HTTP_CONN_PHASE_MAX,
} http_conn_phase;

/* One accepted connection's slot (zeroed memory is a free slot). */
typedef struct http_conn {
        _Atomic int phase;         /* http_conn_phase */
        _Atomic uint64_t since_ns; /* CLOCK_MONOTONIC when the phase began (stored before the swap) */
        int fd;                    /* the socket, while not FREE */
        unsigned worker;           /* index into workers; n_workers = the health reserve */
        uint8_t client[HTTP_CLIENT_KEY_SIZE]; /* client address key (http-clients.h) */
        uint32_t next_free;                   /* free list link (index + 1, 0 = end) */
} http_conn;

/* An accepted socket on its way from the acceptor to a worker's thread, which adds it to its daemon
 * (libmicrohttpd without an internal thread adds a connection on the calling thread). */
typedef struct http_handoff {
        int fd;
        http_conn *slot; /* its slot, phase ADDED */
        socklen_t addr_len;
        struct sockaddr_storage addr;
} http_handoff;

/* One libmicrohttpd daemon run by a thread of ours (http-worker.c), which also runs the worker hook's
 * events; connections come from the acceptor. */
struct http_worker {
        struct MHD_Daemon *mhd;
        http_server *server;
        atomic_uint live;       /* connections it holds now */
        atomic_bool in_handler; /* its thread is inside a handler (e.g. waiting for PostgreSQL) */
        char name[8];           /* "0".."255", "health": the worker attribute */
        int epoll_fd;           /* libmicrohttpd's epoll fd, wake_fd, the hook's descriptors */
        int wake_fd;            /* eventfd: a hand-off, an abort or the stop */
        pthread_t thread;
        bool thread_started;
        void *hook_state;     /* from worker_hooks->start */
        atomic_bool stop;     /* the thread is to end */
        atomic_bool abort;    /* http_server_abort_deferred() asked for the hook's abort */
        bool resumed;         /* its thread resumed a request: libmicrohttpd must run before a wait */
        pthread_mutex_t lock; /* guards the hand-off queue */
        http_handoff *queue;  /* sockets handed over, not yet added */
        size_t n_queue;
        size_t cap_queue;
};

/* A refused connection whose reply is on its way: kept open (write side shut) until the client
 * closes or HTTP_LINGER_MS pass, so that its request arriving late does not reset the reply away. */
typedef struct http_linger {
        int fd;               /* -1 = unused */
        uint64_t deadline_ns; /* closed at this time at the latest */
} http_linger;

/* The acceptor thread's state (http-accept.c). */
typedef struct http_acceptor {
        pthread_t thread;
        bool running;             /* thread started */
        atomic_bool stop;         /* asked to end */
        int epoll_fd;             /* listen socket, wake eventfd, lingering sockets */
        int wake_fd;              /* eventfd: stop */
        int spare_fd;             /* /dev/null, given up to accept-and-refuse at EMFILE */
        bool listen_paused;       /* out of descriptors with no spare: not watched until the next sweep */
        bool listening;           /* listen_fd is in the epoll set (false once drained) */
        unsigned max_connections; /* the effective limit (config, lowered to RLIMIT_NOFILE) */
        pthread_mutex_t lock;     /* the counts, the client table and the free list below */
        http_conn *conns;         /* max_connections + health_connections slots */
        unsigned n_conns;
        uint32_t free_head;    /* index + 1 of the first free slot, 0 = none */
        unsigned live_main;    /* connections on the workers */
        unsigned live_reserve; /* connections on the health reserve */
        uint32_t *fd_conn;     /* socket fd → slot index + 1 */
        size_t fd_conn_size;   /* entries (RLIMIT_NOFILE) */
        http_clients clients;  /* connections per client address */
        http_linger lingers[HTTP_LINGER_MAX];
        unsigned next_worker; /* round-robin start of the least-loaded search */
        uint64_t next_sweep_ns;
        unsigned sweep_next; /* slot the sweep goes on from */
} http_acceptor;

struct http_server {
        http_server_config config;
        http_router *router;
        http_worker *workers; /* config.threads request workers, then the health reserve's */
        unsigned n_workers;   /* request workers (the health worker is workers[n_workers]) */
        bool started;
        http_acceptor acceptor;
        int listen_fd;                 /* bound here or passed by systemd; closed at free */
        char address[HTTP_LISTEN_MAX]; /* bound "host:port" */
        char host[HTTP_LISTEN_MAX];    /* server.address default (no Host header) */
        int port;                      /* server.port default */
        otel_tracer *tracer;
        http_tls *tls; /* NULL: plain HTTP */
        http_server_metrics metrics;
        http_ready_fn ready;
        void *ready_userdata;
        const http_worker_hooks *worker_hooks; /* NULL: none */
        void *worker_userdata;
        atomic_uint in_flight;          /* requests started, not yet completed */
        atomic_uint_fast64_t completed; /* requests completed since start */
        bool quiesced;
};

/* ---- http-accept.c: admission, spreading, deadlines ---- */

/* Sets the acceptor's state up as not started (http_server_new). */
void http_accept_init(http_server *s);
/* Sizes the tables (raising RLIMIT_NOFILE to its hard limit, lowering max_connections to fit) and
 * starts the acceptor thread on s->listen_fd; the workers run already. */
int http_accept_start(http_server *s);
/* Stops taking connections (they wait in the backlog); the deadlines keep running. */
void http_accept_pause(http_server *s);
/* Ends the thread (before the workers stop). */
void http_accept_stop(http_server *s);
/* Frees its tables, after the workers have stopped. Both accept a server that never started. */
void http_accept_free(http_server *s);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the server). */
void http_accept_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code);
/* The slot of a connection (NULL when libmicrohttpd accepted it itself). */
http_conn *http_conn_of(struct MHD_Connection *conn);
/* Moves c from phase from to phase to; false when it is elsewhere (e.g. cut by a deadline). */
bool http_conn_move(http_conn *c, http_conn_phase from, http_conn_phase to);
/* Adds the sockets handed to w to its daemon (on w's thread); drop: closes them instead (stopped). */
void http_accept_take_handoffs(http_server *s, http_worker *w, bool drop);

/* ---- http-worker.c: the workers' threads ---- */

/* Sets w up as not started (before http_worker_start; http_worker_free accepts it). */
void http_worker_init(http_server *s, http_worker *w);
/* Starts w's daemon (already created with MHD_USE_EPOLL, no internal thread), its hook state and its
 * thread. */
int http_worker_start(http_worker *w);
/* Queues a socket for w's thread; false without memory (the socket is then the caller's). */
bool http_worker_handoff(http_worker *w, const http_handoff *h);
/* The worker whose thread calls, or NULL. */
http_worker *http_worker_self(void);
/* Wakes w's thread (a hand-off, an abort, a resume from another thread: libmicrohttpd has no channel
 * of its own without an internal thread). */
void http_worker_wake(http_worker *w);
/* Ends w's thread and runs the stop hook; the daemon is still to be stopped. */
void http_worker_stop(http_worker *w);
/* Frees what http_worker_init/start made (not the daemon). */
void http_worker_free(http_worker *w);

/* Counts a limit being hit: reason is the [server] key that set it. */
void http_limit_hit(http_server *s, const char *reason);

/* The first access call's RFC 9112 checks (http-framing.c): 400 for a NUL in the request line, Host
 * missing or repeated in HTTP/1.1, whitespace before a header's colon, Content-Length repeated or with
 * Transfer-Encoding; 501 for a transfer coding other than chunked; else 0. method, url and version are
 * what libmicrohttpd passed, raw_target what its URI log callback saw (may be NULL). */
unsigned http_framing_check(struct MHD_Connection *conn, const char *method, const char *raw_target,
                            const char *url, const char *version, const char **ret_why);

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
/* An IPv4 or IPv6 address as text ("" for another family), into a buffer of HTTP_CLIENT_ADDRESS_MAX. */
void http_sockaddr_text(const struct sockaddr *sa, char *buf, size_t size);
/* The client's IP address as text ("" when unknown), into a buffer of HTTP_CLIENT_ADDRESS_MAX. */
void http_client_address(struct MHD_Connection *conn, char *buf, size_t size);
/* Parses "host:port" / "[v6]:port" into host and port. -EINVAL on bad syntax. */
int http_listen_split(const char *listen, char *ret_host, size_t host_size, char *ret_port,
                      size_t port_size);
