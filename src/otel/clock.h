/* SPDX-License-Identifier: Apache-2.0 */
/* Clocks: wall time for span timestamps, CLOCK_MONOTONIC for durations and deadlines. */
#pragma once

#include <stdint.h>
#include <time.h>

#include "otel.h" /* otel_mono_ns() */

#define OTEL_NSEC_PER_MSEC 1000000ull
#define OTEL_NSEC_PER_SEC  1000000000ull

static inline uint64_t otel_clock_ns(clockid_t id)
{
        struct timespec ts;
        clock_gettime(id, &ts);
        return (uint64_t)ts.tv_sec * OTEL_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}
