/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus 0.0.4 and OpenMetrics 1.0 exposition (prometheus.c): metric names per the OpenTelemetry
 * compatibility spec, and golden outputs of a fixed set of instruments with a fixed resource and a
 * fixed exemplar, compared byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics-fixture.h"
#include "metrics.h"

#define TEST_SHUTDOWN_MS 5000
#define TEST_EXEMPLAR_NS 1700000000123000000ull /* 2023-11-14T22:13:20.123Z */
#define TEST_TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int test_setup(void **state)
{
        (void)state;
        return metrics_fixture_init("test");
}

static int test_teardown(void **state)
{
        (void)state;
        return otel_sdk_shutdown(TEST_SHUTDOWN_MS) == 0 ? 0 : -1;
}

/* ---- names ----------------------------------------------------------------------------------- */

static void assert_prom_name(otel_instrument_kind kind, const char *name, const char *unit,
                             const char *expected)
{
        otel_meter *m = otel_meter_get("names", NULL);
        otel_instrument *inst = otel_instrument_new(m, kind, name, &(otel_instrument_opts){.unit = unit});
        char got[OTEL_PROMETHEUS_NAME_MAX];

        otel_prometheus_metric_name(inst, true, got, sizeof(got));
        assert_string_equal(got, expected);
}

static void test_name_gets_unit_suffix_in_prometheus_words(void **state)
{
        (void)state;
        assert_prom_name(OTEL_INSTRUMENT_HISTOGRAM, "http.server.request.duration", "s",
                         "http_server_request_duration_seconds");
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "mem.heap", "By", "mem_heap_bytes");
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "db.latency", "ms", "db_latency_milliseconds");
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "net.rate", "By/s", "net_rate_bytes_per_second");
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "temp", "Cel", "temp_celsius");
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "odd", "furlongs", "odd_furlongs");
}

static void test_name_drops_brace_annotations_from_unit(void **state)
{
        (void)state;
        assert_prom_name(OTEL_INSTRUMENT_UP_DOWN_COUNTER, "queue.depth", "{item}", "queue_depth");
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "io.rate", "{packet}/s", "io_rate_per_second");
}

static void test_name_unit_one_is_ratio_for_gauges_only(void **state)
{
        (void)state;
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "cpu.utilization", "1", "cpu_utilization_ratio");
        assert_prom_name(OTEL_INSTRUMENT_UP_DOWN_COUNTER, "slots.free", "1", "slots_free");
}

static void test_name_monotonic_counters_get_total_once(void **state)
{
        (void)state;
        assert_prom_name(OTEL_INSTRUMENT_COUNTER, "http.requests", "{request}", "http_requests_total");
        assert_prom_name(OTEL_INSTRUMENT_OBSERVABLE_COUNTER, "cpu.time", "s", "cpu_time_seconds_total");
        assert_prom_name(OTEL_INSTRUMENT_COUNTER, "bytes_total", "", "bytes_total");
        assert_prom_name(OTEL_INSTRUMENT_OBSERVABLE_UP_DOWN_COUNTER, "conns", "", "conns");
}

static void test_name_sanitises_and_collapses_underscores(void **state)
{
        (void)state;
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "a.-/b", "", "a_b");
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "request.size", "By", "request_size_bytes");
        /* a unit already at the end is not repeated */
        assert_prom_name(OTEL_INSTRUMENT_GAUGE, "wait_seconds", "s", "wait_seconds");
}

/* ---- golden outputs -------------------------------------------------------------------------- */

static otel_attr resource_items[] = {
        OTEL_ATTR_STR("service.name", "shop"),
        OTEL_ATTR_STR("service.instance.id", "i-1"),
        OTEL_ATTR_STR("telemetry.sdk.language", "c"),
};

static otel_resource test_resource = {.attrs = {.items = resource_items, .n = 3, .cap = 3}};

/* The fixed instruments; the histogram's 0.5 is recorded inside a sampled remote span context. */
static void record_fixed_set(void)
{
        otel_meter *shop = otel_meter_get("shop", "1.2.0"), *jobs = otel_meter_get("jobs", NULL);
        otel_instrument *requests, *cart, *duration, *cpu, *processed;
        otel_attr get[] = {OTEL_ATTR_STR("http.request.method", "GET"),
                           OTEL_ATTR_I64("http.response.status_code", 200)};
        otel_attr post[] = {OTEL_ATTR_I64("http.response.status_code", 201),
                            OTEL_ATTR_STR("http.request.method", "POST")};
        otel_attr route = OTEL_ATTR_STR("http.route", "/api/x");
        otel_attr cpu0 = OTEL_ATTR_STR("cpu", "0");
        otel_attr kind = OTEL_ATTR_STR("job.kind", "a\"b\\c\nd");
        static const double bounds[] = {0.1, 1};
        otel_span_context sc;
        otel_context_token tok;
        otel_span *remote;

        requests = otel_instrument_new(shop, OTEL_INSTRUMENT_COUNTER, "http.server.requests",
                                       &(otel_instrument_opts){.unit = "{request}",
                                                               .description = "Requests served",
                                                               .integer = true});
        cart = otel_instrument_new(shop, OTEL_INSTRUMENT_UP_DOWN_COUNTER, "shop.cart.items",
                                   &(otel_instrument_opts){.unit = "{item}"});
        duration = otel_instrument_new(
                shop, OTEL_INSTRUMENT_HISTOGRAM, "http.server.request.duration",
                &(otel_instrument_opts){.unit = "s",
                                        .description = "Duration of HTTP server requests.",
                                        .bounds = bounds,
                                        .n_bounds = 2});
        cpu = otel_instrument_new(shop, OTEL_INSTRUMENT_GAUGE, "process.cpu.utilization",
                                  &(otel_instrument_opts){.unit = "1"});
        processed = otel_instrument_new(jobs, OTEL_INSTRUMENT_COUNTER, "jobs.processed", NULL);

        otel_instrument_add(requests, 2, get, 2);
        otel_instrument_add(requests, 1, get, 2);
        otel_instrument_add(requests, 1, post, 2);
        otel_instrument_add(cart, 4, NULL, 0);
        otel_instrument_add(cart, -1.5, NULL, 0);
        otel_instrument_record(duration, 0.0625, &route, 1);
        otel_instrument_record(duration, 0.1, &route, 1);
        assert_int_equal(otel_traceparent_parse(TEST_TRACEPARENT, strlen(TEST_TRACEPARENT), &sc), 0);
        remote = otel_span_wrap_context(&sc, NULL);
        tok = otel_context_attach(remote, NULL);
        otel_instrument_record(duration, 0.5, &route, 1);
        otel_context_detach(tok);
        otel_span_unref(remote);
        otel_instrument_record(duration, 3, &route, 1);
        otel_instrument_record(cpu, 0.75, &cpu0, 1);
        otel_instrument_record(cpu, 0.25, &cpu0, 1);
        otel_instrument_add(processed, 1.5, &kind, 1);
}

static char *render_fixed_set(bool openmetrics)
{
        otel_metrics_snapshot snap;
        otel_buf out = {0};

        record_fixed_set();
        assert_int_equal(otel_metrics_collect(&snap), 0);
        snap.resource = &test_resource;
        for (size_t i = 0; i < snap.n_metrics; i++)
                for (size_t j = 0; j < snap.metrics[i].n_points; j++)
                        for (size_t b = 0;
                             snap.metrics[i].points[j].exemplars && b <= snap.metrics[i].inst->n_bounds; b++)
                                snap.metrics[i].points[j].exemplars[b].time_ns = TEST_EXEMPLAR_NS;
        assert_int_equal(otel_prometheus_render(&snap, openmetrics, &out), 0);
        otel_metrics_snapshot_done(&snap);
        return (char *)out.data;
}

#define SHOP_SCOPE "otel_scope_name=\"shop\",otel_scope_version=\"1.2.0\""
#define ROUTE      "http_route=\"/api/x\"," SHOP_SCOPE

static void test_render_text_0_0_4_golden(void **state)
{
        static const char expected[] =
                "# HELP target_info Target metadata\n"
                "# TYPE target_info gauge\n"
                "target_info{service_name=\"shop\",service_instance_id=\"i-1\",telemetry_sdk_language=\"c\"}"
                " 1\n"
                "# HELP http_server_requests_total Requests served\n"
                "# TYPE http_server_requests_total counter\n"
                "http_server_requests_total{http_request_method=\"GET\",http_response_status_code="
                "\"200\"," SHOP_SCOPE "} 3\n"
                "http_server_requests_total{http_request_method=\"POST\",http_response_status_code="
                "\"201\"," SHOP_SCOPE "} 1\n"
                "# TYPE shop_cart_items gauge\n"
                "shop_cart_items{" SHOP_SCOPE "} 2.5\n"
                "# HELP http_server_request_duration_seconds Duration of HTTP server requests.\n"
                "# TYPE http_server_request_duration_seconds histogram\n"
                "http_server_request_duration_seconds_bucket{" ROUTE ",le=\"0.1\"} 2\n"
                "http_server_request_duration_seconds_bucket{" ROUTE ",le=\"1\"} 3\n"
                "http_server_request_duration_seconds_bucket{" ROUTE ",le=\"+Inf\"} 4\n"
                "http_server_request_duration_seconds_sum{" ROUTE "} 3.6625\n"
                "http_server_request_duration_seconds_count{" ROUTE "} 4\n"
                "# TYPE process_cpu_utilization_ratio gauge\n"
                "process_cpu_utilization_ratio{cpu=\"0\"," SHOP_SCOPE "} 0.25\n"
                "# TYPE jobs_processed_total counter\n"
                "jobs_processed_total{job_kind=\"a\\\"b\\\\c\\nd\",otel_scope_name=\"jobs\"} 1.5\n";
        char *got;

        (void)state;
        got = render_fixed_set(false);
        assert_string_equal(got, expected);
        free(got);
}

static void test_render_openmetrics_golden_with_exemplar(void **state)
{
        static const char expected[] =
                "# HELP target Target metadata\n"
                "# TYPE target info\n"
                "target_info{service_name=\"shop\",service_instance_id=\"i-1\",telemetry_sdk_language=\"c\"}"
                " 1\n"
                "# HELP http_server_requests Requests served\n"
                "# TYPE http_server_requests counter\n"
                "http_server_requests_total{http_request_method=\"GET\",http_response_status_code="
                "\"200\"," SHOP_SCOPE "} 3\n"
                "http_server_requests_total{http_request_method=\"POST\",http_response_status_code="
                "\"201\"," SHOP_SCOPE "} 1\n"
                "# TYPE shop_cart_items gauge\n"
                "shop_cart_items{" SHOP_SCOPE "} 2.5\n"
                "# HELP http_server_request_duration_seconds Duration of HTTP server requests.\n"
                "# TYPE http_server_request_duration_seconds histogram\n"
                "# UNIT http_server_request_duration_seconds seconds\n"
                "http_server_request_duration_seconds_bucket{" ROUTE ",le=\"0.1\"} 2\n"
                "http_server_request_duration_seconds_bucket{" ROUTE ",le=\"1\"} 3"
                " # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 0.5 "
                "1700000000.123\n"
                "http_server_request_duration_seconds_bucket{" ROUTE ",le=\"+Inf\"} 4\n"
                "http_server_request_duration_seconds_sum{" ROUTE "} 3.6625\n"
                "http_server_request_duration_seconds_count{" ROUTE "} 4\n"
                "# TYPE process_cpu_utilization_ratio gauge\n"
                "# UNIT process_cpu_utilization_ratio ratio\n"
                "process_cpu_utilization_ratio{cpu=\"0\"," SHOP_SCOPE "} 0.25\n"
                "# TYPE jobs_processed counter\n"
                "jobs_processed_total{job_kind=\"a\\\"b\\\\c\\nd\",otel_scope_name=\"jobs\"} 1.5\n"
                "# EOF\n";
        char *got;

        (void)state;
        got = render_fixed_set(true);
        assert_string_equal(got, expected);
        free(got);
}

static void test_render_joins_labels_that_sanitise_to_the_same_name(void **state)
{
        otel_meter *m = otel_meter_get("collide", NULL);
        otel_instrument *g = otel_instrument_new(m, OTEL_INSTRUMENT_GAUGE, "g", NULL);
        otel_attr attrs[] = {OTEL_ATTR_STR("a.b", "x"), OTEL_ATTR_I64("a_b", 7),
                             OTEL_ATTR_STR("9lives", "y")};
        char *text;
        size_t len;

        (void)state;
        otel_instrument_record(g, 1, attrs, 3);
        assert_int_equal(otel_metrics_render_prometheus(false, &text, &len), 0);
        assert_non_null(strstr(text, "\ng{key_9lives=\"y\",a_b=\"x;7\",otel_scope_name=\"collide\"} 1\n"));
        assert_int_equal(strlen(text), len);
        free(text);
}

static void test_render_same_name_in_two_scopes_is_one_family(void **state)
{
        otel_instrument *a =
                otel_instrument_new(otel_meter_get("one", NULL), OTEL_INSTRUMENT_COUNTER, "hits", NULL);
        otel_instrument *b =
                otel_instrument_new(otel_meter_get("two", NULL), OTEL_INSTRUMENT_COUNTER, "hits", NULL);
        char *text;
        size_t len;

        (void)state;
        otel_instrument_add(a, 1, NULL, 0);
        otel_instrument_add(b, 2, NULL, 0);
        assert_int_equal(otel_metrics_render_prometheus(false, &text, &len), 0);
        assert_non_null(strstr(text, "# TYPE hits_total counter\nhits_total{otel_scope_name=\"one\"} 1\n"
                                     "hits_total{otel_scope_name=\"two\"} 2\n"));
        assert_null(strstr(strstr(text, "# TYPE hits_total") + 1, "# TYPE hits_total"));
        free(text);
}

static void test_render_bounds_like_prometheus_clients(void **state)
{
        static const double bounds[] = {0.00001, 0.0001, 10, 2500, 1000000};
        otel_instrument *h = otel_instrument_new(otel_meter_get("b", NULL), OTEL_INSTRUMENT_HISTOGRAM, "h",
                                                 &(otel_instrument_opts){.bounds = bounds, .n_bounds = 5});
        char *text;
        size_t len;

        (void)state;
        otel_instrument_record(h, 1, NULL, 0);
        assert_int_equal(otel_metrics_render_prometheus(false, &text, &len), 0);
        assert_non_null(strstr(text, "le=\"1e-05\"} 0\n"));
        assert_non_null(strstr(text, "le=\"0.0001\"} 0\n"));
        assert_non_null(strstr(text, "le=\"10\"} 1\n"));
        assert_non_null(strstr(text, "le=\"2500\"} 1\n"));
        assert_non_null(strstr(text, "le=\"1e+06\"} 1\n"));
        free(text);
}

static void test_content_types_name_the_format_versions(void **state)
{
        (void)state;
        assert_string_equal(otel_metrics_prometheus_content_type(false),
                            "text/plain; version=0.0.4; charset=utf-8");
        assert_string_equal(otel_metrics_prometheus_content_type(true),
                            "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

static void test_render_without_sdk_is_empty(void **state)
{
        char *text;
        size_t len;

        (void)state;
        assert_int_equal(otel_sdk_shutdown(TEST_SHUTDOWN_MS), 0);
        assert_int_equal(otel_metrics_render_prometheus(true, &text, &len), 0);
        assert_string_equal(text, "# EOF\n");
        free(text);
        assert_int_equal(otel_metrics_render_prometheus(false, &text, &len), 0);
        assert_int_equal(len, 0);
        free(text);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_name_gets_unit_suffix_in_prometheus_words),
                T(test_name_drops_brace_annotations_from_unit),
                T(test_name_unit_one_is_ratio_for_gauges_only),
                T(test_name_monotonic_counters_get_total_once),
                T(test_name_sanitises_and_collapses_underscores),
                T(test_render_text_0_0_4_golden),
                T(test_render_openmetrics_golden_with_exemplar),
                T(test_render_joins_labels_that_sanitise_to_the_same_name),
                T(test_render_same_name_in_two_scopes_is_one_family),
                T(test_render_bounds_like_prometheus_clients),
                T(test_content_types_name_the_format_versions),
                T(test_render_without_sdk_is_empty),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
