/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A binary min-heap of deadlines under one mutex, served by a few threads that sleep on one condition
 * variable (CLOCK_MONOTONIC) until the earliest deadline. Callbacks run outside the lock, so that
 * several can run at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "otel.h"
#include "timer-queue.h"

#define TIMER_QUEUE_INITIAL 256u

typedef struct timer_entry {
        uint64_t deadline_ns; /* CLOCK_MONOTONIC */
        uint64_t seq;         /* insertion order: equal deadlines run first-in first-out */
        timer_queue_fn fn;
        void *userdata;
} timer_entry;

struct timer_queue {
        pthread_mutex_t lock;
        pthread_cond_t wake; /* signalled when an earlier deadline arrives or on shutdown */
        pthread_t threads[TIMER_QUEUE_THREADS_MAX];
        unsigned n_threads;
        timer_entry *heap; /* min-heap by (deadline_ns, seq) */
        size_t n, cap;
        uint64_t next_seq;
        bool stopping; /* set by timer_queue_free: no more adds, run the rest and exit */
};

static bool entry_before(const timer_entry *a, const timer_entry *b)
{
        return a->deadline_ns < b->deadline_ns || (a->deadline_ns == b->deadline_ns && a->seq < b->seq);
}

static void heap_swap(timer_entry *h, size_t i, size_t j)
{
        timer_entry t = h[i];

        h[i] = h[j];
        h[j] = t;
}

static void heap_up(timer_entry *h, size_t i)
{
        while (i > 0 && entry_before(&h[i], &h[(i - 1) / 2])) {
                heap_swap(h, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
}

static void heap_down(timer_entry *h, size_t n, size_t i)
{
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;

                if (l < n && entry_before(&h[l], &h[m]))
                        m = l;
                if (r < n && entry_before(&h[r], &h[m]))
                        m = r;
                if (m == i)
                        return;
                heap_swap(h, i, m);
                i = m;
        }
}

static void *timer_queue_run(void *arg)
{
        timer_queue *q = arg;

        pthread_mutex_lock(&q->lock);
        for (;;) {
                uint64_t now = otel_mono_ns();

                if (q->n == 0) {
                        if (q->stopping)
                                break;
                        pthread_cond_wait(&q->wake, &q->lock);
                        continue;
                }
                if (q->heap[0].deadline_ns > now) {
                        uint64_t d = q->heap[0].deadline_ns;
                        struct timespec ts = {.tv_sec = (time_t)(d / 1000000000u),
                                              .tv_nsec = (long)(d % 1000000000u)};

                        pthread_cond_timedwait(&q->wake, &q->lock, &ts);
                        continue;
                }
                timer_entry e = q->heap[0];

                q->heap[0] = q->heap[--q->n];
                heap_down(q->heap, q->n, 0);
                if (q->n > 0 && q->heap[0].deadline_ns <= now)
                        pthread_cond_signal(&q->wake); /* more are due: another thread takes the next */
                pthread_mutex_unlock(&q->lock);
                e.fn(e.userdata);
                pthread_mutex_lock(&q->lock);
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

static void timer_queue_stop(timer_queue *q)
{
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_broadcast(&q->wake);
        pthread_mutex_unlock(&q->lock);
        for (unsigned i = 0; i < q->n_threads; i++)
                pthread_join(q->threads[i], NULL);
        pthread_cond_destroy(&q->wake);
        pthread_mutex_destroy(&q->lock);
        free(q->heap);
        free(q);
}

int timer_queue_new(unsigned n_threads, timer_queue **ret)
{
        pthread_condattr_t ca;
        timer_queue *q;
        int r;

        if (n_threads < 1 || n_threads > TIMER_QUEUE_THREADS_MAX)
                return -EINVAL;
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->heap = calloc(TIMER_QUEUE_INITIAL, sizeof(*q->heap));
        if (!q->heap) {
                free(q);
                return -ENOMEM;
        }
        q->cap = TIMER_QUEUE_INITIAL;
        pthread_mutex_init(&q->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&q->wake, &ca);
        pthread_condattr_destroy(&ca);
        for (; q->n_threads < n_threads; q->n_threads++) {
                r = pthread_create(&q->threads[q->n_threads], NULL, timer_queue_run, q);
                if (r != 0) {
                        timer_queue_stop(q); /* the threads started so far */
                        return -r;
                }
        }
        *ret = q;
        return 0;
}

int timer_queue_add(timer_queue *q, uint32_t delay_ms, timer_queue_fn fn, void *userdata)
{
        timer_entry e = {.deadline_ns = otel_mono_ns() + (uint64_t)delay_ms * 1000000u,
                         .fn = fn,
                         .userdata = userdata};
        int r = 0;

        pthread_mutex_lock(&q->lock);
        if (q->stopping) {
                r = -ESHUTDOWN;
                goto out;
        }
        if (q->n == q->cap) {
                timer_entry *h;

                if (q->cap >= TIMER_QUEUE_MAX) {
                        r = -EAGAIN;
                        goto out;
                }
                h = realloc(q->heap, 2 * q->cap * sizeof(*h));
                if (!h) {
                        r = -ENOMEM;
                        goto out;
                }
                q->heap = h;
                q->cap *= 2;
        }
        e.seq = q->next_seq++;
        q->heap[q->n] = e;
        heap_up(q->heap, q->n++);
        if (q->heap[0].seq == e.seq) /* the new entry is the earliest: re-arm the wait */
                pthread_cond_signal(&q->wake);
out:
        pthread_mutex_unlock(&q->lock);
        return r;
}

void timer_queue_free(timer_queue *q)
{
        if (q)
                timer_queue_stop(q);
}
