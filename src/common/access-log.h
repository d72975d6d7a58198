/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The access log of both daemons: one log line per completed request (method, route, status, duration,
 * bytes, client address, with the request's trace id as journald TRACE_ID), switchable per daemon with
 * [server] access_log. Rejected requests (limits, 5xx, aborted) and refused connections are logged at
 * warning level whether or not the access log is on, through a token bucket so that a flood cannot fill
 * the journal; what the bucket held back is counted in the next line that passes.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config-file.h"
#include "otel.h"

#define ACCESS_LOG_REJECT_BURST 20u /* rejection lines logged back to back before the limit applies */
#define ACCESS_LOG_REJECT_PER_S 10u /* rejection lines per second after the burst */
#define ACCESS_LOG_DEFAULT_ON   true

/* What one completed request looked like; the strings are borrowed. */
typedef struct access_log_entry {
        const char *method;   /* as received */
        const char *route;    /* the matched route pattern, or NULL (none matched) */
        const char *path;     /* the decoded path, logged when no route matched */
        unsigned status;      /* 0 when no reply went out (aborted, timed out) */
        const char *failure;  /* "timeout", "aborted" when no reply went out, else NULL */
        uint64_t duration_ns; /* first callback to completion */
        uint64_t bytes;       /* reply body bytes */
        const char *client;   /* client address ("" unknown) */
} access_log_entry;

/* Reads [server] access_log (boolean, default on). -EINVAL with config_error(cfg) set. */
int access_log_config_load(config_file *cfg, bool *ret_enabled) OTEL_WUR;

/* True for a status that means the server turned the request down or failed it: a limit (408, 413,
 * 414, 429, 431), any 5xx, or no reply at all. */
bool access_log_is_rejection(unsigned status);

/* Logs a completed request with the calling thread's current span (the request's) as the trace
 * context: an info line when enabled, a rate-limited warning for a rejection either way. */
void access_log_request(bool enabled, const access_log_entry *e);
/* libmicrohttpd turned a connection away (connection limit, per-IP limit, accept failure). */
void access_log_refused(const char *reason);
/* A limit was hit or a request turned away that anyone can cause (http-accept.c's connection limits, a
 * wrong bearer token): "<what>: <detail>", under the same bucket. */
void access_log_limit(const char *what, const char *detail);

/* Called with each message libmicrohttpd logs: true (and logged through access_log_refused()) when it
 * says a connection was turned away. */
bool access_log_mhd_message(const char *msg);

typedef struct http_request http_request;
/* The HTTP server's completion hook: builds the entry from the request (termination is its
 * MHD_RequestTerminationCode) and logs it. Before the request's span ends. */
void access_log_http_completed(const http_request *req, int termination);

/* The token bucket, exposed for tests: true when a line may go out at now_ns, else counts it as
 * suppressed. ret_suppressed receives (and resets) the count held back before this line. */
bool access_log_rate_take(uint64_t now_ns, uint64_t *ret_suppressed);
/* Refills the bucket and clears the count (tests). */
void access_log_rate_reset(void);
