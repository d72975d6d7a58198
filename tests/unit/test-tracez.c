/* SPDX-License-Identifier: Apache-2.0 */
/* tracez: latency buckets, running counts, bounded samples and names, and the HTML/JSON renderers, with
 * spans made through the public API of an initialised SDK (which always installs the tracez processor). */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "tracez.h"

#define TEST_START_NS    1700000000000000000ull
#define TEST_US          1000ull
#define TEST_MS          1000000ull
#define TEST_SHUTDOWN_MS 1000
#define TEST_EXTRA_NAMES 44

static otel_tracer *tracer;

static int setup(void **state)
{
        (void)state;
        setenv("OTEL_TRACES_EXPORTER", "none", 1);
        setenv("OTEL_METRICS_EXPORTER", "none", 1);
        setenv("OTEL_LOGS_EXPORTER", "none", 1);
        if (otel_sdk_init(&(otel_sdk_options){.service_name = "test-tracez"}) < 0)
                return -1;
        tracer = otel_tracer_get("test-tracez", NULL);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        return otel_sdk_shutdown(TEST_SHUTDOWN_MS) < 0 ? -1 : 0;
}

static int reset(void **state)
{
        (void)state;
        otel_tracez_reset();
        return 0;
}

static otel_span *start_at(const char *name, uint64_t start_ns)
{
        otel_attr attrs[] = {OTEL_ATTR_STR("http.route", "/api/<x>"), OTEL_ATTR_I64("n", 7)};

        return otel_span_start(
                tracer, name, OTEL_SPAN_KIND_SERVER,
                &(otel_span_start_opts){
                        .root = true, .start_time_ns = start_ns, .attrs = attrs, .n_attrs = 2});
}

static void span_lasting(const char *name, uint64_t duration_ns)
{
        otel_span_end_at(start_at(name, TEST_START_NS), TEST_START_NS + duration_ns);
}

static otel_tracez_counts counts_of(const char *name)
{
        otel_tracez_counts c;

        assert_true(otel_tracez_counts_get(name, &c));
        return c;
}

static void test_bucket_of_follows_zpages_boundaries(void **state)
{
        (void)state;
        assert_int_equal(otel_tracez_bucket_of(0), 0);
        assert_int_equal(otel_tracez_bucket_of(10 * TEST_US - 1), 0);
        assert_int_equal(otel_tracez_bucket_of(10 * TEST_US), 1);
        assert_int_equal(otel_tracez_bucket_of(100 * TEST_US - 1), 1);
        assert_int_equal(otel_tracez_bucket_of(100 * TEST_US), 2);
        assert_int_equal(otel_tracez_bucket_of(TEST_MS), 3);
        assert_int_equal(otel_tracez_bucket_of(10 * TEST_MS), 4);
        assert_int_equal(otel_tracez_bucket_of(100 * TEST_MS), 5);
        assert_int_equal(otel_tracez_bucket_of(OTEL_NSEC_PER_SEC), 6);
        assert_int_equal(otel_tracez_bucket_of(10 * OTEL_NSEC_PER_SEC), 7);
        assert_int_equal(otel_tracez_bucket_of(100 * OTEL_NSEC_PER_SEC - 1), 7);
        assert_int_equal(otel_tracez_bucket_of(100 * OTEL_NSEC_PER_SEC), 8);
        assert_int_equal(otel_tracez_bucket_of(UINT64_MAX), 8);
}

static void test_bucket_lower_bounds_are_powers_of_ten_from_10us(void **state)
{
        (void)state;
        assert_int_equal(otel_tracez_bucket_lower_ns(0), 0);
        assert_int_equal(otel_tracez_bucket_lower_ns(1), 10 * TEST_US);
        assert_int_equal(otel_tracez_bucket_lower_ns(3), TEST_MS);
        assert_int_equal(otel_tracez_bucket_lower_ns(8), 100 * OTEL_NSEC_PER_SEC);
}

static void test_running_span_is_counted_until_it_ends(void **state)
{
        otel_span *s = start_at("GET /a", TEST_START_NS);

        (void)state;
        assert_int_equal(counts_of("GET /a").running, 1);
        otel_span_end_at(s, TEST_START_NS + 5 * TEST_MS);
        assert_int_equal(counts_of("GET /a").running, 0);
        assert_int_equal(counts_of("GET /a").latency[3], 1);
        assert_int_equal(counts_of("GET /a").samples[3], 1);
}

static void test_renamed_running_span_moves_to_its_new_name(void **state)
{
        otel_span *s = start_at("GET", TEST_START_NS);

        (void)state;
        otel_span_update_name(s, "GET /orders");
        assert_int_equal(counts_of("GET").running, 0);
        assert_int_equal(counts_of("GET /orders").running, 1);
        otel_span_end_at(s, TEST_START_NS + 1);
        assert_int_equal(counts_of("GET /orders").running, 0);
        assert_int_equal(counts_of("GET /orders").latency[0], 1);
}

static void test_error_spans_are_counted_apart_from_latency(void **state)
{
        otel_span *s = start_at("POST /pay", TEST_START_NS);
        otel_tracez_counts c;

        (void)state;
        otel_span_set_status(s, OTEL_STATUS_ERROR, "card declined");
        otel_span_end_at(s, TEST_START_NS + 2 * OTEL_NSEC_PER_SEC);
        c = counts_of("POST /pay");
        assert_int_equal(c.errors, 1);
        assert_int_equal(c.samples[OTEL_TRACEZ_ERROR_BUCKET], 1);
        for (unsigned b = 0; b < OTEL_TRACEZ_LATENCY_BUCKETS; b++)
                assert_int_equal(c.latency[b], 0);
}

static void test_samples_per_bucket_are_bounded_but_counts_are_not(void **state)
{
        otel_tracez_counts c;

        (void)state;
        for (int i = 0; i < 3 * OTEL_TRACEZ_SAMPLES; i++) {
                otel_span *s = start_at("GET /fail", TEST_START_NS);
                otel_span_set_status(s, OTEL_STATUS_ERROR, NULL);
                otel_span_end_at(s, TEST_START_NS + TEST_US);
        }
        c = counts_of("GET /fail");
        assert_int_equal(c.errors, 3 * OTEL_TRACEZ_SAMPLES);
        assert_int_equal(c.samples[OTEL_TRACEZ_ERROR_BUCKET], OTEL_TRACEZ_SAMPLES);
}

static void test_latency_bucket_samples_at_most_once_per_interval(void **state)
{
        uint64_t t = TEST_START_NS;
        otel_tracez_counts c;

        (void)state;
        span_lasting("GET /fast", TEST_US); /* sampled */
        span_lasting("GET /fast", TEST_US); /* same end time: not sampled */
        otel_span_end_at(start_at("GET /fast", t + OTEL_TRACEZ_SAMPLE_INTERVAL_NS),
                         t + OTEL_TRACEZ_SAMPLE_INTERVAL_NS + TEST_US); /* one interval later: sampled */
        c = counts_of("GET /fast");
        assert_int_equal(c.latency[0], 3);
        assert_int_equal(c.samples[0], 2);
}

static void test_names_past_the_limit_share_the_other_entry(void **state)
{
        char name[32];

        (void)state;
        for (int i = 0; i < OTEL_TRACEZ_MAX_NAMES + TEST_EXTRA_NAMES; i++) {
                snprintf(name, sizeof(name), "span-%d", i);
                span_lasting(name, TEST_US);
        }
        assert_int_equal(otel_tracez_names(), OTEL_TRACEZ_MAX_NAMES);
        assert_false(otel_tracez_counts_get("span-299", &(otel_tracez_counts){0}));
        assert_int_equal(counts_of(OTEL_TRACEZ_OTHER_NAME).latency[0], TEST_EXTRA_NAMES);
        assert_int_equal(counts_of("span-0").latency[0], 1);
}

static void test_long_names_are_cut_to_the_name_limit(void **state)
{
        char name[OTEL_TRACEZ_NAME_MAX * 2];

        (void)state;
        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = 0;
        span_lasting(name, TEST_US);
        name[OTEL_TRACEZ_NAME_MAX - 1] = 0;
        assert_int_equal(counts_of(name).latency[0], 1);
}

static json_object *render_query(const otel_tracez_query *q)
{
        json_object *root;
        size_t len;
        char *out;

        assert_int_equal(otel_tracez_render(q, &out, &len), 0);
        assert_int_equal(strlen(out), len);
        root = json_tokener_parse(out);
        free(out);
        assert_non_null(root);
        return root;
}

static json_object *render_json(const char *name, const char *bucket)
{
        return render_query(&(otel_tracez_query){.json = true, .name = name, .bucket = bucket});
}

static char *render_html(const char *name, const char *bucket, const char *trace_id)
{
        size_t len;
        char *out = NULL;

        assert_int_equal(otel_tracez_render(
                                 &(otel_tracez_query){.name = name, .bucket = bucket, .trace_id = trace_id},
                                 &out, &len),
                         0);
        assert_int_equal(strlen(out), len);
        return out;
}

static json_object *get(json_object *o, const char *key)
{
        json_object *v = NULL;

        assert_true(json_object_object_get_ex(o, key, &v));
        return v;
}

static void test_json_summary_lists_running_latency_and_errors_per_name(void **state)
{
        otel_span *running = start_at("GET /a", TEST_START_NS);
        json_object *root, *spans, *entry;

        (void)state;
        span_lasting("GET /a", 50 * TEST_MS);
        root = render_json(NULL, NULL);
        assert_int_equal(json_object_array_length(get(root, "buckets")), OTEL_TRACEZ_LATENCY_BUCKETS);
        assert_string_equal(
                json_object_get_string(get(json_object_array_get_idx(get(root, "buckets"), 4), "label")),
                "[10ms, 100ms)");
        spans = get(root, "spans");
        assert_int_equal(json_object_array_length(spans), 1);
        entry = json_object_array_get_idx(spans, 0);
        assert_string_equal(json_object_get_string(get(entry, "name")), "GET /a");
        assert_int_equal(json_object_get_int64(get(entry, "running")), 1);
        assert_int_equal(json_object_get_int64(json_object_array_get_idx(get(entry, "latency"), 4)), 1);
        assert_int_equal(json_object_get_int64(get(entry, "errors")), 0);
        assert_false(json_object_object_get_ex(root, "samples", NULL));
        json_object_put(root);
        otel_span_end(running);
}

static void test_json_samples_of_a_bucket_carry_ids_times_status_and_attributes(void **state)
{
        otel_span *s = start_at("GET /b", TEST_START_NS);
        char trace_hex[OTEL_TRACE_ID_HEX + 1];
        json_object *root, *samples, *smp;

        (void)state;
        otel_trace_id_to_hex(otel_span_get_context(s)->trace_id, trace_hex);
        otel_span_set_status(s, OTEL_STATUS_ERROR, "boom");
        otel_span_end_at(s, TEST_START_NS + 3 * TEST_MS);
        span_lasting("GET /b", TEST_US);
        root = render_json("GET /b", "error");
        samples = get(root, "samples");
        assert_int_equal(json_object_array_length(samples), 1);
        smp = json_object_array_get_idx(samples, 0);
        assert_string_equal(json_object_get_string(get(smp, "trace_id")), trace_hex);
        assert_string_equal(json_object_get_string(get(smp, "bucket")), "error");
        assert_int_equal(json_object_get_uint64(get(smp, "start_unix_nano")), TEST_START_NS);
        assert_int_equal(json_object_get_uint64(get(smp, "duration_ns")), 3 * TEST_MS);
        assert_string_equal(json_object_get_string(get(smp, "status")), "ERROR");
        assert_string_equal(json_object_get_string(get(smp, "status_message")), "boom");
        assert_string_equal(json_object_get_string(get(get(smp, "attributes"), "http.route")), "/api/<x>");
        assert_string_equal(json_object_get_string(get(get(smp, "attributes"), "n")), "7");
        json_object_put(root);
}

static void test_html_escapes_names_and_attribute_values(void **state)
{
        char *out;

        (void)state;
        span_lasting("<script>alert(1)</script>&", TEST_US);
        out = render_html("<script>alert(1)</script>&", "0", NULL);
        assert_null(strstr(out, "<script>"));
        assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;"));
        assert_non_null(strstr(out, "http.route=/api/&lt;x&gt;"));
        assert_non_null(strstr(out, "?name=%3Cscript%3Ealert%281%29%3C%2Fscript%3E%26&amp;bucket=0"));
        assert_true(strncmp(out, "<!DOCTYPE html>", 15) == 0);
        free(out);
}

static void test_render_rejects_an_unknown_bucket(void **state)
{
        size_t len;
        char *out = NULL;

        (void)state;
        assert_int_equal(otel_tracez_render(&(otel_tracez_query){.json = true, .name = "x", .bucket = "9"},
                                            &out, &len),
                         -EINVAL);
        assert_int_equal(otel_tracez_render(&(otel_tracez_query){.bucket = "slow"}, &out, &len), -EINVAL);
        assert_null(out);
}

static void test_render_rejects_a_malformed_trace_id(void **state)
{
        static const char *const bad[] = {
                "0af7651916cd43dd8448eb211c80319",   /* 31 digits */
                "0af7651916cd43dd8448eb211c80319c0", /* 33 */
                "0AF7651916CD43DD8448EB211C80319C",  /* upper case: not the hex tracez prints */
                "0af7651916cd43dd8448eb211c80319g",
                "00000000000000000000000000000000", /* all zero: invalid per W3C Trace Context */
        };
        size_t len;
        char *out = NULL;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(otel_tracez_render(&(otel_tracez_query){.json = true, .trace_id = bad[i]},
                                                    &out, &len),
                                 -EINVAL);
        assert_null(out);
}

/* A server span with more attributes than the old four-attribute cut, one of them set at the end. */
static void test_samples_keep_every_attribute_of_the_span(void **state)
{
        otel_attr attrs[] = {
                OTEL_ATTR_STR("http.request.method", "GET"),
                OTEL_ATTR_STR("url.path", "/api/products/3"),
                OTEL_ATTR_STR("url.scheme", "http"),
                OTEL_ATTR_STR("server.address", "127.0.0.1"),
                OTEL_ATTR_I64("server.port", 8080),
                OTEL_ATTR_STR("network.protocol.version", "1.1"),
                OTEL_ATTR_STR("client.address", "127.0.0.1"),
                OTEL_ATTR_STR("http.route", "/api/products/{id}"),
        };
        otel_span *s = otel_span_start(
                tracer, "GET /api/products/{id}", OTEL_SPAN_KIND_SERVER,
                &(otel_span_start_opts){
                        .root = true, .start_time_ns = TEST_START_NS, .attrs = attrs, .n_attrs = 8});
        json_object *root, *a;
        char *html;

        (void)state;
        otel_span_set_int(s, "http.response.status_code", 200);
        otel_span_end_at(s, TEST_START_NS + 2 * TEST_MS);
        root = render_json("GET /api/products/{id}", "3");
        a = get(json_object_array_get_idx(get(root, "samples"), 0), "attributes");
        assert_int_equal(json_object_object_length(a), 9);
        assert_string_equal(json_object_get_string(get(a, "http.response.status_code")), "200");
        assert_string_equal(json_object_get_string(get(a, "client.address")), "127.0.0.1");
        assert_string_equal(json_object_get_string(get(a, "http.route")), "/api/products/{id}");
        json_object_put(root);
        html = render_html("GET /api/products/{id}", NULL, NULL);
        assert_non_null(strstr(html, "<code>http.response.status_code=200</code>"));
        assert_non_null(strstr(html, "<code>network.protocol.version=1.1</code>"));
        free(html);
}

/* The trace view's query: the samples of one trace, whatever their names, with parent ids and kinds
 * to nest them, and readable UTC start times. */
static void test_trace_id_query_returns_one_traces_samples_with_parents(void **state)
{
        otel_span *root_span = start_at("GET /t", TEST_START_NS), *child, *other;
        char trace_hex[OTEL_TRACE_ID_HEX + 1], root_hex[OTEL_SPAN_ID_HEX + 1];
        json_object *root, *samples, *first, *second;
        char *html;

        (void)state;
        otel_trace_id_to_hex(otel_span_get_context(root_span)->trace_id, trace_hex);
        otel_span_id_to_hex(otel_span_get_context(root_span)->span_id, root_hex);
        child = otel_span_start(
                tracer, "SELECT shop", OTEL_SPAN_KIND_CLIENT,
                &(otel_span_start_opts){.parent = root_span, .start_time_ns = TEST_START_NS + TEST_MS});
        otel_span_end_at(child, TEST_START_NS + 2 * TEST_MS);
        otel_span_end_at(root_span, TEST_START_NS + 3 * TEST_MS);
        other = start_at("GET /t", TEST_START_NS + 500 * TEST_MS); /* a second trace, same name */
        otel_span_end_at(other, TEST_START_NS + 501 * TEST_MS);

        root = render_query(&(otel_tracez_query){.json = true, .trace_id = trace_hex});
        samples = get(root, "samples");
        assert_int_equal(json_object_array_length(samples), 2);
        first = json_object_array_get_idx(samples, 0);
        second = json_object_array_get_idx(samples, 1);
        if (strcmp(json_object_get_string(get(first, "name")), "GET /t") != 0) {
                json_object *t = first;

                first = second;
                second = t;
        }
        assert_string_equal(json_object_get_string(get(first, "name")), "GET /t");
        assert_string_equal(json_object_get_string(get(first, "kind")), "SERVER");
        assert_false(json_object_object_get_ex(first, "parent_span_id", NULL));
        assert_string_equal(json_object_get_string(get(first, "start_time")), "2023-11-14T22:13:20.000000Z");
        assert_string_equal(json_object_get_string(get(second, "name")), "SELECT shop");
        assert_string_equal(json_object_get_string(get(second, "kind")), "CLIENT");
        assert_string_equal(json_object_get_string(get(second, "parent_span_id")), root_hex);
        assert_string_equal(json_object_get_string(get(second, "trace_id")), trace_hex);
        assert_string_equal(json_object_get_string(get(second, "start_time")),
                            "2023-11-14T22:13:20.001000Z");
        json_object_put(root);

        html = render_html(NULL, NULL, trace_hex);
        assert_non_null(strstr(html, "<td>2023-11-14T22:13:20.001000Z</td>"));
        assert_non_null(strstr(html, trace_hex));
        assert_non_null(strstr(html, "?trace_id="));
        free(html);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bucket_of_follows_zpages_boundaries),
                cmocka_unit_test(test_bucket_lower_bounds_are_powers_of_ten_from_10us),
                cmocka_unit_test_setup(test_running_span_is_counted_until_it_ends, reset),
                cmocka_unit_test_setup(test_renamed_running_span_moves_to_its_new_name, reset),
                cmocka_unit_test_setup(test_error_spans_are_counted_apart_from_latency, reset),
                cmocka_unit_test_setup(test_samples_per_bucket_are_bounded_but_counts_are_not, reset),
                cmocka_unit_test_setup(test_latency_bucket_samples_at_most_once_per_interval, reset),
                cmocka_unit_test_setup(test_names_past_the_limit_share_the_other_entry, reset),
                cmocka_unit_test_setup(test_long_names_are_cut_to_the_name_limit, reset),
                cmocka_unit_test_setup(test_json_summary_lists_running_latency_and_errors_per_name, reset),
                cmocka_unit_test_setup(test_json_samples_of_a_bucket_carry_ids_times_status_and_attributes,
                                       reset),
                cmocka_unit_test_setup(test_html_escapes_names_and_attribute_values, reset),
                cmocka_unit_test_setup(test_render_rejects_an_unknown_bucket, reset),
                cmocka_unit_test_setup(test_render_rejects_a_malformed_trace_id, reset),
                cmocka_unit_test_setup(test_samples_keep_every_attribute_of_the_span, reset),
                cmocka_unit_test_setup(test_trace_id_query_returns_one_traces_samples_with_parents, reset),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
