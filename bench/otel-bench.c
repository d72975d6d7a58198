/* SPDX-License-Identifier: Apache-2.0 */
/* otel-bench: the trace pipeline's performance figures, one `name=value` line each, measured in one
 * run so that they can be compared as ratios on a noisy machine. Figures (issue 2):
 *   span_start_end_ns          sampled span, 5 attributes at start, ended, no exporter
 *   span_unsampled_ns          span start + end under always_off
 *   encode_protobuf_ns_per_span  OTLP protobuf encoding of dense spans (10 attributes, 1 event)
 *   export_spans_per_s         spans delivered to a loopback OTLP/HTTP receiver by one exporter thread
 * Figures (issue 3, mode `metrics`):
 *   counter_add_ns             double counter add, 3 attributes, one thread
 *   counter_add_2t_ns          the same from 2 threads on the same series (wall time per add per thread)
 *   histogram_record_ns        histogram record (semconv http buckets), 3 attributes, one thread
 *   histogram_record_2t_ns     the same from 2 threads on the same series
 *   counter_add_varied_ns      counter add whose status code cycles through 4 values (one array
 *                              reused): each add misses the per-thread series cache
 *   prometheus_render_us       Prometheus text of 50 instruments x 20 series (40 counters, 10 histograms)
 * Figures (issue 3, mode `logs`):
 *   log_record_ns              otel_log_attrs() with 3 attributes inside a sampled span: stderr line to
 *                              /dev/null (not the journal) + OTLP record queued for a loopback receiver
 *   log_filtered_ns            a message below the level */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otel.h"
#include "clock.h"
#include "logs.h"
#include "otel.h"
#include "otlp.h"
#include "provider.h"

#define BENCH_SPAN_LOOPS        1000000 /* spans per timing loop */
#define BENCH_ENCODE_BATCH      512     /* spans per encode call, the BSP default batch */
#define BENCH_ENCODE_ROUNDS     200     /* encode calls timed */
#define BENCH_EXPORT_SPANS      200000  /* spans pushed through the exporter */
#define BENCH_REPEATS           3       /* best of N, to reduce noise */
#define BENCH_METRIC_LOOPS      2000000 /* measurements per timing loop (per thread) */
#define BENCH_VARIED_SETS       4       /* counter_add_varied_ns: attribute sets cycled through */
#define BENCH_RENDER_COUNTERS   40      /* prometheus_render_us: counters ... */
#define BENCH_RENDER_HISTOGRAMS 10      /* ... and histograms, */
#define BENCH_RENDER_SERIES     20      /* each with this many attribute sets */
#define BENCH_RENDER_ROUNDS     50      /* renders timed */
#define BENCH_LOG_LOOPS         200000  /* log calls per timing loop; the queue holds them all */
#define BENCH_LOG_QUEUE         "262144"

static uint64_t bench_span_loop(otel_tracer *t, size_t loops)
{
        otel_attr attrs[] = {
                OTEL_ATTR_STR("http.request.method", "GET"),
                OTEL_ATTR_STR("url.path", "/api/products/42"),
                OTEL_ATTR_STR("http.route", "/api/products/{id}"),
                OTEL_ATTR_I64("http.response.status_code", 200),
                OTEL_ATTR_BOOLV("cache.hit", false),
        };
        otel_span_start_opts o = {.attrs = attrs, .n_attrs = 5, .root = true};
        uint64_t best = UINT64_MAX;

        for (int rep = 0; rep < BENCH_REPEATS; rep++) {
                uint64_t t0 = otel_mono_ns(), dt;
                for (size_t i = 0; i < loops; i++)
                        otel_span_end(
                                otel_span_start(t, "GET /api/products/{id}", OTEL_SPAN_KIND_SERVER, &o));
                dt = otel_mono_ns() - t0;
                if (dt < best)
                        best = dt;
        }
        return best;
}

static int bench_sdk(const char *sampler, const char *exporter)
{
        setenv("OTEL_TRACES_SAMPLER", sampler, 1);
        setenv("OTEL_TRACES_EXPORTER", exporter, 1);
        /* The other signals stay off unless a figure asks for them: nothing listens on :4318. */
        setenv("OTEL_METRICS_EXPORTER", "none", 0);
        setenv("OTEL_LOGS_EXPORTER", "none", 0);
        return otel_sdk_init(&(otel_sdk_options){.service_name = "otel-bench"});
}

static int bench_spans(void)
{
        uint64_t ns;

        if (bench_sdk("always_on", "none") < 0)
                return -1;
        ns = bench_span_loop(otel_tracer_get("bench", NULL), BENCH_SPAN_LOOPS);
        printf("span_start_end_ns=%.1f\n", (double)ns / BENCH_SPAN_LOOPS);
        (void)otel_sdk_shutdown(1000);

        if (bench_sdk("always_off", "none") < 0)
                return -1;
        ns = bench_span_loop(otel_tracer_get("bench", NULL), BENCH_SPAN_LOOPS);
        printf("span_unsampled_ns=%.1f\n", (double)ns / BENCH_SPAN_LOOPS);
        (void)otel_sdk_shutdown(1000);
        return 0;
}

/* A span as the daemons produce it under load: 10 attributes of mixed types and one event. */
static otel_span *bench_dense_span(otel_tracer *t)
{
        otel_attr attrs[] = {
                OTEL_ATTR_STR("http.request.method", "POST"),
                OTEL_ATTR_STR("url.path", "/api/orders"),
                OTEL_ATTR_STR("http.route", "/api/orders"),
                OTEL_ATTR_I64("http.response.status_code", 201),
                OTEL_ATTR_STR("server.address", "shop.example"),
                OTEL_ATTR_I64("server.port", 8080),
                OTEL_ATTR_STR("client.address", "192.0.2.10"),
                OTEL_ATTR_STR("user_agent.original", "oteldemo-cli/0.1.0"),
                OTEL_ATTR_F64("order.total", 129.95),
                OTEL_ATTR_BOOLV("order.idempotent_replay", false),
        };
        otel_attr ev[] = {OTEL_ATTR_I64("order.items", 3)};
        otel_span *s = otel_span_start(t, "POST /api/orders", OTEL_SPAN_KIND_SERVER,
                                       &(otel_span_start_opts){.attrs = attrs, .n_attrs = 10, .root = true});

        otel_span_add_event(s, "stock.reserved", ev, 1);
        return s;
}

/* Captures ended spans so that the encoder has real SDK spans to work on. */
typedef struct bench_capture {
        otel_span_processor base; /* must be first */
        otel_span **spans;        /* BENCH_ENCODE_BATCH slots */
        size_t n;
} bench_capture;

static void bench_capture_on_end(otel_span_processor *p, otel_span *s)
{
        bench_capture *c = (bench_capture *)p;
        if (c->n < BENCH_ENCODE_BATCH)
                c->spans[c->n++] = otel_span_ref(s);
}

static int bench_capture_flush(otel_span_processor *p, uint64_t deadline)
{
        (void)p;
        (void)deadline;
        return 0;
}

static int bench_capture_shutdown(otel_span_processor *p, uint64_t deadline)
{
        (void)p;
        (void)deadline;
        return 0;
}

static int bench_encode(void)
{
        otel_span *spans[BENCH_ENCODE_BATCH];
        bench_capture cap = {
                .base = {.on_end = bench_capture_on_end,
                         .force_flush = bench_capture_flush,
                         .shutdown = bench_capture_shutdown},
                .spans = spans,
        };
        otel_provider *p = &otel_provider_global;
        otel_buf out = {0};
        uint64_t best = UINT64_MAX;
        otel_tracer *t;

        if (bench_sdk("always_on", "none") < 0)
                return -1;
        p->processors[p->n_processors++] = &cap.base;
        t = otel_tracer_get("bench", "1.0.0");
        for (int i = 0; i < BENCH_ENCODE_BATCH; i++)
                otel_span_end(bench_dense_span(t));
        for (int rep = 0; rep < BENCH_REPEATS; rep++) {
                uint64_t t0 = otel_mono_ns(), dt;
                for (int i = 0; i < BENCH_ENCODE_ROUNDS; i++) {
                        otel_buf_reset(&out);
                        if (otlp_traces_encode_proto(p->resource, spans, cap.n, &out) < 0) {
                                fprintf(stderr, "otel-bench: encoding failed\n");
                                return -1;
                        }
                }
                dt = otel_mono_ns() - t0;
                if (dt < best)
                        best = dt;
        }
        printf("encode_protobuf_ns_per_span=%.1f\n", (double)best / ((double)BENCH_ENCODE_ROUNDS * cap.n));
        printf("encode_protobuf_bytes_per_span=%.1f\n", (double)out.len / cap.n);
        otel_buf_free(&out);
        for (size_t i = 0; i < cap.n; i++)
                otel_span_unref(spans[i]);
        (void)otel_sdk_shutdown(1000);
        return 0;
}

/* ---- loopback OTLP receiver ------------------------------------------------------------------ */

static enum MHD_Result bench_receiver(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version, const char *data,
                                      size_t *size, void **ctx)
{
        static int first_call_marker;
        struct MHD_Response *r;
        enum MHD_Result ret;

        (void)cls, (void)url, (void)method, (void)version, (void)data;
        if (!*ctx) {
                *ctx = &first_call_marker;
                return MHD_YES;
        }
        if (*size) {
                *size = 0; /* body consumed and discarded: we measure the client side */
                return MHD_YES;
        }
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "application/x-protobuf");
        ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
}

static int bench_export(void)
{
        struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL,
                                                NULL, bench_receiver, NULL, MHD_OPTION_END);
        const union MHD_DaemonInfo *info;
        otel_trace_stats st;
        char endpoint[64];
        uint64_t t0, dt;
        otel_tracer *t;

        if (!d) {
                fprintf(stderr, "otel-bench: cannot start the loopback receiver\n");
                return -1;
        }
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u", (unsigned)info->port);
        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, 1);
        /* A queue that holds the whole run: we measure the exporter, not drops. */
        setenv("OTEL_BSP_MAX_QUEUE_SIZE", "262144", 1);
        setenv("OTEL_BSP_SCHEDULE_DELAY", "100", 1);
        if (bench_sdk("always_on", "otlp") < 0)
                return -1;
        t = otel_tracer_get("bench", "1.0.0");
        t0 = otel_mono_ns();
        for (int i = 0; i < BENCH_EXPORT_SPANS; i++)
                otel_span_end(bench_dense_span(t));
        if (otel_sdk_force_flush(60000) < 0)
                fprintf(stderr, "otel-bench: flush timed out\n");
        dt = otel_mono_ns() - t0;
        otel_trace_stats_get(&st);
        printf("export_spans_per_s=%.0f\n", (double)st.spans_exported / ((double)dt / 1e9));
        printf("export_requests=%llu\n", (unsigned long long)st.export_requests);
        printf("export_dropped=%llu\n", (unsigned long long)st.spans_dropped_queue_full);
        (void)otel_sdk_shutdown(5000);
        MHD_stop_daemon(d);
        return 0;
}

/* ---- metrics (issue 3) ----------------------------------------------------------------------- */

typedef struct bench_metric_job {
        otel_instrument *inst; /* counter or histogram */
        bool histogram;
        bool varied; /* cycle the status code through BENCH_VARIED_SETS values */
        size_t loops;
        pthread_barrier_t *start; /* both threads start together */
} bench_metric_job;

static void *bench_metric_worker(void *arg)
{
        bench_metric_job *j = arg;
        otel_attr attrs[] = {
                OTEL_ATTR_STR("http.request.method", "GET"),
                OTEL_ATTR_STR("http.route", "/api/products/{id}"),
                OTEL_ATTR_I64("http.response.status_code", 200),
        };

        if (j->start)
                pthread_barrier_wait(j->start);
        if (j->histogram)
                for (size_t i = 0; i < j->loops; i++)
                        otel_instrument_record(j->inst, (double)(i & 63) * 0.001, attrs, 3);
        else if (j->varied)
                for (size_t i = 0; i < j->loops; i++) {
                        attrs[2].v.i = 200 + (int64_t)(i % BENCH_VARIED_SETS);
                        otel_instrument_add(j->inst, 1, attrs, 3);
                }
        else
                for (size_t i = 0; i < j->loops; i++)
                        otel_instrument_add(j->inst, 1, attrs, 3);
        return NULL;
}

/* Best wall time of BENCH_REPEATS runs, in ns per measurement per thread. */
static double bench_metric_loop(otel_instrument *inst, bool histogram, bool varied, int threads)
{
        double best = 1e300;

        for (int rep = 0; rep < BENCH_REPEATS; rep++) {
                pthread_barrier_t start;
                bench_metric_job job = {.inst = inst,
                                        .histogram = histogram,
                                        .varied = varied,
                                        .loops = BENCH_METRIC_LOOPS,
                                        .start = threads > 1 ? &start : NULL};
                pthread_t t[2];
                uint64_t t0, dt;

                if (threads > 1)
                        pthread_barrier_init(&start, NULL, (unsigned)threads);
                t0 = otel_mono_ns();
                if (threads > 1) {
                        for (int i = 0; i < threads; i++)
                                pthread_create(&t[i], NULL, bench_metric_worker, &job);
                        for (int i = 0; i < threads; i++)
                                pthread_join(t[i], NULL);
                        pthread_barrier_destroy(&start);
                } else
                        bench_metric_worker(&job);
                dt = otel_mono_ns() - t0;
                if ((double)dt / BENCH_METRIC_LOOPS < best)
                        best = (double)dt / BENCH_METRIC_LOOPS;
        }
        return best;
}

static int bench_render(otel_meter *m)
{
        uint64_t best = UINT64_MAX;
        size_t bytes = 0;
        char name[64];

        for (int i = 0; i < BENCH_RENDER_COUNTERS + BENCH_RENDER_HISTOGRAMS; i++) {
                bool histogram = i >= BENCH_RENDER_COUNTERS;
                otel_instrument *inst;

                snprintf(name, sizeof(name), "bench.render.%s%d", histogram ? "duration" : "requests", i);
                inst = otel_instrument_new(
                        m, histogram ? OTEL_INSTRUMENT_HISTOGRAM : OTEL_INSTRUMENT_COUNTER, name,
                        &(otel_instrument_opts){.unit = histogram ? "s" : "{request}",
                                                .description = "bench instrument",
                                                .bounds = histogram ? otel_http_duration_bounds : NULL,
                                                .n_bounds = histogram ? otel_http_duration_bounds_len : 0});
                for (int k = 0; k < BENCH_RENDER_SERIES; k++) {
                        otel_attr attrs[] = {OTEL_ATTR_STR("http.request.method", k % 2 ? "GET" : "POST"),
                                             OTEL_ATTR_I64("http.response.status_code", 200 + k)};
                        if (histogram)
                                otel_instrument_record(inst, 0.01 * k, attrs, 2);
                        else
                                otel_instrument_add(inst, k, attrs, 2);
                }
        }
        for (int rep = 0; rep < BENCH_RENDER_ROUNDS; rep++) {
                uint64_t t0 = otel_mono_ns(), dt;
                char *text;
                size_t len;

                if (otel_metrics_render_prometheus(false, &text, &len) < 0) {
                        fprintf(stderr, "otel-bench: render failed\n");
                        return -1;
                }
                dt = otel_mono_ns() - t0;
                free(text);
                bytes = len;
                if (dt < best)
                        best = dt;
        }
        printf("prometheus_render_us=%.1f\n", (double)best / 1000.0);
        printf("prometheus_render_bytes=%zu\n", bytes);
        return 0;
}

static int bench_metrics(void)
{
        otel_instrument *counter, *histogram;
        otel_meter *m;
        int r;

        setenv("OTEL_METRICS_EXPORTER", "none", 1);
        if (bench_sdk("always_on", "none") < 0)
                return -1;
        m = otel_meter_get("bench", "1.0.0");
        counter = otel_instrument_new(m, OTEL_INSTRUMENT_COUNTER, "http.server.requests", NULL);
        histogram = otel_instrument_new(m, OTEL_INSTRUMENT_HISTOGRAM, "http.server.request.duration",
                                        &(otel_instrument_opts){.unit = "s"});
        printf("counter_add_ns=%.1f\n", bench_metric_loop(counter, false, false, 1));
        printf("counter_add_2t_ns=%.1f\n", bench_metric_loop(counter, false, false, 2));
        printf("histogram_record_ns=%.1f\n", bench_metric_loop(histogram, true, false, 1));
        printf("histogram_record_2t_ns=%.1f\n", bench_metric_loop(histogram, true, false, 2));
        printf("counter_add_varied_ns=%.1f\n", bench_metric_loop(counter, false, true, 1));
        r = bench_render(m);
        (void)otel_sdk_shutdown(1000);
        return r;
}

/* ---- logs (issue 3) -------------------------------------------------------------------------- */

static double bench_log_loop(otel_severity sev)
{
        otel_attr attrs[] = {OTEL_ATTR_STR("http.route", "/api/products/{id}"),
                             OTEL_ATTR_I64("product.id", 42), OTEL_ATTR_BOOLV("cache.hit", false)};
        uint64_t t0 = otel_mono_ns();

        for (int i = 0; i < BENCH_LOG_LOOPS; i++)
                otel_log_attrs(sev, attrs, 3, "Product %d not found in %s", i, "catalog");
        return (double)(otel_mono_ns() - t0) / BENCH_LOG_LOOPS;
}

static int bench_logs(void)
{
        struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL,
                                                NULL, bench_receiver, NULL, MHD_OPTION_END);
        int saved_stderr = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        double record_ns, filtered_ns;
        otel_context_token token;
        otel_log_stats st;
        char endpoint[64];
        otel_span *span;

        if (!d || saved_stderr < 0 || devnull < 0) {
                fprintf(stderr, "otel-bench: cannot start the loopback receiver or open /dev/null\n");
                return -1;
        }
        snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u",
                 (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, 1);
        setenv("OTEL_METRICS_EXPORTER", "none", 1);
        setenv("OTEL_LOGS_EXPORTER", "otlp", 1);
        setenv("OTEL_BLRP_MAX_QUEUE_SIZE", BENCH_LOG_QUEUE, 1);
        unsetenv("JOURNAL_STREAM"); /* journald off: the readable line goes to stderr = /dev/null */
        if (bench_sdk("always_on", "none") < 0)
                return -1;
        otel_log_set_level(OTEL_SEVERITY_INFO);
        span = otel_span_start(otel_tracer_get("bench", NULL), "GET /api/products/{id}",
                               OTEL_SPAN_KIND_SERVER, NULL);
        token = otel_context_attach(span, NULL);
        dup2(devnull, STDERR_FILENO);
        otel_log_sink_reset();
        record_ns = bench_log_loop(OTEL_SEVERITY_WARN);
        filtered_ns = bench_log_loop(OTEL_SEVERITY_DEBUG);
        dup2(saved_stderr, STDERR_FILENO);
        otel_log_sink_reset();
        otel_context_detach(token);
        otel_span_end(span);
        if (otel_sdk_force_flush(60000) < 0)
                fprintf(stderr, "otel-bench: flush timed out\n");
        otel_log_stats_get(&st);
        printf("log_record_ns=%.1f\n", record_ns);
        printf("log_filtered_ns=%.1f\n", filtered_ns);
        printf("log_records_exported=%llu\n", (unsigned long long)st.records_exported);
        printf("log_records_dropped=%llu\n",
               (unsigned long long)(st.records_dropped_queue_full + st.records_dropped_no_memory));
        (void)otel_sdk_shutdown(5000);
        unsetenv("OTEL_BLRP_MAX_QUEUE_SIZE");
        close(devnull);
        close(saved_stderr);
        MHD_stop_daemon(d);
        return 0;
}

int main(int argc, char **argv)
{
        const char *only = argc > 1 ? argv[1] : NULL;

        if (argc > 2 || (only && strcmp(only, "spans") && strcmp(only, "encode") && strcmp(only, "export") &&
                         strcmp(only, "metrics") && strcmp(only, "logs"))) {
                fprintf(stderr, "usage: %s [spans|encode|export|metrics|logs]\n", argv[0]);
                return 2;
        }
        if ((!only || !strcmp(only, "spans")) && bench_spans() < 0)
                return 1;
        if ((!only || !strcmp(only, "encode")) && bench_encode() < 0)
                return 1;
        if ((!only || !strcmp(only, "export")) && bench_export() < 0)
                return 1;
        if ((!only || !strcmp(only, "metrics")) && bench_metrics() < 0)
                return 1;
        if ((!only || !strcmp(only, "logs")) && bench_logs() < 0)
                return 1;
        return 0;
}
