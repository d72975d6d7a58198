/* SPDX-License-Identifier: Apache-2.0 */
/* Open-loop schedule arithmetic of the load generator (src/cli/schedule.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "schedule.h"

#define T0 UINT64_C(1000000000000)

static void test_schedule_slots_are_one_interval_apart_from_t0(void **state)
{
        load_schedule s = {.t0_ns = T0, .rate = 200.0, .duration_ns = 0};

        (void)state;
        assert_int_equal(schedule_slot_time_ns(&s, 0), T0);
        assert_int_equal(schedule_slot_time_ns(&s, 1), T0 + 5000000);
        assert_int_equal(schedule_slot_time_ns(&s, 200), T0 + 1000000000);
        assert_int_equal(schedule_slot_time_ns(&s, 1999), T0 + UINT64_C(9995000000));
}

static void test_schedule_slot_times_do_not_accumulate_rounding(void **state)
{
        load_schedule s = {.t0_ns = T0, .rate = 3.0, .duration_ns = 0};

        (void)state;
        /* 1/3 s is not a whole number of ns; slot i is rounded on its own, never by adding intervals. */
        assert_int_equal(schedule_slot_time_ns(&s, 1), T0 + 333333333);
        assert_int_equal(schedule_slot_time_ns(&s, 2), T0 + 666666667);
        assert_int_equal(schedule_slot_time_ns(&s, 3), T0 + 1000000000);
        assert_int_equal(schedule_slot_time_ns(&s, 3000000), T0 + UINT64_C(1000000000000000));
}

static void test_schedule_count_is_the_slots_inside_the_half_open_window(void **state)
{
        load_schedule s = {.t0_ns = T0, .rate = 200.0, .duration_ns = UINT64_C(10000000000)};

        (void)state;
        assert_int_equal(schedule_slot_count(&s), 2000);
        s.rate = 3.0;
        s.duration_ns = UINT64_C(1000000000);
        assert_int_equal(schedule_slot_count(&s), 3); /* 0, 1/3, 2/3 s; 1 s is outside */
        s.rate = 0.5;
        s.duration_ns = UINT64_C(10000000000);
        assert_int_equal(schedule_slot_count(&s), 5); /* 0, 2, 4, 6, 8 s */
        s.rate = 0.3;
        s.duration_ns = UINT64_C(10000000000);
        assert_int_equal(schedule_slot_count(&s), 3); /* 0, 3.33, 6.67 s; 10 s is outside */
}

static void test_schedule_short_duration_still_has_slot_zero(void **state)
{
        load_schedule s = {.t0_ns = T0, .rate = 1.0, .duration_ns = 1};

        (void)state;
        assert_int_equal(schedule_slot_count(&s), 1);
}

static void test_schedule_without_duration_is_unbounded(void **state)
{
        load_schedule s = {.t0_ns = T0, .rate = 50.0, .duration_ns = 0};

        (void)state;
        assert_int_equal(schedule_slot_count(&s), UINT64_MAX);
}

static void test_schedule_rate_is_requests_over_elapsed_time(void **state)
{
        (void)state;
        assert_true(schedule_rate(2000, UINT64_C(10000000000)) == 200.0);
        assert_true(schedule_rate(3, UINT64_C(2000000000)) == 1.5);
        assert_true(schedule_rate(10, 0) == 0.0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_schedule_slots_are_one_interval_apart_from_t0),
                cmocka_unit_test(test_schedule_slot_times_do_not_accumulate_rounding),
                cmocka_unit_test(test_schedule_count_is_the_slots_inside_the_half_open_window),
                cmocka_unit_test(test_schedule_short_duration_still_has_slot_zero),
                cmocka_unit_test(test_schedule_without_duration_is_unbounded),
                cmocka_unit_test(test_schedule_rate_is_requests_over_elapsed_time),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
