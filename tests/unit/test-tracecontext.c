/* SPDX-License-Identifier: Apache-2.0 */
/* W3C Trace Context Level 1: traceparent (section 3.2) and tracestate (section 3.3), covering the
 * categories of the W3C trace-context test suite. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "otel.h"
#include "propagation.h"

#define TRACE_ID_HEX "0af7651916cd43dd8448eb211c80319c"
#define SPAN_ID_HEX  "b7ad6b7169203331"
#define TP_SAMPLED   "00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01"

static const uint8_t trace_id_bytes[OTEL_TRACE_ID_SIZE] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                                                           0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
static const uint8_t span_id_bytes[OTEL_SPAN_ID_SIZE] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};

static int tp_parse(const char *s, otel_span_context *sc)
{
        return otel_traceparent_parse(s, strlen(s), sc);
}

static void assert_tp_invalid(const char *s)
{
        otel_span_context sc;

        if (tp_parse(s, &sc) != -EINVAL)
                fail_msg("accepted invalid traceparent \"%s\"", s);
}

static otel_tracestate *ts_parse(const char *s)
{
        otel_tracestate *ts = NULL;

        assert_int_equal(otel_tracestate_parse(s, strlen(s), &ts), 0);
        assert_non_null(ts);
        return ts;
}

static void assert_ts_invalid(const char *s)
{
        otel_tracestate *ts = NULL;

        if (otel_tracestate_parse(s, strlen(s), &ts) != -EINVAL)
                fail_msg("accepted invalid tracestate \"%s\"", s);
        assert_null(ts);
}

static void assert_ts_valid(const char *s)
{
        otel_tracestate_unref(ts_parse(s));
}

/* "c" repeated n times into buf (NUL-terminated). */
static char *repeat(char *buf, char c, size_t n)
{
        memset(buf, c, n);
        buf[n] = '\0';
        return buf;
}

static void append(char *buf, size_t size, const char *s)
{
        size_t len = strlen(buf);

        snprintf(buf + len, size - len, "%s", s);
}

/* ---- traceparent: valid ---------------------------------------------------------------------- */

static void test_traceparent_parses_version_00(void **state)
{
        otel_span_context sc;

        (void)state;
        assert_int_equal(tp_parse(TP_SAMPLED, &sc), 0);
        assert_memory_equal(sc.trace_id, trace_id_bytes, OTEL_TRACE_ID_SIZE);
        assert_memory_equal(sc.span_id, span_id_bytes, OTEL_SPAN_ID_SIZE);
        assert_int_equal(sc.trace_flags, OTEL_TRACE_FLAG_SAMPLED);
        assert_false(sc.is_remote);
}

static void test_traceparent_parses_unsampled_flags(void **state)
{
        otel_span_context sc;

        (void)state;
        assert_int_equal(tp_parse("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-00", &sc), 0);
        assert_int_equal(sc.trace_flags, 0);
}

static void test_traceparent_keeps_only_sampled_bit_of_flags(void **state)
{
        otel_span_context sc;

        (void)state;
        assert_int_equal(tp_parse("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-ff", &sc), 0);
        assert_int_equal(sc.trace_flags, OTEL_TRACE_FLAG_SAMPLED);
        assert_int_equal(tp_parse("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-02", &sc), 0);
        assert_int_equal(sc.trace_flags, 0);
}

static void test_traceparent_accepts_future_version_exact_length(void **state)
{
        otel_span_context sc;

        (void)state;
        assert_int_equal(tp_parse("cc-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01", &sc), 0);
        assert_memory_equal(sc.trace_id, trace_id_bytes, OTEL_TRACE_ID_SIZE);
        assert_int_equal(sc.trace_flags, OTEL_TRACE_FLAG_SAMPLED);
}

static void test_traceparent_accepts_future_version_with_extra_fields(void **state)
{
        otel_span_context sc;

        (void)state;
        assert_int_equal(
                tp_parse("cc-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01-what-the-future-will-be-like", &sc), 0);
        assert_memory_equal(sc.span_id, span_id_bytes, OTEL_SPAN_ID_SIZE);
        assert_int_equal(sc.trace_flags, OTEL_TRACE_FLAG_SAMPLED);
}

static void test_traceparent_future_version_keeps_only_sampled_bit(void **state)
{
        otel_span_context sc;

        (void)state;
        assert_int_equal(tp_parse("01-" TRACE_ID_HEX "-" SPAN_ID_HEX "-09", &sc), 0);
        assert_int_equal(sc.trace_flags, OTEL_TRACE_FLAG_SAMPLED);
}

static void test_traceparent_tolerates_surrounding_ows(void **state)
{
        otel_span_context sc;

        (void)state;
        assert_int_equal(tp_parse(" " TP_SAMPLED, &sc), 0);
        assert_int_equal(tp_parse("\t" TP_SAMPLED, &sc), 0);
        assert_int_equal(tp_parse(TP_SAMPLED " ", &sc), 0);
        assert_int_equal(tp_parse(TP_SAMPLED "\t", &sc), 0);
        assert_int_equal(tp_parse(" \t " TP_SAMPLED "\t \t", &sc), 0);
        assert_memory_equal(sc.trace_id, trace_id_bytes, OTEL_TRACE_ID_SIZE);
}

static void test_traceparent_reads_only_len_bytes(void **state)
{
        otel_span_context sc;

        (void)state;
        assert_int_equal(otel_traceparent_parse(TP_SAMPLED "garbage", OTEL_TRACEPARENT_LEN, &sc), 0);
        assert_memory_equal(sc.span_id, span_id_bytes, OTEL_SPAN_ID_SIZE);
}

static void test_traceparent_leaves_output_untouched_when_invalid(void **state)
{
        otel_span_context sc = {.trace_flags = 0x55};

        (void)state;
        assert_int_equal(tp_parse("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-0g", &sc), -EINVAL);
        assert_int_equal(sc.trace_flags, 0x55);
}

/* ---- traceparent: invalid -------------------------------------------------------------------- */

static void test_traceparent_rejects_empty_and_null(void **state)
{
        otel_span_context sc;

        (void)state;
        assert_int_equal(otel_traceparent_parse("", 0, &sc), -EINVAL);
        assert_int_equal(otel_traceparent_parse(NULL, 0, &sc), -EINVAL);
        assert_int_equal(otel_traceparent_parse(TP_SAMPLED, OTEL_TRACEPARENT_LEN, NULL), -EINVAL);
        assert_tp_invalid("   ");
}

static void test_traceparent_rejects_too_short(void **state)
{
        (void)state;
        assert_tp_invalid("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-0");
        assert_tp_invalid("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-");
        assert_tp_invalid("00-" TRACE_ID_HEX "-" SPAN_ID_HEX);
        assert_tp_invalid("cc-" TRACE_ID_HEX "-" SPAN_ID_HEX "-0");
}

static void test_traceparent_rejects_version_00_longer_than_55(void **state)
{
        (void)state;
        assert_tp_invalid(TP_SAMPLED "0");
        assert_tp_invalid(TP_SAMPLED "-");
        assert_tp_invalid(TP_SAMPLED "-what-the-future-will-be-like");
}

static void test_traceparent_rejects_version_ff(void **state)
{
        (void)state;
        assert_tp_invalid("ff-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01");
        assert_tp_invalid("ff-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01-what-the-future-will-be-like");
}

static void test_traceparent_rejects_future_version_without_dash_after_flags(void **state)
{
        (void)state;
        assert_tp_invalid("cc-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01.what-the-future-will-be-like");
        assert_tp_invalid("cc-" TRACE_ID_HEX "-" SPAN_ID_HEX "-010");
}

static void test_traceparent_rejects_non_hex_version(void **state)
{
        (void)state;
        assert_tp_invalid("0x-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01");
        assert_tp_invalid("g0-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01");
        assert_tp_invalid(".0-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01");
        assert_tp_invalid("-0-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01");
}

static void test_traceparent_rejects_uppercase_hex(void **state)
{
        (void)state;
        assert_tp_invalid("0A-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01");
        assert_tp_invalid("00-0AF7651916CD43DD8448EB211C80319C-" SPAN_ID_HEX "-01");
        assert_tp_invalid("00-" TRACE_ID_HEX "-B7AD6B7169203331-01");
        assert_tp_invalid("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-0A");
}

static void test_traceparent_rejects_non_hex_trace_id(void **state)
{
        (void)state;
        assert_tp_invalid("00-0af7651916cd43dd8448eb211c80319g-" SPAN_ID_HEX "-01");
        assert_tp_invalid("00-0af7651916cd43dd8448eb211c8031.c-" SPAN_ID_HEX "-01");
        assert_tp_invalid("00-+af7651916cd43dd8448eb211c80319c-" SPAN_ID_HEX "-01");
}

static void test_traceparent_rejects_non_hex_span_id(void **state)
{
        (void)state;
        assert_tp_invalid("00-" TRACE_ID_HEX "-b7ad6b716920333z-01");
        assert_tp_invalid("00-" TRACE_ID_HEX "-b7ad6b71 9203331-01");
}

static void test_traceparent_rejects_non_hex_flags(void **state)
{
        (void)state;
        assert_tp_invalid("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-0g");
        assert_tp_invalid("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-.1");
        assert_tp_invalid("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "- 1");
}

static void test_traceparent_rejects_all_zero_trace_id(void **state)
{
        (void)state;
        assert_tp_invalid("00-00000000000000000000000000000000-" SPAN_ID_HEX "-01");
}

static void test_traceparent_rejects_all_zero_span_id(void **state)
{
        (void)state;
        assert_tp_invalid("00-" TRACE_ID_HEX "-0000000000000000-01");
}

static void test_traceparent_rejects_missing_or_wrong_dashes(void **state)
{
        (void)state;
        assert_tp_invalid("00_" TRACE_ID_HEX "-" SPAN_ID_HEX "-01");
        assert_tp_invalid("00-" TRACE_ID_HEX "_" SPAN_ID_HEX "-01");
        assert_tp_invalid("00-" TRACE_ID_HEX "-" SPAN_ID_HEX "_01");
        assert_tp_invalid("00" TRACE_ID_HEX "-" SPAN_ID_HEX "-01--");
        assert_tp_invalid("00-" TRACE_ID_HEX SPAN_ID_HEX "-01-");
}

static void test_traceparent_rejects_misplaced_fields(void **state)
{
        (void)state;
        /* Right total length, wrong field widths. */
        assert_tp_invalid("00-0af7651916cd43dd8448eb211c80319-cb7ad6b7169203331-01");
        assert_tp_invalid("00-0af7651916cd43dd8448eb211c80319cb-7ad6b7169203331-01");
        assert_tp_invalid("000-af7651916cd43dd8448eb211c80319c-" SPAN_ID_HEX "-01");
}

static void test_traceparent_rejects_inner_whitespace(void **state)
{
        (void)state;
        assert_tp_invalid("00- " TRACE_ID_HEX "-" SPAN_ID_HEX "-01");
        assert_tp_invalid("00-" TRACE_ID_HEX " -" SPAN_ID_HEX "-01");
        assert_tp_invalid("00 - " TRACE_ID_HEX "-" SPAN_ID_HEX "-01");
}

static void test_traceparent_rejects_embedded_nul(void **state)
{
        char buf[] = TP_SAMPLED;
        otel_span_context sc;

        (void)state;
        buf[10] = '\0';
        assert_int_equal(otel_traceparent_parse(buf, OTEL_TRACEPARENT_LEN, &sc), -EINVAL);
}

/* ---- traceparent: writing -------------------------------------------------------------------- */

static void test_traceparent_format_writes_version_00(void **state)
{
        otel_span_context sc = {.trace_flags = OTEL_TRACE_FLAG_SAMPLED};
        char out[OTEL_TRACEPARENT_LEN + 1];

        (void)state;
        memcpy(sc.trace_id, trace_id_bytes, OTEL_TRACE_ID_SIZE);
        memcpy(sc.span_id, span_id_bytes, OTEL_SPAN_ID_SIZE);
        otel_traceparent_format(&sc, out);
        assert_string_equal(out, TP_SAMPLED);
}

static void test_traceparent_format_clears_unknown_flags(void **state)
{
        otel_span_context sc = {.trace_flags = 0xfe};
        char out[OTEL_TRACEPARENT_LEN + 1];

        (void)state;
        memcpy(sc.trace_id, trace_id_bytes, OTEL_TRACE_ID_SIZE);
        memcpy(sc.span_id, span_id_bytes, OTEL_SPAN_ID_SIZE);
        otel_traceparent_format(&sc, out);
        assert_string_equal(out, "00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-00");
}

static void test_traceparent_future_version_is_written_as_00(void **state)
{
        otel_span_context sc;
        char out[OTEL_TRACEPARENT_LEN + 1];

        (void)state;
        assert_int_equal(tp_parse("cc-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01-extra", &sc), 0);
        otel_traceparent_format(&sc, out);
        assert_string_equal(out, TP_SAMPLED);
}

static void test_ids_to_hex_are_lowercase(void **state)
{
        char t[OTEL_TRACE_ID_HEX + 1], s[OTEL_SPAN_ID_HEX + 1];

        (void)state;
        otel_trace_id_to_hex(trace_id_bytes, t);
        otel_span_id_to_hex(span_id_bytes, s);
        assert_string_equal(t, TRACE_ID_HEX);
        assert_string_equal(s, SPAN_ID_HEX);
}

static void test_span_context_validity_needs_both_ids(void **state)
{
        otel_span_context sc = {};

        (void)state;
        assert_false(otel_span_context_is_valid(NULL));
        assert_false(otel_span_context_is_valid(&sc));
        memcpy(sc.trace_id, trace_id_bytes, OTEL_TRACE_ID_SIZE);
        assert_false(otel_span_context_is_valid(&sc));
        memcpy(sc.span_id, span_id_bytes, OTEL_SPAN_ID_SIZE);
        assert_true(otel_span_context_is_valid(&sc));
        memset(sc.trace_id, 0, OTEL_TRACE_ID_SIZE);
        assert_false(otel_span_context_is_valid(&sc));
}

/* ---- tracestate: grammar --------------------------------------------------------------------- */

static void test_tracestate_parses_members_in_order(void **state)
{
        otel_tracestate *ts = ts_parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
        const char *k, *v;

        (void)state;
        assert_int_equal(otel_tracestate_count(ts), 2);
        assert_true(otel_tracestate_member(ts, 0, &k, &v));
        assert_string_equal(k, "rojo");
        assert_string_equal(v, "00f067aa0ba902b7");
        assert_true(otel_tracestate_member(ts, 1, &k, &v));
        assert_string_equal(k, "congo");
        assert_false(otel_tracestate_member(ts, 2, &k, &v));
        assert_string_equal(otel_tracestate_get(ts, "congo"), "t61rcWkgMzE");
        assert_string_equal(otel_tracestate_header(ts), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
        otel_tracestate_unref(ts);
}

static void test_tracestate_get_returns_null_for_absent_key(void **state)
{
        otel_tracestate *ts = ts_parse("foo=1");

        (void)state;
        assert_null(otel_tracestate_get(ts, "bar"));
        assert_null(otel_tracestate_get(ts, "fo"));
        assert_null(otel_tracestate_get(NULL, "foo"));
        otel_tracestate_unref(ts);
}

static void test_tracestate_accepts_all_key_characters(void **state)
{
        otel_tracestate *ts = ts_parse("abcdefghijklmnopqrstuvwxyz0123456789_-*/=1");

        (void)state;
        assert_string_equal(otel_tracestate_get(ts, "abcdefghijklmnopqrstuvwxyz0123456789_-*/"), "1");
        otel_tracestate_unref(ts);
}

static void test_tracestate_accepts_all_value_characters(void **state)
{
        char value[128], input[160];
        size_t n = 0;
        otel_tracestate *ts;

        (void)state;
        for (int c = 0x20; c <= 0x7e; c++)
                if (c != ',' && c != '=')
                        value[n++] = (char)c;
        value[n] = '\0';
        snprintf(input, sizeof(input), "k=%s", value);
        ts = ts_parse(input);
        assert_string_equal(otel_tracestate_get(ts, "k"), value);
        otel_tracestate_unref(ts);
}

static void test_tracestate_rejects_uppercase_key(void **state)
{
        (void)state;
        assert_ts_invalid("FOO=1");
        assert_ts_invalid("fOo=1");
        assert_ts_invalid("foo@Bar=1");
}

static void test_tracestate_rejects_illegal_key_characters(void **state)
{
        (void)state;
        assert_ts_invalid("foo.bar=1");
        assert_ts_invalid("foo =1");
        assert_ts_invalid("foo!=1");
        assert_ts_invalid("foo:bar=1");
}

static void test_tracestate_rejects_simple_key_not_starting_with_lcalpha(void **state)
{
        (void)state;
        assert_ts_invalid("1foo=1");
        assert_ts_invalid("_foo=1");
        assert_ts_invalid("*=1");
}

static void test_tracestate_rejects_empty_key(void **state)
{
        (void)state;
        assert_ts_invalid("=1");
        assert_ts_invalid("foo=1,=2");
}

static void test_tracestate_simple_key_max_256_chars(void **state)
{
        char key[300], input[600];

        (void)state;
        snprintf(input, sizeof(input), "foo=1,%s=1", repeat(key, 'z', 256));
        assert_ts_valid(input);
        snprintf(input, sizeof(input), "foo=1,%s=1", repeat(key, 'z', 257));
        assert_ts_invalid(input);
}

static void test_tracestate_accepts_multi_tenant_key(void **state)
{
        otel_tracestate *ts = ts_parse("tenant@vendor=1,1tenant@v_-*/9=2");

        (void)state;
        assert_string_equal(otel_tracestate_get(ts, "tenant@vendor"), "1");
        assert_string_equal(otel_tracestate_get(ts, "1tenant@v_-*/9"), "2");
        otel_tracestate_unref(ts);
}

static void test_tracestate_tenant_max_241_chars(void **state)
{
        char tenant[300], input[600];

        (void)state;
        snprintf(input, sizeof(input), "foo=1,%s@vvvvvvvvvvvvvv=1", repeat(tenant, 't', 241));
        assert_ts_valid(input);
        snprintf(input, sizeof(input), "foo=1,%s@v=1", repeat(tenant, 't', 242));
        assert_ts_invalid(input);
}

static void test_tracestate_system_max_14_chars(void **state)
{
        (void)state;
        assert_ts_valid("t@vvvvvvvvvvvvvv=1");
        assert_ts_invalid("t@vvvvvvvvvvvvvvv=1");
}

static void test_tracestate_rejects_malformed_multi_tenant_keys(void **state)
{
        (void)state;
        assert_ts_invalid("foo@=1,bar=2");
        assert_ts_invalid("@foo=1,bar=2");
        assert_ts_invalid("foo@@bar=1,bar=2");
        assert_ts_invalid("foo@bar@baz=1,bar=2");
        assert_ts_invalid("foo@1bar=1");
        assert_ts_invalid("_foo@bar=1");
}

static void test_tracestate_rejects_empty_value(void **state)
{
        (void)state;
        assert_ts_invalid("foo=");
        assert_ts_invalid("foo=,bar=3");
        assert_ts_invalid("foo=   ");
}

static void test_tracestate_rejects_member_without_equals(void **state)
{
        (void)state;
        assert_ts_invalid("foo");
        assert_ts_invalid("foo=1,bar");
}

static void test_tracestate_rejects_equals_in_value(void **state)
{
        (void)state;
        assert_ts_invalid("foo=bar=baz");
        assert_ts_invalid("foo==");
}

static void test_tracestate_rejects_control_and_non_ascii_in_value(void **state)
{
        (void)state;
        assert_ts_invalid("foo=a\tb");
        assert_ts_invalid("foo=a\x01z");
        assert_ts_invalid("foo=a\x7f");
        assert_ts_invalid("foo=caf\xc3\xa9");
}

static void test_tracestate_accepts_inner_space_in_value(void **state)
{
        otel_tracestate *ts = ts_parse("foo=a b  c");

        (void)state;
        assert_string_equal(otel_tracestate_get(ts, "foo"), "a b  c");
        otel_tracestate_unref(ts);
}

static void test_tracestate_value_max_256_chars(void **state)
{
        char value[300], input[600];

        (void)state;
        snprintf(input, sizeof(input), "foo=%s", repeat(value, 'v', 256));
        assert_ts_valid(input);
        snprintf(input, sizeof(input), "foo=%s", repeat(value, 'v', 257));
        assert_ts_invalid(input);
}

/* ---- tracestate: list ------------------------------------------------------------------------ */

static void test_tracestate_trims_ows_around_members(void **state)
{
        otel_tracestate *ts = ts_parse("foo=1 \t , \t bar=2, \t baz=3");

        (void)state;
        assert_string_equal(otel_tracestate_get(ts, "foo"), "1");
        assert_string_equal(otel_tracestate_get(ts, "bar"), "2");
        assert_string_equal(otel_tracestate_get(ts, "baz"), "3");
        assert_string_equal(otel_tracestate_header(ts), "foo=1,bar=2,baz=3");
        otel_tracestate_unref(ts);
}

static void test_tracestate_skips_empty_members(void **state)
{
        otel_tracestate *ts = ts_parse(",foo=1,, \t ,bar=2,");

        (void)state;
        assert_int_equal(otel_tracestate_count(ts), 2);
        assert_string_equal(otel_tracestate_header(ts), "foo=1,bar=2");
        otel_tracestate_unref(ts);
}

static void test_tracestate_empty_header_is_empty_list(void **state)
{
        otel_tracestate *ts = ts_parse("");

        (void)state;
        assert_int_equal(otel_tracestate_count(ts), 0);
        assert_string_equal(otel_tracestate_header(ts), "");
        otel_tracestate_unref(ts);
        ts = ts_parse(" , ");
        assert_int_equal(otel_tracestate_count(ts), 0);
        otel_tracestate_unref(ts);
}

static void test_tracestate_keeps_the_first_of_duplicate_keys(void **state)
{
        otel_tracestate *ts = ts_parse("foo=1,bar=2,foo=2");

        (void)state;
        assert_int_equal(otel_tracestate_count(ts), 2);
        assert_string_equal(otel_tracestate_get(ts, "foo"), "1");
        assert_string_equal(otel_tracestate_header(ts), "foo=1,bar=2");
        otel_tracestate_unref(ts);
        ts = ts_parse("foo=1,foo=1");
        assert_string_equal(otel_tracestate_header(ts), "foo=1");
        otel_tracestate_unref(ts);
        ts = ts_parse("t@v=1,t@v=2");
        assert_string_equal(otel_tracestate_header(ts), "t@v=1");
        otel_tracestate_unref(ts);
}

static void test_tracestate_duplicates_count_towards_32_members(void **state)
{
        char input[1024];
        size_t o = 0;

        (void)state;
        for (unsigned i = 0; i < 32; i++)
                o += (size_t)snprintf(input + o, sizeof(input) - o, "%sfoo=%u", o ? "," : "", i);
        assert_ts_valid(input);
        snprintf(input + o, sizeof(input) - o, ",bar=1");
        assert_ts_invalid(input);
}

static void test_tracestate_duplicate_still_voids_the_header_when_invalid(void **state)
{
        (void)state;
        assert_ts_invalid("foo=1,foo=");
        assert_ts_invalid("foo=1,FOO=1");
}

/* propagation.c joins several header lines with ','; these are the joined values. */
static void test_tracestate_combined_lines_keep_all_members(void **state)
{
        otel_tracestate *ts = ts_parse("foo=1,bar=2,rojo=1,congo=2,baz=3");

        (void)state;
        assert_int_equal(otel_tracestate_count(ts), 5);
        assert_string_equal(otel_tracestate_get(ts, "congo"), "2");
        otel_tracestate_unref(ts);
}

static void test_tracestate_combined_lines_with_empty_line(void **state)
{
        otel_tracestate *ts = ts_parse("foo=1,");

        (void)state;
        assert_string_equal(otel_tracestate_header(ts), "foo=1");
        otel_tracestate_unref(ts);
}

static void test_tracestate_combined_lines_keep_first_of_duplicates_across_lines(void **state)
{
        otel_tracestate *ts = ts_parse("foo=1,foo=2");

        (void)state;
        assert_string_equal(otel_tracestate_header(ts), "foo=1");
        otel_tracestate_unref(ts);
}

static void build_members(char *buf, size_t size, unsigned first, unsigned count, size_t value_len)
{
        char value[300];
        size_t o = 0;

        repeat(value, 'v', value_len);
        buf[0] = '\0';
        for (unsigned i = first; i < first + count; i++)
                o += (size_t)snprintf(buf + o, size - o, "%sk%02u=%s", o ? "," : "", i, value);
}

static void test_tracestate_accepts_32_members(void **state)
{
        char input[1024];
        otel_tracestate *ts;

        (void)state;
        build_members(input, sizeof(input), 0, 32, 1);
        ts = ts_parse(input);
        assert_int_equal(otel_tracestate_count(ts), 32);
        assert_string_equal(otel_tracestate_header(ts), input);
        otel_tracestate_unref(ts);
}

static void test_tracestate_rejects_33_members(void **state)
{
        char input[1024];

        (void)state;
        build_members(input, sizeof(input), 0, 33, 1);
        assert_ts_invalid(input);
}

static void test_tracestate_empty_members_do_not_count_towards_32(void **state)
{
        char input[1024];
        otel_tracestate *ts;

        (void)state;
        build_members(input, sizeof(input), 0, 32, 1);
        append(input, sizeof(input), ",,,, ,");
        ts = ts_parse(input);
        assert_int_equal(otel_tracestate_count(ts), 32);
        otel_tracestate_unref(ts);
}

static void test_tracestate_keeps_exactly_512_chars(void **state)
{
        char input[1024];
        otel_tracestate *ts;

        (void)state;
        /* 8 members of "kNN=" + 60 = 64 chars, plus 7 commas = 519; trim one value to hit 512. */
        build_members(input, sizeof(input), 0, 7, 60);
        append(input, sizeof(input), ",k07=");
        memset(input + strlen(input), 'v', 53);
        input[512] = '\0';
        assert_int_equal(strlen(input), 512);
        ts = ts_parse(input);
        assert_int_equal(otel_tracestate_count(ts), 8);
        assert_string_equal(otel_tracestate_header(ts), input);
        otel_tracestate_unref(ts);
}

static void test_tracestate_truncation_drops_from_the_end(void **state)
{
        char input[1024], expected[1024];
        otel_tracestate *ts;

        (void)state;
        /* 12 members of 50 chars (no member over 128) = 611 chars: the last two must go. */
        build_members(input, sizeof(input), 0, 12, 46);
        build_members(expected, sizeof(expected), 0, 10, 46);
        ts = ts_parse(input);
        assert_int_equal(otel_tracestate_count(ts), 10);
        assert_null(otel_tracestate_get(ts, "k10"));
        assert_null(otel_tracestate_get(ts, "k11"));
        assert_string_equal(otel_tracestate_header(ts), expected);
        otel_tracestate_unref(ts);
}

static void test_tracestate_truncation_drops_large_members_first(void **state)
{
        char input[1024], small[600], big[300];
        otel_tracestate *ts;

        (void)state;
        /* "big=" + 200 (204 chars, over 128) first, then 10 members of 44: 654 chars in all. */
        build_members(small, sizeof(small), 0, 10, 40);
        snprintf(input, sizeof(input), "big=%s,%s", repeat(big, 'b', 200), small);
        ts = ts_parse(input);
        assert_null(otel_tracestate_get(ts, "big"));
        assert_int_equal(otel_tracestate_count(ts), 10);
        assert_string_equal(otel_tracestate_header(ts), small);
        otel_tracestate_unref(ts);
}

static void test_tracestate_truncation_drops_only_needed_large_members(void **state)
{
        char input[1024], small[600], big[300];
        otel_tracestate *ts;

        (void)state;
        /* Two large members (204 chars each) around 6 small ones: 679 chars; dropping the last large
         * one (474 chars) is enough. */
        build_members(small, sizeof(small), 0, 6, 40);
        repeat(big, 'b', 200);
        snprintf(input, sizeof(input), "big1=%s,%s,big2=%s", big, small, big);
        ts = ts_parse(input);
        assert_non_null(otel_tracestate_get(ts, "big1"));
        assert_null(otel_tracestate_get(ts, "big2"));
        assert_int_equal(otel_tracestate_count(ts), 7);
        assert_true(strlen(otel_tracestate_header(ts)) <= OTEL_TRACESTATE_MAX_LEN);
        otel_tracestate_unref(ts);
}

static void test_tracestate_header_never_exceeds_512_chars(void **state)
{
        char input[32 * 520], key[300], value[300];
        size_t o = 0;
        otel_tracestate *ts;

        (void)state;
        /* 32 members of the largest size. */
        repeat(value, 'v', 256);
        for (int i = 0; i < 32; i++) {
                repeat(key, 'a' + (i % 26), 254);
                o += (size_t)snprintf(input + o, sizeof(input) - o, "%s%s%02d=%s", o ? "," : "", key, i,
                                      value);
        }
        ts = ts_parse(input);
        assert_int_equal(otel_tracestate_count(ts), 0);
        assert_string_equal(otel_tracestate_header(ts), "");
        otel_tracestate_unref(ts);
}

static void test_tracestate_reparse_of_header_is_identical(void **state)
{
        otel_tracestate *a = ts_parse(" a=1 ,, b@c=x y ,d=2\t"), *b;

        (void)state;
        b = ts_parse(otel_tracestate_header(a));
        assert_string_equal(otel_tracestate_header(a), otel_tracestate_header(b));
        assert_int_equal(otel_tracestate_count(a), otel_tracestate_count(b));
        otel_tracestate_unref(a);
        otel_tracestate_unref(b);
}

static void test_tracestate_ref_keeps_it_alive(void **state)
{
        otel_tracestate *ts = ts_parse("foo=1");

        (void)state;
        assert_ptr_equal(otel_tracestate_ref(ts), ts);
        otel_tracestate_unref(ts);
        assert_string_equal(otel_tracestate_get(ts, "foo"), "1");
        otel_tracestate_unref(ts);
        otel_tracestate_unref(NULL);
        assert_null(otel_tracestate_ref(NULL));
        assert_string_equal(otel_tracestate_header(NULL), "");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_traceparent_parses_version_00),
                cmocka_unit_test(test_traceparent_parses_unsampled_flags),
                cmocka_unit_test(test_traceparent_keeps_only_sampled_bit_of_flags),
                cmocka_unit_test(test_traceparent_accepts_future_version_exact_length),
                cmocka_unit_test(test_traceparent_accepts_future_version_with_extra_fields),
                cmocka_unit_test(test_traceparent_future_version_keeps_only_sampled_bit),
                cmocka_unit_test(test_traceparent_tolerates_surrounding_ows),
                cmocka_unit_test(test_traceparent_reads_only_len_bytes),
                cmocka_unit_test(test_traceparent_leaves_output_untouched_when_invalid),
                cmocka_unit_test(test_traceparent_rejects_empty_and_null),
                cmocka_unit_test(test_traceparent_rejects_too_short),
                cmocka_unit_test(test_traceparent_rejects_version_00_longer_than_55),
                cmocka_unit_test(test_traceparent_rejects_version_ff),
                cmocka_unit_test(test_traceparent_rejects_future_version_without_dash_after_flags),
                cmocka_unit_test(test_traceparent_rejects_non_hex_version),
                cmocka_unit_test(test_traceparent_rejects_uppercase_hex),
                cmocka_unit_test(test_traceparent_rejects_non_hex_trace_id),
                cmocka_unit_test(test_traceparent_rejects_non_hex_span_id),
                cmocka_unit_test(test_traceparent_rejects_non_hex_flags),
                cmocka_unit_test(test_traceparent_rejects_all_zero_trace_id),
                cmocka_unit_test(test_traceparent_rejects_all_zero_span_id),
                cmocka_unit_test(test_traceparent_rejects_missing_or_wrong_dashes),
                cmocka_unit_test(test_traceparent_rejects_misplaced_fields),
                cmocka_unit_test(test_traceparent_rejects_inner_whitespace),
                cmocka_unit_test(test_traceparent_rejects_embedded_nul),
                cmocka_unit_test(test_traceparent_format_writes_version_00),
                cmocka_unit_test(test_traceparent_format_clears_unknown_flags),
                cmocka_unit_test(test_traceparent_future_version_is_written_as_00),
                cmocka_unit_test(test_ids_to_hex_are_lowercase),
                cmocka_unit_test(test_span_context_validity_needs_both_ids),
                cmocka_unit_test(test_tracestate_parses_members_in_order),
                cmocka_unit_test(test_tracestate_get_returns_null_for_absent_key),
                cmocka_unit_test(test_tracestate_accepts_all_key_characters),
                cmocka_unit_test(test_tracestate_accepts_all_value_characters),
                cmocka_unit_test(test_tracestate_rejects_uppercase_key),
                cmocka_unit_test(test_tracestate_rejects_illegal_key_characters),
                cmocka_unit_test(test_tracestate_rejects_simple_key_not_starting_with_lcalpha),
                cmocka_unit_test(test_tracestate_rejects_empty_key),
                cmocka_unit_test(test_tracestate_simple_key_max_256_chars),
                cmocka_unit_test(test_tracestate_accepts_multi_tenant_key),
                cmocka_unit_test(test_tracestate_tenant_max_241_chars),
                cmocka_unit_test(test_tracestate_system_max_14_chars),
                cmocka_unit_test(test_tracestate_rejects_malformed_multi_tenant_keys),
                cmocka_unit_test(test_tracestate_rejects_empty_value),
                cmocka_unit_test(test_tracestate_rejects_member_without_equals),
                cmocka_unit_test(test_tracestate_rejects_equals_in_value),
                cmocka_unit_test(test_tracestate_rejects_control_and_non_ascii_in_value),
                cmocka_unit_test(test_tracestate_accepts_inner_space_in_value),
                cmocka_unit_test(test_tracestate_value_max_256_chars),
                cmocka_unit_test(test_tracestate_trims_ows_around_members),
                cmocka_unit_test(test_tracestate_skips_empty_members),
                cmocka_unit_test(test_tracestate_empty_header_is_empty_list),
                cmocka_unit_test(test_tracestate_keeps_the_first_of_duplicate_keys),
                cmocka_unit_test(test_tracestate_duplicates_count_towards_32_members),
                cmocka_unit_test(test_tracestate_duplicate_still_voids_the_header_when_invalid),
                cmocka_unit_test(test_tracestate_combined_lines_keep_all_members),
                cmocka_unit_test(test_tracestate_combined_lines_with_empty_line),
                cmocka_unit_test(test_tracestate_combined_lines_keep_first_of_duplicates_across_lines),
                cmocka_unit_test(test_tracestate_accepts_32_members),
                cmocka_unit_test(test_tracestate_rejects_33_members),
                cmocka_unit_test(test_tracestate_empty_members_do_not_count_towards_32),
                cmocka_unit_test(test_tracestate_keeps_exactly_512_chars),
                cmocka_unit_test(test_tracestate_truncation_drops_from_the_end),
                cmocka_unit_test(test_tracestate_truncation_drops_large_members_first),
                cmocka_unit_test(test_tracestate_truncation_drops_only_needed_large_members),
                cmocka_unit_test(test_tracestate_header_never_exceeds_512_chars),
                cmocka_unit_test(test_tracestate_reparse_of_header_is_identical),
                cmocka_unit_test(test_tracestate_ref_keeps_it_alive),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
