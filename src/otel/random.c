/* SPDX-License-Identifier: Apache-2.0 */
/* xoshiro256** per thread, seeded from getrandom(2); reseeded in a forked child (pid changes) so
 * that parent and child never hand out the same ids (pthread_atfork clears the forking thread's
 * state; other threads do not exist in the child). */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "random.h"

typedef struct random_state {
        uint64_t s[4]; /* xoshiro256** state, never all zero */
        pid_t pid;     /* process that seeded it; 0 = (re)seed on next use */
} random_state;

static _Thread_local random_state rnd;

static inline uint64_t rotl(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

/* splitmix64, to spread a weak fallback seed over the whole state. */
static uint64_t splitmix64(uint64_t *x)
{
        uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static void random_seed(void)
{
        ssize_t n = getrandom(rnd.s, sizeof(rnd.s), GRND_NONBLOCK);

        if (n != (ssize_t)sizeof(rnd.s)) {
                /* Early boot without entropy: ids need uniqueness, not secrecy. */
                struct timespec ts;
                uint64_t x;

                clock_gettime(CLOCK_REALTIME, &ts);
                x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
                    (uint64_t)(uintptr_t)&rnd;
                for (int i = 0; i < 4; i++)
                        rnd.s[i] = splitmix64(&x);
        }
        if (!(rnd.s[0] | rnd.s[1] | rnd.s[2] | rnd.s[3]))
                rnd.s[0] = 1;
        rnd.pid = getpid();
}

uint64_t otel_random_u64(void)
{
        uint64_t *s = rnd.s, result, t;

        if (__builtin_expect(rnd.pid == 0, 0))
                random_seed();
        result = rotl(s[1] * 5, 7) * 9;
        t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
}

void otel_random_trace_id(uint8_t ret[OTEL_TRACE_ID_SIZE])
{
        uint64_t a, b;

        do {
                a = otel_random_u64();
                b = otel_random_u64();
        } while (!(a | b));
        memcpy(ret, &a, 8);
        memcpy(ret + 8, &b, 8);
}

void otel_random_span_id(uint8_t ret[OTEL_SPAN_ID_SIZE])
{
        uint64_t a;

        do
                a = otel_random_u64();
        while (!a);
        memcpy(ret, &a, 8);
}

double otel_random_unit(void)
{
        return (double)(otel_random_u64() >> 11) * 0x1.0p-53;
}

/* A forked child inherits the parent's state: make it reseed on next use. */
static void random_atfork_child(void)
{
        rnd.pid = 0;
}

__attribute__((constructor)) static void random_register_atfork(void)
{
        pthread_atfork(NULL, NULL, random_atfork_child);
}
