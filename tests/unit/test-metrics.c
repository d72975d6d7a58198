/* SPDX-License-Identifier: Apache-2.0 */
/* The metrics SDK's aggregation (metrics.c) through the public API, read back with a collection
 * (otel_metrics_collect), and the OTLP encodings of a collection (otlp-metrics.c) read back with the
 * protoc-c generated decoder and json-c. */
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics-fixture.h"
#include "metrics.h"
#include "metrics_service.pb-c.h"

#define TEST_SHUTDOWN_MS  5000
#define TEST_THREAD_LOOPS 200000 /* measurements per thread in the concurrency tests */
#define TEST_TRACEPARENT  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TEST_UNSAMPLED_TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"

static otel_metrics_snapshot snap; /* the latest collection, released by teardown */

static int test_setup(void **state)
{
        (void)state;
        return metrics_fixture_init("test-metrics");
}

static int test_teardown(void **state)
{
        (void)state;
        otel_metrics_snapshot_done(&snap);
        return otel_sdk_shutdown(TEST_SHUTDOWN_MS) == 0 ? 0 : -1;
}

static void collect(void)
{
        otel_metrics_snapshot_done(&snap);
        assert_int_equal(otel_metrics_collect(&snap), 0);
}

static const otel_metric_data *find_metric(const otel_instrument *inst)
{
        for (size_t i = 0; i < snap.n_metrics; i++)
                if (snap.metrics[i].inst == inst)
                        return &snap.metrics[i];
        return NULL;
}

static const otel_attr *point_attr(const otel_point *p, const char *key)
{
        for (size_t i = 0; i < p->n_attrs; i++)
                if (strcmp(p->attrs[i].key, key) == 0)
                        return &p->attrs[i];
        return NULL;
}

/* The point whose attribute key has the string value, or the point without attributes (key NULL). */
static const otel_point *find_point(const otel_instrument *inst, const char *key, const char *value)
{
        const otel_metric_data *md = find_metric(inst);

        assert_non_null(md);
        for (size_t i = 0; i < md->n_points; i++) {
                const otel_point *p = &md->points[i];
                const otel_attr *a = key ? point_attr(p, key) : NULL;
                if ((!key && p->n_attrs == 0) ||
                    (a && a->type == OTEL_ATTR_STRING && strcmp(a->v.s, value) == 0))
                        return p;
        }
        return NULL;
}

static otel_meter *meter(void)
{
        return otel_meter_get("test", "0.1");
}

/* ---- sums ------------------------------------------------------------------------------------ */

static void test_counter_sums_per_attribute_set(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        otel_attr a = OTEL_ATTR_STR("k", "a"), b = OTEL_ATTR_STR("k", "b");

        (void)state;
        otel_instrument_add(c, 1.5, &a, 1);
        otel_instrument_add(c, 2, &a, 1);
        otel_instrument_add(c, 10, &b, 1);
        otel_instrument_add(c, 4, NULL, 0);
        collect();
        assert_int_equal(find_metric(c)->n_points, 3);
        assert_true(find_point(c, "k", "a")->value == 3.5);
        assert_true(find_point(c, "k", "b")->value == 10);
        assert_true(find_point(c, NULL, NULL)->value == 4);
}

static void test_attribute_order_does_not_matter(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        otel_attr x[] = {OTEL_ATTR_STR("method", "GET"), OTEL_ATTR_I64("status", 200),
                         OTEL_ATTR_BOOLV("cached", true)};
        otel_attr y[] = {OTEL_ATTR_BOOLV("cached", true), OTEL_ATTR_STR("method", "GET"),
                         OTEL_ATTR_I64("status", 200)};
        otel_attr z[] = {OTEL_ATTR_I64("status", 200), OTEL_ATTR_BOOLV("cached", true),
                         OTEL_ATTR_STR("method", "GET")};
        const otel_point *p;

        (void)state;
        otel_instrument_add(c, 1, x, 3);
        otel_instrument_add(c, 1, y, 3);
        otel_instrument_add(c, 1, z, 3);
        collect();
        assert_int_equal(find_metric(c)->n_points, 1);
        p = find_point(c, "method", "GET");
        assert_true(p->value == 3);
        /* kept sorted by key */
        assert_string_equal(p->attrs[0].key, "cached");
        assert_string_equal(p->attrs[1].key, "method");
        assert_string_equal(p->attrs[2].key, "status");
}

static void test_duplicate_key_keeps_the_last_value(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        otel_attr dup[] = {OTEL_ATTR_STR("k", "first"), OTEL_ATTR_STR("k", "last")};
        const otel_point *p;

        (void)state;
        otel_instrument_add(c, 1, dup, 2);
        collect();
        p = find_point(c, "k", "last");
        assert_non_null(p);
        assert_int_equal(p->n_attrs, 1);
}

static void test_values_of_different_types_are_different_sets(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        otel_attr s = OTEL_ATTR_STR("k", "1"), i = OTEL_ATTR_I64("k", 1);

        (void)state;
        otel_instrument_add(c, 1, &s, 1);
        otel_instrument_add(c, 1, &i, 1);
        collect();
        assert_int_equal(find_metric(c)->n_points, 2);
}

/* Measurements of one instrument kind (recorded for a gauge, added otherwise) and the one point
 * they collect to. */
typedef struct value_case {
        otel_instrument_kind kind;
        double values[3];
        size_t n_values;
        double expected;
} value_case;

static const value_case counter_ignores_negative_and_nan = {OTEL_INSTRUMENT_COUNTER, {5, -1, NAN}, 3, 5};
static const value_case up_down_counter_can_go_negative = {OTEL_INSTRUMENT_UP_DOWN_COUNTER, {2, -5}, 2, -3};
static const value_case gauge_keeps_the_last_value = {OTEL_INSTRUMENT_GAUGE, {3, -7.25}, 2, -7.25};

static void test_values_collect_to_one_point(void **state)
{
        const value_case *c = *state;
        otel_instrument *inst = otel_instrument_new(meter(), c->kind, "i", NULL);

        for (size_t i = 0; i < c->n_values; i++) {
                if (c->kind == OTEL_INSTRUMENT_GAUGE)
                        otel_instrument_record(inst, c->values[i], NULL, 0);
                else
                        otel_instrument_add(inst, c->values[i], NULL, 0);
        }
        collect();
        assert_true(find_point(inst, NULL, NULL)->value == c->expected);
}

static void test_integer_counter_keeps_exact_int64(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c",
                                                 &(otel_instrument_opts){.integer = true});

        (void)state;
        otel_instrument_add(c, 4503599627370496.0, NULL, 0); /* 2^52 */
        otel_instrument_add(c, 4503599627370496.0, NULL, 0);
        otel_instrument_add(c, 1, NULL, 0);
        collect();
        assert_int_equal(find_point(c, NULL, NULL)->ivalue, 9007199254740993LL); /* 2^53 + 1 */
}

/* Whole-number adds of a double counter take an integer cell and the rest a double one; the sum
 * reads back as if every add were a double add. */
static void test_counter_mixes_whole_and_fractional_adds_exactly(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);

        (void)state;
        otel_instrument_add(c, 1, NULL, 0);
        otel_instrument_add(c, 0.25, NULL, 0);
        otel_instrument_add(c, 3e9, NULL, 0);
        otel_instrument_add(c, 1e10, NULL, 0); /* whole, but above the integer cell's range */
        collect();
        assert_true(find_point(c, NULL, NULL)->value == 13000000001.25);
}

/* ---- attribute sets reused by the caller ------------------------------------------------------ */

/* A recording site that reuses one array and one buffer with new contents records into new sets,
 * however the values differ (same length, longer, shorter, empty). */
static void test_reused_buffer_with_new_string_value_is_another_set(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        static const char *const values[] = {"/a", "/b", "/abcdefghijklmnopq", "/", "", "/a"};
        char buf[32];
        otel_attr a[] = {OTEL_ATTR_STR("method", "GET"), OTEL_ATTR_STR("route", buf)};

        (void)state;
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                snprintf(buf, sizeof(buf), "%s", values[i]);
                otel_instrument_add(c, (double)(i + 1), a, 2);
        }
        collect();
        assert_int_equal(find_metric(c)->n_points, 5);
        assert_true(find_point(c, "route", "/a")->value == 1 + 6);
        assert_true(find_point(c, "route", "/b")->value == 2);
        assert_true(find_point(c, "route", "/abcdefghijklmnopq")->value == 3);
        assert_true(find_point(c, "route", "/")->value == 4);
        assert_true(find_point(c, "route", "")->value == 5);
}

/* The point whose attribute key has the integer value. */
static const otel_point *find_point_int(const otel_instrument *inst, const char *key, int64_t value)
{
        const otel_metric_data *md = find_metric(inst);

        assert_non_null(md);
        for (size_t i = 0; i < md->n_points; i++) {
                const otel_attr *a = point_attr(&md->points[i], key);
                if (a && a->type == OTEL_ATTR_INT && a->v.i == value)
                        return &md->points[i];
        }
        return NULL;
}

static void test_reused_array_with_new_key_or_int_value_is_another_set(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        char key[16] = "status";
        otel_attr a[] = {OTEL_ATTR_STR("route", "/r"), OTEL_ATTR_I64(key, 200)};

        (void)state;
        otel_instrument_add(c, 1, a, 2);
        a[1].v.i = 500;
        otel_instrument_add(c, 2, a, 2);
        snprintf(key, sizeof(key), "code");
        otel_instrument_add(c, 4, a, 2);
        collect();
        assert_int_equal(find_metric(c)->n_points, 3);
        assert_true(find_point_int(c, "status", 200)->value == 1);
        assert_true(find_point_int(c, "status", 500)->value == 2);
        assert_true(find_point_int(c, "code", 500)->value == 4);
}

/* More attributes than a thread's cache entry holds still aggregate per set. */
static void test_large_attribute_sets_aggregate_per_set(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        otel_attr a[10];
        char keys[10][8];

        (void)state;
        for (int i = 0; i < 10; i++) {
                snprintf(keys[i], sizeof(keys[i]), "k%d", i);
                a[i] = OTEL_ATTR_I64(keys[i], i);
        }
        otel_instrument_add(c, 1, a, 10);
        otel_instrument_add(c, 1, a, 10);
        a[9].v.i = 99;
        otel_instrument_add(c, 5, a, 10);
        collect();
        assert_int_equal(find_metric(c)->n_points, 2);
        for (size_t i = 0; i < 2; i++) {
                const otel_point *p = &find_metric(c)->points[i];
                assert_int_equal(p->n_attrs, 10);
                assert_true(p->value == (point_attr(p, "k9")->v.i == 9 ? 2 : 5));
        }
}

/* A thread's cached series belongs to one instrument: an instrument created after a restart of the
 * SDK (likely at the freed one's address) starts from zero. */
static void test_instrument_after_sdk_restart_starts_empty(void **state)
{
        otel_attr a = OTEL_ATTR_STR("k", "v");
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);

        (void)state;
        otel_instrument_add(c, 7, &a, 1);
        otel_metrics_snapshot_done(&snap);
        assert_int_equal(otel_sdk_shutdown(TEST_SHUTDOWN_MS), 0);
        assert_int_equal(otel_sdk_init(&(otel_sdk_options){.service_name = "test-metrics"}), 0);
        c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        otel_instrument_add(c, 1, &a, 1);
        collect();
        assert_true(find_point(c, "k", "v")->value == 1);
}

/* ---- histograms ------------------------------------------------------------------------------ */

static void test_histogram_keeps_count_sum_min_max_and_buckets(void **state)
{
        static const double bounds[] = {1, 10};
        otel_instrument *h = otel_instrument_new(meter(), OTEL_INSTRUMENT_HISTOGRAM, "h",
                                                 &(otel_instrument_opts){.bounds = bounds, .n_bounds = 2});
        const otel_point *p;

        (void)state;
        otel_instrument_record(h, 0.5, NULL, 0);
        otel_instrument_record(h, 1, NULL, 0); /* upper bounds are inclusive */
        otel_instrument_record(h, 10, NULL, 0);
        otel_instrument_record(h, 11, NULL, 0);
        otel_instrument_record(h, 2, NULL, 0);
        collect();
        p = find_point(h, NULL, NULL);
        assert_int_equal(p->count, 5);
        assert_true(p->sum == 24.5);
        assert_true(p->min == 0.5);
        assert_true(p->max == 11);
        assert_int_equal(p->buckets[0], 2);
        assert_int_equal(p->buckets[1], 2);
        assert_int_equal(p->buckets[2], 1);
}

static void test_histogram_default_bounds_are_the_sdk_defaults(void **state)
{
        static const double expected[] = {0,   5,   10,   25,   50,   75,   100,  250,
                                          500, 750, 1000, 2500, 5000, 7500, 10000};
        otel_instrument *h = otel_instrument_new(meter(), OTEL_INSTRUMENT_HISTOGRAM, "queue.wait", NULL);

        (void)state;
        assert_int_equal(h->n_bounds, 15);
        assert_memory_equal(h->bounds, expected, sizeof(expected));
}

static void test_histogram_http_duration_uses_semconv_bounds(void **state)
{
        static const double expected[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                          0.5,   0.75, 1,     2.5,  5,     7.5, 10};
        otel_instrument *h =
                otel_instrument_new(meter(), OTEL_INSTRUMENT_HISTOGRAM, "http.server.request.duration",
                                    &(otel_instrument_opts){.unit = "s"});

        (void)state;
        assert_int_equal(otel_http_duration_bounds_len, 14);
        assert_int_equal(h->n_bounds, 14);
        assert_memory_equal(h->bounds, expected, sizeof(expected));
}

static void test_histogram_invalid_bounds_fall_back_to_defaults(void **state)
{
        static const double bad[] = {5, 1};
        otel_instrument *h = otel_instrument_new(meter(), OTEL_INSTRUMENT_HISTOGRAM, "h",
                                                 &(otel_instrument_opts){.bounds = bad, .n_bounds = 2});

        (void)state;
        assert_int_equal(h->n_bounds, 15);
}

static void record_in_context(otel_instrument *h, double v, const char *traceparent)
{
        otel_span_context sc;
        otel_context_token tok;
        otel_span *remote;

        assert_int_equal(otel_traceparent_parse(traceparent, strlen(traceparent), &sc), 0);
        remote = otel_span_wrap_context(&sc, NULL);
        tok = otel_context_attach(remote, NULL);
        otel_instrument_record(h, v, NULL, 0);
        otel_context_detach(tok);
        otel_span_unref(remote);
}

static void test_exemplar_kept_for_sampled_span_per_bucket(void **state)
{
        static const double bounds[] = {1};
        static const uint8_t trace_id[] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                           0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
        static const uint8_t span_id[] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
        otel_instrument *h = otel_instrument_new(meter(), OTEL_INSTRUMENT_HISTOGRAM, "h",
                                                 &(otel_instrument_opts){.bounds = bounds, .n_bounds = 1});
        uint64_t before = otel_time_now_ns();
        const otel_point *p;

        (void)state;
        record_in_context(h, 0.25, TEST_TRACEPARENT);
        record_in_context(h, 0.5, TEST_TRACEPARENT); /* the latest one of the bucket wins */
        otel_instrument_record(h, 2, NULL, 0);       /* no span: no exemplar */
        collect();
        p = find_point(h, NULL, NULL);
        assert_true(p->exemplars[0].set);
        assert_true(p->exemplars[0].value == 0.5);
        assert_memory_equal(p->exemplars[0].trace_id, trace_id, 16);
        assert_memory_equal(p->exemplars[0].span_id, span_id, 8);
        assert_true(p->exemplars[0].time_ns >= before && p->exemplars[0].time_ns <= otel_time_now_ns());
        assert_false(p->exemplars[1].set);
}

static void test_no_exemplar_for_unsampled_span(void **state)
{
        otel_instrument *h = otel_instrument_new(meter(), OTEL_INSTRUMENT_HISTOGRAM, "h", NULL);
        const otel_point *p;

        (void)state;
        record_in_context(h, 3, TEST_UNSAMPLED_TP);
        collect();
        p = find_point(h, NULL, NULL);
        assert_int_equal(p->count, 1);
        for (size_t b = 0; b <= h->n_bounds; b++)
                assert_false(p->exemplars[b].set);
}

/* ---- observable instruments ------------------------------------------------------------------ */

typedef struct observe_script {
        int calls;     /* callbacks so far */
        bool report_b; /* also report series b */
} observe_script;

static void observe_cb(otel_observer *obs, void *userdata)
{
        observe_script *s = userdata;
        otel_attr a = OTEL_ATTR_STR("k", "a"), b = OTEL_ATTR_STR("k", "b");

        s->calls++;
        otel_observe(obs, 10.0 * s->calls, &a, 1);
        if (s->report_b)
                otel_observe(obs, 1, &b, 1);
}

static void test_observable_counter_reports_what_the_callback_observes(void **state)
{
        observe_script s = {.report_b = true};
        otel_instrument *o =
                otel_instrument_new(meter(), OTEL_INSTRUMENT_OBSERVABLE_COUNTER, "o",
                                    &(otel_instrument_opts){.callback = observe_cb, .userdata = &s});

        (void)state;
        collect();
        assert_int_equal(s.calls, 1);
        assert_true(find_point(o, "k", "a")->value == 10);
        assert_non_null(find_point(o, "k", "b"));
        s.report_b = false;
        collect();
        assert_int_equal(s.calls, 2);
        assert_true(find_point(o, "k", "a")->value == 20);
        /* a stream the callback no longer reports is not exported */
        assert_null(find_point(o, "k", "b"));
}

/* ---- instrument identity and validation ------------------------------------------------------ */

static void test_same_name_and_kind_is_the_same_instrument(void **state)
{
        otel_instrument *a = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "Requests", NULL);
        otel_instrument *b = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "requests", NULL);

        (void)state;
        assert_ptr_equal(a, b);
        assert_false(a->noop);
}

static void test_same_name_other_kind_is_a_noop(void **state)
{
        otel_instrument *a = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "x", NULL);
        otel_instrument *b = otel_instrument_new(meter(), OTEL_INSTRUMENT_HISTOGRAM, "x", NULL);

        (void)state;
        assert_false(a->noop);
        assert_true(b->noop);
}

static void test_invalid_names_yield_noop_instruments(void **state)
{
        char long_name[OTEL_METRICS_NAME_MAX + 2];

        (void)state;
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        assert_true(otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "1abc", NULL)->noop);
        assert_true(otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "", NULL)->noop);
        assert_true(otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, NULL, NULL)->noop);
        assert_true(otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "a b", NULL)->noop);
        assert_true(otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, long_name, NULL)->noop);
        long_name[OTEL_METRICS_NAME_MAX] = 0; /* exactly 255 is fine */
        assert_false(otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, long_name, NULL)->noop);
        assert_false(otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "a_b.c-d/e9", NULL)->noop);
        assert_true(otel_instrument_new(meter(), (otel_instrument_kind)99, "k", NULL)->noop);
}

static void test_meter_before_init_is_noop(void **state)
{
        otel_instrument *c;

        (void)state;
        assert_int_equal(otel_sdk_shutdown(TEST_SHUTDOWN_MS), 0);
        c = otel_instrument_new(otel_meter_get("early", NULL), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        assert_true(c->noop);
        otel_instrument_add(c, 1, NULL, 0); /* harmless */
        assert_int_equal(otel_sdk_init(&(otel_sdk_options){.service_name = "test-metrics"}), 0);
}

/* ---- cardinality limit ----------------------------------------------------------------------- */

static void add_distinct(otel_instrument *c, int from, int to)
{
        for (int i = from; i < to; i++) {
                otel_attr a = OTEL_ATTR_I64("id", i);
                otel_instrument_add(c, 1, &a, 1);
        }
}

static bool has_overflow_point(const otel_instrument *c, double *ret_value)
{
        const otel_metric_data *md = find_metric(c);

        for (size_t i = 0; i < md->n_points; i++) {
                const otel_attr *a = point_attr(&md->points[i], OTEL_METRICS_OVERFLOW_KEY);
                if (a) {
                        assert_int_equal(md->points[i].n_attrs, 1);
                        assert_true(a->type == OTEL_ATTR_BOOL && a->v.b);
                        *ret_value = md->points[i].value;
                        return true;
                }
        }
        return false;
}

static void test_cardinality_2000_sets_fit_without_overflow(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        double v;

        (void)state;
        add_distinct(c, 0, OTEL_METRICS_CARDINALITY_LIMIT);
        collect();
        assert_int_equal(OTEL_METRICS_CARDINALITY_LIMIT, 2000);
        assert_int_equal(find_metric(c)->n_points, 2000);
        assert_false(has_overflow_point(c, &v));
}

static void test_cardinality_2001st_set_goes_to_overflow(void **state)
{
        otel_instrument *c = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
        double v = 0;

        (void)state;
        add_distinct(c, 0, 2000);
        add_distinct(c, 2000, 2005); /* five new sets, one measurement each */
        add_distinct(c, 2000, 2001); /* a new set again: still overflow */
        add_distinct(c, 0, 1);       /* a known set keeps its own series */
        collect();
        assert_int_equal(find_metric(c)->n_points, 2001);
        assert_true(has_overflow_point(c, &v));
        assert_true(v == 6);
        for (size_t i = 0; i < find_metric(c)->n_points; i++) {
                const otel_attr *id = point_attr(&find_metric(c)->points[i], "id");
                if (id && id->v.i == 0)
                        assert_true(find_metric(c)->points[i].value == 2);
        }
}

/* ---- concurrency ----------------------------------------------------------------------------- */

typedef struct worker {
        otel_instrument *counter;
        otel_instrument *int_counter;
        otel_instrument *histogram;
        const char *route; /* half the series are shared between threads, half are not */
} worker;

static void *worker_main(void *arg)
{
        worker *w = arg;
        otel_attr shared[] = {OTEL_ATTR_STR("http.route", "/shared"), OTEL_ATTR_STR("m", "GET"),
                              OTEL_ATTR_I64("s", 200)};
        otel_attr own[] = {OTEL_ATTR_STR("http.route", w->route), OTEL_ATTR_STR("m", "GET"),
                           OTEL_ATTR_I64("s", 200)};

        for (int i = 0; i < TEST_THREAD_LOOPS; i++) {
                otel_attr *a = i % 2 ? shared : own;
                otel_instrument_add(w->counter, 0.5, a, 3);
                otel_instrument_add(w->int_counter, 3, a, 3);
                otel_instrument_record(w->histogram, (double)(i % 4), a, 3);
        }
        return NULL;
}

static void test_two_threads_recording_lose_nothing(void **state)
{
        worker w[2] = {
                {.route = "/one"},
                {.route = "/two"},
        };
        pthread_t t[2];
        const otel_point *p;

        (void)state;
        for (int i = 0; i < 2; i++) {
                w[i].counter = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "c", NULL);
                w[i].int_counter = otel_instrument_new(meter(), OTEL_INSTRUMENT_COUNTER, "ci",
                                                       &(otel_instrument_opts){.integer = true});
                w[i].histogram = otel_instrument_new(meter(), OTEL_INSTRUMENT_HISTOGRAM, "h", NULL);
        }
        for (int i = 0; i < 2; i++)
                assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
        for (int i = 0; i < 2; i++)
                pthread_join(t[i], NULL);
        collect();
        /* 0.5 steps are exact in binary, so the double sums are exact too */
        assert_true(find_point(w[0].counter, "http.route", "/shared")->value == 0.5 * TEST_THREAD_LOOPS);
        assert_true(find_point(w[0].counter, "http.route", "/one")->value == 0.25 * TEST_THREAD_LOOPS);
        assert_true(find_point(w[0].counter, "http.route", "/two")->value == 0.25 * TEST_THREAD_LOOPS);
        assert_int_equal(find_point(w[0].int_counter, "http.route", "/shared")->ivalue,
                         3 * TEST_THREAD_LOOPS);
        p = find_point(w[0].histogram, "http.route", "/shared");
        assert_int_equal(p->count, TEST_THREAD_LOOPS);
        /* odd i only: values 1 and 3, each TEST_THREAD_LOOPS / 4 times per thread */
        assert_true(p->sum == 4.0 * TEST_THREAD_LOOPS / 2);
        assert_int_equal(p->buckets[1], TEST_THREAD_LOOPS); /* (0, 5]: 1 and 3 */
        assert_true(p->min == 1 && p->max == 3);
}

/* ---- OTLP encodings -------------------------------------------------------------------------- */

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest pb_request;

static void record_otlp_set(otel_instrument **ret_c, otel_instrument **ret_h, otel_instrument **ret_g)
{
        static const double bounds[] = {1, 2};
        otel_attr a = OTEL_ATTR_STR("k", "v");

        *ret_c = otel_instrument_new(
                meter(), OTEL_INSTRUMENT_COUNTER, "requests",
                &(otel_instrument_opts){.unit = "{request}", .description = "Requests", .integer = true});
        *ret_h = otel_instrument_new(meter(), OTEL_INSTRUMENT_HISTOGRAM, "latency",
                                     &(otel_instrument_opts){.unit = "s", .bounds = bounds, .n_bounds = 2});
        *ret_g = otel_instrument_new(otel_meter_get("other", NULL), OTEL_INSTRUMENT_GAUGE, "temp", NULL);
        otel_instrument_add(*ret_c, 7, &a, 1);
        otel_instrument_record(*ret_h, 0.5, NULL, 0);
        otel_instrument_record(*ret_h, 1.5, NULL, 0);
        otel_instrument_record(*ret_h, 9, NULL, 0);
        otel_instrument_record(*ret_g, -1.25, NULL, 0);
}

static void test_otlp_protobuf_carries_every_field(void **state)
{
        otel_instrument *c, *h, *g;
        Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm;
        Opentelemetry__Proto__Metrics__V1__Metric *m;
        Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *hp;
        otel_buf out = {0};
        pb_request *req;

        (void)state;
        record_otlp_set(&c, &h, &g);
        collect();
        assert_int_equal(otlp_metrics_encode_proto(&snap, &out), 0);
        req = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
                NULL, out.len, out.data);
        assert_non_null(req);
        assert_int_equal(req->n_resource_metrics, 1);
        rm = req->resource_metrics[0];
        assert_true(rm->resource->n_attributes > 0);
        assert_int_equal(rm->n_scope_metrics, 2);
        assert_string_equal(rm->scope_metrics[0]->scope->name, "test");
        assert_string_equal(rm->scope_metrics[0]->scope->version, "0.1");
        assert_int_equal(rm->scope_metrics[0]->n_metrics, 2);
        m = rm->scope_metrics[0]->metrics[0];
        assert_string_equal(m->name, "requests");
        assert_string_equal(m->unit, "{request}");
        assert_string_equal(m->description, "Requests");
        assert_int_equal(m->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
        assert_true(m->sum->is_monotonic);
        assert_int_equal(m->sum->aggregation_temporality, 2);
        assert_int_equal(m->sum->data_points[0]->as_int, 7);
        assert_int_equal(m->sum->data_points[0]->start_time_unix_nano, snap.start_ns);
        assert_int_equal(m->sum->data_points[0]->time_unix_nano, snap.time_ns);
        assert_string_equal(m->sum->data_points[0]->attributes[0]->key, "k");
        assert_string_equal(m->sum->data_points[0]->attributes[0]->value->string_value, "v");
        m = rm->scope_metrics[0]->metrics[1];
        assert_int_equal(m->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
        hp = m->histogram->data_points[0];
        assert_int_equal(hp->count, 3);
        assert_true(hp->has_sum && hp->sum == 11);
        assert_true(hp->has_min && hp->min == 0.5);
        assert_true(hp->has_max && hp->max == 9);
        assert_int_equal(hp->n_bucket_counts, 3);
        assert_int_equal(hp->bucket_counts[0], 1);
        assert_int_equal(hp->bucket_counts[1], 1);
        assert_int_equal(hp->bucket_counts[2], 1);
        assert_int_equal(hp->n_explicit_bounds, 2);
        assert_true(hp->explicit_bounds[1] == 2);
        m = rm->scope_metrics[1]->metrics[0];
        assert_string_equal(rm->scope_metrics[1]->scope->name, "other");
        assert_int_equal(m->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
        assert_true(m->gauge->data_points[0]->as_double == -1.25);
        assert_false(m->gauge->data_points[0]->has_start_time_unix_nano);
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(req,
                                                                                                    NULL);
        otel_buf_free(&out);
}

static void test_otlp_json_uses_the_otlp_json_mapping(void **state)
{
        otel_instrument *c, *h, *g;
        json_object *root, *metrics, *m, *dp, *v;
        otel_buf out = {0};

        (void)state;
        record_otlp_set(&c, &h, &g);
        collect();
        assert_int_equal(otlp_metrics_encode_json(&snap, &out), 0);
        root = json_tokener_parse((const char *)out.data);
        assert_non_null(root);
        metrics = json_object_object_get(
                json_object_array_get_idx(
                        json_object_object_get(json_object_array_get_idx(
                                                       json_object_object_get(root, "resourceMetrics"), 0),
                                               "scopeMetrics"),
                        0),
                "metrics");
        m = json_object_array_get_idx(metrics, 0);
        assert_string_equal(json_object_get_string(json_object_object_get(m, "name")), "requests");
        v = json_object_object_get(m, "sum");
        assert_int_equal(json_object_get_int(json_object_object_get(v, "aggregationTemporality")), 2);
        assert_true(json_object_get_boolean(json_object_object_get(v, "isMonotonic")));
        dp = json_object_array_get_idx(json_object_object_get(v, "dataPoints"), 0);
        /* 64-bit integers are strings in OTLP/JSON */
        assert_true(json_object_is_type(json_object_object_get(dp, "asInt"), json_type_string));
        assert_string_equal(json_object_get_string(json_object_object_get(dp, "asInt")), "7");
        m = json_object_array_get_idx(metrics, 1);
        dp = json_object_array_get_idx(
                json_object_object_get(json_object_object_get(m, "histogram"), "dataPoints"), 0);
        assert_string_equal(json_object_get_string(json_object_object_get(dp, "count")), "3");
        assert_string_equal(json_object_get_string(json_object_array_get_idx(
                                    json_object_object_get(dp, "bucketCounts"), 2)),
                            "1");
        assert_true(json_object_get_double(json_object_object_get(dp, "min")) == 0.5);
        json_object_put(root);
        otel_buf_free(&out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)
/* test_values_collect_to_one_point with one value_case. */
#define T_VALUES(c)                                                                                         \
        cmocka_unit_test_prestate_setup_teardown(test_values_collect_to_one_point, test_setup,              \
                                                 test_teardown, (void *)&(c))

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_counter_sums_per_attribute_set),
                T(test_attribute_order_does_not_matter),
                T(test_duplicate_key_keeps_the_last_value),
                T(test_values_of_different_types_are_different_sets),
                T_VALUES(counter_ignores_negative_and_nan),
                T_VALUES(up_down_counter_can_go_negative),
                T(test_integer_counter_keeps_exact_int64),
                T_VALUES(gauge_keeps_the_last_value),
                T(test_counter_mixes_whole_and_fractional_adds_exactly),
                T(test_reused_buffer_with_new_string_value_is_another_set),
                T(test_reused_array_with_new_key_or_int_value_is_another_set),
                T(test_large_attribute_sets_aggregate_per_set),
                T(test_instrument_after_sdk_restart_starts_empty),
                T(test_histogram_keeps_count_sum_min_max_and_buckets),
                T(test_histogram_default_bounds_are_the_sdk_defaults),
                T(test_histogram_http_duration_uses_semconv_bounds),
                T(test_histogram_invalid_bounds_fall_back_to_defaults),
                T(test_exemplar_kept_for_sampled_span_per_bucket),
                T(test_no_exemplar_for_unsampled_span),
                T(test_observable_counter_reports_what_the_callback_observes),
                T(test_same_name_and_kind_is_the_same_instrument),
                T(test_same_name_other_kind_is_a_noop),
                T(test_invalid_names_yield_noop_instruments),
                T(test_meter_before_init_is_noop),
                T(test_cardinality_2000_sets_fit_without_overflow),
                T(test_cardinality_2001st_set_goes_to_overflow),
                T(test_two_threads_recording_lose_nothing),
                T(test_otlp_protobuf_carries_every_field),
                T(test_otlp_json_uses_the_otlp_json_mapping),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
