/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workers' threads: each runs one libmicrohttpd daemon (MHD_USE_EPOLL without an internal thread)
 * and the worker hook's events (http_worker_hooks) from one epoll set, so that a handler can start
 * work on its own thread and that work's end resumes the request on the same thread: the frontend's
 * backend exchange costs no hand-off to another thread and back (two wake-ups, two eventfd round
 * trips per request with a separate loop thread).
 *
 * The set holds libmicrohttpd's own epoll descriptor (readable when one of its sockets or its
 * inter-thread channel is), an eventfd for the acceptor's hand-offs and the stop, and the hook's
 * descriptors. The wait lasts until the earlier of libmicrohttpd's timeout and the hook's.
 */
#include "http-private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define HTTP_WORKER_EVENTS    64
#define HTTP_WORKER_QUEUE_MIN 16u

/* The tags of the server's own descriptors in a worker's set (data.ptr); the hook's are its own. */
static const char http_worker_tag_mhd[] = "mhd";
static const char http_worker_tag_wake[] = "wake";

static _Thread_local http_worker *http_worker_current;

void *http_worker_state(void)
{
        return http_worker_current ? http_worker_current->hook_state : NULL;
}

http_worker *http_worker_self(void)
{
        return http_worker_current;
}

void http_worker_init(http_server *s, http_worker *w)
{
        w->server = s;
        w->epoll_fd = w->wake_fd = -1;
        atomic_init(&w->live, 0);
        atomic_init(&w->in_handler, false);
        atomic_init(&w->stop, false);
        atomic_init(&w->abort, false);
        pthread_mutex_init(&w->lock, NULL);
}

bool http_worker_handoff(http_worker *w, const http_handoff *h)
{
        pthread_mutex_lock(&w->lock);
        if (w->n_queue == w->cap_queue) {
                size_t cap = w->cap_queue ? w->cap_queue * 2 : HTTP_WORKER_QUEUE_MIN;
                http_handoff *q = realloc(w->queue, cap * sizeof(*q));

                if (!q) {
                        pthread_mutex_unlock(&w->lock);
                        return false;
                }
                w->queue = q;
                w->cap_queue = cap;
        }
        w->queue[w->n_queue++] = *h;
        pthread_mutex_unlock(&w->lock);
        return true;
}

void http_worker_wake(http_worker *w)
{
        if (eventfd_write(w->wake_fd, 1) < 0) {
                /* EAGAIN: the counter is full, so a wake-up is pending anyway */
        }
}

/* How long the wait may last: libmicrohttpd's next timeout (0 when it has data pending) and the
 * hook's, whichever is first; -1 for none. */
static int http_worker_wait_ms(http_worker *w, int hook_ms)
{
        MHD_UNSIGNED_LONG_LONG mhd_ms;
        int ms = hook_ms;

        if (MHD_get_timeout(w->mhd, &mhd_ms) == MHD_YES) {
                int m = mhd_ms > INT_MAX ? INT_MAX : (int)mhd_ms;

                if (ms < 0 || m < ms)
                        ms = m;
        }
        return ms;
}

static void *http_worker_main(void *arg)
{
        http_worker *w = arg;
        const http_worker_hooks *hooks = w->server->worker_hooks;
        struct epoll_event ev[HTTP_WORKER_EVENTS];
        int hook_ms = -1;

        http_worker_current = w;
        while (!atomic_load(&w->stop)) {
                /* A resume on this thread since libmicrohttpd last ran (by the hook after it, or by a
                 * handler inside it, after its resume pass) is served before any wait. */
                int n = epoll_wait(w->epoll_fd, ev, HTTP_WORKER_EVENTS,
                                   w->resumed ? 0 : http_worker_wait_ms(w, hook_ms));

                for (int i = 0; i < n; i++) {
                        if (ev[i].data.ptr == http_worker_tag_mhd)
                                continue; /* MHD_run() below */
                        if (ev[i].data.ptr == http_worker_tag_wake) {
                                eventfd_t count;

                                (void)eventfd_read(w->wake_fd, &count);
                                http_accept_take_handoffs(w->server, w, false);
                                continue;
                        }
                        if (hooks)
                                hooks->event(w->hook_state, &ev[i]);
                }
                if (hooks && atomic_exchange(&w->abort, false))
                        hooks->abort(w->hook_state);
                /* The hook first: what it finished (resumed) is sent by this MHD_run(). */
                if (hooks)
                        (void)hooks->run(w->hook_state);
                w->resumed = false;
                (void)MHD_run(w->mhd);
                /* What the handlers just started (a transfer due at once) starts before the wait. */
                if (hooks)
                        hook_ms = hooks->run(w->hook_state);
        }
        http_worker_current = NULL;
        return NULL;
}

static int http_worker_epoll_add(http_worker *w, int fd, const char *tag)
{
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)tag};

        return epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int http_worker_start(http_worker *w)
{
        const http_worker_hooks *hooks = w->server->worker_hooks;
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        int r;

        if (!info)
                return -EIO;
        w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->epoll_fd < 0 || w->wake_fd < 0)
                return -errno;
        if ((r = http_worker_epoll_add(w, info->epoll_fd, http_worker_tag_mhd)) < 0 ||
            (r = http_worker_epoll_add(w, w->wake_fd, http_worker_tag_wake)) < 0)
                return r;
        if (hooks && (r = hooks->start(w->server->worker_userdata, w->epoll_fd, &w->hook_state)) < 0) {
                w->hook_state = NULL;
                return r;
        }
        r = -pthread_create(&w->thread, NULL, http_worker_main, w);
        if (r < 0)
                return r;
        w->thread_started = true;
        return 0;
}

void http_worker_stop(http_worker *w)
{
        const http_worker_hooks *hooks = w->server->worker_hooks;

        if (w->thread_started) {
                atomic_store(&w->stop, true);
                http_worker_wake(w);
                (void)pthread_join(w->thread, NULL);
                w->thread_started = false;
        }
        if (w->mhd)
                http_accept_take_handoffs(w->server, w, true);
        if (hooks && w->hook_state) {
                /* The thread is gone: its daemon and hook state are this thread's now. */
                http_worker_current = w;
                hooks->stop(w->hook_state);
                w->hook_state = NULL;
                if (w->mhd)
                        (void)MHD_run(w->mhd); /* resumes what the stop answered */
                http_worker_current = NULL;
        }
}

void http_worker_free(http_worker *w)
{
        if (w->epoll_fd >= 0)
                close(w->epoll_fd);
        if (w->wake_fd >= 0)
                close(w->wake_fd);
        w->epoll_fd = w->wake_fd = -1;
        free(w->queue);
        w->queue = NULL;
        w->n_queue = w->cap_queue = 0;
        pthread_mutex_destroy(&w->lock);
}
