/* SPDX-License-Identifier: Apache-2.0 */
/* access-log.c: which statuses are rejections, the token bucket that keeps a flood out of the journal,
 * and recognising libmicrohttpd's refusals. The lines themselves are checked in journald
 * (tests/integration/test_journald.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "access-log.h"

#define NS_PER_S UINT64_C(1000000000)
#define T0       (UINT64_C(1000) * NS_PER_S)

static int reset(void **state)
{
        (void)state;
        access_log_rate_reset();
        return 0;
}

static void test_limits_server_errors_and_no_reply_are_rejections(void **state)
{
        static const unsigned yes[] = {0, 408, 413, 414, 429, 431, 500, 502, 503, 504};
        static const unsigned no[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 415};

        (void)state;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
                assert_true(access_log_is_rejection(yes[i]));
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
                assert_false(access_log_is_rejection(no[i]));
}

static void test_bucket_lets_a_burst_through_then_counts_what_it_holds_back(void **state)
{
        uint64_t suppressed = 99;

        (void)state;
        for (unsigned i = 0; i < ACCESS_LOG_REJECT_BURST; i++) {
                assert_true(access_log_rate_take(T0, &suppressed));
                assert_int_equal(suppressed, 0);
        }
        for (unsigned i = 0; i < 1000; i++)
                assert_false(access_log_rate_take(T0, &suppressed));
        /* A tenth of a second later one token is back: the line says what was held back. */
        assert_true(access_log_rate_take(T0 + NS_PER_S / ACCESS_LOG_REJECT_PER_S, &suppressed));
        assert_int_equal(suppressed, 1000);
        assert_false(access_log_rate_take(T0 + NS_PER_S / ACCESS_LOG_REJECT_PER_S, &suppressed));
}

static void test_bucket_refills_at_the_rate_up_to_the_burst(void **state)
{
        uint64_t suppressed, passed = 0;

        (void)state;
        for (unsigned i = 0; i < ACCESS_LOG_REJECT_BURST; i++)
                assert_true(access_log_rate_take(T0, &suppressed));
        /* A flood of 10,000 lines over 10 s: ACCESS_LOG_REJECT_PER_S per second get through. */
        for (uint64_t i = 1; i <= 10000; i++)
                passed += access_log_rate_take(T0 + i * NS_PER_S / 1000, &suppressed);
        assert_in_range(passed, 10 * ACCESS_LOG_REJECT_PER_S - 1, 10 * ACCESS_LOG_REJECT_PER_S + 1);
        /* An hour of quiet refills only the burst. */
        passed = 0;
        for (unsigned i = 0; i < 3 * ACCESS_LOG_REJECT_BURST; i++)
                passed += access_log_rate_take(T0 + 3600 * NS_PER_S, &suppressed);
        assert_int_equal(passed, ACCESS_LOG_REJECT_BURST);
}

static void test_libmicrohttpd_refusals_are_recognised(void **state)
{
        (void)state;
        setenv("OTEL_LOGS_EXPORTER", "none", 1);
        assert_true(access_log_mhd_message("Server reached connection limit. Closing inbound connection."));
        assert_true(access_log_mhd_message("Server reached connection limit (closing inbound connection)"));
        assert_true(access_log_mhd_message("Hit process or system resource limit at 1024 connections, "
                                           "temporarily suspending accept()."));
        assert_false(access_log_mhd_message("Error processing request: Connection reset by peer"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_limits_server_errors_and_no_reply_are_rejections),
                cmocka_unit_test_setup(test_bucket_lets_a_burst_through_then_counts_what_it_holds_back,
                                       reset),
                cmocka_unit_test_setup(test_bucket_refills_at_the_rate_up_to_the_burst, reset),
                cmocka_unit_test_setup(test_libmicrohttpd_refusals_are_recognised, reset),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
