/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP for the logs signal: an ExportLogsServiceRequest as protobuf (protoc-c generated code from
 * src/proto/logs*.proto; a batch a second is no hot path, so the generated packer is fast enough) or
 * as OTLP/JSON (json-c: lowerCamelCase, hex ids, enums as integers, 64-bit integers as strings,
 * defaults left out), the OTLP/HTTP exporter to /v1/logs over the shared transport, and the console
 * exporter (one JSON LogRecord per line). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs.h"
#include "logs_service.pb-c.h"
#include "otlp-common.h"
#include "otlp-export.h"

#define OTLP_LOGS_SIGNAL "LOGS"
#define OTLP_LOGS_PATH   "/v1/logs"
/* LogRecordFlags: the low byte carries the W3C trace flags. */
#define OTLP_LOG_FLAGS_TRACE_FLAGS_MASK 0xffu

typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs pb_rl;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs pb_sl;
typedef Opentelemetry__Proto__Logs__V1__LogRecord pb_record;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest pb_request;

/* ---- protobuf --------------------------------------------------------------------------------- */

typedef otlp_pb_arena pb_ctx;

static pb_record *pb_log_record(pb_ctx *c, const otel_log_record *rec)
{
        static const pb_record init = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
        pb_record *lr = otlp_pb_alloc(c, sizeof(*lr));
        otel_attr body = OTEL_ATTR_STR("", rec->body);

        if (!lr)
                return NULL;
        *lr = init;
        lr->time_unix_nano = rec->time_ns;
        lr->observed_time_unix_nano = rec->observed_ns;
        lr->severity_number = (Opentelemetry__Proto__Logs__V1__SeverityNumber)rec->severity;
        lr->severity_text = (char *)otel_severity_text(rec->severity);
        lr->body = otlp_pb_any_value(c, &body);
        lr->attributes = otlp_pb_attrs(c, rec->attrs.items, rec->attrs.n);
        if (!lr->body || !lr->attributes)
                return NULL;
        lr->n_attributes = rec->attrs.n;
        lr->dropped_attributes_count = rec->attrs.dropped;
        if (rec->has_span) {
                lr->flags = rec->context.trace_flags & OTLP_LOG_FLAGS_TRACE_FLAGS_MASK;
                lr->trace_id = (ProtobufCBinaryData){.len = OTEL_TRACE_ID_SIZE,
                                                     .data = (uint8_t *)rec->context.trace_id};
                lr->span_id = (ProtobufCBinaryData){.len = OTEL_SPAN_ID_SIZE,
                                                    .data = (uint8_t *)rec->context.span_id};
        }
        return lr;
}

static int pb_build(pb_ctx *c, const otel_resource *res, otel_log_record *const *recs, size_t n,
                    pb_request *req)
{
        static const pb_rl rl_init = OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
        static const pb_sl sl_init = OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
        static const pb_scope scope_init = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
        pb_rl *rl = otlp_pb_alloc(c, sizeof(*rl));
        pb_sl *sl = otlp_pb_alloc(c, sizeof(*sl));
        pb_scope *scope = otlp_pb_alloc(c, sizeof(*scope));
        pb_resource *resource = otlp_pb_resource(c, res);
        pb_rl **rls = otlp_pb_alloc(c, sizeof(pb_rl *));
        pb_sl **sls = otlp_pb_alloc(c, sizeof(pb_sl *));

        if (!rl || !sl || !scope || !resource || !rls || !sls)
                return -ENOMEM;
        *rl = rl_init;
        *sl = sl_init;
        *scope = scope_init;
        scope->name = (char *)OTEL_LOG_SCOPE_NAME;
        scope->version = (char *)OTEL_SDK_VERSION;
        sl->scope = scope;
        sl->log_records = otlp_pb_alloc(c, n * sizeof(pb_record *));
        if (!sl->log_records)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                sl->log_records[i] = pb_log_record(c, recs[i]);
                if (!sl->log_records[i])
                        return -ENOMEM;
        }
        sl->n_log_records = n;
        rl->resource = resource;
        sls[0] = sl;
        rl->scope_logs = sls;
        rl->n_scope_logs = 1;
        rls[0] = rl;
        req->resource_logs = rls;
        req->n_resource_logs = 1;
        return 0;
}

int otlp_logs_encode_proto(const otel_resource *res, otel_log_record *const *recs, size_t n, otel_buf *out)
{
        pb_request req = OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
        pb_ctx c = {0};
        size_t size;
        int r;

        otel_arena_init(&c.arena, NULL, 0);
        r = pb_build(&c, res, recs, n, &req);
        if (r >= 0) {
                size = opentelemetry__proto__collector__logs__v1__export_logs_service_request__get_packed_size(
                        &req);
                r = otel_buf_reserve(out, size);
                if (r >= 0) {
                        opentelemetry__proto__collector__logs__v1__export_logs_service_request__pack(
                                &req, out->data + out->len);
                        out->len += size;
                }
        }
        otel_arena_release(&c.arena);
        return r;
}

/* ---- OTLP/JSON -------------------------------------------------------------------------------- */

static json_object *json_log_record(const otel_log_record *rec)
{
        json_object *o = json_object_new_object();
        otel_attr body = OTEL_ATTR_STR("", rec->body);
        int r;

        if (!o)
                return NULL;
        r = otlp_json_put(o, "timeUnixNano", otlp_json_u64(rec->time_ns));
        if (r >= 0)
                r = otlp_json_put(o, "observedTimeUnixNano", otlp_json_u64(rec->observed_ns));
        if (r >= 0)
                r = otlp_json_put(o, "severityNumber", json_object_new_int(rec->severity));
        if (r >= 0)
                r = otlp_json_put(o, "severityText",
                                  json_object_new_string(otel_severity_text(rec->severity)));
        if (r >= 0)
                r = otlp_json_put(o, "body", otlp_json_any_value(&body));
        if (r >= 0)
                r = otlp_json_put_attrs(o, "attributes", rec->attrs.items, rec->attrs.n);
        if (r >= 0 && rec->attrs.dropped)
                r = otlp_json_put(o, "droppedAttributesCount", json_object_new_int64(rec->attrs.dropped));
        if (r >= 0 && rec->has_span) {
                if (rec->context.trace_flags & OTLP_LOG_FLAGS_TRACE_FLAGS_MASK)
                        r = otlp_json_put(o, "flags",
                                          json_object_new_int64(rec->context.trace_flags &
                                                                OTLP_LOG_FLAGS_TRACE_FLAGS_MASK));
                if (r >= 0)
                        r = otlp_json_put(o, "traceId",
                                          otlp_json_hex(rec->context.trace_id, OTEL_TRACE_ID_SIZE));
                if (r >= 0)
                        r = otlp_json_put(o, "spanId",
                                          otlp_json_hex(rec->context.span_id, OTEL_SPAN_ID_SIZE));
        }
        if (r < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int otlp_logs_encode_json(const otel_resource *res, otel_log_record *const *recs, size_t n, otel_buf *out)
{
        json_object *req = json_object_new_object(), *rls, *rl, *sls, *sl, *scope, *records;
        int r;

        if (!req)
                return -ENOMEM;
        rls = json_object_new_array_ext(1);
        r = otlp_json_put(req, "resourceLogs", rls);
        rl = json_object_new_object();
        if (r >= 0)
                r = otlp_json_push(rls, rl);
        if (r >= 0)
                r = otlp_json_put(rl, "resource", otlp_json_resource(res));
        sls = json_object_new_array_ext(1);
        if (r >= 0)
                r = otlp_json_put(rl, "scopeLogs", sls);
        sl = json_object_new_object();
        if (r >= 0)
                r = otlp_json_push(sls, sl);
        scope = json_object_new_object();
        if (r >= 0)
                r = otlp_json_put(sl, "scope", scope);
        if (r >= 0)
                r = otlp_json_put(scope, "name", json_object_new_string(OTEL_LOG_SCOPE_NAME));
        if (r >= 0)
                r = otlp_json_put(scope, "version", json_object_new_string(OTEL_SDK_VERSION));
        records = json_object_new_array_ext((int)n);
        if (r >= 0)
                r = otlp_json_put(sl, "logRecords", records);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = otlp_json_push(records, json_log_record(recs[i]));
        if (r >= 0)
                r = otlp_json_append(req, out);
        json_object_put(req);
        return r;
}

int otlp_log_record_encode_json(const otel_log_record *rec, otel_buf *out)
{
        json_object *o = json_log_record(rec);
        int r;

        if (!o)
                return -ENOMEM;
        r = otlp_json_append(o, out);
        json_object_put(o);
        return r;
}

/* ---- OTLP/HTTP exporter ----------------------------------------------------------------------- */

typedef struct otlp_log_exporter {
        otel_log_exporter base;   /* must be first */
        const otel_resource *res; /* borrowed from the provider, outlives the exporter */
        otlp_exporter otlp;       /* transport, body, diagnostics */
} otlp_log_exporter;

static const otlp_signal logs_signal = {
        .env_name = OTLP_LOGS_SIGNAL,
        .path = OTLP_LOGS_PATH,
        .name = "logs",
        .item_name = "records",
        .json_rejected_field = "rejectedLogRecords",
        .response_descriptor =
                &opentelemetry__proto__collector__logs__v1__export_logs_service_response__descriptor,
};

static int otlp_export(otel_log_exporter *e, otel_log_record *const *recs, size_t n, uint64_t deadline_ns)
{
        otlp_log_exporter *x = (otlp_log_exporter *)e;
        otlp_http_result res;
        size_t rejected;
        int r;

        if (n == 0)
                return 0;
        otel_buf_reset(&x->otlp.body);
        r = x->otlp.protocol == OTLP_PROTOCOL_HTTP_JSON
                    ? otlp_logs_encode_json(x->res, recs, n, &x->otlp.body)
                    : otlp_logs_encode_proto(x->res, recs, n, &x->otlp.body);
        r = otlp_export_encoded_send(&x->otlp, n, r, deadline_ns, &res, &rejected);
        if (r < 0)
                return r; /* logged */
        return (int)(rejected > INT32_MAX ? INT32_MAX : rejected);
}

static void otlp_free(otel_log_exporter *e)
{
        otlp_log_exporter *x = (otlp_log_exporter *)e;

        if (!x)
                return;
        otlp_export_done(&x->otlp);
        free(x);
}

int otel_otlp_log_exporter_new(const otel_resource *res, otel_log_exporter **ret)
{
        otlp_log_exporter *x;
        int r;

        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        r = otlp_export_init(&x->otlp, &logs_signal, NULL);
        if (r < 0) {
                free(x);
                return r;
        }
        x->base.export_logs = otlp_export;
        x->base.free = otlp_free;
        x->res = res;
        *ret = &x->base;
        return 0;
}

/* ---- console exporter ------------------------------------------------------------------------- */

typedef struct console_log_exporter {
        otel_log_exporter base; /* must be first */
        FILE *out;              /* where lines go */
        otel_buf line;          /* reused between records */
} console_log_exporter;

static int record_encode_line(const void *ctx, const void *rec, otel_buf *out)
{
        (void)ctx;
        return otlp_log_record_encode_json(rec, out);
}

static int console_export(otel_log_exporter *e, otel_log_record *const *recs, size_t n, uint64_t deadline_ns)
{
        console_log_exporter *c = (console_log_exporter *)e;

        (void)deadline_ns;
        return otlp_console_write(c->out, &c->line, (const void *const *)recs, n, record_encode_line, NULL);
}

static void console_free(otel_log_exporter *e)
{
        console_log_exporter *c = (console_log_exporter *)e;

        otel_buf_free(&c->line);
        free(c);
}

int otel_console_log_exporter_new(const otel_resource *res, void *stream, otel_log_exporter **ret)
{
        console_log_exporter *c = calloc(1, sizeof(*c));

        (void)res; /* every line would carry the same resource: it is left out */
        if (!c)
                return -ENOMEM;
        c->base.export_logs = console_export;
        c->base.free = console_free;
        c->out = stream;
        *ret = &c->base;
        return 0;
}
