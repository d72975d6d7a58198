/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line value parsers of the oteldemo CLI (src/cli/cli-args.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli-args.h"

static uint64_t duration(const char *s)
{
        uint64_t ns = 12345;

        assert_int_equal(cli_parse_duration_ns(s, &ns), 0);
        return ns;
}

static void test_duration_units(void **state)
{
        (void)state;
        assert_int_equal(duration("500ms"), UINT64_C(500000000));
        assert_int_equal(duration("10s"), UINT64_C(10000000000));
        assert_int_equal(duration("2m"), UINT64_C(120000000000));
        assert_int_equal(duration("1h"), UINT64_C(3600000000000));
        assert_int_equal(duration("0"), 0);
}

static void test_duration_bare_number_is_seconds(void **state)
{
        (void)state;
        assert_int_equal(duration("10"), UINT64_C(10000000000));
}

static void test_duration_fractions(void **state)
{
        (void)state;
        assert_int_equal(duration("1.5s"), UINT64_C(1500000000));
        assert_int_equal(duration("0.25m"), UINT64_C(15000000000));
        assert_int_equal(duration("2.5ms"), UINT64_C(2500000));
}

static void test_duration_rejects_malformed_text(void **state)
{
        static const char *const bad[] = {"",    "s",    "10x",   "10 s", " 10s",  "-1s", "+1s", "1.s",
                                          ".5s", "1e3s", "10sec", "10S",  "0x10s", "inf", "nan", "1,5s"};
        uint64_t ns = 7;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(cli_parse_duration_ns(bad[i], &ns), -EINVAL);
        assert_int_equal(ns, 7);
}

static void test_duration_rejects_more_than_a_year(void **state)
{
        uint64_t ns;

        (void)state;
        assert_int_equal(cli_parse_duration_ns("8784h", &ns), 0); /* 366 days */
        assert_int_equal(cli_parse_duration_ns("8785h", &ns), -ERANGE);
}

static void test_rate_accepts_per_second_and_per_minute(void **state)
{
        double r;

        (void)state;
        assert_int_equal(cli_parse_rate("200", &r), 0);
        assert_true(r == 200.0);
        assert_int_equal(cli_parse_rate("200/s", &r), 0);
        assert_true(r == 200.0);
        assert_int_equal(cli_parse_rate("30/m", &r), 0);
        assert_true(r == 0.5);
        assert_int_equal(cli_parse_rate("0.5", &r), 0);
        assert_true(r == 0.5);
}

static void test_rate_must_be_positive_and_bounded(void **state)
{
        double r = 1.0;

        (void)state;
        assert_int_equal(cli_parse_rate("0", &r), -ERANGE);
        assert_int_equal(cli_parse_rate("0/s", &r), -ERANGE);
        assert_int_equal(cli_parse_rate("1000000", &r), -ERANGE);
        assert_int_equal(cli_parse_rate("-5", &r), -EINVAL);
        assert_int_equal(cli_parse_rate("5/h", &r), -EINVAL);
        assert_int_equal(cli_parse_rate("fast", &r), -EINVAL);
        assert_true(r == 1.0);
}

static void test_id_must_be_a_positive_decimal(void **state)
{
        int64_t id = 9;

        (void)state;
        assert_int_equal(cli_parse_id("42", &id), 0);
        assert_int_equal(id, 42);
        assert_int_equal(cli_parse_id("0", &id), -ERANGE);
        assert_int_equal(cli_parse_id("-1", &id), -EINVAL);
        assert_int_equal(cli_parse_id("12a", &id), -EINVAL);
        assert_int_equal(cli_parse_id("", &id), -EINVAL);
        assert_int_equal(cli_parse_id(" 1", &id), -EINVAL);
        assert_int_equal(cli_parse_id("99999999999999999999", &id), -ERANGE);
        assert_int_equal(id, 42);
}

static void test_uint_range(void **state)
{
        uint64_t v;

        (void)state;
        assert_int_equal(cli_parse_uint("1000", CLI_QUANTITY_MIN, CLI_QUANTITY_MAX, &v), 0);
        assert_int_equal(v, 1000);
        assert_int_equal(cli_parse_uint("1001", CLI_QUANTITY_MIN, CLI_QUANTITY_MAX, &v), -ERANGE);
        assert_int_equal(cli_parse_uint("0", CLI_QUANTITY_MIN, CLI_QUANTITY_MAX, &v), -ERANGE);
}

static void test_output_formats(void **state)
{
        cli_output o;

        (void)state;
        assert_int_equal(cli_parse_output("json", &o), 0);
        assert_int_equal(o, CLI_OUTPUT_JSON);
        assert_int_equal(cli_parse_output("table", &o), 0);
        assert_int_equal(o, CLI_OUTPUT_TABLE);
        assert_int_equal(cli_parse_output("yaml", &o), -EINVAL);
}

static void test_mix_full_and_partial(void **state)
{
        load_mix m;

        (void)state;
        assert_int_equal(cli_parse_mix("browse=70,order=20,user=10", &m), 0);
        assert_int_equal(m.pct[LOAD_SESSION_BROWSE], 70);
        assert_int_equal(m.pct[LOAD_SESSION_ORDER], 20);
        assert_int_equal(m.pct[LOAD_SESSION_USER], 10);
        assert_int_equal(cli_parse_mix("order=100", &m), 0);
        assert_int_equal(m.pct[LOAD_SESSION_BROWSE], 0);
        assert_int_equal(m.pct[LOAD_SESSION_ORDER], 100);
        assert_int_equal(m.pct[LOAD_SESSION_USER], 0);
        assert_int_equal(cli_parse_mix("user=50,browse=50", &m), 0);
        assert_int_equal(m.pct[LOAD_SESSION_USER], 50);
}

static void test_mix_must_sum_to_100(void **state)
{
        load_mix m;

        (void)state;
        assert_int_equal(cli_parse_mix("browse=70,order=20", &m), -EDOM);
        assert_int_equal(cli_parse_mix("browse=70,order=20,user=20", &m), -EDOM);
}

static void test_mix_rejects_unknown_duplicate_and_malformed(void **state)
{
        load_mix m;

        (void)state;
        assert_int_equal(cli_parse_mix("browse=70,checkout=30", &m), -ENOENT);
        assert_int_equal(cli_parse_mix("browse=50,browse=50", &m), -EEXIST);
        assert_int_equal(cli_parse_mix("browse=101", &m), -ERANGE);
        assert_int_equal(cli_parse_mix("browse", &m), -EINVAL);
        assert_int_equal(cli_parse_mix("browse=", &m), -EINVAL);
        assert_int_equal(cli_parse_mix("=100", &m), -EINVAL);
        assert_int_equal(cli_parse_mix("browse=100,", &m), -EINVAL);
        assert_int_equal(cli_parse_mix("browse=-10,order=110", &m), -EINVAL);
        assert_int_equal(cli_parse_mix("", &m), -EINVAL);
}

/* Runs the hoist over a NULL-terminated word list and compares with the expected order. */
static void assert_hoisted(const char *const *in, const char *const *want)
{
        const char *missing = NULL;
        char *argv[32];
        int argc = 0;

        for (; in[argc]; argc++)
                argv[argc] = (char *)in[argc];
        assert_int_equal(cli_hoist_global_options(argc, argv, &missing), 0);
        for (int i = 0; i < argc; i++) {
                assert_non_null(want[i]);
                assert_string_equal(argv[i], want[i]);
        }
        assert_null(want[argc]);
}

static void test_hoist_moves_global_options_after_the_command_in_front_of_it(void **state)
{
        (void)state;
        /* README's example, as printed. */
        assert_hoisted(
                (const char *const[]){"oteldemo", "load", "--rate", "50/s", "--duration", "2m", "--mix",
                                      "browse=70,order=20,user=10", "--output", "json", NULL},
                (const char *const[]){"oteldemo", "--output", "json", "load", "--rate", "50/s", "--duration",
                                      "2m", "--mix", "browse=70,order=20,user=10", NULL});
}

static void test_hoist_takes_equals_form_short_verbose_and_keeps_order(void **state)
{
        (void)state;
        assert_hoisted((const char *const[]){"oteldemo", "--url", "http://a:1", "orders", "get",
                                             "--url=http://b:2", "-v", "7", "--timeout", "2s", NULL},
                       (const char *const[]){"oteldemo", "--url", "http://a:1", "--url=http://b:2", "-v",
                                             "--timeout", "2s", "orders", "get", "7", NULL});
}

static void test_hoist_leaves_command_options_and_words_after_double_dash(void **state)
{
        (void)state;
        assert_hoisted((const char *const[]){"oteldemo", "products", "list", "--query", "lamp", "--",
                                             "--output", "json", NULL},
                       (const char *const[]){"oteldemo", "products", "list", "--query", "lamp", "--",
                                             "--output", "json", NULL});
        /* --help after the command is the command's; "--outputs" is not "--output". */
        assert_hoisted((const char *const[]){"oteldemo", "load", "--help", "--outputs", NULL},
                       (const char *const[]){"oteldemo", "load", "--help", "--outputs", NULL});
}

static void test_hoist_names_a_trailing_option_without_its_value(void **state)
{
        char *argv[] = {"oteldemo", "health", "--output"};
        const char *missing = NULL;

        (void)state;
        assert_int_equal(cli_hoist_global_options(3, argv, &missing), -EINVAL);
        assert_string_equal(missing, "--output");
        assert_string_equal(argv[1], "health");
        /* No command at all: nothing moves. */
        assert_hoisted((const char *const[]){"oteldemo", "--output", "json", NULL},
                       (const char *const[]){"oteldemo", "--output", "json", NULL});
}

/* A temp file holding text with the given mode; its path in ret (removed by the caller). */
static void pem_file(const char *text, mode_t mode, char ret[static 64])
{
        int fd;

        (void)snprintf(ret, 64, "/tmp/test-cli-pem.XXXXXX");
        fd = mkstemp(ret);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static int check_pem(const char *text, mode_t mode, bool private_key)
{
        char path[64];
        int r;

        pem_file(text, mode, path);
        r = cli_check_pem_file(path, private_key);
        unlink(path);
        return r;
}

static void test_pem_file_needs_a_block_of_its_kind(void **state)
{
        static const char cert[] =
                "subject=CN=x\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        static const char ec_key[] =
                "-----BEGIN EC PRIVATE KEY-----\r\nMHc\r\n-----END EC PRIVATE KEY-----\r\n";

        (void)state;
        assert_int_equal(check_pem(cert, 0644, false), 0);
        assert_int_equal(check_pem("-----BEGIN PRIVATE KEY-----\nMIG\n", 0600, true), 0);
        assert_int_equal(check_pem(ec_key, 0400, true), 0);
        assert_int_equal(check_pem(ec_key, 0644, false), -EBADMSG); /* a key is no certificate */
        assert_int_equal(check_pem(cert, 0600, true), -EBADMSG);    /* nor the other way round */
        assert_int_equal(check_pem("-----BEGIN CERTIFICATE REQUEST-----\n", 0644, false), -EBADMSG);
        assert_int_equal(check_pem("", 0644, false), -EBADMSG);
}

static void test_pem_key_others_may_read_is_refused(void **state)
{
        (void)state;
        assert_int_equal(check_pem("-----BEGIN PRIVATE KEY-----\n", 0640, true), -EPERM);
        assert_int_equal(check_pem("-----BEGIN PRIVATE KEY-----\n", 0604, true), -EPERM);
}

static void test_pem_file_must_be_a_readable_regular_file_of_bounded_size(void **state)
{
        char path[64];
        int fd;

        (void)state;
        assert_int_equal(cli_check_pem_file("/nonexistent/ca.pem", false), -ENOENT);
        assert_int_equal(cli_check_pem_file("/tmp", false), -EBADMSG);
        pem_file("-----BEGIN CERTIFICATE-----\n", 0644, path);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)CLI_PEM_FILE_MAX + 1), 0);
        close(fd);
        assert_int_equal(cli_check_pem_file(path, false), -EFBIG);
        unlink(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_duration_units),
                cmocka_unit_test(test_duration_bare_number_is_seconds),
                cmocka_unit_test(test_duration_fractions),
                cmocka_unit_test(test_duration_rejects_malformed_text),
                cmocka_unit_test(test_duration_rejects_more_than_a_year),
                cmocka_unit_test(test_rate_accepts_per_second_and_per_minute),
                cmocka_unit_test(test_rate_must_be_positive_and_bounded),
                cmocka_unit_test(test_id_must_be_a_positive_decimal),
                cmocka_unit_test(test_uint_range),
                cmocka_unit_test(test_output_formats),
                cmocka_unit_test(test_mix_full_and_partial),
                cmocka_unit_test(test_mix_must_sum_to_100),
                cmocka_unit_test(test_mix_rejects_unknown_duplicate_and_malformed),
                cmocka_unit_test(test_hoist_moves_global_options_after_the_command_in_front_of_it),
                cmocka_unit_test(test_hoist_takes_equals_form_short_verbose_and_keeps_order),
                cmocka_unit_test(test_hoist_leaves_command_options_and_words_after_double_dash),
                cmocka_unit_test(test_hoist_names_a_trailing_option_without_its_value),
                cmocka_unit_test(test_pem_file_needs_a_block_of_its_kind),
                cmocka_unit_test(test_pem_key_others_may_read_is_refused),
                cmocka_unit_test(test_pem_file_must_be_a_readable_regular_file_of_bounded_size),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
