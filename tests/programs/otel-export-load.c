/* SPDX-License-Identifier: Apache-2.0 */
/* Export load generator for the integration tests (tests/integration/test_export_behaviour.py), using
 * only the public otel.h API: starts and ends N spans (as fast as possible or at a given rate),
 * measures what otel_span_end() costs the application thread, then shuts the SDK down with a timeout and
 * prints one JSON line: latencies, the SDK's counters, shutdown duration and RSS.
 *
 * usage: otel-export-load SPANS [RATE_PER_S (0 = unlimited)] [SHUTDOWN_TIMEOUT_MS]
 * Configuration is the OTEL_* environment, as for any application. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "otel.h"

#define LOAD_MAX_SPANS           10000000ull
#define LOAD_DEFAULT_SHUTDOWN_MS 5000ull
#define LOAD_NSEC_PER_SEC        1000000000ull
#define LOAD_PERCENTILE          99

static void sleep_until(uint64_t t)
{
        struct timespec ts = {.tv_sec = (time_t)(t / LOAD_NSEC_PER_SEC),
                              .tv_nsec = (long)(t % LOAD_NSEC_PER_SEC)};

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

/* Resident set size in KiB, from /proc/self/statm (second field, in pages). */
static long rss_kb(void)
{
        unsigned long size, resident;
        FILE *f = fopen("/proc/self/statm", "re");
        int n;

        if (!f)
                return -1;
        n = fscanf(f, "%lu %lu", &size, &resident);
        fclose(f);
        if (n != 2)
                return -1;
        return (long)(resident * (unsigned long)sysconf(_SC_PAGESIZE) / 1024);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return (x > y) - (x < y);
}

static void print_stats(const char *name, const otel_trace_stats *s)
{
        printf("\"%s\": {\"spans_started\": %" PRIu64 ", \"spans_ended\": %" PRIu64
               ", \"spans_queued\": %" PRIu64 ", \"spans_dropped_queue_full\": %" PRIu64
               ", \"spans_exported\": %" PRIu64 ", \"spans_export_failed\": %" PRIu64
               ", \"export_requests\": %" PRIu64 "}",
               name, s->spans_started, s->spans_ended, s->spans_queued, s->spans_dropped_queue_full,
               s->spans_exported, s->spans_export_failed, s->export_requests);
}

int main(int argc, char **argv)
{
        uint64_t n, rate = 0, shutdown_ms = LOAD_DEFAULT_SHUTDOWN_MS, t0, start, created, end_max = 0,
                    shutdown_took;
        long rss_before, rss_after_spans, rss_after_shutdown;
        otel_trace_stats before_shutdown, after_shutdown;
        otel_tracer *tracer;
        uint32_t *lat;
        int r;

        if (argc < 2 || argc > 4 || parse_u64(argv[1], LOAD_MAX_SPANS, &n) < 0 || n == 0 ||
            (argc > 2 && parse_u64(argv[2], LOAD_NSEC_PER_SEC, &rate) < 0) ||
            (argc > 3 && parse_u64(argv[3], UINT32_MAX, &shutdown_ms) < 0)) {
                fprintf(stderr, "usage: %s SPANS [RATE_PER_S] [SHUTDOWN_TIMEOUT_MS]\n", argv[0]);
                return 2;
        }
        /* Touched now so that the latency table does not count as SDK memory growth. */
        lat = calloc(n, sizeof(*lat));
        if (!lat) {
                fprintf(stderr, "out of memory\n");
                return 1;
        }
        memset(lat, 0xff, n * sizeof(*lat));
        r = otel_sdk_init(&(otel_sdk_options){.service_name = "otel-export-load"});
        if (r < 0) {
                fprintf(stderr, "otel_sdk_init: %s\n", strerror(-r));
                return 1;
        }
        tracer = otel_tracer_get("otel-export-load", "1");
        rss_before = rss_kb();

        start = otel_mono_ns();
        for (uint64_t i = 0; i < n; i++) {
                otel_span *span;
                uint64_t took;

                if (rate)
                        sleep_until(start + i * LOAD_NSEC_PER_SEC / rate);
                span = otel_span_start(tracer, "load", OTEL_SPAN_KIND_INTERNAL, NULL);
                otel_span_set_int(span, "load.index", (int64_t)i);
                t0 = otel_mono_ns();
                otel_span_end(span);
                took = otel_mono_ns() - t0;
                lat[i] = took > UINT32_MAX ? UINT32_MAX : (uint32_t)took;
                if (took > end_max)
                        end_max = took;
        }
        created = otel_mono_ns();
        rss_after_spans = rss_kb();
        otel_trace_stats_get(&before_shutdown);

        t0 = otel_mono_ns();
        r = otel_sdk_shutdown(shutdown_ms);
        shutdown_took = otel_mono_ns() - t0;
        otel_trace_stats_get(&after_shutdown);
        rss_after_shutdown = rss_kb();

        qsort(lat, n, sizeof(*lat), cmp_u32);
        printf("{\"spans\": %" PRIu64 ", \"rate\": %" PRIu64
               ", \"create_seconds\": %.3f, \"span_end_max_ns\": %" PRIu64 ", \"span_end_p99_ns\": %" PRIu32
               ", \"span_end_p50_ns\": %" PRIu32 ", \"shutdown_rc\": %d"
               ", \"shutdown_ms\": %.1f, \"rss_before_kb\": %ld, \"rss_after_spans_kb\": %ld"
               ", \"rss_after_shutdown_kb\": %ld, ",
               n, rate, (double)(created - start) / LOAD_NSEC_PER_SEC, end_max,
               lat[(n - 1) * LOAD_PERCENTILE / 100], lat[(n - 1) / 2], r, (double)shutdown_took / 1e6,
               rss_before, rss_after_spans, rss_after_shutdown);
        print_stats("stats_before_shutdown", &before_shutdown);
        printf(", ");
        print_stats("stats", &after_shutdown);
        printf("}\n");
        free(lat);
        return 0;
}
