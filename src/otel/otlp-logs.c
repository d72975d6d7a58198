/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP for the logs signal: an ExportLogsServiceRequest as protobuf (the writer of pb-writer.h; the
 * protoc-c generated code from src/proto/logs*.proto decodes responses and, in tests, our output) or
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
#include "pb-writer.h"

#define OTLP_LOGS_SIGNAL "LOGS"
#define OTLP_LOGS_PATH   "/v1/logs"
/* LogRecordFlags: the low byte carries the W3C trace flags. */
#define OTLP_LOG_FLAGS_TRACE_FLAGS_MASK 0xffu

/* ---- protobuf --------------------------------------------------------------------------------- */

/* Field numbers of logs.proto and logs_service.proto. */
enum {
        F_REQUEST_RESOURCE_LOGS = 1, /* ExportLogsServiceRequest */
        F_RL_RESOURCE = 1,           /* ResourceLogs */
        F_RL_SCOPE_LOGS = 2,
        F_SL_SCOPE = 1, /* ScopeLogs */
        F_SL_LOG_RECORDS = 2,
        F_LR_TIME = 1, /* LogRecord */
        F_LR_SEVERITY_NUMBER = 2,
        F_LR_SEVERITY_TEXT = 3,
        F_LR_BODY = 5,
        F_LR_ATTRIBUTES = 6,
        F_LR_DROPPED_ATTRIBUTES = 7,
        F_LR_FLAGS = 8,
        F_LR_TRACE_ID = 9,
        F_LR_SPAN_ID = 10,
        F_LR_OBSERVED_TIME = 11,
};

/* First guess of the encoded size of a record, to size the buffer once for typical batches. */
#define OTLP_LOG_RECORD_SIZE_GUESS 384u

/* One LogRecord as field F_SL_LOG_RECORDS; fields in descending order, proto3 defaults left out. */
static void pbw_log_record(pb_writer *w, const otel_log_record *rec)
{
        otel_attr body = OTEL_ATTR_STR("", rec->body);
        size_t mark = pbw_written(w), value;
        uint32_t flags = rec->context.trace_flags & OTLP_LOG_FLAGS_TRACE_FLAGS_MASK;

        if (rec->observed_ns)
                pbw_fixed64(w, F_LR_OBSERVED_TIME, rec->observed_ns);
        if (rec->has_span) {
                pbw_id_field(w, F_LR_SPAN_ID, rec->context.span_id, OTEL_SPAN_ID_SIZE);
                pbw_id_field(w, F_LR_TRACE_ID, rec->context.trace_id, OTEL_TRACE_ID_SIZE);
                if (flags)
                        pbw_fixed32(w, F_LR_FLAGS, flags);
        }
        pbw_uint(w, F_LR_DROPPED_ATTRIBUTES, rec->attrs.dropped);
        pbw_attrs(w, F_LR_ATTRIBUTES, rec->attrs.items, rec->attrs.n);
        value = pbw_written(w);
        pbw_any_value(w, &body);
        pbw_close(w, F_LR_BODY, value);
        pbw_string(w, F_LR_SEVERITY_TEXT, otel_severity_text(rec->severity));
        pbw_uint(w, F_LR_SEVERITY_NUMBER, (uint64_t)rec->severity);
        if (rec->time_ns)
                pbw_fixed64(w, F_LR_TIME, rec->time_ns);
        pbw_close(w, F_SL_LOG_RECORDS, mark);
}

/* The generated packer re-sizes every sub-message at each level; with a record per request (the
 * access log) it cost more than the spans of that request. The writer of the span encoder does it in
 * one pass; protoc-c's code stays the reference the tests decode with. */
int otlp_logs_encode_proto(const otel_resource *res, otel_log_record *const *recs, size_t n, otel_buf *out)
{
        size_t rl, sl;
        pb_writer w;
        int r;

        if (!out || (n > 0 && !recs))
                return -EINVAL;
        r = pbw_init(&w, out, 256 + n * OTLP_LOG_RECORD_SIZE_GUESS);
        if (r < 0)
                return r;
        rl = pbw_written(&w);
        sl = pbw_written(&w);
        for (size_t i = n; i-- > 0;)
                pbw_log_record(&w, recs[i]);
        pbw_scope(&w, F_SL_SCOPE, OTEL_LOG_SCOPE_NAME, OTEL_SDK_VERSION);
        pbw_close(&w, F_RL_SCOPE_LOGS, sl);
        pbw_resource(&w, F_RL_RESOURCE, res);
        pbw_close(&w, F_REQUEST_RESOURCE_LOGS, rl);
        return pbw_finish(&w);
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
