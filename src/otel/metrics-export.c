/* SPDX-License-Identifier: Apache-2.0 */
/* The push side of metrics: OTEL_METRICS_EXPORTER (otlp, prometheus, console, none; comma-separated),
 * the periodic exporting reader (SDK spec "Periodic exporting MetricReader": OTEL_METRIC_EXPORT_INTERVAL
 * / _TIMEOUT) with one thread that collects and pushes to /v1/metrics over the shared OTLP/HTTP
 * transport, and the SDK's self-telemetry instruments (semantic conventions "OpenTelemetry SDK
 * metrics", otel.sdk.*). "prometheus" adds nothing here: otel_metrics_render_prometheus() always works
 * and the application serves it. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "diag.h"
#include "env.h"
#include "metrics.h"
#include "metrics_service.pb-c.h"
#include "otlp-export.h"
#include "propagation.h"

#define METRICS_SIGNAL              "METRICS"
#define METRICS_PATH                "/v1/metrics"
#define METRICS_DEFAULT_INTERVAL_MS 60000 /* SDK spec default of OTEL_METRIC_EXPORT_INTERVAL */
#define METRICS_DEFAULT_TIMEOUT_MS  30000 /* SDK spec default of OTEL_METRIC_EXPORT_TIMEOUT */
#define METRICS_MAX_MS              (24ll * 3600 * 1000) /* a day: anything longer is a typo */
#define METRICS_EXPORTER_LIST_MAX   256                  /* longest OTEL_METRICS_EXPORTER value we read */
#define SELF_METER_NAME             "oteldemo-otel-sdk"

typedef struct metrics_exporter {
        bool otlp;                   /* push OTLP to /v1/metrics */
        bool console;                /* print each collection as OTLP/JSON on stderr */
        otlp_exporter push;          /* transport and request body (otlp only), export_lock */
        uint64_t interval_ms;        /* OTEL_METRIC_EXPORT_INTERVAL */
        uint64_t timeout_ms;         /* OTEL_METRIC_EXPORT_TIMEOUT */
        pthread_mutex_t export_lock; /* one export at a time: reader thread, flush, shutdown */
        pthread_mutex_t lock;        /* guards stop; wake's mutex */
        pthread_cond_t wake;         /* the reader thread sleeps here */
        bool stop;                   /* the thread must exit */
        bool thread_started;
        pthread_t thread;
} metrics_exporter;

static metrics_exporter *exporter_global;

/* ---- self-telemetry -------------------------------------------------------------------------- */

static bool self_telemetry_enabled = true;
static otel_instrument *self_export_duration; /* otel.sdk.exporter.operation.duration */
static otel_instrument *self_points_exported; /* otel.sdk.exporter.metric_data_point.exported */

void otel_metrics_self_telemetry_set_enabled(bool enabled)
{
        self_telemetry_enabled = enabled;
}

typedef enum self_stat {
        SELF_SPAN_LIVE,
        SELF_SPAN_STARTED,
        SELF_QUEUE_SIZE,
        SELF_PROCESSED,
        SELF_SPANS_EXPORTED,
} self_stat;

static void self_observe(otel_observer *obs, void *userdata)
{
        otel_attr sampled = OTEL_ATTR_STR("otel.span.sampling_result", "RECORD_AND_SAMPLE");
        otel_attr processor = OTEL_ATTR_STR("otel.component.type", "batching_span_processor");
        otel_attr exporter = OTEL_ATTR_STR("otel.component.type", "otlp_http_span_exporter");
        otel_attr failed[] = {exporter, OTEL_ATTR_STR("error.type", "_OTHER")};
        otel_attr dropped[] = {processor, OTEL_ATTR_STR("error.type", "queue_full")};
        otel_trace_stats st;
        uint64_t left;

        otel_trace_stats_get(&st);
        switch ((self_stat)(uintptr_t)userdata) {
        case SELF_SPAN_LIVE:
                otel_observe(obs,
                             st.spans_started >= st.spans_ended ? (double)(st.spans_started - st.spans_ended)
                                                                : 0,
                             &sampled, 1);
                break;
        case SELF_SPAN_STARTED:
                otel_observe(obs, (double)st.spans_started, &sampled, 1);
                break;
        case SELF_QUEUE_SIZE:
                /* Queued spans not yet handed on (the batch being exported counts as still queued). */
                left = st.spans_exported + st.spans_export_failed;
                otel_observe(obs, st.spans_queued > left ? (double)(st.spans_queued - left) : 0, &processor,
                             1);
                break;
        case SELF_PROCESSED:
                otel_observe(obs, (double)(st.spans_exported + st.spans_export_failed), &processor, 1);
                otel_observe(obs, (double)st.spans_dropped_queue_full, dropped, 2);
                break;
        case SELF_SPANS_EXPORTED:
                otel_observe(obs, (double)st.spans_exported, &exporter, 1);
                otel_observe(obs, (double)st.spans_export_failed, failed, 2);
                break;
        }
}

typedef struct self_instrument {
        otel_instrument_kind kind;
        const char *name;
        const char *unit;
        const char *description;
        self_stat stat;
} self_instrument;

static const self_instrument self_instruments[] = {
        {OTEL_INSTRUMENT_OBSERVABLE_UP_DOWN_COUNTER, "otel.sdk.span.live", "{span}",
         "The number of created spans with recording=true for which the end operation has not been called "
         "yet",
         SELF_SPAN_LIVE},
        {OTEL_INSTRUMENT_OBSERVABLE_COUNTER, "otel.sdk.span.started", "{span}",
         "The number of created spans", SELF_SPAN_STARTED},
        {OTEL_INSTRUMENT_OBSERVABLE_UP_DOWN_COUNTER, "otel.sdk.processor.span.queue.size", "{span}",
         "The number of spans in the queue of a given instance of an SDK span processor", SELF_QUEUE_SIZE},
        {OTEL_INSTRUMENT_OBSERVABLE_COUNTER, "otel.sdk.processor.span.processed", "{span}",
         "The number of spans for which the processing has finished, either successful or failed",
         SELF_PROCESSED},
        {OTEL_INSTRUMENT_OBSERVABLE_COUNTER, "otel.sdk.exporter.span.exported", "{span}",
         "The number of spans for which the export has finished, either successful or failed",
         SELF_SPANS_EXPORTED},
};

void otel_metrics_self_telemetry_register(void)
{
        otel_meter *m;

        self_export_duration = self_points_exported = NULL;
        if (!self_telemetry_enabled)
                return;
        m = otel_meter_get(SELF_METER_NAME, OTEL_SDK_VERSION);
        for (size_t i = 0; i < sizeof(self_instruments) / sizeof(self_instruments[0]); i++) {
                const self_instrument *si = &self_instruments[i];
                (void)otel_instrument_new(m, si->kind, si->name,
                                          &(otel_instrument_opts){.unit = si->unit,
                                                                  .description = si->description,
                                                                  .integer = true,
                                                                  .callback = self_observe,
                                                                  .userdata = (void *)(uintptr_t)si->stat});
        }
        self_export_duration = otel_instrument_new(
                m, OTEL_INSTRUMENT_HISTOGRAM, "otel.sdk.exporter.operation.duration",
                &(otel_instrument_opts){.unit = "s",
                                        .description =
                                                "The duration of exporting a batch of telemetry records",
                                        .bounds = otel_http_duration_bounds,
                                        .n_bounds = otel_http_duration_bounds_len});
        self_points_exported = otel_instrument_new(
                m, OTEL_INSTRUMENT_COUNTER, "otel.sdk.exporter.metric_data_point.exported",
                &(otel_instrument_opts){.unit = "{data_point}",
                                        .integer = true,
                                        .description =
                                                "The number of metric data points for which the export has "
                                                "finished, either successful or failed"});
}

static void self_record_export(const metrics_exporter *x, uint64_t start_mono, size_t points,
                               size_t rejected, int r, long status)
{
        const char *type = x->push.protocol == OTLP_PROTOCOL_HTTP_JSON ? "otlp_http_json_metric_exporter"
                                                                       : "otlp_http_metric_exporter";
        char err[24];
        otel_attr attrs[3] = {OTEL_ATTR_STR("otel.component.type", type)};
        size_t n = 1;

        if (!self_export_duration)
                return;
        if (status > 0)
                attrs[n++] = OTEL_ATTR_I64("http.response.status_code", status);
        if (r < 0) {
                snprintf(err, sizeof(err), "%s",
                         r == -ETIMEDOUT ? "timeout"
                         : status > 0    ? "http_error"
                                         : "_OTHER");
                attrs[n++] = OTEL_ATTR_STR("error.type", err);
        }
        otel_instrument_record(self_export_duration, (double)(otel_mono_ns() - start_mono) / 1e9, attrs, n);
        if (r < 0) {
                otel_instrument_add(self_points_exported, (double)points,
                                    (otel_attr[]){attrs[0], attrs[n - 1]}, 2);
                return;
        }
        otel_instrument_add(self_points_exported, (double)(points - rejected), attrs, 1);
        if (rejected)
                otel_instrument_add(self_points_exported, (double)rejected,
                                    (otel_attr[]){attrs[0], OTEL_ATTR_STR("error.type", "rejected")}, 2);
}

/* ---- export ---------------------------------------------------------------------------------- */

static const otlp_signal metrics_signal = {
        .env_name = METRICS_SIGNAL,
        .path = METRICS_PATH,
        .name = "metrics",
        .item_name = "data points",
        .json_rejected_field = "rejectedDataPoints",
        .response_descriptor =
                &opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor,
};

static int exporter_push(metrics_exporter *x, const otel_metrics_snapshot *snap, uint64_t deadline_ns)
{
        size_t points = otel_metrics_snapshot_points(snap), rejected = 0;
        uint64_t start = otel_mono_ns();
        otlp_http_result res = {0};
        int r;

        if (points == 0)
                return 0;
        otel_buf_reset(&x->push.body);
        r = x->push.protocol == OTLP_PROTOCOL_HTTP_JSON ? otlp_metrics_encode_json(snap, &x->push.body)
                                                        : otlp_metrics_encode_proto(snap, &x->push.body);
        if (r < 0) {
                otlp_export_encode_failed(&x->push, points, r);
                return r;
        }
        r = otlp_export_send(&x->push, points, deadline_ns, &res, &rejected);
        self_record_export(x, start, points, rejected, r, res.status);
        return r;
}

static void exporter_console(const otel_metrics_snapshot *snap)
{
        otel_buf line = {0};

        if (otel_metrics_snapshot_points(snap) == 0)
                return;
        if (otlp_metrics_encode_json(snap, &line) >= 0 && otel_buf_append(&line, "\n", 1) >= 0)
                /* one fwrite per line: lines from other threads do not interleave */
                (void)!fwrite(line.data, 1, line.len, stderr);
        otel_buf_free(&line);
}

/* One collection, pushed to every configured exporter. */
static int exporter_run(metrics_exporter *x, uint64_t deadline_ns)
{
        otel_metrics_snapshot snap;
        int r;

        pthread_mutex_lock(&x->export_lock);
        r = otel_metrics_collect(&snap);
        if (r >= 0) {
                if (x->console)
                        exporter_console(&snap);
                if (x->otlp)
                        r = exporter_push(x, &snap, deadline_ns);
        }
        otel_metrics_snapshot_done(&snap);
        pthread_mutex_unlock(&x->export_lock);
        return r;
}

static void *exporter_thread(void *arg)
{
        metrics_exporter *x = arg;
        uint64_t next = otel_mono_ns() + x->interval_ms * OTEL_NSEC_PER_MSEC;

        pthread_mutex_lock(&x->lock);
        while (!x->stop) {
                struct timespec ts = {.tv_sec = (time_t)(next / OTEL_NSEC_PER_SEC),
                                      .tv_nsec = (long)(next % OTEL_NSEC_PER_SEC)};

                if (otel_mono_ns() < next) {
                        (void)pthread_cond_timedwait(&x->wake, &x->lock, &ts);
                        continue; /* re-check stop and the time: wake-ups may be spurious */
                }
                pthread_mutex_unlock(&x->lock);
                (void)exporter_run(x, otel_mono_ns() + x->timeout_ms * OTEL_NSEC_PER_MSEC);
                next += x->interval_ms * OTEL_NSEC_PER_MSEC;
                if (next < otel_mono_ns()) /* an export longer than the interval: no catching up */
                        next = otel_mono_ns() + x->interval_ms * OTEL_NSEC_PER_MSEC;
                pthread_mutex_lock(&x->lock);
        }
        pthread_mutex_unlock(&x->lock);
        return NULL;
}

static void exporter_free(metrics_exporter *x)
{
        if (!x)
                return;
        otlp_export_done(&x->push);
        pthread_cond_destroy(&x->wake);
        pthread_mutex_destroy(&x->lock);
        pthread_mutex_destroy(&x->export_lock);
        free(x);
}

/* OTEL_METRICS_EXPORTER entries; unknown ones are warned about and ignored. */
static void exporter_parse_list(metrics_exporter *x)
{
        const char *v = otel_env_get("OTEL_METRICS_EXPORTER");

        if (!v || strlen(v) > METRICS_EXPORTER_LIST_MAX) {
                if (v)
                        otel_diag(OTEL_DIAG_WARN, "OTEL_METRICS_EXPORTER is too long, using \"otlp\"");
                x->otlp = true;
                return;
        }
        for (const char *s = v;;) {
                const char *comma = strchr(s, ',');
                size_t len = comma ? (size_t)(comma - s) : strlen(s);

                otel_propagation_trim_ows(&s, &len);
                if (len == 4 && strncasecmp(s, "otlp", 4) == 0)
                        x->otlp = true;
                else if (len == 7 && strncasecmp(s, "console", 7) == 0)
                        x->console = true;
                else if (len && !(len == 10 && strncasecmp(s, "prometheus", 10) == 0) &&
                         !(len == 4 && strncasecmp(s, "none", 4) == 0))
                        otel_diag(OTEL_DIAG_WARN,
                                  "invalid OTEL_METRICS_EXPORTER entry \"%.*s\" (expected otlp, "
                                  "prometheus, console or none), ignoring it",
                                  (int)len, s);
                if (!comma)
                        return;
                s = comma + 1;
        }
}

int otel_metrics_export_start(const otel_resource *res)
{
        pthread_condattr_t ca;
        metrics_exporter *x;
        int r;

        (void)res; /* collections carry the resource */
        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        pthread_mutex_init(&x->export_lock, NULL);
        pthread_mutex_init(&x->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&x->wake, &ca);
        pthread_condattr_destroy(&ca);
        exporter_parse_list(x);
        if (!x->otlp && !x->console) {
                exporter_free(x);
                return 0;
        }
        x->interval_ms = (uint64_t)otel_env_int("OTEL_METRIC_EXPORT_INTERVAL", METRICS_DEFAULT_INTERVAL_MS,
                                                1, METRICS_MAX_MS);
        x->timeout_ms = (uint64_t)otel_env_int("OTEL_METRIC_EXPORT_TIMEOUT", METRICS_DEFAULT_TIMEOUT_MS, 0,
                                               METRICS_MAX_MS);
        if (x->otlp) {
                r = otlp_export_init(&x->push, &metrics_signal, NULL);
                if (r < 0) {
                        exporter_free(x);
                        return r;
                }
        }
        r = -pthread_create(&x->thread, NULL, exporter_thread, x);
        if (r < 0) {
                exporter_free(x);
                return r;
        }
        x->thread_started = true;
        exporter_global = x;
        return 0;
}

int otel_metrics_export_flush(uint64_t deadline_ns)
{
        metrics_exporter *x = exporter_global;

        if (!x)
                return 0;
        return exporter_run(x, deadline_ns) == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

int otel_metrics_export_stop(uint64_t deadline_ns)
{
        metrics_exporter *x = exporter_global;
        int r;

        if (!x)
                return 0;
        pthread_mutex_lock(&x->lock);
        x->stop = true;
        pthread_cond_signal(&x->wake);
        pthread_mutex_unlock(&x->lock);
        if (x->thread_started)
                pthread_join(x->thread, NULL);
        /* SDK spec: shutdown collects and exports one last time. */
        r = exporter_run(x, deadline_ns);
        exporter_global = NULL;
        exporter_free(x);
        return r == -ETIMEDOUT ? -ETIMEDOUT : 0;
}
