/* SPDX-License-Identifier: Apache-2.0 */
/* tracez (zPages "TraceZ"): an in-memory, bounded summary of recent spans per span name, for
 * /debug/tracez. span.c calls a hook at span start (a hash lookup and one atomic add); the span
 * processor counts the end with one atomic add, and copies a sample span under a per-name lock at
 * most every OTEL_TRACEZ_SAMPLE_INTERVAL_NS per bucket. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "processor.h"

#define OTEL_TRACEZ_MAX_NAMES  256 /* distinct span names tracked; later ones share "other" */
#define OTEL_TRACEZ_TABLE_SIZE 512 /* hash slots, a power of two above MAX_NAMES */
#define OTEL_TRACEZ_NAME_MAX   128 /* bytes of a span name kept (UTF-8 safe cut) */
#define OTEL_TRACEZ_OTHER_NAME "other"
#define OTEL_TRACEZ_SAMPLES    8 /* latest sample spans kept per latency bucket and for errors */
/* A latency bucket takes a new sample at most this often (by span end time), so that copying samples
 * stays off the path of most span ends (zPages does the same); error spans are always sampled. */
#define OTEL_TRACEZ_SAMPLE_INTERVAL_NS (100ull * 1000 * 1000)
#define OTEL_TRACEZ_SAMPLE_ATTRS       4   /* attributes copied into a sample */
#define OTEL_TRACEZ_KEY_MAX            48  /* bytes of an attribute key kept in a sample */
#define OTEL_TRACEZ_VALUE_MAX          80  /* bytes of an attribute value (as text) kept in a sample */
#define OTEL_TRACEZ_STATUS_MAX         128 /* bytes of a status description kept in a sample */

/* zPages latency buckets: [0,10µs), [10µs,100µs), … [100s,∞). */
#define OTEL_TRACEZ_LATENCY_BUCKETS 9
#define OTEL_TRACEZ_ERROR_BUCKET    OTEL_TRACEZ_LATENCY_BUCKETS /* index of the error spans' ring */

/* The latency bucket of a duration. */
unsigned otel_tracez_bucket_of(uint64_t duration_ns);
/* Lower bound of bucket b in ns (bucket 0: 0). */
uint64_t otel_tracez_bucket_lower_ns(unsigned b);

typedef struct tracez_entry tracez_entry;

/* span.c: a recording span started (returns the entry of its name, which the span keeps so that the
 * processor does not look the name up again) or was renamed while running (returns the new name's
 * entry). Its end is counted by the processor. */
tracez_entry *otel_tracez_span_started(const char *name);
tracez_entry *otel_tracez_span_renamed(tracez_entry *old, const char *new_name);

/* The processor that feeds the store; otel_sdk_init() installs it always. Its shutdown keeps the
 * data (the store is process-wide). */
int otel_tracez_processor_new(otel_span_processor **ret) OTEL_WUR;

/* Forgets everything (tests; no span may be running or ending concurrently). */
void otel_tracez_reset(void);

/* What tests look at: the counters of one name (false when the name is not tracked). */
typedef struct otel_tracez_counts {
        int64_t running;                                   /* started, not yet ended */
        uint64_t latency[OTEL_TRACEZ_LATENCY_BUCKETS];     /* ended without error, per bucket */
        uint64_t errors;                                   /* ended with status ERROR */
        unsigned samples[OTEL_TRACEZ_LATENCY_BUCKETS + 1]; /* samples held per bucket, errors last */
} otel_tracez_counts;
bool otel_tracez_counts_get(const char *name, otel_tracez_counts *ret);
/* Number of distinct names tracked (without "other"). */
size_t otel_tracez_names(void);
