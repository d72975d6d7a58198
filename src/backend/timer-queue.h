/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timer-queue.h - calls functions after a delay on one background thread, so that a simulated slow
 * external call (the payment provider) costs a timer instead of a sleeping server thread.
 */
#pragma once

#include <stdint.h>

typedef struct timer_queue timer_queue;
typedef void (*timer_queue_fn)(void *userdata);

/* Most timers pending at once; more are refused with -EAGAIN (bounded memory under a flood). */
#define TIMER_QUEUE_MAX 65536u

/* Starts the queue's thread. 0, -ENOMEM, or the pthread error. */
int timer_queue_new(timer_queue **ret);
/* fn(userdata) runs on the queue's thread about delay_ms from now (in deadline order). Callbacks run
 * one at a time and should be short. 0, -EAGAIN (queue full), -ESHUTDOWN (being freed). */
int timer_queue_add(timer_queue *q, uint32_t delay_ms, timer_queue_fn fn, void *userdata);
/* Runs what is still pending at its time, then stops the thread and frees the queue. NULL-safe. */
void timer_queue_free(timer_queue *q);
