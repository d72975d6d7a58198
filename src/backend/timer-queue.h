/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timer-queue.h - calls functions after a delay on a few background threads, so that a simulated slow
 * external call (the payment provider) costs a timer instead of a sleeping server thread.
 */
#pragma once

#include <stdint.h>

typedef struct timer_queue timer_queue;
typedef void (*timer_queue_fn)(void *userdata);

/* Most timers pending at once; more are refused with -EAGAIN (bounded memory under a flood). */
#define TIMER_QUEUE_MAX 65536u

/* Threads of one queue at most. */
#define TIMER_QUEUE_THREADS_MAX 16u

/* Starts the queue's n_threads (1..TIMER_QUEUE_THREADS_MAX) threads. 0, -EINVAL, -ENOMEM, or the
 * pthread error. */
int timer_queue_new(unsigned n_threads, timer_queue **ret);
/* fn(userdata) runs on one of the queue's threads about delay_ms from now; due callbacks are taken in
 * deadline order, up to n_threads of them at once (a callback that waits for a database round trip
 * does not hold up the next). 0, -EAGAIN (queue full), -ESHUTDOWN (being freed). */
int timer_queue_add(timer_queue *q, uint32_t delay_ms, timer_queue_fn fn, void *userdata);
/* Runs what is still pending at its time, then stops the thread and frees the queue. NULL-safe. */
void timer_queue_free(timer_queue *q);
