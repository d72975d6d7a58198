/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend exchanges' event loop (see proxy-loop.h): curl_multi_perform / curl_multi_poll on one
 * thread, fed through a mutex-protected FIFO; curl_multi_wakeup() ends the poll when work arrives.
 *
 * Why curl_multi_poll and not curl_multi_socket_action over our own epoll: the loop talks to one
 * backend over at most max_connections keep-alive connections (a few dozen in practice), where one
 * poll() over them costs less than the socket and timer callbacks and their bookkeeping would, and
 * libcurl then owns every fd and timer itself. socket_action pays off with thousands of sockets.
 */
#include "proxy-loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* The longest single wait: libcurl shortens it to its own next timeout, a submit ends it. */
#define PROXY_LOOP_POLL_MS 1000
/* After a failed curl_multi_poll (it cannot fail with a valid handle): no busy loop. */
#define PROXY_LOOP_RETRY_NS (10 * 1000 * 1000L)

struct proxy_loop {
        CURLM *multi;                 /* the loop thread's (curl_multi_wakeup: any thread's) */
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

static void *proxy_loop_run(void *arg)
{
        proxy_loop *l = arg;

        for (;;) {
                proxy_loop_transfer *in;
                bool stopping;
                int running;

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
                proxy_loop_add(l, in);
                (void)curl_multi_perform(l->multi, &running);
                proxy_loop_reap(l);
                if (curl_multi_poll(l->multi, NULL, 0, PROXY_LOOP_POLL_MS, NULL) != CURLM_OK)
                        nanosleep(&(struct timespec){.tv_nsec = PROXY_LOOP_RETRY_NS}, NULL);
        }
        while (l->running) {
                proxy_loop_transfer *t = l->running;

                proxy_loop_running_unlink(l, t);
                (void)curl_multi_remove_handle(l->multi, t->easy);
                proxy_loop_finish(l, t, CURLE_ABORTED_BY_CALLBACK, true);
        }
        return NULL;
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
        l->pool_cap = max_connections;
        l->pool = calloc(max_connections, sizeof(*l->pool));
        l->multi = curl_multi_init();
        if (!l->pool || !l->multi) {
                r = -ENOMEM;
                goto fail;
        }
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
                (void)curl_multi_wakeup(l->multi);
}

void proxy_loop_stop(proxy_loop *l)
{
        pthread_mutex_lock(&l->lock);
        l->stopping = true;
        pthread_mutex_unlock(&l->lock);
        if (!l->thread_started)
                return;
        (void)curl_multi_wakeup(l->multi);
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
                curl_multi_cleanup(l->multi); /* closes the cached connections */
        pthread_mutex_destroy(&l->lock);
        free(l);
}
