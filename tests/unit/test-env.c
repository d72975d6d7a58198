/* SPDX-License-Identifier: Apache-2.0 */
/* OTEL_* variable parsing: empty is unset, invalid warns and falls back (spec "Environment Variable
 * Specification"), plus the id generator's guarantees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env.h"
#include "random.h"

static void test_env_empty_value_counts_as_unset(void **state)
{
        (void)state;
        setenv("OTEL_TEST_X", "", 1);
        assert_null(otel_env_get("OTEL_TEST_X"));
        assert_int_equal(otel_env_int("OTEL_TEST_X", 42, 0, 100), 42);
}

static void test_env_int_accepts_in_range_and_rejects_garbage(void **state)
{
        (void)state;
        setenv("OTEL_TEST_X", "512", 1);
        assert_int_equal(otel_env_int("OTEL_TEST_X", 1, 0, 1000), 512);
        setenv("OTEL_TEST_X", "512ms", 1);
        assert_int_equal(otel_env_int("OTEL_TEST_X", 1, 0, 1000), 1);
        setenv("OTEL_TEST_X", "-5", 1);
        assert_int_equal(otel_env_int("OTEL_TEST_X", 1, 0, 1000), 1);
        setenv("OTEL_TEST_X", "99999999999999999999999", 1);
        assert_int_equal(otel_env_int("OTEL_TEST_X", 1, 0, 1000), 1);
}

static void test_env_bool_only_true_is_true(void **state)
{
        (void)state;
        setenv("OTEL_TEST_X", "TRUE", 1);
        assert_true(otel_env_bool("OTEL_TEST_X", false));
        setenv("OTEL_TEST_X", "1", 1);
        assert_false(otel_env_bool("OTEL_TEST_X", true));
        setenv("OTEL_TEST_X", "false", 1);
        assert_false(otel_env_bool("OTEL_TEST_X", true));
        unsetenv("OTEL_TEST_X");
        assert_true(otel_env_bool("OTEL_TEST_X", true));
}

static void test_env_enum_is_case_insensitive_with_fallback(void **state)
{
        static const char *const choices[] = {"none", "gzip", NULL};

        (void)state;
        setenv("OTEL_TEST_X", "GZIP", 1);
        assert_int_equal(otel_env_enum("OTEL_TEST_X", choices, 0), 1);
        setenv("OTEL_TEST_X", "brotli", 1);
        assert_int_equal(otel_env_enum("OTEL_TEST_X", choices, 0), 0);
}

static void test_env_double_range(void **state)
{
        (void)state;
        setenv("OTEL_TEST_X", "0.5", 1);
        assert_true(otel_env_double("OTEL_TEST_X", 1.0, 0.0, 1.0) == 0.5);
        setenv("OTEL_TEST_X", "nan", 1);
        assert_true(otel_env_double("OTEL_TEST_X", 1.0, 0.0, 1.0) == 1.0);
}

static void test_random_ids_are_never_zero_and_differ(void **state)
{
        uint8_t a[16], b[16], zero[16] = {0};
        uint8_t s1[8], s2[8];

        (void)state;
        otel_random_trace_id(a);
        otel_random_trace_id(b);
        assert_memory_not_equal(a, zero, 16);
        assert_memory_not_equal(a, b, 16);
        otel_random_span_id(s1);
        otel_random_span_id(s2);
        assert_memory_not_equal(s1, zero, 8);
        assert_memory_not_equal(s1, s2, 8);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_env_empty_value_counts_as_unset),
                cmocka_unit_test(test_env_int_accepts_in_range_and_rejects_garbage),
                cmocka_unit_test(test_env_bool_only_true_is_true),
                cmocka_unit_test(test_env_enum_is_case_insensitive_with_fallback),
                cmocka_unit_test(test_env_double_range),
                cmocka_unit_test(test_random_ids_are_never_zero_and_differ),
        };
        return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
