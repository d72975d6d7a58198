/* SPDX-License-Identifier: Apache-2.0 */
/* The INI configuration parser of src/common: syntax, typed getters with ranges, unknown keys, and
 * error lines that name file, line and key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config-file.h"
#include "telemetry.h"

static config_file *parse_ok(const char *text)
{
        config_file *cfg = NULL;
        char error[CONFIG_ERROR_MAX] = "";

        assert_int_equal(config_parse_string("test.conf", text, strlen(text), &cfg, error), 0);
        assert_string_equal(error, "");
        assert_non_null(cfg);
        return cfg;
}

static void test_config_reads_sections_keys_and_trims_whitespace(void **state)
{
        config_file *cfg =
                parse_ok("# comment\n; other comment\n\n[server]\n  listen   =  127.0.0.1:8081  \n"
                         "[database]\nconninfo=host=/run/pg dbname=shop\n");
        const char *v;

        (void)state;
        assert_int_equal(config_get_string(cfg, "server", "listen", NULL, &v), 0);
        assert_string_equal(v, "127.0.0.1:8081");
        assert_int_equal(config_get_string(cfg, "database", "conninfo", NULL, &v), 0);
        assert_string_equal(v, "host=/run/pg dbname=shop");
        assert_int_equal(config_check_unknown(cfg), 0);
        config_free(cfg);
}

static void test_config_unquotes_values_with_escapes(void **state)
{
        config_file *cfg = parse_ok("[a]\nk = \"  spaced \\\"quoted\\\" \\\\ \"\n");
        const char *v;

        (void)state;
        assert_int_equal(config_get_string(cfg, "a", "k", NULL, &v), 0);
        assert_string_equal(v, "  spaced \"quoted\" \\ ");
        config_free(cfg);
}

static void test_config_absent_key_yields_default(void **state)
{
        config_file *cfg = parse_ok("[server]\n");
        unsigned u;
        const char *v;

        (void)state;
        assert_int_equal(config_get_uint(cfg, "server", "threads", 4, 1, 64, &u), 0);
        assert_int_equal(u, 4);
        assert_int_equal(config_get_string(cfg, "server", "listen", "x:1", &v), 0);
        assert_string_equal(v, "x:1");
        config_free(cfg);
}

static void test_config_integer_out_of_range_names_file_line_and_key(void **state)
{
        config_file *cfg = parse_ok("[server]\n\nthreads = 999\n");
        unsigned u = 7;

        (void)state;
        assert_int_equal(config_get_uint(cfg, "server", "threads", 4, 1, 256, &u), -EINVAL);
        assert_int_equal(u, 7);
        assert_string_equal(config_error(cfg),
                            "test.conf:3: [server] threads: expected an integer in 1..256, got '999'");
        config_free(cfg);
}

static void test_config_uints_reads_each_key_and_stops_at_the_first_bad_one(void **state)
{
        config_file *cfg = parse_ok("[server]\nthreads = 8\nmax_connections = 0\n");
        unsigned threads = 0, limit = 7, drain = 7, absent = 0;
        const config_uint_key keys[] = {
                {"threads", 4, 1, 256, &threads},
                {"timeout_s", 30, 1, 3600, &absent},
                {"max_connections", 1024, 1, 8192, &limit},
                {"drain_timeout_ms", 100, 0, 1000, &drain},
        };

        (void)state;
        assert_int_equal(config_get_uints(cfg, "server", keys, 4), -EINVAL);
        assert_int_equal(threads, 8);
        assert_int_equal(absent, 30);
        assert_int_equal(limit, 7);
        assert_int_equal(drain, 7); /* not read after the error */
        assert_string_equal(
                config_error(cfg),
                "test.conf:3: [server] max_connections: expected an integer in 1..8192, got '0'");
        assert_int_equal(config_get_uints(cfg, "server", keys, 2), 0);
        config_free(cfg);
}

static void test_config_integer_with_trailing_garbage_is_rejected(void **state)
{
        config_file *cfg = parse_ok("[s]\nn = 12abc\nm = \nneg = -1\n");
        int64_t v;

        (void)state;
        assert_int_equal(config_get_int(cfg, "s", "n", 0, 0, 100, &v), -EINVAL);
        assert_int_equal(config_get_int(cfg, "s", "m", 0, 0, 100, &v), -EINVAL);
        assert_int_equal(config_get_int(cfg, "s", "neg", 0, 0, 100, &v), -EINVAL);
        assert_string_equal(config_error(cfg),
                            "test.conf:4: [s] neg: expected an integer in 0..100, got '-1'");
        config_free(cfg);
}

static void test_config_double_range_and_nan_rejected(void **state)
{
        config_file *cfg = parse_ok("[f]\nrate = 0.25\nbad = nan\nbig = 1.5\n");
        double d;

        (void)state;
        assert_int_equal(config_get_double(cfg, "f", "rate", 0, 0, 1, &d), 0);
        assert_true(d == 0.25);
        assert_int_equal(config_get_double(cfg, "f", "bad", 0, 0, 1, &d), -EINVAL);
        assert_int_equal(config_get_double(cfg, "f", "big", 0, 0, 1, &d), -EINVAL);
        assert_string_equal(config_error(cfg), "test.conf:4: [f] big: expected a number in 0..1, got '1.5'");
        config_free(cfg);
}

static void test_config_bool_accepts_common_spellings(void **state)
{
        config_file *cfg = parse_ok("[b]\na = yes\nb = OFF\nc = 1\nd = maybe\n");
        bool v;

        (void)state;
        assert_int_equal(config_get_bool(cfg, "b", "a", false, &v), 0);
        assert_true(v);
        assert_int_equal(config_get_bool(cfg, "b", "b", true, &v), 0);
        assert_false(v);
        assert_int_equal(config_get_bool(cfg, "b", "c", false, &v), 0);
        assert_true(v);
        assert_int_equal(config_get_bool(cfg, "b", "d", false, &v), -EINVAL);
        assert_string_equal(
                config_error(cfg),
                "test.conf:5: [b] d: expected a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'");
        config_free(cfg);
}

static void test_config_unknown_key_is_an_error_naming_it(void **state)
{
        config_file *cfg = parse_ok("[server]\nlisten = a:1\nthreds = 4\n");
        const char *v;

        (void)state;
        assert_int_equal(config_get_string(cfg, "server", "listen", NULL, &v), 0);
        assert_int_equal(config_check_unknown(cfg), -EINVAL);
        assert_string_equal(config_error(cfg), "test.conf:3: [server] threds: unknown key");
        config_free(cfg);
}

static void test_config_unknown_section_is_an_error_naming_it(void **state)
{
        config_file *cfg = parse_ok("[server]\nlisten = a:1\n\n[databse]\nconninfo = x\n");
        const char *v;

        (void)state;
        assert_int_equal(config_get_string(cfg, "server", "listen", NULL, &v), 0);
        assert_int_equal(config_get_string(cfg, "database", "conninfo", NULL, &v), 0);
        assert_int_equal(config_check_unknown(cfg), -EINVAL);
        assert_string_equal(config_error(cfg), "test.conf:4: [databse]: unknown section");
        config_free(cfg);
}

static void test_config_accepted_section_is_not_unknown(void **state)
{
        config_file *cfg = parse_ok("[extra]\nanything = 1\n");

        (void)state;
        config_accept_section(cfg, "extra");
        assert_int_equal(config_check_unknown(cfg), 0);
        config_free(cfg);
}

static void expect_syntax_error(const char *text, const char *expected)
{
        config_file *cfg = NULL;
        char error[CONFIG_ERROR_MAX] = "";

        assert_int_equal(config_parse_string("test.conf", text, strlen(text), &cfg, error), -EINVAL);
        assert_null(cfg);
        assert_string_equal(error, expected);
}

static void test_config_duplicate_key_is_a_syntax_error(void **state)
{
        (void)state;
        expect_syntax_error("[s]\nk = 1\n[t]\n[s]\nk = 2\n", "test.conf:5: [s] k: duplicate key");
}

static void test_config_key_outside_section_is_a_syntax_error(void **state)
{
        (void)state;
        expect_syntax_error("k = 1\n", "test.conf:1: k: key outside of any [section]");
}

static void test_config_line_without_equals_is_a_syntax_error(void **state)
{
        (void)state;
        expect_syntax_error("[s]\njust words\n",
                            "test.conf:2: expected 'key = value', '[section]' or a comment");
}

static void test_config_unclosed_section_is_a_syntax_error(void **state)
{
        (void)state;
        expect_syntax_error("[server\n", "test.conf:1: section header without closing ']'");
}

static void test_config_unterminated_quote_is_a_syntax_error(void **state)
{
        (void)state;
        expect_syntax_error("[s]\nk = \"abc\n",
                            "test.conf:2: [s] k: unterminated or malformed quoted value");
}

static void test_config_invalid_key_name_is_a_syntax_error(void **state)
{
        (void)state;
        expect_syntax_error("[s]\nbad key = 1\n", "test.conf:2: invalid key name 'bad key'");
}

static void test_config_overlong_line_is_a_syntax_error(void **state)
{
        size_t n = CONFIG_LINE_MAX + 10;
        char *text = malloc(n + 1);
        config_file *cfg = NULL;
        char error[CONFIG_ERROR_MAX];

        (void)state;
        assert_non_null(text);
        memset(text, '#', n);
        text[n] = '\0';
        assert_int_equal(config_parse_string("test.conf", text, n, &cfg, error), -EINVAL);
        assert_string_equal(error, "test.conf:1: line longer than 4096 bytes");
        free(text);
}

static void test_config_reject_names_the_line_of_the_key(void **state)
{
        config_file *cfg = parse_ok("[server]\n\n\nlisten = nonsense\n");

        (void)state;
        assert_int_equal(config_reject(cfg, "server", "listen", "expected host:port, got '%s'", "nonsense"),
                         -EINVAL);
        assert_string_equal(config_error(cfg),
                            "test.conf:4: [server] listen: expected host:port, got 'nonsense'");
        config_free(cfg);
}

static void test_config_load_reports_missing_file(void **state)
{
        config_file *cfg = NULL;
        char error[CONFIG_ERROR_MAX];

        (void)state;
        assert_int_equal(config_load("/nonexistent/oteldemo.conf", &cfg, error), -ENOENT);
        assert_string_equal(error, "/nonexistent/oteldemo.conf: cannot open: No such file or directory");
}

static void test_config_load_reads_a_file(void **state)
{
        char path[] = "/tmp/test-config-XXXXXX";
        static const char text[] = "[server]\nthreads = 8\n";
        config_file *cfg = NULL;
        char error[CONFIG_ERROR_MAX];
        unsigned u;
        int fd = mkstemp(path);

        (void)state;
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        assert_int_equal(config_load(path, &cfg, error), 0);
        assert_int_equal(config_get_uint(cfg, "server", "threads", 1, 1, 64, &u), 0);
        assert_int_equal(u, 8);
        assert_string_equal(config_path(cfg), path);
        config_free(cfg);
        unlink(path);
}

static void test_telemetry_config_defaults_to_the_given_service_name(void **state)
{
        config_file *cfg = parse_ok("[telemetry]\nsampler = always_off\n");
        telemetry_config t;

        (void)state;
        assert_int_equal(telemetry_config_load(cfg, "svc", &t), 0);
        assert_string_equal(t.service_name, "svc");
        assert_int_equal(t.log_level, OTEL_SEVERITY_INFO);
        assert_string_equal(t.sampler, "always_off");
        assert_null(t.sampler_arg);
        assert_int_equal(config_check_unknown(cfg), 0);
        telemetry_config_free(&t);
        config_free(cfg);
}

static void test_telemetry_config_rejects_an_unknown_log_level(void **state)
{
        config_file *cfg = parse_ok("[telemetry]\nlog_level = loud\n");
        telemetry_config t;

        (void)state;
        assert_int_equal(telemetry_config_load(cfg, "svc", &t), -EINVAL);
        assert_string_equal(config_error(cfg), "test.conf:2: [telemetry] log_level: expected trace, debug, "
                                               "info, warn, error or fatal, got 'loud'");
        config_free(cfg);
}

static telemetry_config telemetry_parse(const char *text)
{
        config_file *cfg = parse_ok(text);
        telemetry_config t;

        assert_int_equal(telemetry_config_load(cfg, "test-config", &t), 0);
        config_free(cfg);
        return t;
}

static bool telemetry_new_span_records(void)
{
        otel_span *span = otel_span_start(otel_tracer_get("test-config", NULL), "probe",
                                          OTEL_SPAN_KIND_INTERNAL, &(otel_span_start_opts){.root = true});
        bool recording = otel_span_is_recording(span);

        otel_span_end(span);
        return recording;
}

static void test_telemetry_reload_applies_a_changed_sampler_and_keeps_it_on_an_invalid_one(void **state)
{
        telemetry_config current, fresh;

        (void)state;
        unsetenv("OTEL_TRACES_SAMPLER");
        unsetenv("OTEL_TRACES_SAMPLER_ARG");
        setenv("OTEL_TRACES_EXPORTER", "none", 1);
        setenv("OTEL_METRICS_EXPORTER", "none", 1);
        setenv("OTEL_LOGS_EXPORTER", "none", 1);
        current = telemetry_parse("[telemetry]\nsampler = always_on\n");
        assert_int_equal(telemetry_start(&current), 0);
        assert_true(telemetry_new_span_records());

        fresh = telemetry_parse("[telemetry]\nsampler = always_off\nlog_level = warn\n");
        telemetry_reload(&current, &fresh);
        telemetry_config_free(&fresh);
        assert_false(telemetry_new_span_records());
        assert_string_equal(current.sampler, "always_off");
        assert_int_equal(current.log_level, OTEL_SEVERITY_WARN);

        fresh = telemetry_parse("[telemetry]\nsampler = sometimes\n");
        telemetry_reload(&current, &fresh);
        telemetry_config_free(&fresh);
        assert_false(telemetry_new_span_records());
        assert_string_equal(current.sampler, "always_off");

        assert_int_equal(otel_sdk_shutdown(1000), 0);
        telemetry_config_free(&current);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_reads_sections_keys_and_trims_whitespace),
                cmocka_unit_test(test_config_unquotes_values_with_escapes),
                cmocka_unit_test(test_config_absent_key_yields_default),
                cmocka_unit_test(test_config_integer_out_of_range_names_file_line_and_key),
                cmocka_unit_test(test_config_uints_reads_each_key_and_stops_at_the_first_bad_one),
                cmocka_unit_test(test_config_integer_with_trailing_garbage_is_rejected),
                cmocka_unit_test(test_config_double_range_and_nan_rejected),
                cmocka_unit_test(test_config_bool_accepts_common_spellings),
                cmocka_unit_test(test_config_unknown_key_is_an_error_naming_it),
                cmocka_unit_test(test_config_unknown_section_is_an_error_naming_it),
                cmocka_unit_test(test_config_accepted_section_is_not_unknown),
                cmocka_unit_test(test_config_duplicate_key_is_a_syntax_error),
                cmocka_unit_test(test_config_key_outside_section_is_a_syntax_error),
                cmocka_unit_test(test_config_line_without_equals_is_a_syntax_error),
                cmocka_unit_test(test_config_unclosed_section_is_a_syntax_error),
                cmocka_unit_test(test_config_unterminated_quote_is_a_syntax_error),
                cmocka_unit_test(test_config_invalid_key_name_is_a_syntax_error),
                cmocka_unit_test(test_config_overlong_line_is_a_syntax_error),
                cmocka_unit_test(test_config_reject_names_the_line_of_the_key),
                cmocka_unit_test(test_config_load_reports_missing_file),
                cmocka_unit_test(test_config_load_reads_a_file),
                cmocka_unit_test(test_telemetry_config_defaults_to_the_given_service_name),
                cmocka_unit_test(test_telemetry_config_rejects_an_unknown_log_level),
                cmocka_unit_test(
                        test_telemetry_reload_applies_a_changed_sampler_and_keeps_it_on_an_invalid_one),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
