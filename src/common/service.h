/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The main loop both daemons run once they serve: signals are blocked in every thread and taken here
 * with sigtimedwait(), SIGHUP reloads (RELOADING=1 … READY=1), SIGTERM/SIGINT end the loop
 * (STOPPING=1), and between signals the loop refreshes STATUS= and sends WATCHDOG=1 only after the
 * daemon's liveness probe (a real request through the server) succeeded.
 */
#pragma once

#include <stddef.h>

#define SERVICE_STATUS_INTERVAL_MS 5000u /* STATUS= refresh */
#define SERVICE_PROBE_TIMEOUT_MS   2000u /* one liveness probe */

typedef struct service_ops {
        /* SIGHUP: re-read what can change at run time. 0, or a negative errno (old settings kept;
         * the callback has logged why). */
        int (*reload)(void *userdata);
        /* Liveness for the watchdog: 0 when the request path answers within timeout_ms. */
        int (*probe)(void *userdata, unsigned timeout_ms);
        /* Writes the STATUS= text (live figures). */
        void (*status)(void *userdata, char *buf, size_t size);
} service_ops;

/* Blocks SIGTERM, SIGINT and SIGHUP (so that threads created later inherit the mask and the main loop
 * alone takes them) and ignores SIGPIPE. Call first in main(). */
int service_signals_block(void);
/* Before READY=1: calls check every interval_ms until it returns 0 (then 0), while SIGTERM/SIGINT end
 * the wait (-ECANCELED) and SIGHUP is ignored. The first failure is logged as "Waiting for <what>". */
int service_wait_for(int (*check)(void *userdata), void *userdata, unsigned interval_ms, const char *what);
/* Runs until SIGTERM or SIGINT; sends STOPPING=1 and returns the signal number. */
int service_run(const service_ops *ops, void *userdata);
