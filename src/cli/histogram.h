/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A log-linear latency histogram in the manner of HdrHistogram: values below 2^HISTOGRAM_SUB_BITS are
 * counted exactly, every power-of-two range above is split into 2^HISTOGRAM_SUB_BITS equal buckets, so
 * any reported value is within 1/2^HISTOGRAM_SUB_BITS (0.4 %) above the true one, with a fixed size and
 * an O(1) record. Not thread-safe: the load generator serialises access.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define HISTOGRAM_SUB_BITS  8u /* 256 buckets per power of two */
#define HISTOGRAM_SUB_COUNT (UINT64_C(1) << HISTOGRAM_SUB_BITS)
#define HISTOGRAM_MAX_MSB   40u /* largest tracked value is 2^41 - 1 */
#define HISTOGRAM_MAX_VALUE ((UINT64_C(1) << (HISTOGRAM_MAX_MSB + 1)) - 1)
#define HISTOGRAM_BUCKETS   ((HISTOGRAM_MAX_MSB - HISTOGRAM_SUB_BITS + 2) * HISTOGRAM_SUB_COUNT)

typedef struct histogram {
        uint64_t counts[HISTOGRAM_BUCKETS]; /* per bucket */
        uint64_t total;                     /* values recorded */
        uint64_t min;                       /* exact smallest value (UINT64_MAX when empty) */
        uint64_t max;                       /* exact largest value (clamped to HISTOGRAM_MAX_VALUE) */
        double sum;                         /* for the mean */
} histogram;

void histogram_init(histogram *h);
/* Values above HISTOGRAM_MAX_VALUE are counted as HISTOGRAM_MAX_VALUE. */
void histogram_record(histogram *h, uint64_t value);
void histogram_merge(histogram *dst, const histogram *src);

/* The value at percentile pct (0 < pct <= 100): the highest value of the bucket holding the
 * ceil(pct/100 * total)-th smallest recorded value, never above the exact max; 0 when empty. */
uint64_t histogram_percentile(const histogram *h, double pct);
double histogram_mean(const histogram *h);

/* Bucket geometry, exposed for the tests. */
uint64_t histogram_bucket_index(uint64_t value);
uint64_t histogram_bucket_lowest(uint64_t index);
uint64_t histogram_bucket_highest(uint64_t index);
