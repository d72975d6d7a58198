/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend exchanges' event loop (see proxy-loop.h): curl_multi_socket_action() over an epoll set
 * on one thread, fed through a mutex-protected FIFO and an eventfd that wakes the epoll_wait().
 *
 * Why socket_action over our own epoll and not curl_multi_poll()/curl_multi_perform(): the latter
 * visit every transfer on every wake-up (libcurl 7.88 polls each one's socket again), so with 50
 * exchanges in flight each reply cost ~50 extra system calls, and GET through the frontend took twice
 * the CPU per request of the blocking proxy it replaced (measured). socket_action touches only the
 * transfer whose socket is ready and the timers that are due.
 */
#include "proxy-loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* The longest single wait: libcurl's own timers (CURLMOPT_TIMERFUNCTION) shorten it, a submit ends it. */
#define PROXY_LOOP_WAIT_MS 1000
#define PROXY_LOOP_EVENTS  64 /* epoll events taken per wait */
/* After a failed epoll_wait (it cannot fail on a valid set but for EINTR): no busy loop. */
#define PROXY_LOOP_RETRY_NS (10 * 1000 * 1000L)
#define PROXY_LOOP_NO_TIMER UINT64_MAX

struct proxy_loop {
        CURLM *multi;                 /* the loop thread's */
        int epoll_fd;                 /* the sockets libcurl wants watched, and wake_fd */
        int wake_fd;                  /* eventfd: a submit or the stop ends the wait */
        uint64_t timer_ns;            /* CLOCK_MONOTONIC when libcurl's timer is due, or NO_TIMER */
        pthread_t thread;             /* runs proxy_loop_run() */
        bool thread_started;          /* thread is joinable */
        proxy_loop_transfer *running; /* transfers added to the multi (loop thread only) */

        pthread_mutex_t lock;            /* guards what follows */
        proxy_loop_transfer *queue;      /* submitted, not yet added, oldest first */
        proxy_loop_transfer *queue_tail; /* where the next submit goes */
        bool stopping;                   /* set by proxy_loop_stop(): abort what is left, add nothing */
        CURL **pool;                     /* idle easy handles, reused by proxy_loop_easy() */
        size_t n_pool;
        size_t pool_cap; /* = max_connections: as many as can run at once */
};

static void proxy_loop_pool_put(proxy_loop *l, CURL *easy)
{
        if (!easy)
                return;
        pthread_mutex_lock(&l->lock);
        if (l->n_pool < l->pool_cap) {
                l->pool[l->n_pool++] = easy;
                easy = NULL;
        }
        pthread_mutex_unlock(&l->lock);
        curl_easy_cleanup(easy); /* NULL-safe */
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

static void proxy_loop_add(proxy_loop *l, proxy_loop_transfer *list)
{
        while (list) {
                proxy_loop_transfer *t = list;

                list = t->next;
                curl_easy_setopt(t->easy, CURLOPT_PRIVATE, (void *)t);
                if (curl_multi_add_handle(l->multi, t->easy) != CURLM_OK) {
                        proxy_loop_finish(l, t, CURLE_OUT_OF_MEMORY, false);
                        continue;
                }
                t->prev = NULL;
                t->next = l->running;
                if (l->running)
                        l->running->prev = t;
                l->running = t;
        }
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

/* CURLMOPT_SOCKETFUNCTION: keeps the epoll set in step with what libcurl wants of each socket. */
static int proxy_loop_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        proxy_loop *l = userp;
        struct epoll_event ev = {.data.fd = fd};

        (void)easy;
        (void)socketp;
        if (what == CURL_POLL_REMOVE) {
                (void)epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
                return 0;
        }
        ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
        /* A socket libcurl has not asked about before (or a new one with a closed one's number). */
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_MOD, fd, &ev) == 0 ||
            (errno == ENOENT && epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0))
                return 0;
        return -1; /* libcurl fails the transfer */
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

/* How long epoll_wait may sleep: until libcurl's timer, at most PROXY_LOOP_WAIT_MS. */
static int proxy_loop_wait_ms(const proxy_loop *l)
{
        uint64_t now = otel_mono_ns(), left_ms;

        if (l->timer_ns == PROXY_LOOP_NO_TIMER)
                return PROXY_LOOP_WAIT_MS;
        if (l->timer_ns <= now)
                return 0;
        left_ms = (l->timer_ns - now + 999999u) / 1000000u; /* rounded up: no wake-up just before */
        return left_ms < PROXY_LOOP_WAIT_MS ? (int)left_ms : PROXY_LOOP_WAIT_MS;
}

static void proxy_loop_on_events(proxy_loop *l, const struct epoll_event *ev, int n)
{
        int running;

        for (int i = 0; i < n; i++) {
                int flags = 0;

                if (ev[i].data.fd == l->wake_fd) {
                        uint64_t count;

                        if (read(l->wake_fd, &count, sizeof(count)) < 0) {
                                /* EAGAIN: another wait already took it */
                        }
                        continue;
                }
                if (ev[i].events & EPOLLIN)
                        flags |= CURL_CSELECT_IN;
                if (ev[i].events & EPOLLOUT)
                        flags |= CURL_CSELECT_OUT;
                if (ev[i].events & (EPOLLERR | EPOLLHUP))
                        flags |= CURL_CSELECT_ERR;
                (void)curl_multi_socket_action(l->multi, ev[i].data.fd, flags, &running);
        }
        if (l->timer_ns != PROXY_LOOP_NO_TIMER && l->timer_ns <= otel_mono_ns()) {
                l->timer_ns = PROXY_LOOP_NO_TIMER; /* the action may set the next one */
                (void)curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
}

static void *proxy_loop_run(void *arg)
{
        proxy_loop *l = arg;
        struct epoll_event ev[PROXY_LOOP_EVENTS];

        for (;;) {
                proxy_loop_transfer *in;
                bool stopping;
                int n;

                pthread_mutex_lock(&l->lock);
                in = l->queue;
                l->queue = l->queue_tail = NULL;
                stopping = l->stopping;
                pthread_mutex_unlock(&l->lock);
                if (stopping) {
                        while (in) {
                                proxy_loop_transfer *t = in;

                                in = t->next;
                                proxy_loop_finish(l, t, CURLE_ABORTED_BY_CALLBACK, true);
                        }
                        break;
                }
                proxy_loop_add(l, in); /* each add sets a timer due at once: the transfer starts */
                n = epoll_wait(l->epoll_fd, ev, PROXY_LOOP_EVENTS, proxy_loop_wait_ms(l));
                if (n < 0) {
                        if (errno != EINTR)
                                nanosleep(&(struct timespec){.tv_nsec = PROXY_LOOP_RETRY_NS}, NULL);
                        n = 0;
                }
                proxy_loop_on_events(l, ev, n);
                proxy_loop_reap(l);
        }
        while (l->running) {
                proxy_loop_transfer *t = l->running;

                proxy_loop_running_unlink(l, t);
                (void)curl_multi_remove_handle(l->multi, t->easy);
                proxy_loop_finish(l, t, CURLE_ABORTED_BY_CALLBACK, true);
        }
        return NULL;
}

static void proxy_loop_wake(proxy_loop *l)
{
        uint64_t one = 1;

        if (write(l->wake_fd, &one, sizeof(one)) < 0) {
                /* EAGAIN: the counter is full, so a wake-up is pending anyway */
        }
}

int proxy_loop_new(unsigned max_connections, proxy_loop **ret)
{
        proxy_loop *l;
        int r;

        if (max_connections == 0 || max_connections > PROXY_LOOP_CONNECTIONS_MAX)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        r = -pthread_mutex_init(&l->lock, NULL);
        if (r < 0) {
                free(l);
                return r;
        }
        l->epoll_fd = l->wake_fd = -1;
        l->timer_ns = PROXY_LOOP_NO_TIMER;
        l->pool_cap = max_connections;
        l->pool = calloc(max_connections, sizeof(*l->pool));
        l->multi = curl_multi_init();
        if (!l->pool || !l->multi) {
                r = -ENOMEM;
                goto fail;
        }
        l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (l->epoll_fd < 0 || l->wake_fd < 0 ||
            epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->wake_fd,
                      &(struct epoll_event){.events = EPOLLIN, .data.fd = l->wake_fd}) < 0) {
                r = -errno;
                goto fail;
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
        r = -pthread_create(&l->thread, NULL, proxy_loop_run, l);
        if (r < 0)
                goto fail;
        l->thread_started = true;
        *ret = l;
        return 0;
fail:
        proxy_loop_free(l);
        return r;
}

CURL *proxy_loop_easy(proxy_loop *l)
{
        CURL *easy = NULL;

        pthread_mutex_lock(&l->lock);
        if (l->n_pool > 0)
                easy = l->pool[--l->n_pool];
        pthread_mutex_unlock(&l->lock);
        if (!easy)
                return curl_easy_init();
        curl_easy_reset(easy);
        return easy;
}

void proxy_loop_easy_release(proxy_loop *l, CURL *easy)
{
        proxy_loop_pool_put(l, easy);
}

void proxy_loop_submit(proxy_loop *l, proxy_loop_transfer *t)
{
        bool wake;

        t->next = t->prev = NULL;
        pthread_mutex_lock(&l->lock);
        if (l->stopping) {
                pthread_mutex_unlock(&l->lock);
                proxy_loop_finish(l, t, CURLE_ABORTED_BY_CALLBACK, true);
                return;
        }
        /* A non-empty queue has had its wakeup since the loop last took it. */
        wake = !l->queue;
        if (l->queue_tail)
                l->queue_tail->next = t;
        else
                l->queue = t;
        l->queue_tail = t;
        pthread_mutex_unlock(&l->lock);
        if (wake)
                proxy_loop_wake(l);
}

void proxy_loop_stop(proxy_loop *l)
{
        pthread_mutex_lock(&l->lock);
        l->stopping = true;
        pthread_mutex_unlock(&l->lock);
        if (!l->thread_started)
                return;
        proxy_loop_wake(l);
        (void)pthread_join(l->thread, NULL);
        l->thread_started = false;
}

void proxy_loop_free(proxy_loop *l)
{
        if (!l)
                return;
        proxy_loop_stop(l);
        for (size_t i = 0; i < l->n_pool; i++)
                curl_easy_cleanup(l->pool[i]);
        free(l->pool);
        if (l->multi)
                curl_multi_cleanup(l->multi); /* closes the cached connections (callbacks included) */
        if (l->epoll_fd >= 0)
                close(l->epoll_fd);
        if (l->wake_fd >= 0)
                close(l->wake_fd);
        pthread_mutex_destroy(&l->lock);
        free(l);
}
