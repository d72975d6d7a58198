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

_Thread_local otel_random_state otel_random_tls;

/* splitmix64, to spread a weak fallback seed over the whole state. */
static uint64_t splitmix64(uint64_t *x)
{
        uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

/* Out of line and cold: keeps the stack protector and the syscall off the per-id path. */
__attribute__((noinline, cold)) void otel_random_seed(void)
{
        ssize_t n = getrandom(otel_random_tls.s, sizeof(otel_random_tls.s), GRND_NONBLOCK);

        if (n != (ssize_t)sizeof(otel_random_tls.s)) {
                /* Early boot without entropy: ids need uniqueness, not secrecy. */
                struct timespec ts;
                uint64_t x;

                clock_gettime(CLOCK_REALTIME, &ts);
                x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
                    (uint64_t)(uintptr_t)&otel_random_tls;
                for (int i = 0; i < 4; i++)
                        otel_random_tls.s[i] = splitmix64(&x);
        }
        if (!(otel_random_tls.s[0] | otel_random_tls.s[1] | otel_random_tls.s[2] | otel_random_tls.s[3]))
                otel_random_tls.s[0] = 1;
        otel_random_tls.pid = getpid();
}

void otel_random_trace_id(uint8_t ret[OTEL_TRACE_ID_SIZE])
{
        uint64_t a, b;

        do {
                a = otel_random_u64();
                b = otel_random_u64();
        } while (__builtin_expect(!(a | b), 0));

        memcpy(ret, &a, 8);
        memcpy(ret + 8, &b, 8);
}

void otel_random_span_id(uint8_t ret[OTEL_SPAN_ID_SIZE])
{
        uint64_t a = otel_random_nonzero_u64();

        memcpy(ret, &a, 8);
}

double otel_random_unit(void)
{
        return (double)(otel_random_u64() >> 11) * 0x1.0p-53;
}

/* A forked child inherits the parent's state: make it reseed on next use. */
static void random_atfork_child(void)
{
        otel_random_tls.pid = 0;
}

__attribute__((constructor)) static void random_register_atfork(void)
{
        pthread_atfork(NULL, NULL, random_atfork_child);
}
