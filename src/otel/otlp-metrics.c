/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP encoding of a metrics snapshot as an ExportMetricsServiceRequest: protobuf through the protoc-c
 * generated code (src/proto/metrics.proto; one export a minute is not a hot path, so the generated
 * packer is fast enough), and OTLP/JSON with json-c (lowerCamelCase, 64-bit integers as strings,
 * enums as integers, hex ids, default values left out). One resource, one ScopeMetrics per meter,
 * cumulative temporality throughout. */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "arena.h"
#include "metrics.h"
#include "metrics_service.pb-c.h"
#include "otlp-common.h"

typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics pb_rm;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics pb_sm;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__Sum pb_sum;
typedef Opentelemetry__Proto__Metrics__V1__Gauge pb_gauge;
typedef Opentelemetry__Proto__Metrics__V1__Histogram pb_hist;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_ndp;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hdp;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar pb_exemplar;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest pb_request;

#define TEMPORALITY_CUMULATIVE                                                                              \
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE

/* The meters of consecutive metrics in a snapshot: collection keeps them grouped. */
static size_t scope_run(const otel_metrics_snapshot *s, size_t i)
{
        size_t j = i + 1;

        while (j < s->n_metrics && s->metrics[j].inst->meter == s->metrics[i].inst->meter)
                j++;
        return j - i;
}

static bool exemplar_count(const otel_point *p, size_t n_buckets, size_t *ret)
{
        size_t n = 0;

        for (size_t b = 0; p->exemplars && b < n_buckets; b++)
                n += p->exemplars[b].set;
        *ret = n;
        return n > 0;
}

typedef otlp_pb_arena pb_ctx;

#define PB_NEW(c, type, init)                                                                               \
        ({                                                                                                  \
                type *p_ = otlp_pb_alloc((c), sizeof(type));                                                \
                if (p_)                                                                                     \
                        *p_ = (type)init;                                                                   \
                p_;                                                                                         \
        })

/* proto2 strings are written when non-NULL: empty ones stay out, as proto3 would leave them. */
static char *pb_str(const char *s)
{
        return s && s[0] ? (char *)s : NULL;
}

static pb_ndp *pb_number_point(pb_ctx *c, const otel_metrics_snapshot *s, const otel_metric_data *md,
                               const otel_point *p)
{
        pb_ndp *dp = PB_NEW(c, pb_ndp, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT);

        if (!dp)
                return NULL;
        dp->attributes = otlp_pb_attrs(c, p->attrs, p->n_attrs);
        dp->n_attributes = p->n_attrs;
        /* Gauges have no start time (data model "Gauge"). */
        dp->has_start_time_unix_nano = otel_instrument_kind_is_sum(md->inst->kind);
        dp->start_time_unix_nano = s->start_ns;
        dp->has_time_unix_nano = true;
        dp->time_unix_nano = s->time_ns;
        if (md->inst->integer) {
                dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
                dp->as_int = p->ivalue;
        } else {
                dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
                dp->as_double = p->value;
        }
        return dp;
}

static pb_exemplar **pb_exemplars(pb_ctx *c, const otel_point *p, size_t n_buckets, size_t n)
{
        pb_exemplar **list = otlp_pb_alloc(c, n * sizeof(pb_exemplar *));
        size_t k = 0;

        if (!list)
                return NULL;
        for (size_t b = 0; b < n_buckets; b++) {
                const otel_exemplar *e = &p->exemplars[b];
                pb_exemplar *x;

                if (!e->set)
                        continue;
                x = PB_NEW(c, pb_exemplar, OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__INIT);
                if (!x)
                        return NULL;
                x->has_time_unix_nano = true;
                x->time_unix_nano = e->time_ns;
                x->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
                x->as_double = e->value;
                x->has_span_id = x->has_trace_id = true;
                x->span_id = (ProtobufCBinaryData){.len = OTEL_SPAN_ID_SIZE, .data = (uint8_t *)e->span_id};
                x->trace_id =
                        (ProtobufCBinaryData){.len = OTEL_TRACE_ID_SIZE, .data = (uint8_t *)e->trace_id};
                list[k++] = x;
        }
        return list;
}

static pb_hdp *pb_histogram_point(pb_ctx *c, const otel_metrics_snapshot *s, const otel_metric_data *md,
                                  const otel_point *p)
{
        const otel_instrument *inst = md->inst;
        pb_hdp *dp = PB_NEW(c, pb_hdp, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT);
        size_t n_ex;

        if (!dp)
                return NULL;
        dp->attributes = otlp_pb_attrs(c, p->attrs, p->n_attrs);
        dp->n_attributes = p->n_attrs;
        dp->has_start_time_unix_nano = dp->has_time_unix_nano = true;
        dp->start_time_unix_nano = s->start_ns;
        dp->time_unix_nano = s->time_ns;
        dp->has_count = p->count != 0;
        dp->count = p->count;
        dp->has_sum = true;
        dp->sum = p->sum;
        dp->has_min = dp->has_max = p->count != 0;
        dp->min = p->min;
        dp->max = p->max;
        dp->n_bucket_counts = inst->n_bounds + 1;
        dp->bucket_counts = p->buckets;
        dp->n_explicit_bounds = inst->n_bounds;
        dp->explicit_bounds = inst->bounds;
        if (exemplar_count(p, inst->n_bounds + 1, &n_ex)) {
                dp->exemplars = pb_exemplars(c, p, inst->n_bounds + 1, n_ex);
                dp->n_exemplars = n_ex;
        }
        return dp;
}

static pb_metric *pb_metric_new(pb_ctx *c, const otel_metrics_snapshot *s, const otel_metric_data *md)
{
        const otel_instrument *inst = md->inst;
        pb_metric *m = PB_NEW(c, pb_metric, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT);
        pb_ndp **ndps = NULL;
        pb_hdp **hdps = NULL;

        if (!m)
                return NULL;
        m->name = inst->name;
        m->description = pb_str(inst->description);
        m->unit = pb_str(inst->unit);
        if (inst->kind == OTEL_INSTRUMENT_HISTOGRAM) {
                pb_hist *h = PB_NEW(c, pb_hist, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT);
                hdps = otlp_pb_alloc(c, md->n_points * sizeof(pb_hdp *));
                if (!h || !hdps)
                        return NULL;
                for (size_t i = 0; i < md->n_points; i++)
                        hdps[i] = pb_histogram_point(c, s, md, &md->points[i]);
                h->data_points = hdps;
                h->n_data_points = md->n_points;
                h->has_aggregation_temporality = true;
                h->aggregation_temporality = TEMPORALITY_CUMULATIVE;
                m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
                m->histogram = h;
                return m;
        }
        ndps = otlp_pb_alloc(c, md->n_points * sizeof(pb_ndp *));
        if (!ndps)
                return NULL;
        for (size_t i = 0; i < md->n_points; i++)
                ndps[i] = pb_number_point(c, s, md, &md->points[i]);
        if (otel_instrument_kind_is_sum(inst->kind)) {
                pb_sum *sum = PB_NEW(c, pb_sum, OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT);
                if (!sum)
                        return NULL;
                sum->data_points = ndps;
                sum->n_data_points = md->n_points;
                sum->has_aggregation_temporality = true;
                sum->aggregation_temporality = TEMPORALITY_CUMULATIVE;
                sum->has_is_monotonic = otel_instrument_kind_is_monotonic(inst->kind);
                sum->is_monotonic = sum->has_is_monotonic;
                m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
                m->sum = sum;
        } else {
                pb_gauge *g = PB_NEW(c, pb_gauge, OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT);
                if (!g)
                        return NULL;
                g->data_points = ndps;
                g->n_data_points = md->n_points;
                m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
                m->gauge = g;
        }
        return m;
}

static pb_request *pb_build(pb_ctx *c, const otel_metrics_snapshot *s)
{
        pb_request *req =
                PB_NEW(c, pb_request,
                       OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT);
        pb_rm *rm = PB_NEW(c, pb_rm, OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT);
        pb_resource *res = otlp_pb_resource(c, s->resource);
        size_t n_scopes = 0, k = 0;

        if (!req || !rm || !res)
                return NULL;
        req->resource_metrics = otlp_pb_alloc(c, sizeof(pb_rm *));
        if (!req->resource_metrics)
                return NULL;
        req->resource_metrics[0] = rm;
        req->n_resource_metrics = 1;
        rm->resource = res;
        for (size_t i = 0; i < s->n_metrics; i += scope_run(s, i))
                n_scopes++;
        rm->scope_metrics = otlp_pb_alloc(c, n_scopes * sizeof(pb_sm *));
        if (!rm->scope_metrics)
                return NULL;
        for (size_t i = 0; i < s->n_metrics; k++) {
                size_t run = scope_run(s, i);
                const otel_meter *meter = s->metrics[i].inst->meter;
                pb_sm *sm = PB_NEW(c, pb_sm, OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT);
                pb_scope *scope =
                        PB_NEW(c, pb_scope, OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT);

                if (!sm || !scope)
                        return NULL;
                scope->name = meter->scope_name;
                scope->version = meter->scope_version ? meter->scope_version : (char *)"";
                sm->scope = scope;
                sm->metrics = otlp_pb_alloc(c, run * sizeof(pb_metric *));
                if (!sm->metrics)
                        return NULL;
                for (size_t j = 0; j < run; j++)
                        sm->metrics[j] = pb_metric_new(c, s, &s->metrics[i + j]);
                sm->n_metrics = run;
                rm->scope_metrics[k] = sm;
                i += run;
        }
        rm->n_scope_metrics = n_scopes;
        return req;
}

int otlp_metrics_encode_proto(const otel_metrics_snapshot *s, otel_buf *out)
{
        pb_ctx c = {0};
        pb_request *req;
        size_t size;
        int r;

        otel_arena_init(&c.arena, NULL, 0);
        req = pb_build(&c, s);
        if (!req || c.oom) {
                otel_arena_release(&c.arena);
                return -ENOMEM;
        }
        size = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__get_packed_size(
                req);
        r = otel_buf_reserve(out, size + 1);
        if (r >= 0) {
                opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__pack(
                        req, out->data + out->len);
                out->len += size;
                out->data[out->len] = 0;
        }
        otel_arena_release(&c.arena);
        return r;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static int j_exemplars(json_object *dp, const otel_point *p, size_t n_buckets)
{
        json_object *arr;
        size_t n;
        int r;

        if (!exemplar_count(p, n_buckets, &n))
                return 0;
        arr = json_object_new_array_ext((int)n);
        r = otlp_json_put(dp, "exemplars", arr);
        for (size_t b = 0; r >= 0 && b < n_buckets; b++) {
                const otel_exemplar *e = &p->exemplars[b];
                json_object *x;

                if (!e->set)
                        continue;
                x = json_object_new_object();
                r = otlp_json_push(arr, x);
                if (r >= 0)
                        r = otlp_json_put(x, "timeUnixNano", otlp_json_u64(e->time_ns));
                if (r >= 0)
                        r = otlp_json_put(x, "asDouble", otlp_json_double(e->value));
                if (r >= 0)
                        r = otlp_json_put(x, "spanId", otlp_json_hex(e->span_id, OTEL_SPAN_ID_SIZE));
                if (r >= 0)
                        r = otlp_json_put(x, "traceId", otlp_json_hex(e->trace_id, OTEL_TRACE_ID_SIZE));
        }
        return r;
}

static int j_point(json_object *arr, const otel_metrics_snapshot *s, const otel_metric_data *md,
                   const otel_point *p)
{
        const otel_instrument *inst = md->inst;
        json_object *dp = json_object_new_object(), *list;
        int r;

        r = otlp_json_push(arr, dp);
        if (r >= 0)
                r = otlp_json_put_attrs(dp, "attributes", p->attrs, p->n_attrs);
        if (r >= 0 && inst->kind != OTEL_INSTRUMENT_GAUGE && inst->kind != OTEL_INSTRUMENT_OBSERVABLE_GAUGE)
                r = otlp_json_put(dp, "startTimeUnixNano", otlp_json_u64(s->start_ns));
        if (r >= 0)
                r = otlp_json_put(dp, "timeUnixNano", otlp_json_u64(s->time_ns));
        if (r < 0)
                return r;
        if (inst->kind != OTEL_INSTRUMENT_HISTOGRAM)
                return inst->integer ? otlp_json_put(dp, "asInt", otlp_json_i64(p->ivalue))
                                     : otlp_json_put(dp, "asDouble", otlp_json_double(p->value));
        if (p->count)
                r = otlp_json_put(dp, "count", otlp_json_u64(p->count));
        if (r >= 0)
                r = otlp_json_put(dp, "sum", otlp_json_double(p->sum));
        if (r >= 0) {
                list = json_object_new_array_ext((int)inst->n_bounds + 1);
                r = otlp_json_put(dp, "bucketCounts", list);
                for (size_t b = 0; r >= 0 && b <= inst->n_bounds; b++)
                        r = otlp_json_push(list, otlp_json_u64(p->buckets[b]));
        }
        if (r >= 0 && inst->n_bounds) {
                list = json_object_new_array_ext((int)inst->n_bounds);
                r = otlp_json_put(dp, "explicitBounds", list);
                for (size_t b = 0; r >= 0 && b < inst->n_bounds; b++)
                        r = otlp_json_push(list, otlp_json_double(inst->bounds[b]));
        }
        if (r >= 0)
                r = j_exemplars(dp, p, inst->n_bounds + 1);
        if (r >= 0 && p->count)
                r = otlp_json_put(dp, "min", otlp_json_double(p->min));
        if (r >= 0 && p->count)
                r = otlp_json_put(dp, "max", otlp_json_double(p->max));
        return r;
}

static int j_metric(json_object *arr, const otel_metrics_snapshot *s, const otel_metric_data *md)
{
        const otel_instrument *inst = md->inst;
        json_object *m = json_object_new_object(), *data, *points;
        const char *field;
        int r;

        r = otlp_json_push(arr, m);
        if (r >= 0)
                r = otlp_json_put(m, "name", json_object_new_string(inst->name));
        if (r >= 0 && inst->description[0])
                r = otlp_json_put(m, "description", json_object_new_string(inst->description));
        if (r >= 0 && inst->unit[0])
                r = otlp_json_put(m, "unit", json_object_new_string(inst->unit));
        if (r < 0)
                return r;
        field = inst->kind == OTEL_INSTRUMENT_HISTOGRAM   ? "histogram"
                : otel_instrument_kind_is_sum(inst->kind) ? "sum"
                                                          : "gauge";
        data = json_object_new_object();
        r = otlp_json_put(m, field, data);
        if (r < 0)
                return r;
        points = json_object_new_array_ext((int)md->n_points);
        r = otlp_json_put(data, "dataPoints", points);
        for (size_t i = 0; r >= 0 && i < md->n_points; i++)
                r = j_point(points, s, md, &md->points[i]);
        if (r >= 0 && inst->kind != OTEL_INSTRUMENT_GAUGE && inst->kind != OTEL_INSTRUMENT_OBSERVABLE_GAUGE)
                r = otlp_json_put(data, "aggregationTemporality",
                                  json_object_new_int(TEMPORALITY_CUMULATIVE));
        if (r >= 0 && otel_instrument_kind_is_monotonic(inst->kind))
                r = otlp_json_put(data, "isMonotonic", json_object_new_boolean(true));
        return r;
}

static int j_request(json_object *req, const otel_metrics_snapshot *s)
{
        json_object *rms = json_object_new_array_ext(1), *rm, *sms;
        int r;

        r = otlp_json_put(req, "resourceMetrics", rms);
        if (r < 0)
                return r;
        rm = json_object_new_object();
        r = otlp_json_push(rms, rm);
        if (r < 0)
                return r;
        r = otlp_json_put(rm, "resource", otlp_json_resource(s->resource));
        if (r < 0 || s->n_metrics == 0)
                return r;
        sms = json_object_new_array();
        r = otlp_json_put(rm, "scopeMetrics", sms);
        for (size_t i = 0; r >= 0 && i < s->n_metrics;) {
                size_t run = scope_run(s, i);
                const otel_meter *meter = s->metrics[i].inst->meter;
                json_object *sm = json_object_new_object(), *scope, *metrics;

                r = otlp_json_push(sms, sm);
                if (r < 0)
                        return r;
                scope = json_object_new_object();
                r = otlp_json_put(sm, "scope", scope);
                if (r >= 0 && meter->scope_name[0])
                        r = otlp_json_put(scope, "name", json_object_new_string(meter->scope_name));
                if (r >= 0 && meter->scope_version && meter->scope_version[0])
                        r = otlp_json_put(scope, "version", json_object_new_string(meter->scope_version));
                if (r < 0)
                        return r;
                metrics = json_object_new_array_ext((int)run);
                r = otlp_json_put(sm, "metrics", metrics);
                for (size_t j = 0; r >= 0 && j < run; j++)
                        r = j_metric(metrics, s, &s->metrics[i + j]);
                i += run;
        }
        return r;
}

int otlp_metrics_encode_json(const otel_metrics_snapshot *s, otel_buf *out)
{
        json_object *req = json_object_new_object();
        int r;

        if (!req)
                return -ENOMEM;
        r = j_request(req, s);
        if (r >= 0)
                r = otlp_json_append(req, out);
        json_object_put(req);
        return r;
}
