/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The open-loop schedule of the load generator: request i is due at t0 + i/rate whatever happened to
 * the requests before it, and its latency is measured from that intended start. A slow reply thus
 * delays (and lengthens the measured latency of) the requests behind it instead of silently lowering
 * the offered rate: no coordinated omission.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define SCHEDULE_NSEC_PER_SEC UINT64_C(1000000000)

typedef struct load_schedule {
        uint64_t t0_ns;       /* CLOCK_MONOTONIC time of slot 0 */
        double rate;          /* slots per second, > 0 */
        uint64_t duration_ns; /* slots are due in [t0, t0 + duration); 0 = no end */
} load_schedule;

/* Intended start of slot i (CLOCK_MONOTONIC ns). */
uint64_t schedule_slot_time_ns(const load_schedule *s, uint64_t slot);
/* Number of slots due within the duration (UINT64_MAX without an end). */
uint64_t schedule_slot_count(const load_schedule *s);
/* Requests per second achieved: done requests over elapsed ns (0 when nothing elapsed). */
double schedule_rate(uint64_t done, uint64_t elapsed_ns);
