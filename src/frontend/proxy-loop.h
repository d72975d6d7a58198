/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One libcurl multi handle driven by one thread, so that no server thread waits for the backend: a
 * server thread prepares an easy handle (proxy_loop_easy()), hands it over (proxy_loop_submit()) and
 * returns; the loop runs every transfer at once and calls the transfer's done function on its own
 * thread when it ends. The multi's connection cache keeps the backend connections alive between
 * exchanges (at most max_connections of them), and finished easy handles are pooled for the next one.
 */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>

#include "otel.h"

#define PROXY_LOOP_CONNECTIONS_MAX 4096u /* max_connections accepted */

typedef struct proxy_loop proxy_loop;
typedef struct proxy_loop_transfer proxy_loop_transfer;

/* Called once per submitted transfer, on the loop thread (or on the submitting thread when the loop
 * has stopped): rc is the transfer's result; aborted is true when the loop stopped before it ended
 * (rc is then CURLE_ABORTED_BY_CALLBACK). The easy handle is still readable with curl_easy_getinfo()
 * and goes back to the pool when done returns; done may free t. */
typedef void (*proxy_loop_done_fn)(proxy_loop_transfer *t, CURLcode rc, bool aborted);

/* Embedded in the caller's exchange: no allocation per transfer. */
struct proxy_loop_transfer {
        CURL *easy;                /* from proxy_loop_easy(), options set by the caller */
        proxy_loop_done_fn done;   /* how the transfer's end is reported */
        void *userdata;            /* the caller's */
        proxy_loop_transfer *next; /* the loop's lists: submitted queue, then the running set */
        proxy_loop_transfer *prev;
};

/* Starts the loop thread. max_connections caps the connections per host (CURLMOPT_MAX_HOST_CONNECTIONS,
 * also the idle connections kept: CURLMOPT_MAXCONNECTS); transfers beyond it wait in libcurl's queue
 * for a free connection. 0, -ENOMEM, or the pthread error. */
int proxy_loop_new(unsigned max_connections, proxy_loop **ret) OTEL_WUR;
/* An easy handle with default options (a pooled one after curl_easy_reset(), else a new one), or NULL
 * without memory. Any thread. */
CURL *proxy_loop_easy(proxy_loop *l);
/* Gives back an easy handle that was not submitted. NULL-safe. */
void proxy_loop_easy_release(proxy_loop *l, CURL *easy);
/* Hands t over; the loop owns t->easy from now on. Any thread. On a stopped loop t->done runs at once,
 * on this thread, with aborted set. */
void proxy_loop_submit(proxy_loop *l, proxy_loop_transfer *t);
/* Ends every transfer still queued or running (done with aborted set) and joins the thread; later
 * submits are aborted at once. Idempotent. */
void proxy_loop_stop(proxy_loop *l);
/* Stops the loop and frees it with its pooled handles and cached connections. NULL-safe. */
void proxy_loop_free(proxy_loop *l);
