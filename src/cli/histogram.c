/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Log-linear histogram (see histogram.h). Bucket index of a value v >= 2^B (B = HISTOGRAM_SUB_BITS):
 * with m the position of its highest set bit, the B bits below it select one of 2^B sub-buckets of
 * the range [2^m, 2^(m+1)), so a bucket is 2^(m-B) wide: at most 1/2^B of the values it holds.
 */
#include <math.h>
#include <string.h>

#include "histogram.h"

void histogram_init(histogram *h)
{
        memset(h, 0, sizeof(*h));
        h->min = UINT64_MAX;
}

uint64_t histogram_bucket_index(uint64_t value)
{
        unsigned msb, shift;

        if (value > HISTOGRAM_MAX_VALUE)
                value = HISTOGRAM_MAX_VALUE;
        if (value < HISTOGRAM_SUB_COUNT)
                return value;
        msb = 63u - (unsigned)__builtin_clzll(value);
        shift = msb - HISTOGRAM_SUB_BITS;
        return (uint64_t)(shift + 1) * HISTOGRAM_SUB_COUNT + ((value >> shift) - HISTOGRAM_SUB_COUNT);
}

uint64_t histogram_bucket_lowest(uint64_t index)
{
        uint64_t octave = index / HISTOGRAM_SUB_COUNT, sub = index % HISTOGRAM_SUB_COUNT;

        if (octave == 0)
                return index;
        return (HISTOGRAM_SUB_COUNT + sub) << (octave - 1);
}

uint64_t histogram_bucket_highest(uint64_t index)
{
        uint64_t octave = index / HISTOGRAM_SUB_COUNT;

        if (octave == 0)
                return index;
        return histogram_bucket_lowest(index) + (UINT64_C(1) << (octave - 1)) - 1;
}

void histogram_record(histogram *h, uint64_t value)
{
        if (value > HISTOGRAM_MAX_VALUE)
                value = HISTOGRAM_MAX_VALUE;
        h->counts[histogram_bucket_index(value)]++;
        h->total++;
        h->sum += (double)value;
        if (value < h->min)
                h->min = value;
        if (value > h->max)
                h->max = value;
}

void histogram_merge(histogram *dst, const histogram *src)
{
        for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++)
                dst->counts[i] += src->counts[i];
        dst->total += src->total;
        dst->sum += src->sum;
        if (src->min < dst->min)
                dst->min = src->min;
        if (src->max > dst->max)
                dst->max = src->max;
}

uint64_t histogram_percentile(const histogram *h, double pct)
{
        uint64_t rank, seen = 0;

        if (h->total == 0)
                return 0;
        if (!(pct > 0.0))
                return h->min;
        if (pct >= 100.0)
                return h->max;
        /* The rank of the wanted value, 1-based; the small epsilon keeps e.g. 99.9 % of 1000 at 999
         * despite 0.999 * 1000 being 999.0000000000001 in binary floating point. */
        rank = (uint64_t)ceil(pct / 100.0 * (double)h->total - 1e-9);
        if (rank < 1)
                rank = 1;
        for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
                seen += h->counts[i];
                if (seen >= rank) {
                        uint64_t v = histogram_bucket_highest(i);
                        return v < h->max ? v : h->max;
                }
        }
        return h->max;
}

double histogram_mean(const histogram *h)
{
        return h->total ? h->sum / (double)h->total : 0.0;
}
