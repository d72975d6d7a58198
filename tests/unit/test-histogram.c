/* SPDX-License-Identifier: Apache-2.0 */
/* The load generator's log-linear latency histogram (src/cli/histogram.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "histogram.h"

static histogram *new_histogram(void)
{
        histogram *h = malloc(sizeof(*h));

        assert_non_null(h);
        histogram_init(h);
        return h;
}

static void test_histogram_small_values_have_their_own_bucket(void **state)
{
        (void)state;
        for (uint64_t v = 0; v < HISTOGRAM_SUB_COUNT; v++) {
                assert_int_equal(histogram_bucket_index(v), v);
                assert_int_equal(histogram_bucket_lowest(v), v);
                assert_int_equal(histogram_bucket_highest(v), v);
        }
}

static void test_histogram_buckets_tile_the_range_without_gaps(void **state)
{
        (void)state;
        for (uint64_t i = 0; i + 1 < HISTOGRAM_BUCKETS; i++)
                assert_int_equal(histogram_bucket_highest(i) + 1, histogram_bucket_lowest(i + 1));
        assert_int_equal(histogram_bucket_highest(HISTOGRAM_BUCKETS - 1), HISTOGRAM_MAX_VALUE);
}

static void test_histogram_bucket_width_is_within_the_precision(void **state)
{
        (void)state;
        /* Every value maps to a bucket that contains it and is at most value/256 wide. */
        for (uint64_t v = 1; v < HISTOGRAM_MAX_VALUE; v = v * 3 + 1) {
                uint64_t i = histogram_bucket_index(v);
                uint64_t lo = histogram_bucket_lowest(i), hi = histogram_bucket_highest(i);

                assert_true(lo <= v && v <= hi);
                assert_true((hi - lo) * HISTOGRAM_SUB_COUNT <= v);
        }
}

static void test_histogram_boundary_values_start_new_buckets(void **state)
{
        (void)state;
        assert_int_equal(histogram_bucket_index(256), 256);
        assert_int_equal(histogram_bucket_index(257), 257);
        assert_int_equal(histogram_bucket_index(511), 511);
        /* From 512 on buckets are 2 wide, from 1024 4 wide. */
        assert_int_equal(histogram_bucket_index(512), 512);
        assert_int_equal(histogram_bucket_index(513), 512);
        assert_int_equal(histogram_bucket_lowest(768), 1024);
        assert_int_equal(histogram_bucket_highest(768), 1027);
}

static void test_histogram_percentiles_of_1_to_10000(void **state)
{
        histogram *h = new_histogram();

        (void)state;
        for (uint64_t v = 1; v <= 10000; v++)
                histogram_record(h, v);
        /* Exact answers 5000, 9000, 9900, 9990; reported as the highest value of their bucket (16 wide
         * from 4096, 32 wide from 8192). */
        assert_int_equal(histogram_percentile(h, 50.0), 5007);
        assert_int_equal(histogram_percentile(h, 90.0), 9023);
        assert_int_equal(histogram_percentile(h, 99.0), 9919);
        assert_int_equal(histogram_percentile(h, 99.9), 10000); /* bucket 9984..10015, capped at max */
        assert_int_equal(histogram_percentile(h, 100.0), 10000);
        assert_int_equal(h->min, 1);
        assert_int_equal(h->max, 10000);
        free(h);
}

static void test_histogram_percentile_never_below_the_true_value_nor_above_its_precision(void **state)
{
        static const double pcts[] = {1.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9};
        histogram *h = new_histogram();

        (void)state;
        /* 1000 values spread over four decades: v_k = 100 * 1.0093^k */
        uint64_t values[1000];
        double x = 100.0;
        for (size_t k = 0; k < 1000; k++, x *= 1.0093) {
                values[k] = (uint64_t)x;
                histogram_record(h, values[k]);
        }
        for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
                size_t rank = (size_t)((pcts[i] / 100.0) * 1000.0 + 0.999999);
                uint64_t truth = values[rank - 1], got = histogram_percentile(h, pcts[i]);

                assert_true(got >= truth);
                assert_true((got - truth) * HISTOGRAM_SUB_COUNT <= truth);
        }
        free(h);
}

static void test_histogram_single_value_is_every_percentile(void **state)
{
        histogram *h = new_histogram();

        (void)state;
        histogram_record(h, 123456);
        assert_int_equal(histogram_percentile(h, 50.0), 123456);
        assert_int_equal(histogram_percentile(h, 99.9), 123456);
        assert_int_equal(histogram_percentile(h, 100.0), 123456);
        free(h);
}

static void test_histogram_empty_reports_zero(void **state)
{
        histogram *h = new_histogram();

        (void)state;
        assert_int_equal(histogram_percentile(h, 50.0), 0);
        assert_true(histogram_mean(h) == 0.0);
        free(h);
}

static void test_histogram_values_over_the_cap_are_clamped(void **state)
{
        histogram *h = new_histogram();

        (void)state;
        histogram_record(h, UINT64_MAX);
        assert_int_equal(h->max, HISTOGRAM_MAX_VALUE);
        assert_int_equal(histogram_percentile(h, 50.0), HISTOGRAM_MAX_VALUE);
        free(h);
}

static void test_histogram_merge_adds_counts_and_extremes(void **state)
{
        histogram *a = new_histogram(), *b = new_histogram();

        (void)state;
        for (uint64_t v = 1; v <= 100; v++)
                histogram_record(a, v);
        for (uint64_t v = 101; v <= 200; v++)
                histogram_record(b, v);
        histogram_merge(a, b);
        assert_int_equal(a->total, 200);
        assert_int_equal(a->min, 1);
        assert_int_equal(a->max, 200);
        assert_int_equal(histogram_percentile(a, 50.0), 100);
        assert_true(histogram_mean(a) == 100.5);
        free(a);
        free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_histogram_small_values_have_their_own_bucket),
                cmocka_unit_test(test_histogram_buckets_tile_the_range_without_gaps),
                cmocka_unit_test(test_histogram_bucket_width_is_within_the_precision),
                cmocka_unit_test(test_histogram_boundary_values_start_new_buckets),
                cmocka_unit_test(test_histogram_percentiles_of_1_to_10000),
                cmocka_unit_test(
                        test_histogram_percentile_never_below_the_true_value_nor_above_its_precision),
                cmocka_unit_test(test_histogram_single_value_is_every_percentile),
                cmocka_unit_test(test_histogram_empty_reports_zero),
                cmocka_unit_test(test_histogram_values_over_the_cap_are_clamped),
                cmocka_unit_test(test_histogram_merge_adds_counts_and_extremes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
