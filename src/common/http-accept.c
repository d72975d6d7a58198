/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connection admission, spreading and deadlines. One acceptor thread takes every connection from the
 * listening socket, applies the connection limits (per client address → 429; total → the health
 * reserve, then 503) and hands each accepted socket to the least-loaded worker (a libmicrohttpd daemon
 * run by a thread of ours, http-worker.c), whose thread adds it with MHD_add_connection(). The same thread
 * sweeps the connections for the deadlines libmicrohttpd does not have: its timeout is an inactivity
 * timeout, which a client sending one byte a second never meets, so the whole request head must arrive
 * within request_head_timeout_s and the body within request_body_timeout_s (408), and a kept-alive
 * connection may idle for connection_timeout_s.
 *
 * Why one acceptor and not libmicrohttpd's thread pool or SO_REUSEPORT: the pool's threads all wait on
 * the one listening socket and whichever wakes first takes the connection, so with keep-alive one
 * thread often ends up with none (and throughput swings 2× between runs); SO_REUSEPORT spreads by a hash
 * of the addresses, even only on average (50 connections over 4 listeners: ±30 %), and cannot split
 * the single socket systemd passes. Least-loaded placement from one thread is exact, works with socket
 * activation, and gives admission one place to count. The acceptor does little per connection (an
 * accept, a table update, a queue entry and an eventfd write), far below what a worker spends on the
 * requests.
 */
#include "http-private.h"

#include "access-log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_SWEEP_INTERVAL_MS 100u /* granularity of the deadlines */
#define HTTP_SWEEP_CUTS_MAX    64u  /* cuts per pass, between which new connections are accepted */
#define HTTP_ACCEPT_BATCH      64u  /* accepts per wake-up before the sweep gets its turn */
#define HTTP_EPOLL_EVENTS      64
#define HTTP_LINGER_MS         1000u /* a refused connection's reply gets this long to be read */
#define HTTP_REFUSAL_MAX       768u  /* bytes of a reply written by the acceptor */
#define HTTP_DRAIN_CHUNK       4096u
/* A health reserve slot serves one probe: its head must come quickly, or the slot goes back. */
#define HTTP_RESERVE_HEAD_MS 1000u
/* Descriptors besides the connections: logs, the database pool, libcurl, OTLP export. */
#define HTTP_FD_MARGIN   256u
#define HTTP_FD_CONN_MAX (1u << 20) /* entries of the fd → slot table at most */
#define HTTP_CONNS_MIN   16u        /* max_connections is never lowered below this */
#define NSEC_PER_MSEC    UINT64_C(1000000)

/* epoll tags (data.u64): the listening socket, the wake eventfd, or a lingering socket's index. */
#define HTTP_TAG_LISTEN UINT64_MAX
#define HTTP_TAG_WAKE   (UINT64_MAX - 1)

static const char *const phase_names[HTTP_CONN_PHASE_MAX] = {
        [HTTP_CONN_HEAD] = "request_head_timeout_s",
        [HTTP_CONN_BODY] = "request_body_timeout_s",
        [HTTP_CONN_IDLE] = "connection_timeout_s",
};

bool http_conn_move(http_conn *c, http_conn_phase from, http_conn_phase to)
{
        int expected = (int)from;

        return atomic_compare_exchange_strong(&c->phase, &expected, (int)to);
}

http_conn *http_conn_of(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return ci ? ci->socket_context : NULL;
}

void http_limit_hit(http_server *s, const char *reason)
{
        otel_attr attr = OTEL_ATTR_STR("reason", reason);

        otel_instrument_add(s->metrics.limit_hits, 1, &attr, 1);
}

/* ---- replies the acceptor writes itself ---------------------------------------------------------- */

/* Writes a JSON error reply to a socket libmicrohttpd is not writing to (refused at accept, or cut
 * while its head or body was still arriving), under a new trace of its own so that the reply's
 * trace_id finds the log line; then shuts the write side. Nothing is written on a TLS listener (the
 * reply is plain HTTP and the socket has no session to write it through): there the connection is
 * only closed. */
static void http_write_refusal(http_server *s, int fd, unsigned status, const char *reason_text,
                               const char *client, const char *key)
{
        const char *phrase = status == 408   ? "Request Timeout"
                             : status == 429 ? "Too Many Requests"
                                             : "Service Unavailable";
        char body[256], reply[HTTP_REFUSAL_MAX], trace_id[OTEL_TRACE_ID_HEX + 1];
        char traceresponse[OTEL_TRACEPARENT_LEN + 1];
        otel_attr attrs[4] = {
                OTEL_ATTR_STR("error.type", key),
                OTEL_ATTR_I64("http.response.status_code", status),
                OTEL_ATTR_STR("client.address", client),
                OTEL_ATTR_STR("url.scheme", http_tls_scheme(s->tls)),
        };
        otel_span *span =
                otel_span_start(s->tracer, "HTTP", OTEL_SPAN_KIND_SERVER,
                                &(otel_span_start_opts){.root = true, .attrs = attrs, .n_attrs = 4});
        const otel_span_context *sc = otel_span_get_context(span);
        otel_context_token token = otel_context_attach(span, NULL);
        int len;

        otel_trace_id_to_hex(sc->trace_id, trace_id);
        otel_traceparent_format(sc, traceresponse);
        (void)snprintf(body, sizeof(body), "{\"error\":\"%s\",\"trace_id\":\"%s\"}", reason_text, trace_id);
        len = snprintf(reply, sizeof(reply),
                       "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n%straceresponse: %s\r\n\r\n%s",
                       status, phrase, strlen(body), status == 408 ? "" : "Retry-After: 1\r\n",
                       traceresponse, body);
        if (!s->tls && len > 0 && (size_t)len < sizeof(reply))
                (void)send(fd, reply, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)shutdown(fd, SHUT_WR);
        http_limit_hit(s, key);
        {
                char line[HTTP_REFUSAL_MAX];

                (void)snprintf(line, sizeof(line), "%u for %s: %s ([server] %s)", status,
                               client[0] ? client : "-", reason_text, key);
                access_log_limit(status == 408 ? "Connection cut" : "Connection refused", line);
        }
        otel_context_detach(token);
        if (status >= 500)
                otel_span_set_status(span, OTEL_STATUS_ERROR, NULL);
        otel_span_end(span);
}

static void http_linger_close(http_acceptor *a, unsigned i)
{
        (void)epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, a->lingers[i].fd, NULL);
        close(a->lingers[i].fd);
        a->lingers[i].fd = -1;
}

/* Keeps a refused socket (write side already shut) until the client has read and closed, reading and
 * dropping what it still sends: closing with unread data would reset the connection and could take
 * the reply with it. Closed at once when HTTP_LINGER_MAX are lingering already. */
static void http_linger_add(http_acceptor *a, int fd)
{
        for (unsigned i = 0; i < HTTP_LINGER_MAX; i++) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = i};

                if (a->lingers[i].fd >= 0)
                        continue;
                if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
                        break;
                a->lingers[i].fd = fd;
                a->lingers[i].deadline_ns = otel_mono_ns() + HTTP_LINGER_MS * NSEC_PER_MSEC;
                return;
        }
        close(fd);
}

static void http_linger_readable(http_acceptor *a, unsigned i)
{
        char buf[HTTP_DRAIN_CHUNK];
        ssize_t n;

        if (i >= HTTP_LINGER_MAX || a->lingers[i].fd < 0)
                return;
        while ((n = recv(a->lingers[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
                ;
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
                http_linger_close(a, i);
}

/* ---- admission ------------------------------------------------------------------------------------ */

/* The request worker with the fewest connections among those whose thread is not inside a handler
 * (a handler that waits, e.g. for PostgreSQL, would hold a new connection's first request behind it),
 * or among all when every one is; ties go round-robin, so that a quiet server spreads too. */
static unsigned http_pick_worker(http_server *s)
{
        http_acceptor *a = &s->acceptor;
        unsigned best = UINT32_MAX, best_live = UINT32_MAX;

        for (int pass = 0; pass < 2 && best == UINT32_MAX; pass++)
                for (unsigned k = 0; k < s->n_workers; k++) {
                        unsigned i = (a->next_worker + k) % s->n_workers;
                        unsigned live = atomic_load(&s->workers[i].live);

                        if (pass == 0 && atomic_load(&s->workers[i].in_handler))
                                continue;
                        if (best == UINT32_MAX || live < best_live) {
                                best = i;
                                best_live = live;
                        }
                }
        a->next_worker = (best + 1) % s->n_workers;
        return best;
}

/* Under a->lock. */
static void http_slot_release_locked(http_server *s, http_conn *c)
{
        http_acceptor *a = &s->acceptor;

        http_clients_release(&a->clients, c->client);
        if (c->worker == s->n_workers)
                a->live_reserve--;
        else
                a->live_main--;
        atomic_fetch_sub(&s->workers[c->worker].live, 1);
        c->next_free = a->free_head;
        a->free_head = (uint32_t)(c - a->conns) + 1;
}

static void http_slot_release(http_server *s, http_conn *c)
{
        pthread_mutex_lock(&s->acceptor.lock);
        http_slot_release_locked(s, c);
        pthread_mutex_unlock(&s->acceptor.lock);
}

/* Decides on one accepted socket: a slot and a worker, or a refusal. Returns the slot, or NULL with
 * *ret_status / *ret_key saying why. Under a->lock. */
static http_conn *http_admit(http_server *s, int fd, const uint8_t key[HTTP_CLIENT_KEY_SIZE],
                             unsigned *ret_status, const char **ret_key)
{
        http_acceptor *a = &s->acceptor;
        unsigned worker;
        http_conn *c;

        if ((size_t)fd >= a->fd_conn_size) {
                *ret_status = 503;
                *ret_key = "max_connections";
                return NULL;
        }
        /* A slot still waiting for a socket with this number: libmicrohttpd closed that socket
         * without taking it up (out of memory), so the slot is free again. */
        if (a->fd_conn[fd]) {
                c = &a->conns[a->fd_conn[fd] - 1];
                if (c->fd == fd && http_conn_move(c, HTTP_CONN_ADDED, HTTP_CONN_FREE))
                        http_slot_release_locked(s, c);
        }
        if (http_clients_count(&a->clients, key) >= s->config.max_connections_per_client) {
                *ret_status = 429;
                *ret_key = "max_connections_per_client";
                return NULL;
        }
        if (a->live_main < a->max_connections)
                worker = http_pick_worker(s);
        else if (a->live_reserve < s->config.health_connections)
                worker = s->n_workers;
        else {
                *ret_status = 503;
                *ret_key = "max_connections";
                return NULL;
        }
        c = &a->conns[a->free_head - 1]; /* there is one: slots = max_connections + reserve */
        a->free_head = c->next_free;
        http_clients_add(&a->clients, key);
        if (worker == s->n_workers)
                a->live_reserve++;
        else
                a->live_main++;
        atomic_fetch_add(&s->workers[worker].live, 1);
        c->fd = fd;
        c->worker = worker;
        memcpy(c->client, key, 16);
        atomic_store(&c->since_ns, otel_mono_ns());
        atomic_store(&c->phase, HTTP_CONN_ADDED);
        a->fd_conn[fd] = (uint32_t)(c - a->conns) + 1;
        return c;
}

static void http_refuse(http_server *s, int fd, const struct sockaddr *sa, unsigned status, const char *key)
{
        char client[HTTP_CLIENT_ADDRESS_MAX], text[128];

        http_sockaddr_text(sa, client, sizeof(client));
        if (status == 429)
                (void)snprintf(text, sizeof(text), "too many connections from this address (at most %u)",
                               s->config.max_connections_per_client);
        else
                (void)snprintf(text, sizeof(text), "server at its connection limit (%u)",
                               s->acceptor.max_connections);
        http_write_refusal(s, fd, status, text, client, key);
        http_linger_add(&s->acceptor, fd);
}

/* Out of descriptors: the spare one makes room to take the connection off the backlog and refuse it
 * (a backlog nobody drains holds clients for as long as the server is full, and longer). */
static void http_accept_at_fd_limit(http_server *s)
{
        http_acceptor *a = &s->acceptor;
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd;

        /* Lost when another thread took the descriptor between our close and open: take it back as
         * soon as one is free, or no connection would be refused at the limit again. */
        if (a->spare_fd < 0)
                a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (a->spare_fd < 0) {
                /* The listening socket stays readable and epoll would return at once, forever: stop
                 * watching it until the next sweep, when descriptors may have been freed. */
                struct epoll_event ev = {.events = 0, .data.u64 = HTTP_TAG_LISTEN};

                if (epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev) == 0)
                        a->listen_paused = true;
                return;
        }
        close(a->spare_fd);
        fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
                char client[HTTP_CLIENT_ADDRESS_MAX];

                http_sockaddr_text((struct sockaddr *)&ss, client, sizeof(client));
                http_write_refusal(s, fd, 503, "server out of file descriptors", client, "fd_limit");
                close(fd);
        }
        a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void http_accept_some(http_server *s)
{
        http_acceptor *a = &s->acceptor;

        for (unsigned n = 0; n < HTTP_ACCEPT_BATCH; n++) {
                struct sockaddr_storage ss = {0};
                socklen_t len = sizeof(ss);
                unsigned status = 0;
                const char *key = NULL;
                uint8_t client[HTTP_CLIENT_KEY_SIZE];
                http_conn *c;
                int fd;

                fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE)
                                http_accept_at_fd_limit(s);
                        else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                access_log_limit("Cannot accept a connection", strerror(errno));
                        return;
                }
                http_client_key((struct sockaddr *)&ss, client);
                pthread_mutex_lock(&a->lock);
                c = http_admit(s, fd, client, &status, &key);
                pthread_mutex_unlock(&a->lock);
                if (!c) {
                        http_refuse(s, fd, (struct sockaddr *)&ss, status, key);
                        continue;
                }
                {
                        otel_attr attr = OTEL_ATTR_STR("worker", s->workers[c->worker].name);

                        otel_instrument_add(s->metrics.worker_conns, 1, &attr, 1);
                }
                {
                        http_handoff h = {.fd = fd, .slot = c, .addr_len = len};
                        http_worker *w = &s->workers[c->worker];

                        memcpy(&h.addr, &ss, sizeof(h.addr));
                        if (http_worker_handoff(w, &h)) {
                                http_worker_wake(w);
                        } else {
                                close(fd);
                                if (http_conn_move(c, HTTP_CONN_ADDED, HTTP_CONN_FREE))
                                        http_slot_release(s, c);
                        }
                }
        }
}

void http_accept_take_handoffs(http_server *s, http_worker *w, bool drop)
{
        http_handoff *q;
        size_t n;

        pthread_mutex_lock(&w->lock);
        q = w->queue;
        n = w->n_queue;
        w->queue = NULL;
        w->n_queue = w->cap_queue = 0;
        pthread_mutex_unlock(&w->lock);
        for (size_t i = 0; i < n; i++) {
                http_conn *c = q[i].slot;

                /* Dropped (the worker stopped), or not taken: libmicrohttpd closes the socket on
                 * failure and never saw the slot. */
                if (drop)
                        close(q[i].fd);
                if ((drop || MHD_add_connection(w->mhd, q[i].fd, (struct sockaddr *)&q[i].addr,
                                                q[i].addr_len) != MHD_YES) &&
                    http_conn_move(c, HTTP_CONN_ADDED, HTTP_CONN_FREE))
                        http_slot_release(s, c);
        }
        free(q);
}

/* ---- libmicrohttpd's connection hooks ------------------------------------------------------------ */

void http_accept_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
        http_server *s = cls;
        http_acceptor *a = &s->acceptor;
        http_conn *c;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                int fd = ci ? ci->connect_fd : -1;

                if (fd < 0 || (size_t)fd >= a->fd_conn_size || !a->fd_conn[fd])
                        return;
                c = &a->conns[a->fd_conn[fd] - 1];
                /* The head deadline runs from accept. */
                if (http_conn_move(c, HTTP_CONN_ADDED, HTTP_CONN_HEAD))
                        *socket_context = c;
                return;
        }
        c = *socket_context;
        if (!c)
                return;
        *socket_context = NULL;
        /* Called before libmicrohttpd closes the socket: once the slot is FREE, the sweep no longer
         * touches the fd; while it is writing its 408 (CUTTING), wait the few microseconds. */
        for (;;) {
                int p = atomic_load(&c->phase);

                if (p == HTTP_CONN_CUTTING) {
                        sched_yield();
                        continue;
                }
                if (http_conn_move(c, (http_conn_phase)p, HTTP_CONN_FREE))
                        break;
        }
        http_slot_release(s, c);
}

/* ---- deadlines ------------------------------------------------------------------------------------ */

static void http_cut(http_server *s, http_conn *c, http_conn_phase p)
{
        char client[HTTP_CLIENT_ADDRESS_MAX] = "", text[96];
        const char *key = phase_names[p];

        if (memcmp(c->client, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
                inet_ntop(AF_INET, c->client + 12, client, sizeof(client));
        else
                inet_ntop(AF_INET6, c->client, client, sizeof(client));
        if (p == HTTP_CONN_IDLE) {
                /* Closing an idle kept-alive connection needs no answer (RFC 9112 §9.5). */
                http_limit_hit(s, key);
        } else {
                (void)snprintf(text, sizeof(text), "request %s not received within %u s",
                               p == HTTP_CONN_HEAD ? "head" : "body",
                               p == HTTP_CONN_HEAD ? s->config.request_head_timeout_s
                                                   : s->config.request_body_timeout_s);
                http_write_refusal(s, c->fd, 408, text, client, key);
        }
        /* libmicrohttpd reads end-of-file next and closes the connection itself. */
        (void)shutdown(c->fd, SHUT_RDWR);
}

/* One pass over the slots from where the last one stopped, cutting at most HTTP_SWEEP_CUTS_MAX (a
 * flood's connections all expire together: accepting must not wait for thousands of cuts). Returns
 * true when the pass stopped early and must go on at once. */
static bool http_sweep(http_server *s, uint64_t now)
{
        http_acceptor *a = &s->acceptor;
        const uint64_t head_ns = (uint64_t)s->config.request_head_timeout_s * 1000 * NSEC_PER_MSEC;
        const uint64_t body_ns = (uint64_t)s->config.request_body_timeout_s * 1000 * NSEC_PER_MSEC;
        const uint64_t idle_ns = (uint64_t)s->config.connection_timeout_s * 1000 * NSEC_PER_MSEC;
        const uint64_t reserve_ns = HTTP_RESERVE_HEAD_MS * NSEC_PER_MSEC;
        unsigned cuts = 0;

        for (; a->sweep_next < a->n_conns; a->sweep_next++) {
                http_conn *c = &a->conns[a->sweep_next];
                int p = atomic_load(&c->phase);
                uint64_t limit, since;

                if (p == HTTP_CONN_HEAD)
                        limit = c->worker == s->n_workers && reserve_ns < head_ns ? reserve_ns : head_ns;
                else if (p == HTTP_CONN_BODY)
                        limit = body_ns;
                else if (p == HTTP_CONN_IDLE)
                        limit = idle_ns;
                else
                        continue;
                /* A phase that began after now was taken is not late. */
                since = atomic_load(&c->since_ns);
                if (since >= now || now - since < limit)
                        continue;
                if (cuts == HTTP_SWEEP_CUTS_MAX)
                        return true;
                if (!http_conn_move(c, (http_conn_phase)p, HTTP_CONN_CUTTING))
                        continue; /* it moved on meanwhile */
                http_cut(s, c, (http_conn_phase)p);
                atomic_store(&c->phase, HTTP_CONN_CUT);
                cuts++;
        }
        a->sweep_next = 0;
        for (unsigned i = 0; i < HTTP_LINGER_MAX; i++)
                if (a->lingers[i].fd >= 0 && now >= a->lingers[i].deadline_ns)
                        http_linger_close(a, i);
        return false;
}

/* ---- the thread ----------------------------------------------------------------------------------- */

static void *http_acceptor_main(void *arg)
{
        http_server *s = arg;
        http_acceptor *a = &s->acceptor;
        struct epoll_event evs[HTTP_EPOLL_EVENTS];

        while (!atomic_load(&a->stop)) {
                uint64_t now = otel_mono_ns();
                int timeout =
                        a->next_sweep_ns > now ? (int)((a->next_sweep_ns - now) / NSEC_PER_MSEC) + 1 : 0;
                int n = epoll_wait(a->epoll_fd, evs, HTTP_EPOLL_EVENTS, timeout);

                for (int i = 0; i < n; i++) {
                        if (evs[i].data.u64 == HTTP_TAG_LISTEN)
                                http_accept_some(s);
                        else if (evs[i].data.u64 != HTTP_TAG_WAKE)
                                http_linger_readable(a, (unsigned)evs[i].data.u64);
                }
                now = otel_mono_ns();
                if (now >= a->next_sweep_ns) {
                        a->next_sweep_ns =
                                http_sweep(s, now) ? now : now + HTTP_SWEEP_INTERVAL_MS * NSEC_PER_MSEC;
                        if (a->listen_paused) {
                                struct epoll_event ev = {.events = EPOLLIN, .data.u64 = HTTP_TAG_LISTEN};

                                if (epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev) == 0)
                                        a->listen_paused = false;
                        }
                }
        }
        return NULL;
}

/* Raises the soft RLIMIT_NOFILE to the hard one and returns what it is now. */
static rlim_t http_raise_nofile(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return 1024;
        if (rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
                (void)getrlimit(RLIMIT_NOFILE, &rl);
        }
        return rl.rlim_cur;
}

static int http_epoll_add(int epoll_fd, int fd, uint64_t tag)
{
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

        return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void http_accept_init(http_server *s)
{
        http_acceptor *a = &s->acceptor;

        pthread_mutex_init(&a->lock, NULL);
        atomic_init(&a->stop, false);
        a->epoll_fd = a->wake_fd = a->spare_fd = -1;
        for (unsigned i = 0; i < HTTP_LINGER_MAX; i++)
                a->lingers[i].fd = -1;
}

int http_accept_start(http_server *s)
{
        http_acceptor *a = &s->acceptor;
        rlim_t nofile = http_raise_nofile();
        int r;

        a->max_connections = s->config.max_connections;
        if (nofile < (rlim_t)a->max_connections + s->config.health_connections + HTTP_FD_MARGIN) {
                rlim_t others = (rlim_t)s->config.health_connections + HTTP_FD_MARGIN;
                rlim_t fit = nofile > others + HTTP_CONNS_MIN ? nofile - others : HTTP_CONNS_MIN;

                otel_log(OTEL_SEVERITY_WARN,
                         "[server] max_connections = %u does not fit RLIMIT_NOFILE %llu: at most %llu "
                         "connections (raise LimitNOFILE=)",
                         a->max_connections, (unsigned long long)nofile, (unsigned long long)fit);
                a->max_connections = (unsigned)fit;
        }
        a->n_conns = a->max_connections + s->config.health_connections;
        a->fd_conn_size = nofile < HTTP_FD_CONN_MAX ? (size_t)nofile : HTTP_FD_CONN_MAX;
        /* calloc'd: pages are touched (and resident) only as connections use them. */
        a->conns = calloc(a->n_conns, sizeof(*a->conns));
        a->fd_conn = calloc(a->fd_conn_size, sizeof(*a->fd_conn));
        if (!a->conns || !a->fd_conn || http_clients_init(&a->clients, a->n_conns) < 0)
                return -ENOMEM;
        for (unsigned i = 0; i < a->n_conns; i++)
                a->conns[i].next_free = i + 2 <= a->n_conns ? i + 2 : 0;
        a->free_head = a->n_conns ? 1 : 0;

        a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        a->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (a->epoll_fd < 0 || a->wake_fd < 0)
                return -errno;
        /* A socket passed by systemd may be blocking; the acceptor must never wait in accept(). */
        (void)fcntl(s->listen_fd, F_SETFL, fcntl(s->listen_fd, F_GETFL) | O_NONBLOCK);
        if ((r = http_epoll_add(a->epoll_fd, s->listen_fd, HTTP_TAG_LISTEN)) < 0 ||
            (r = http_epoll_add(a->epoll_fd, a->wake_fd, HTTP_TAG_WAKE)) < 0)
                return r;
        a->listening = true;
        r = pthread_create(&a->thread, NULL, http_acceptor_main, s);
        if (r != 0)
                return -r;
        a->running = true;
        return 0;
}

void http_accept_pause(http_server *s)
{
        http_acceptor *a = &s->acceptor;

        if (a->listening)
                (void)epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, s->listen_fd, NULL);
        a->listening = false;
}

void http_accept_stop(http_server *s)
{
        http_acceptor *a = &s->acceptor;

        if (!a->running)
                return;
        atomic_store(&a->stop, true);
        (void)eventfd_write(a->wake_fd, 1);
        pthread_join(a->thread, NULL);
        a->running = false;
}

void http_accept_free(http_server *s)
{
        http_acceptor *a = &s->acceptor;

        for (unsigned i = 0; i < HTTP_LINGER_MAX; i++)
                if (a->lingers[i].fd >= 0)
                        close(a->lingers[i].fd);
        if (a->epoll_fd >= 0)
                close(a->epoll_fd);
        if (a->wake_fd >= 0)
                close(a->wake_fd);
        if (a->spare_fd >= 0)
                close(a->spare_fd);
        free(a->conns);
        free(a->fd_conn);
        http_clients_free(&a->clients);
        pthread_mutex_destroy(&a->lock);
}
