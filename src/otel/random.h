/* SPDX-License-Identifier: Apache-2.0 */
/* Fast per-thread pseudo-random ids: xoshiro256** seeded from getrandom(2) once per thread (and
 * after fork); ids are never all-zero, as W3C Trace Context requires. The generator is inline: it
 * runs three times for every span, sampled or not. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "otel.h"

typedef struct otel_random_state {
        uint64_t s[4]; /* xoshiro256** state, never all zero */
        pid_t pid;     /* process that seeded it; 0 = (re)seed on next use */
} otel_random_state;

extern _Thread_local otel_random_state otel_random_tls;

/* Seeds this thread's state (cold path of otel_random_u64). */
void otel_random_seed(void);

static inline uint64_t otel_random_rotl(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

static inline uint64_t otel_random_u64(void)
{
        uint64_t *s = otel_random_tls.s, result, t;

        if (__builtin_expect(otel_random_tls.pid == 0, 0))
                otel_random_seed();
        result = otel_random_rotl(s[1] * 5, 7) * 9;
        t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = otel_random_rotl(s[3], 45);
        return result;
}

/* A random value that is not zero: the 64-bit halves of ids. */
static inline uint64_t otel_random_nonzero_u64(void)
{
        uint64_t v;

        do
                v = otel_random_u64();
        while (__builtin_expect(v == 0, 0));
        return v;
}

void otel_random_trace_id(uint8_t ret[OTEL_TRACE_ID_SIZE]);
void otel_random_span_id(uint8_t ret[OTEL_SPAN_ID_SIZE]);
/* Uniform in [0, 1). */
double otel_random_unit(void);
