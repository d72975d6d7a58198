/* SPDX-License-Identifier: Apache-2.0 */
/* Extraction and injection over a carrier of header lines, and OTEL_PROPAGATORS. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "otel.h"
#include "propagation.h"

#define TRACE_ID_HEX "0af7651916cd43dd8448eb211c80319c"
#define SPAN_ID_HEX  "b7ad6b7169203331"
#define TP_SAMPLED   "00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01"
#define CARRIER_MAX  16

/* Header lines in arrival order; names compared case-insensitively, as HTTP does. */
typedef struct header_carrier {
        const char *names[CARRIER_MAX];
        char *values[CARRIER_MAX];
        size_t n;
} header_carrier;

static void carrier_add(header_carrier *c, const char *name, const char *value)
{
        assert_true(c->n < CARRIER_MAX);
        c->names[c->n] = name;
        c->values[c->n] = strdup(value);
        assert_non_null(c->values[c->n]);
        c->n++;
}

static void carrier_free(header_carrier *c)
{
        for (size_t i = 0; i < c->n; i++)
                free(c->values[i]);
        c->n = 0;
}

static const char *carrier_get(void *carrier, const char *name, size_t idx)
{
        header_carrier *c = carrier;

        for (size_t i = 0; i < c->n; i++)
                if (strcasecmp(c->names[i], name) == 0 && idx-- == 0)
                        return c->values[i];
        return NULL;
}

static void carrier_set(void *carrier, const char *name, const char *value)
{
        carrier_add(carrier, name, value);
}

/* Extracts from c; returns the parent span (may be NULL) and stores the baggage in *ret_bg. */
static otel_span *extract(header_carrier *c, otel_baggage **ret_bg)
{
        otel_span *parent = (otel_span *)1;
        otel_baggage *bg = (otel_baggage *)1;

        otel_propagation_extract(carrier_get, c, &parent, &bg);
        if (ret_bg)
                *ret_bg = bg;
        else
                otel_baggage_unref(bg);
        return parent;
}

static int setup_default_propagators(void **state)
{
        (void)state;
        unsetenv("OTEL_PROPAGATORS");
        otel_propagation_configure();
        return 0;
}

/* ---- extract: traceparent -------------------------------------------------------------------- */

static void test_extract_returns_remote_parent_for_valid_traceparent(void **state)
{
        header_carrier c = {};
        otel_span *parent;
        const otel_span_context *sc;
        char hex[OTEL_TRACE_ID_HEX + 1];

        (void)state;
        carrier_add(&c, "traceparent", TP_SAMPLED);
        parent = extract(&c, NULL);
        assert_non_null(parent);
        assert_false(otel_span_is_recording(parent));
        sc = otel_span_get_context(parent);
        assert_true(sc->is_remote);
        assert_int_equal(sc->trace_flags, OTEL_TRACE_FLAG_SAMPLED);
        otel_trace_id_to_hex(sc->trace_id, hex);
        assert_string_equal(hex, TRACE_ID_HEX);
        otel_span_unref(parent);
        carrier_free(&c);
}

static void test_extract_finds_header_name_in_any_case(void **state)
{
        header_carrier c = {};
        otel_span *parent;

        (void)state;
        carrier_add(&c, "TraceParent", TP_SAMPLED);
        parent = extract(&c, NULL);
        assert_non_null(parent);
        otel_span_unref(parent);
        carrier_free(&c);
}

static void test_extract_returns_null_without_traceparent(void **state)
{
        header_carrier c = {};

        (void)state;
        carrier_add(&c, "trace-parent", TP_SAMPLED);
        carrier_add(&c, "tracestate", "foo=1");
        assert_null(extract(&c, NULL));
        carrier_free(&c);
}

static void test_extract_returns_null_for_invalid_traceparent(void **state)
{
        header_carrier c = {};

        (void)state;
        carrier_add(&c, "traceparent", "00-" TRACE_ID_HEX "-0000000000000000-01");
        assert_null(extract(&c, NULL));
        carrier_free(&c);
}

static void test_extract_rejects_duplicate_traceparent_headers(void **state)
{
        header_carrier c = {};

        (void)state;
        carrier_add(&c, "traceparent", TP_SAMPLED);
        carrier_add(&c, "traceparent", "00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-00");
        assert_null(extract(&c, NULL));
        carrier_free(&c);
}

static void test_extract_tolerates_ows_around_traceparent(void **state)
{
        header_carrier c = {};
        otel_span *parent;

        (void)state;
        carrier_add(&c, "traceparent", " \t" TP_SAMPLED "\t ");
        parent = extract(&c, NULL);
        assert_non_null(parent);
        otel_span_unref(parent);
        carrier_free(&c);
}

/* ---- extract: tracestate --------------------------------------------------------------------- */

static void test_extract_keeps_tracestate_on_parent(void **state)
{
        header_carrier c = {};
        otel_span *parent;
        const otel_tracestate *ts;

        (void)state;
        carrier_add(&c, "traceparent", TP_SAMPLED);
        carrier_add(&c, "tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
        parent = extract(&c, NULL);
        ts = otel_span_get_tracestate(parent);
        assert_non_null(ts);
        assert_string_equal(otel_tracestate_header(ts), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
        otel_span_unref(parent);
        carrier_free(&c);
}

static void test_extract_combines_tracestate_lines(void **state)
{
        header_carrier c = {};
        otel_span *parent;

        (void)state;
        carrier_add(&c, "tracestate", "foo=1,bar=2");
        carrier_add(&c, "traceparent", TP_SAMPLED);
        carrier_add(&c, "tracestate", "rojo=1,congo=2");
        carrier_add(&c, "Tracestate", "baz=3");
        parent = extract(&c, NULL);
        assert_string_equal(otel_tracestate_header(otel_span_get_tracestate(parent)),
                            "foo=1,bar=2,rojo=1,congo=2,baz=3");
        otel_span_unref(parent);
        carrier_free(&c);
}

static void test_extract_combines_tracestate_lines_with_empty_line(void **state)
{
        header_carrier c = {};
        otel_span *parent;

        (void)state;
        carrier_add(&c, "traceparent", TP_SAMPLED);
        carrier_add(&c, "tracestate", "foo=1");
        carrier_add(&c, "tracestate", "");
        parent = extract(&c, NULL);
        assert_string_equal(otel_tracestate_header(otel_span_get_tracestate(parent)), "foo=1");
        otel_span_unref(parent);
        carrier_free(&c);
}

static void test_extract_keeps_first_of_duplicate_keys_across_lines(void **state)
{
        header_carrier c = {};
        otel_span *parent;

        (void)state;
        carrier_add(&c, "traceparent", TP_SAMPLED);
        carrier_add(&c, "tracestate", "foo=1");
        carrier_add(&c, "tracestate", "foo=2");
        parent = extract(&c, NULL);
        assert_non_null(parent);
        assert_string_equal(otel_tracestate_header(otel_span_get_tracestate(parent)), "foo=1");
        otel_span_unref(parent);
        carrier_free(&c);
}

/* Extracts traceparent with two tracestate lines, "foo=1" and "<key>=1" (the W3C suite's key length
 * cases), and checks the tracestate the parent carries: both members, or none (the header dropped). */
static void assert_second_line_key(const char *key, bool kept)
{
        char line[600], want[sizeof(line) + 8];
        header_carrier c = {};
        otel_span *parent;

        snprintf(line, sizeof(line), "%s=1", key);
        carrier_add(&c, "traceparent", TP_SAMPLED);
        carrier_add(&c, "tracestate", "foo=1");
        carrier_add(&c, "tracestate", line);
        parent = extract(&c, NULL);
        assert_non_null(parent);
        if (kept) {
                snprintf(want, sizeof(want), "foo=1,%s", line);
                assert_string_equal(otel_tracestate_header(otel_span_get_tracestate(parent)), want);
        } else {
                assert_null(otel_span_get_tracestate(parent));
        }
        otel_span_unref(parent);
        carrier_free(&c);
}

/* A simple key of tenant_len 'z' when system_len is 0, else a multi-tenant key: tenant_len 't', '@' and
 * system_len 'v'. */
static const char *make_key(char *buf, size_t tenant_len, size_t system_len)
{
        memset(buf, system_len ? 't' : 'z', tenant_len);
        if (system_len) {
                buf[tenant_len] = '@';
                memset(buf + tenant_len + 1, 'v', system_len);
                buf[tenant_len + 1 + system_len] = '\0';
        } else {
                buf[tenant_len] = '\0';
        }
        return buf;
}

static void test_extract_keeps_256_char_key_on_a_second_line(void **state)
{
        char key[300];

        (void)state;
        assert_second_line_key(make_key(key, 256, 0), true);
}

static void test_extract_drops_tracestate_with_257_char_key_on_a_second_line(void **state)
{
        char key[300];

        (void)state;
        assert_second_line_key(make_key(key, 257, 0), false);
}

static void test_extract_keeps_241_char_tenant_and_14_char_system_on_a_second_line(void **state)
{
        char key[300];

        (void)state;
        assert_second_line_key(make_key(key, 241, 14), true);
}

static void test_extract_drops_tracestate_with_overlong_tenant_or_system(void **state)
{
        /* Trace Context Level 1 (the Recommendation): tenant-id up to 241, system-id up to 14. */
        char key[300];

        (void)state;
        assert_second_line_key(make_key(key, 242, 1), false);
        assert_second_line_key(make_key(key, 1, 15), false);
}

static void test_extract_drops_invalid_tracestate_but_keeps_parent(void **state)
{
        header_carrier c = {};
        otel_span *parent;

        (void)state;
        carrier_add(&c, "traceparent", TP_SAMPLED);
        carrier_add(&c, "tracestate", "FOO=1");
        parent = extract(&c, NULL);
        assert_non_null(parent);
        assert_true(otel_span_context_is_valid(otel_span_get_context(parent)));
        assert_null(otel_span_get_tracestate(parent));
        otel_span_unref(parent);
        carrier_free(&c);
}

/* ---- extract: baggage ------------------------------------------------------------------------ */

static void test_extract_parses_baggage(void **state)
{
        header_carrier c = {};
        otel_baggage *bg;

        (void)state;
        carrier_add(&c, "baggage", "userId=alice,serverNode=DF%2028");
        otel_span_unref(extract(&c, &bg));
        assert_non_null(bg);
        assert_string_equal(otel_baggage_get(bg, "serverNode"), "DF 28");
        otel_baggage_unref(bg);
        carrier_free(&c);
}

static void test_extract_combines_baggage_lines(void **state)
{
        header_carrier c = {};
        otel_baggage *bg;

        (void)state;
        carrier_add(&c, "baggage", "a=1");
        carrier_add(&c, "Baggage", "b=2,c=3");
        otel_span_unref(extract(&c, &bg));
        assert_int_equal(otel_baggage_count(bg), 3);
        assert_string_equal(otel_baggage_get(bg, "c"), "3");
        otel_baggage_unref(bg);
        carrier_free(&c);
}

static void test_extract_returns_null_baggage_when_no_member_is_valid(void **state)
{
        header_carrier c = {};
        otel_baggage *bg;

        (void)state;
        carrier_add(&c, "baggage", "nonsense,=1");
        otel_span_unref(extract(&c, &bg));
        assert_null(bg);
        carrier_free(&c);
}

static void test_extract_baggage_without_traceparent(void **state)
{
        header_carrier c = {};
        otel_baggage *bg;

        (void)state;
        carrier_add(&c, "baggage", "a=1");
        assert_null(extract(&c, &bg));
        assert_non_null(bg);
        otel_baggage_unref(bg);
        carrier_free(&c);
}

/* ---- inject ---------------------------------------------------------------------------------- */

static void test_inject_writes_traceparent_and_tracestate_of_span(void **state)
{
        header_carrier in = {}, out = {};
        otel_span *parent;

        (void)state;
        carrier_add(&in, "traceparent", "cc-" TRACE_ID_HEX "-" SPAN_ID_HEX "-01-future");
        carrier_add(&in, "tracestate", " a=1 , b=2 ");
        parent = extract(&in, NULL);
        otel_propagation_inject(parent, NULL, carrier_set, &out);
        assert_string_equal(carrier_get(&out, "traceparent", 0), TP_SAMPLED);
        assert_string_equal(carrier_get(&out, "tracestate", 0), "a=1,b=2");
        assert_null(carrier_get(&out, "baggage", 0));
        otel_span_unref(parent);
        carrier_free(&in);
        carrier_free(&out);
}

static void test_inject_omits_empty_tracestate(void **state)
{
        header_carrier in = {}, out = {};
        otel_span *parent;

        (void)state;
        carrier_add(&in, "traceparent", TP_SAMPLED);
        carrier_add(&in, "tracestate", " , ");
        parent = extract(&in, NULL);
        otel_propagation_inject(parent, NULL, carrier_set, &out);
        assert_non_null(carrier_get(&out, "traceparent", 0));
        assert_null(carrier_get(&out, "tracestate", 0));
        otel_span_unref(parent);
        carrier_free(&in);
        carrier_free(&out);
}

static void test_inject_uses_current_span_and_baggage(void **state)
{
        header_carrier in = {}, out = {};
        otel_context_token tok;
        otel_baggage *bg;
        otel_span *parent;

        (void)state;
        carrier_add(&in, "traceparent", "00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-00");
        carrier_add(&in, "baggage", "k=v%2C1;p");
        parent = extract(&in, &bg);
        tok = otel_context_attach(parent, bg);
        otel_propagation_inject(NULL, NULL, carrier_set, &out);
        otel_context_detach(tok);
        assert_string_equal(carrier_get(&out, "traceparent", 0), "00-" TRACE_ID_HEX "-" SPAN_ID_HEX "-00");
        assert_string_equal(carrier_get(&out, "baggage", 0), "k=v%2C1;p");
        otel_span_unref(parent);
        otel_baggage_unref(bg);
        carrier_free(&in);
        carrier_free(&out);
}

static void test_inject_writes_nothing_without_span_or_baggage(void **state)
{
        header_carrier out = {};

        (void)state;
        otel_propagation_inject(NULL, NULL, carrier_set, &out);
        assert_int_equal(out.n, 0);
}

static void test_inject_skips_invalid_span_context(void **state)
{
        header_carrier out = {};
        otel_span_context sc = {};
        otel_span *span = otel_span_wrap_context(&sc, NULL);

        (void)state;
        otel_propagation_inject(span, NULL, carrier_set, &out);
        assert_int_equal(out.n, 0);
        otel_span_unref(span);
}

static void test_inject_writes_given_baggage(void **state)
{
        header_carrier out = {};
        otel_baggage *bg = otel_baggage_set(NULL, "user", "a b", NULL);

        (void)state;
        otel_propagation_inject(NULL, bg, carrier_set, &out);
        assert_int_equal(out.n, 1);
        assert_string_equal(carrier_get(&out, "baggage", 0), "user=a%20b");
        otel_baggage_unref(bg);
        carrier_free(&out);
}

/* ---- OTEL_PROPAGATORS ------------------------------------------------------------------------ */

static unsigned configure_with(const char *value)
{
        if (value)
                setenv("OTEL_PROPAGATORS", value, 1);
        else
                unsetenv("OTEL_PROPAGATORS");
        otel_propagation_configure();
        return otel_propagation_active();
}

static void test_propagators_default_is_tracecontext_and_baggage(void **state)
{
        (void)state;
        assert_int_equal(configure_with(NULL), OTEL_PROPAGATOR_TRACECONTEXT | OTEL_PROPAGATOR_BAGGAGE);
        assert_int_equal(configure_with(""), OTEL_PROPAGATOR_TRACECONTEXT | OTEL_PROPAGATOR_BAGGAGE);
}

static void test_propagators_reads_comma_separated_list(void **state)
{
        (void)state;
        assert_int_equal(configure_with("tracecontext"), OTEL_PROPAGATOR_TRACECONTEXT);
        assert_int_equal(configure_with("baggage"), OTEL_PROPAGATOR_BAGGAGE);
        assert_int_equal(configure_with(" baggage , tracecontext "),
                         OTEL_PROPAGATOR_TRACECONTEXT | OTEL_PROPAGATOR_BAGGAGE);
}

static void test_propagators_none_disables_propagation(void **state)
{
        header_carrier in = {}, out = {};
        otel_baggage *bg;

        (void)state;
        assert_int_equal(configure_with("none"), 0);
        carrier_add(&in, "traceparent", TP_SAMPLED);
        carrier_add(&in, "baggage", "a=1");
        assert_null(extract(&in, &bg));
        assert_null(bg);
        bg = otel_baggage_set(NULL, "a", "1", NULL);
        otel_propagation_inject(NULL, bg, carrier_set, &out);
        assert_int_equal(out.n, 0);
        otel_baggage_unref(bg);
        carrier_free(&in);
}

static void test_propagators_tracecontext_only_ignores_baggage(void **state)
{
        header_carrier in = {};
        otel_baggage *bg;
        otel_span *parent;

        (void)state;
        configure_with("tracecontext");
        carrier_add(&in, "traceparent", TP_SAMPLED);
        carrier_add(&in, "baggage", "a=1");
        parent = extract(&in, &bg);
        assert_non_null(parent);
        assert_null(bg);
        otel_span_unref(parent);
        carrier_free(&in);
}

static void test_propagators_ignores_unknown_entries(void **state)
{
        (void)state;
        assert_int_equal(configure_with("tracecontext,nonsense,b3"), OTEL_PROPAGATOR_TRACECONTEXT);
}

static void test_propagators_falls_back_to_default_when_nothing_is_known(void **state)
{
        (void)state;
        assert_int_equal(configure_with("b3multi,nonsense"),
                         OTEL_PROPAGATOR_TRACECONTEXT | OTEL_PROPAGATOR_BAGGAGE);
        assert_int_equal(configure_with(",,"), OTEL_PROPAGATOR_TRACECONTEXT | OTEL_PROPAGATOR_BAGGAGE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_extract_returns_remote_parent_for_valid_traceparent),
                cmocka_unit_test(test_extract_finds_header_name_in_any_case),
                cmocka_unit_test(test_extract_returns_null_without_traceparent),
                cmocka_unit_test(test_extract_returns_null_for_invalid_traceparent),
                cmocka_unit_test(test_extract_rejects_duplicate_traceparent_headers),
                cmocka_unit_test(test_extract_tolerates_ows_around_traceparent),
                cmocka_unit_test(test_extract_keeps_tracestate_on_parent),
                cmocka_unit_test(test_extract_combines_tracestate_lines),
                cmocka_unit_test(test_extract_combines_tracestate_lines_with_empty_line),
                cmocka_unit_test(test_extract_keeps_first_of_duplicate_keys_across_lines),
                cmocka_unit_test(test_extract_keeps_256_char_key_on_a_second_line),
                cmocka_unit_test(test_extract_drops_tracestate_with_257_char_key_on_a_second_line),
                cmocka_unit_test(test_extract_keeps_241_char_tenant_and_14_char_system_on_a_second_line),
                cmocka_unit_test(test_extract_drops_tracestate_with_overlong_tenant_or_system),
                cmocka_unit_test(test_extract_drops_invalid_tracestate_but_keeps_parent),
                cmocka_unit_test(test_extract_parses_baggage),
                cmocka_unit_test(test_extract_combines_baggage_lines),
                cmocka_unit_test(test_extract_returns_null_baggage_when_no_member_is_valid),
                cmocka_unit_test(test_extract_baggage_without_traceparent),
                cmocka_unit_test(test_inject_writes_traceparent_and_tracestate_of_span),
                cmocka_unit_test(test_inject_omits_empty_tracestate),
                cmocka_unit_test(test_inject_uses_current_span_and_baggage),
                cmocka_unit_test(test_inject_writes_nothing_without_span_or_baggage),
                cmocka_unit_test(test_inject_skips_invalid_span_context),
                cmocka_unit_test(test_inject_writes_given_baggage),
                cmocka_unit_test_setup(test_propagators_default_is_tracecontext_and_baggage,
                                       setup_default_propagators),
                cmocka_unit_test_setup(test_propagators_reads_comma_separated_list,
                                       setup_default_propagators),
                cmocka_unit_test_setup(test_propagators_none_disables_propagation,
                                       setup_default_propagators),
                cmocka_unit_test_setup(test_propagators_tracecontext_only_ignores_baggage,
                                       setup_default_propagators),
                cmocka_unit_test_setup(test_propagators_ignores_unknown_entries, setup_default_propagators),
                cmocka_unit_test_setup(test_propagators_falls_back_to_default_when_nothing_is_known,
                                       setup_default_propagators),
        };

        return cmocka_run_group_tests(tests, setup_default_propagators, NULL);
}
