/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend exchanges' event loop (see proxy-loop.h): curl_multi_socket_action() over the epoll set
 * of the HTTP worker that runs it, so that a request's exchange starts and ends on its own thread.
 *
 * Why socket_action over an epoll set and not curl_multi_poll()/curl_multi_perform(): the latter
 * visit every transfer on every wake-up (libcurl 7.88 polls each one's socket again), so with 50
 * exchanges in flight each reply cost ~50 extra system calls. socket_action touches only the transfer
 * whose socket is ready and the timers that are due.
 *
 * Why on the worker's thread and not on a loop thread of its own (as before): that design handed every
 * request over twice (worker → loop thread → worker), two eventfd writes, two reads and two wake-ups
 * per request; on this 2-core machine those cost more than the exchange itself, and under load each
 * wake-up also waits for a CPU.
 */
#include "proxy-loop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>

#define PROXY_LOOP_NO_TIMER UINT64_MAX
/* The loop's socket events carry the fd with this bit set in data.u64: no user-space pointer (what the
 * server's own events carry) has it. */
#define PROXY_LOOP_TAG (UINT64_C(1) << 63)
/* curl_multi_assign()'s marker: the socket is in the epoll set. */
#define PROXY_LOOP_WATCHED ((void *)&proxy_loop_watched)
static const char proxy_loop_watched = 1;

struct proxy_loop {
        CURLM *multi;
        int epoll_fd;                 /* the worker's set (not owned) */
        uint64_t timer_ns;            /* CLOCK_MONOTONIC when libcurl's timer is due, or NO_TIMER */
        proxy_loop_transfer *running; /* transfers added to the multi */
        bool aborted;                 /* proxy_loop_abort() ran: submits end at once */
        CURL **pool;                  /* idle easy handles, reused by proxy_loop_easy() */
        size_t n_pool;
        size_t pool_cap; /* = max_connections: as many as can run at once */
};

static void proxy_loop_pool_put(proxy_loop *l, CURL *easy)
{
        if (!easy)
                return;
        if (l->n_pool < l->pool_cap)
                l->pool[l->n_pool++] = easy;
        else
                curl_easy_cleanup(easy);
}

/* Reports t's end; t may be gone afterwards, so its handle is taken first. */
static void proxy_loop_finish(proxy_loop *l, proxy_loop_transfer *t, CURLcode rc, bool aborted)
{
        CURL *easy = t->easy;

        t->done(t, rc, aborted);
        proxy_loop_pool_put(l, easy);
}

static void proxy_loop_running_unlink(proxy_loop *l, proxy_loop_transfer *t)
{
        if (t->prev)
                t->prev->next = t->next;
        else
                l->running = t->next;
        if (t->next)
                t->next->prev = t->prev;
        t->next = t->prev = NULL;
}

/* Every finished transfer: out of the multi (its connection stays in the cache), then reported. */
static void proxy_loop_reap(proxy_loop *l)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(l->multi, &left))) {
                CURL *easy = msg->easy_handle;
                CURLcode rc = msg->data.result;
                char *priv = NULL;
                proxy_loop_transfer *t;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                /* msg is invalid once the handle is removed: copied above. */
                (void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
                t = (proxy_loop_transfer *)(void *)priv;
                proxy_loop_running_unlink(l, t);
                (void)curl_multi_remove_handle(l->multi, easy);
                proxy_loop_finish(l, t, rc, false);
        }
}

/* CURLMOPT_SOCKETFUNCTION: keeps the epoll set in step with what libcurl wants of each socket; the
 * socket's curl_multi_assign() pointer says whether it is in the set already (one epoll_ctl per
 * change, none failing). */
static int proxy_loop_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        proxy_loop *l = userp;
        struct epoll_event ev = {.data.u64 = PROXY_LOOP_TAG | (uint64_t)(uint32_t)fd};

        (void)easy;
        if (what == CURL_POLL_REMOVE) {
                if (socketp)
                        (void)epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
                return 0; /* libcurl forgets the assignment itself */
        }
        ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
        if (socketp)
                return epoll_ctl(l->epoll_fd, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : -1;
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -1; /* libcurl fails the transfer */
        (void)curl_multi_assign(l->multi, fd, PROXY_LOOP_WATCHED);
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: remembers when libcurl wants socket_action(CURL_SOCKET_TIMEOUT). */
static int proxy_loop_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
        proxy_loop *l = userp;

        (void)multi;
        l->timer_ns =
                timeout_ms < 0 ? PROXY_LOOP_NO_TIMER : otel_mono_ns() + (uint64_t)timeout_ms * 1000000u;
        return 0;
}

bool proxy_loop_event(proxy_loop *l, const struct epoll_event *ev)
{
        int flags = 0, running;

        if (!(ev->data.u64 & PROXY_LOOP_TAG))
                return false;
        if (ev->events & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (ev->events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (ev->events & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        (void)curl_multi_socket_action(l->multi, (curl_socket_t)(uint32_t)ev->data.u64, flags, &running);
        return true;
}

int proxy_loop_run(proxy_loop *l)
{
        uint64_t now = otel_mono_ns(), left_ms;
        int running;

        if (l->timer_ns != PROXY_LOOP_NO_TIMER && l->timer_ns <= now) {
                l->timer_ns = PROXY_LOOP_NO_TIMER; /* the action may set the next one */
                (void)curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        proxy_loop_reap(l);
        if (l->timer_ns == PROXY_LOOP_NO_TIMER)
                return -1;
        now = otel_mono_ns();
        if (l->timer_ns <= now)
                return 0;
        left_ms = (l->timer_ns - now + 999999u) / 1000000u; /* rounded up: no wake-up just before */
        return left_ms > INT32_MAX ? INT32_MAX : (int)left_ms;
}

int proxy_loop_new(unsigned max_connections, int epoll_fd, proxy_loop **ret)
{
        proxy_loop *l;

        if (max_connections == 0 || max_connections > PROXY_LOOP_CONNECTIONS_MAX)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->epoll_fd = epoll_fd;
        l->timer_ns = PROXY_LOOP_NO_TIMER;
        l->pool_cap = max_connections;
        l->pool = calloc(max_connections, sizeof(*l->pool));
        l->multi = curl_multi_init();
        if (!l->pool || !l->multi) {
                proxy_loop_free(l);
                return -ENOMEM;
        }
        curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, proxy_loop_on_socket);
        curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
        curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, proxy_loop_on_timer);
        curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
        /* HTTP/1.1 carries one exchange per connection: the cap on connections is the cap on exchanges
         * the backend sees at once; MAXCONNECTS keeps as many idle ones, so a burst's connections are
         * reused rather than closed and opened again. */
        curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_connections);
        curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)max_connections);
        *ret = l;
        return 0;
}

CURL *proxy_loop_easy(proxy_loop *l)
{
        CURL *easy;

        if (l->n_pool == 0)
                return curl_easy_init();
        easy = l->pool[--l->n_pool];
        curl_easy_reset(easy);
        return easy;
}

void proxy_loop_easy_release(proxy_loop *l, CURL *easy)
{
        proxy_loop_pool_put(l, easy);
}

void proxy_loop_submit(proxy_loop *l, proxy_loop_transfer *t)
{
        t->next = t->prev = NULL;
        if (l->aborted) {
                proxy_loop_finish(l, t, CURLE_ABORTED_BY_CALLBACK, true);
                return;
        }
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, (void *)t);
        /* The add sets a timer due at once: the transfer starts at the next proxy_loop_run(). */
        if (curl_multi_add_handle(l->multi, t->easy) != CURLM_OK) {
                proxy_loop_finish(l, t, CURLE_OUT_OF_MEMORY, false);
                return;
        }
        t->next = l->running;
        if (l->running)
                l->running->prev = t;
        l->running = t;
}

void proxy_loop_abort(proxy_loop *l)
{
        l->aborted = true;
        while (l->running) {
                proxy_loop_transfer *t = l->running;

                proxy_loop_running_unlink(l, t);
                (void)curl_multi_remove_handle(l->multi, t->easy);
                proxy_loop_finish(l, t, CURLE_ABORTED_BY_CALLBACK, true);
        }
}

void proxy_loop_free(proxy_loop *l)
{
        if (!l)
                return;
        if (l->multi)
                proxy_loop_abort(l);
        for (size_t i = 0; i < l->n_pool; i++)
                curl_easy_cleanup(l->pool[i]);
        free(l->pool);
        if (l->multi)
                curl_multi_cleanup(l->multi); /* closes the cached connections (callbacks included) */
        free(l);
}
