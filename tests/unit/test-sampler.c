/* SPDX-License-Identifier: Apache-2.0 */
/* Built-in samplers and their environment configuration (SDK spec "Sampling"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "sampler.h"

static const uint8_t tid_low[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0,    0,    0,    0,    0,    0,    1};
static const uint8_t tid_high[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static otel_span_context parent(bool sampled, bool remote)
{
        return (otel_span_context){
                .trace_id = {1}, .span_id = {1}, .trace_flags = sampled, .is_remote = remote};
}

static void test_always_on_samples_even_under_unsampled_parent(void **state)
{
        otel_sampler s;
        otel_span_context p = parent(false, true);

        (void)state;
        otel_sampler_init(&s, OTEL_SAMPLER_ALWAYS_ON, 1.0);
        assert_true(otel_sampler_should_sample(&s, NULL, tid_low));
        assert_true(otel_sampler_should_sample(&s, &p, tid_low));
}

static void test_always_off_never_samples(void **state)
{
        otel_sampler s;
        otel_span_context p = parent(true, true);

        (void)state;
        otel_sampler_init(&s, OTEL_SAMPLER_ALWAYS_OFF, 1.0);
        assert_false(otel_sampler_should_sample(&s, NULL, tid_high));
        assert_false(otel_sampler_should_sample(&s, &p, tid_high));
}

static void test_traceidratio_uses_low_56_bits_of_trace_id(void **state)
{
        otel_sampler s;

        (void)state;
        otel_sampler_init(&s, OTEL_SAMPLER_TRACEIDRATIO, 0.5);
        assert_false(otel_sampler_should_sample(&s, NULL, tid_low)); /* the high bytes do not count */
        assert_true(otel_sampler_should_sample(&s, NULL, tid_high));
}

static void test_traceidratio_zero_and_one_are_exact(void **state)
{
        otel_sampler s;

        (void)state;
        otel_sampler_init(&s, OTEL_SAMPLER_TRACEIDRATIO, 0.0);
        assert_false(otel_sampler_should_sample(&s, NULL, tid_high));
        otel_sampler_init(&s, OTEL_SAMPLER_TRACEIDRATIO, 1.0);
        assert_true(otel_sampler_should_sample(&s, NULL, (const uint8_t[16]){[0] = 1}));
}

static void test_traceidratio_samples_about_the_ratio(void **state)
{
        otel_sampler s;
        uint8_t id[16];
        unsigned n = 0;

        (void)state;
        otel_sampler_init(&s, OTEL_SAMPLER_TRACEIDRATIO, 0.25);
        for (unsigned i = 0; i < 100000; i++) {
                uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull;
                memset(id, 0, 8);
                memcpy(id + 8, &x, 8);
                n += otel_sampler_should_sample(&s, NULL, id);
        }
        assert_in_range(n, 24000, 26000);
}

static void test_parentbased_follows_sampled_and_unsampled_parents(void **state)
{
        otel_sampler s;
        otel_span_context yes = parent(true, true), no = parent(false, false);

        (void)state;
        otel_sampler_init(&s, OTEL_SAMPLER_PARENTBASED_ALWAYS_OFF, 1.0);
        assert_true(otel_sampler_should_sample(&s, &yes, tid_low));
        assert_false(otel_sampler_should_sample(&s, NULL, tid_low));
        otel_sampler_init(&s, OTEL_SAMPLER_PARENTBASED_ALWAYS_ON, 1.0);
        assert_false(otel_sampler_should_sample(&s, &no, tid_low));
        assert_true(otel_sampler_should_sample(&s, NULL, tid_low));
}

static void test_parentbased_traceidratio_uses_ratio_only_for_roots(void **state)
{
        otel_sampler s;
        otel_span_context yes = parent(true, true);

        (void)state;
        otel_sampler_init(&s, OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.0);
        assert_false(otel_sampler_should_sample(&s, NULL, tid_high));
        assert_true(otel_sampler_should_sample(&s, &yes, tid_high));
}

static void test_sampler_env_default_is_parentbased_always_on(void **state)
{
        otel_sampler s;

        (void)state;
        unsetenv("OTEL_TRACES_SAMPLER");
        otel_sampler_from_env(&s);
        assert_int_equal(s.kind, OTEL_SAMPLER_PARENTBASED_ALWAYS_ON);
}

static void test_sampler_env_reads_kind_and_ratio(void **state)
{
        otel_sampler s;

        (void)state;
        setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", 1);
        setenv("OTEL_TRACES_SAMPLER_ARG", "0.125", 1);
        otel_sampler_from_env(&s);
        assert_int_equal(s.kind, OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO);
        assert_true(s.ratio == 0.125);
        unsetenv("OTEL_TRACES_SAMPLER");
        unsetenv("OTEL_TRACES_SAMPLER_ARG");
}

static void test_sampler_env_invalid_values_fall_back_to_defaults(void **state)
{
        otel_sampler s;

        (void)state;
        setenv("OTEL_TRACES_SAMPLER", "sometimes", 1);
        otel_sampler_from_env(&s);
        assert_int_equal(s.kind, OTEL_SAMPLER_PARENTBASED_ALWAYS_ON);
        setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
        setenv("OTEL_TRACES_SAMPLER_ARG", "1.5", 1);
        otel_sampler_from_env(&s);
        assert_int_equal(s.kind, OTEL_SAMPLER_TRACEIDRATIO);
        assert_true(s.ratio == 1.0);
        setenv("OTEL_TRACES_SAMPLER_ARG", "half", 1);
        otel_sampler_from_env(&s);
        assert_true(s.ratio == 1.0);
        unsetenv("OTEL_TRACES_SAMPLER");
        unsetenv("OTEL_TRACES_SAMPLER_ARG");
}

static void test_sampler_parse_accepts_names_and_ratio(void **state)
{
        otel_sampler s;

        (void)state;
        assert_int_equal(otel_sampler_parse("ParentBased_TraceIdRatio", "0.25", &s), 0);
        assert_int_equal(s.kind, OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO);
        assert_true(s.ratio == 0.25);
        assert_int_equal(otel_sampler_parse("always_off", NULL, &s), 0);
        assert_int_equal(s.kind, OTEL_SAMPLER_ALWAYS_OFF);
}

static void test_sampler_parse_rejects_unknown_names_and_bad_ratios(void **state)
{
        otel_sampler s = {.kind = OTEL_SAMPLER_ALWAYS_ON};

        (void)state;
        assert_int_equal(otel_sampler_parse("sometimes", NULL, &s), -EINVAL);
        assert_int_equal(otel_sampler_parse("traceidratio", "1.01", &s), -EINVAL);
        assert_int_equal(otel_sampler_parse("traceidratio", "-0", &s), 0);
        assert_int_equal(otel_sampler_parse("traceidratio", "half", &s), -EINVAL);
        assert_int_equal(otel_sampler_parse(NULL, NULL, &s), -EINVAL);
}

static void test_sampler_pack_round_trips_kind_and_threshold(void **state)
{
        otel_sampler in, out;

        (void)state;
        for (int k = 0; k < _OTEL_SAMPLER_KIND_MAX; k++)
                for (double r = 0.0; r <= 1.0; r += 0.125) {
                        otel_sampler_init(&in, (otel_sampler_kind)k, r);
                        otel_sampler_unpack(otel_sampler_pack(&in), &out);
                        assert_int_equal(out.kind, in.kind);
                        assert_int_equal(out.threshold, in.threshold);
                        assert_true(out.ratio == in.ratio);
                }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_always_on_samples_even_under_unsampled_parent),
                cmocka_unit_test(test_always_off_never_samples),
                cmocka_unit_test(test_traceidratio_uses_low_56_bits_of_trace_id),
                cmocka_unit_test(test_traceidratio_zero_and_one_are_exact),
                cmocka_unit_test(test_traceidratio_samples_about_the_ratio),
                cmocka_unit_test(test_parentbased_follows_sampled_and_unsampled_parents),
                cmocka_unit_test(test_parentbased_traceidratio_uses_ratio_only_for_roots),
                cmocka_unit_test(test_sampler_env_default_is_parentbased_always_on),
                cmocka_unit_test(test_sampler_env_reads_kind_and_ratio),
                cmocka_unit_test(test_sampler_env_invalid_values_fall_back_to_defaults),
                cmocka_unit_test(test_sampler_parse_accepts_names_and_ratio),
                cmocka_unit_test(test_sampler_parse_rejects_unknown_names_and_bad_ratios),
                cmocka_unit_test(test_sampler_pack_round_trips_kind_and_threshold),
        };
        return cmocka_run_group_tests_name("sampler", tests, NULL, NULL);
}
