/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One libcurl multi handle per HTTP server worker, driven from that worker's own event loop (the
 * server's http_worker_hooks), so that no server thread waits for the backend and no exchange crosses
 * to another thread: a handler prepares an easy handle (proxy_loop_easy()), hands it over
 * (proxy_loop_submit()) and returns; the worker's loop runs every transfer at once and calls the
 * transfer's done function when it ends, on the same thread. The multi's connection cache keeps the
 * backend connections alive between exchanges (at most max_connections of them per loop), and
 * finished easy handles are pooled for the next one. Everything here is called on the loop's thread.
 */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>

#include "otel.h"

#define PROXY_LOOP_CONNECTIONS_MAX 4096u /* max_connections accepted */

struct epoll_event;
typedef struct proxy_loop proxy_loop;
typedef struct proxy_loop_transfer proxy_loop_transfer;

/* Called once per submitted transfer, on the loop's thread: rc is the transfer's result; aborted is
 * true when the loop ended it (proxy_loop_abort(), or a submit after it; rc is then
 * CURLE_ABORTED_BY_CALLBACK). The easy handle is still readable with curl_easy_getinfo() and goes back
 * to the pool when done returns; done may free t. */
typedef void (*proxy_loop_done_fn)(proxy_loop_transfer *t, CURLcode rc, bool aborted);

/* Embedded in the caller's exchange: no allocation per transfer. */
struct proxy_loop_transfer {
        CURL *easy;                /* from proxy_loop_easy(), options set by the caller */
        proxy_loop_done_fn done;   /* how the transfer's end is reported */
        void *userdata;            /* the caller's */
        proxy_loop_transfer *next; /* the running set */
        proxy_loop_transfer *prev;
};

/* A loop whose sockets go into epoll_fd (the worker's set; their events carry a data.u64 of
 * proxy_loop_event()'s own, never a pointer). max_connections caps the connections per host
 * (CURLMOPT_MAX_HOST_CONNECTIONS, also the idle connections kept: CURLMOPT_MAXCONNECTS); transfers
 * beyond it wait in libcurl's queue for a free connection. 0, -EINVAL or -ENOMEM. */
int proxy_loop_new(unsigned max_connections, int epoll_fd, proxy_loop **ret) OTEL_WUR;
/* An easy handle with default options (a pooled one after curl_easy_reset(), else a new one), or NULL
 * without memory. */
CURL *proxy_loop_easy(proxy_loop *l);
/* Gives back an easy handle that was not submitted. NULL-safe. */
void proxy_loop_easy_release(proxy_loop *l, CURL *easy);
/* Hands t over; the loop owns t->easy from now on. It starts at the next proxy_loop_run(). After
 * proxy_loop_abort(), t->done runs at once with aborted set. */
void proxy_loop_submit(proxy_loop *l, proxy_loop_transfer *t);
/* True when ev is one of the loop's socket events; then it has been handled. */
bool proxy_loop_event(proxy_loop *l, const struct epoll_event *ev);
/* Runs libcurl's due timers and reports the transfers that ended. Returns how long the loop may wait
 * for its next timer: ms, or -1 for none. */
int proxy_loop_run(proxy_loop *l);
/* Ends every transfer (done with aborted set) and every later submit. */
void proxy_loop_abort(proxy_loop *l);
/* Aborts what runs, frees the loop with its pooled handles and cached connections. NULL-safe. */
void proxy_loop_free(proxy_loop *l);
