/* SPDX-License-Identifier: Apache-2.0 */
/* Process-wide counters of the trace pipeline, bumped with relaxed atomics by the modules that see
 * the event and read by otel_trace_stats_get(). */
#pragma once

#include <stdatomic.h>

typedef struct otel_trace_counters {
        atomic_uint_fast64_t spans_started;            /* recording spans started (span.c) */
        atomic_uint_fast64_t spans_ended;              /* recording spans ended (span.c) */
        atomic_uint_fast64_t spans_queued;             /* accepted into the batch queue */
        atomic_uint_fast64_t spans_dropped_queue_full; /* rejected: queue full */
        atomic_uint_fast64_t spans_exported;           /* delivered to a receiver */
        atomic_uint_fast64_t spans_export_failed;      /* given up on */
        atomic_uint_fast64_t export_requests;          /* HTTP requests, retries included */
} otel_trace_counters;

extern otel_trace_counters otel_trace_counters_global;

#define OTEL_COUNT(field, n)                                                                                \
        atomic_fetch_add_explicit(&otel_trace_counters_global.field, (n), memory_order_relaxed)
