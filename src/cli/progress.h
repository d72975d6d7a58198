/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The load generator's live status: on a terminal one line rewritten in place ('\r', erase to end of
 * line), elsewhere (a log, a pipe, journald) one plain line per interval.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_TTY_INTERVAL_NS   UINT64_C(1000000000) /* a terminal refreshes every second */
#define PROGRESS_PLAIN_INTERVAL_NS UINT64_C(5000000000) /* a log gets a line every 5 s */
#define PROGRESS_LINE_MAX          200

typedef struct progress_snapshot {
        uint64_t elapsed_ns; /* since the first intended start */
        uint64_t done;       /* requests finished (reply or failure) */
        uint64_t errors;     /* of which failed: no reply or status >= 400 */
        double target_rate;  /* requests per second asked for */
        uint64_t p50_us;     /* latency percentiles so far */
        uint64_t p99_us;
} progress_snapshot;

/* "elapsed 12.0s  requests 2400  rate 200.0/s (target 200.0/s)  errors 3  p50 2.10ms  p99 9.80ms" */
void progress_format(const progress_snapshot *s, char *ret, size_t size);
/* Writes one update to f: rewriting the line on a terminal, appending a line otherwise. */
void progress_print(FILE *f, bool tty, const progress_snapshot *s);
/* Ends the rewritten line on a terminal so the summary starts on its own line. */
void progress_finish(FILE *f, bool tty);
