/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP for the logs signal: an ExportLogsServiceRequest as protobuf (protoc-c generated code from
 * src/proto/logs*.proto; a batch a second is no hot path, so the generated packer is fast enough) or
 * as OTLP/JSON (json-c: lowerCamelCase, hex ids, enums as integers, 64-bit integers as strings,
 * defaults left out), the OTLP/HTTP exporter to /v1/logs over the shared transport, and the console
 * exporter (one JSON LogRecord per line). */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "config.h"
#include "diag.h"
#include "logs.h"
#include "logs_service.pb-c.h"
#include "otlp-http.h"

#define OTLP_LOGS_SIGNAL "LOGS"
#define OTLP_LOGS_PATH   "/v1/logs"
#define JSON_U64_DIGITS  24 /* "18446744073709551615", a sign and a NUL */
/* LogRecordFlags: the low byte carries the W3C trace flags. */
#define OTLP_LOG_FLAGS_TRACE_FLAGS_MASK 0xffu

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs pb_rl;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs pb_sl;
typedef Opentelemetry__Proto__Logs__V1__LogRecord pb_record;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest pb_request;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse pb_response;

/* ---- protobuf --------------------------------------------------------------------------------- */

/* Every message of one request lives in one arena, released at once. */
typedef struct pb_ctx {
        otel_arena arena;
} pb_ctx;

static void *pb_alloc(pb_ctx *c, size_t size)
{
        void *p = otel_arena_alloc(&c->arena, size ? size : 1, 16);

        if (p)
                memset(p, 0, size);
        return p;
}

static pb_any *pb_scalar(pb_ctx *c, otel_attr_type type, const void *items, size_t i)
{
        static const pb_any init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        pb_any *v = pb_alloc(c, sizeof(*v));

        if (!v)
                return NULL;
        *v = init;
        switch (type) {
        case OTEL_ATTR_STRING_ARRAY: {
                const char *s = ((const char *const *)items)[i];
                v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
                v->string_value = (char *)(s ? s : "");
                break;
        }
        case OTEL_ATTR_BOOL_ARRAY:
                v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
                v->bool_value = ((const bool *)items)[i];
                break;
        case OTEL_ATTR_INT_ARRAY:
                v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
                v->int_value = ((const int64_t *)items)[i];
                break;
        default:
                v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
                v->double_value = ((const double *)items)[i];
                break;
        }
        return v;
}

static pb_any *pb_value(pb_ctx *c, const otel_attr *a)
{
        static const pb_any any_init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        static const pb_array array_init = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        pb_any *v;
        pb_array *arr;

        switch (a->type) {
        case OTEL_ATTR_STRING:
                return pb_scalar(c, OTEL_ATTR_STRING_ARRAY, &a->v.s, 0);
        case OTEL_ATTR_BOOL:
                return pb_scalar(c, OTEL_ATTR_BOOL_ARRAY, &a->v.b, 0);
        case OTEL_ATTR_INT:
                return pb_scalar(c, OTEL_ATTR_INT_ARRAY, &a->v.i, 0);
        case OTEL_ATTR_DOUBLE:
                return pb_scalar(c, OTEL_ATTR_DOUBLE_ARRAY, &a->v.d, 0);
        default:
                break;
        }
        v = pb_alloc(c, sizeof(*v));
        arr = pb_alloc(c, sizeof(*arr));
        if (!v || !arr)
                return NULL;
        *v = any_init;
        *arr = array_init;
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        v->array_value = arr;
        arr->values = pb_alloc(c, a->v.array.n * sizeof(pb_any *));
        if (!arr->values)
                return NULL;
        for (size_t i = 0; i < a->v.array.n; i++) {
                arr->values[i] = pb_scalar(c, a->type, a->v.array.items, i);
                if (!arr->values[i])
                        return NULL;
        }
        arr->n_values = a->v.array.n;
        return v;
}

static int pb_attrs(pb_ctx *c, const otel_attr *attrs, size_t n, pb_kv ***ret, size_t *ret_n)
{
        static const pb_kv kv_init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
        pb_kv **list = pb_alloc(c, n * sizeof(pb_kv *));

        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                list[i] = pb_alloc(c, sizeof(pb_kv));
                if (!list[i])
                        return -ENOMEM;
                *list[i] = kv_init;
                list[i]->key = (char *)attrs[i].key;
                list[i]->value = pb_value(c, &attrs[i]);
                if (!list[i]->value)
                        return -ENOMEM;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

static pb_record *pb_log_record(pb_ctx *c, const otel_log_record *rec)
{
        static const pb_record init = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
        pb_record *lr = pb_alloc(c, sizeof(*lr));
        otel_attr body = OTEL_ATTR_STR("", rec->body);

        if (!lr)
                return NULL;
        *lr = init;
        lr->time_unix_nano = rec->time_ns;
        lr->observed_time_unix_nano = rec->observed_ns;
        lr->severity_number = (Opentelemetry__Proto__Logs__V1__SeverityNumber)rec->severity;
        lr->severity_text = (char *)otel_severity_text(rec->severity);
        lr->body = pb_value(c, &body);
        if (!lr->body || pb_attrs(c, rec->attrs.items, rec->attrs.n, &lr->attributes, &lr->n_attributes) < 0)
                return NULL;
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
        static const pb_resource res_init = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
        pb_rl *rl = pb_alloc(c, sizeof(*rl));
        pb_sl *sl = pb_alloc(c, sizeof(*sl));
        pb_scope *scope = pb_alloc(c, sizeof(*scope));
        pb_resource *resource = pb_alloc(c, sizeof(*resource));
        pb_rl **rls = pb_alloc(c, sizeof(pb_rl *));
        pb_sl **sls = pb_alloc(c, sizeof(pb_sl *));

        if (!rl || !sl || !scope || !resource || !rls || !sls)
                return -ENOMEM;
        *rl = rl_init;
        *sl = sl_init;
        *scope = scope_init;
        *resource = res_init;
        if (res) {
                if (pb_attrs(c, res->attrs.items, res->attrs.n, &resource->attributes,
                             &resource->n_attributes) < 0)
                        return -ENOMEM;
                resource->dropped_attributes_count = res->attrs.dropped;
        }
        scope->name = (char *)OTEL_LOG_SCOPE_NAME;
        scope->version = (char *)OTELDEMO_VERSION;
        sl->scope = scope;
        sl->log_records = pb_alloc(c, n * sizeof(pb_record *));
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
        pb_ctx c;
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

#define JSON_KEY_FLAGS (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT)
#define JSON_OUT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Adds val (taking ownership) under key; every failure is -ENOMEM. */
static int json_put(json_object *obj, const char *key, json_object *val)
{
        if (!val)
                return -ENOMEM;
        if (json_object_object_add_ex(obj, key, val, JSON_KEY_FLAGS) < 0) {
                json_object_put(val);
                return -ENOMEM;
        }
        return 0;
}

static int json_push(json_object *arr, json_object *val)
{
        if (!val)
                return -ENOMEM;
        if (json_object_array_add(arr, val) < 0) {
                json_object_put(val);
                return -ENOMEM;
        }
        return 0;
}

static json_object *json_u64_string(uint64_t v)
{
        char s[JSON_U64_DIGITS];

        snprintf(s, sizeof(s), "%" PRIu64, v);
        return json_object_new_string(s);
}

static json_object *json_wrap(const char *field, json_object *val)
{
        json_object *o = json_object_new_object();

        if (!o || json_put(o, field, val) < 0) {
                if (!o)
                        json_object_put(val);
                json_object_put(o);
                return NULL;
        }
        return o;
}

static json_object *json_scalar(otel_attr_type type, const void *items, size_t i)
{
        char s[JSON_U64_DIGITS];
        double d;

        switch (type) {
        case OTEL_ATTR_STRING_ARRAY: {
                const char *str = ((const char *const *)items)[i];
                return json_wrap("stringValue", json_object_new_string(str ? str : ""));
        }
        case OTEL_ATTR_BOOL_ARRAY:
                return json_wrap("boolValue", json_object_new_boolean(((const bool *)items)[i]));
        case OTEL_ATTR_INT_ARRAY:
                snprintf(s, sizeof(s), "%" PRId64, ((const int64_t *)items)[i]);
                return json_wrap("intValue", json_object_new_string(s));
        default:
                d = ((const double *)items)[i];
                if (isnan(d))
                        return json_wrap("doubleValue", json_object_new_string("NaN"));
                if (isinf(d))
                        return json_wrap("doubleValue",
                                         json_object_new_string(d > 0 ? "Infinity" : "-Infinity"));
                return json_wrap("doubleValue", json_object_new_double(d));
        }
}

static json_object *json_value(const otel_attr *a)
{
        json_object *arr, *values, *o;

        switch (a->type) {
        case OTEL_ATTR_STRING:
                return json_scalar(OTEL_ATTR_STRING_ARRAY, &a->v.s, 0);
        case OTEL_ATTR_BOOL:
                return json_scalar(OTEL_ATTR_BOOL_ARRAY, &a->v.b, 0);
        case OTEL_ATTR_INT:
                return json_scalar(OTEL_ATTR_INT_ARRAY, &a->v.i, 0);
        case OTEL_ATTR_DOUBLE:
                return json_scalar(OTEL_ATTR_DOUBLE_ARRAY, &a->v.d, 0);
        default:
                break;
        }
        arr = json_object_new_object();
        o = json_wrap("arrayValue", arr);
        if (!o || a->v.array.n == 0)
                return o; /* an empty repeated field is left out: "arrayValue": {} */
        values = json_object_new_array_ext((int)a->v.array.n);
        if (json_put(arr, "values", values) < 0) {
                json_object_put(o);
                return NULL;
        }
        for (size_t i = 0; i < a->v.array.n; i++)
                if (json_push(values, json_scalar(a->type, a->v.array.items, i)) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        return o;
}

/* "attributes": [{"key": …, "value": {…}}, …], left out when there are none. */
static int json_put_attrs(json_object *obj, const otel_attr *items, size_t n)
{
        json_object *arr;
        int r;

        if (n == 0)
                return 0;
        arr = json_object_new_array_ext((int)n);
        r = json_put(obj, "attributes", arr);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                json_object *kv = json_object_new_object();

                r = json_push(arr, kv);
                if (r >= 0)
                        r = json_put(kv, "key", json_object_new_string(items[i].key));
                if (r >= 0)
                        r = json_put(kv, "value", json_value(&items[i]));
        }
        return r;
}

static int json_put_hex(json_object *obj, const char *key, const uint8_t *id, size_t n)
{
        char hex[OTEL_TRACE_ID_HEX + 1];

        if (n == OTEL_TRACE_ID_SIZE)
                otel_trace_id_to_hex(id, hex);
        else
                otel_span_id_to_hex(id, hex);
        return json_put(obj, key, json_object_new_string(hex));
}

static json_object *json_log_record(const otel_log_record *rec)
{
        json_object *o = json_object_new_object();
        otel_attr body = OTEL_ATTR_STR("", rec->body);
        int r;

        if (!o)
                return NULL;
        r = json_put(o, "timeUnixNano", json_u64_string(rec->time_ns));
        if (r >= 0)
                r = json_put(o, "observedTimeUnixNano", json_u64_string(rec->observed_ns));
        if (r >= 0)
                r = json_put(o, "severityNumber", json_object_new_int(rec->severity));
        if (r >= 0)
                r = json_put(o, "severityText", json_object_new_string(otel_severity_text(rec->severity)));
        if (r >= 0)
                r = json_put(o, "body", json_value(&body));
        if (r >= 0)
                r = json_put_attrs(o, rec->attrs.items, rec->attrs.n);
        if (r >= 0 && rec->attrs.dropped)
                r = json_put(o, "droppedAttributesCount", json_object_new_int64(rec->attrs.dropped));
        if (r >= 0 && rec->has_span) {
                if (rec->context.trace_flags & OTLP_LOG_FLAGS_TRACE_FLAGS_MASK)
                        r = json_put(o, "flags",
                                     json_object_new_int64(rec->context.trace_flags &
                                                           OTLP_LOG_FLAGS_TRACE_FLAGS_MASK));
                if (r >= 0)
                        r = json_put_hex(o, "traceId", rec->context.trace_id, OTEL_TRACE_ID_SIZE);
                if (r >= 0)
                        r = json_put_hex(o, "spanId", rec->context.span_id, OTEL_SPAN_ID_SIZE);
        }
        if (r < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int json_append(json_object *root, otel_buf *out)
{
        size_t len;
        const char *s = json_object_to_json_string_length(root, JSON_OUT_FLAGS, &len);

        return s ? otel_buf_append(out, s, len) : -ENOMEM;
}

int otlp_logs_encode_json(const otel_resource *res, otel_log_record *const *recs, size_t n, otel_buf *out)
{
        json_object *req = json_object_new_object(), *rls, *rl, *resource, *sls, *sl, *scope, *records;
        int r;

        if (!req)
                return -ENOMEM;
        rls = json_object_new_array_ext(1);
        r = json_put(req, "resourceLogs", rls);
        rl = json_object_new_object();
        if (r >= 0)
                r = json_push(rls, rl);
        resource = json_object_new_object();
        if (r >= 0)
                r = json_put(rl, "resource", resource);
        if (r >= 0 && res)
                r = json_put_attrs(resource, res->attrs.items, res->attrs.n);
        if (r >= 0 && res && res->attrs.dropped)
                r = json_put(resource, "droppedAttributesCount", json_object_new_int64(res->attrs.dropped));
        sls = json_object_new_array_ext(1);
        if (r >= 0)
                r = json_put(rl, "scopeLogs", sls);
        sl = json_object_new_object();
        if (r >= 0)
                r = json_push(sls, sl);
        scope = json_object_new_object();
        if (r >= 0)
                r = json_put(sl, "scope", scope);
        if (r >= 0)
                r = json_put(scope, "name", json_object_new_string(OTEL_LOG_SCOPE_NAME));
        if (r >= 0)
                r = json_put(scope, "version", json_object_new_string(OTELDEMO_VERSION));
        records = json_object_new_array_ext((int)n);
        if (r >= 0)
                r = json_put(sl, "logRecords", records);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = json_push(records, json_log_record(recs[i]));
        if (r >= 0)
                r = json_append(req, out);
        json_object_put(req);
        return r;
}

int otlp_log_record_encode_json(const otel_log_record *rec, otel_buf *out)
{
        json_object *o = json_log_record(rec);
        int r;

        if (!o)
                return -ENOMEM;
        r = json_append(o, out);
        json_object_put(o);
        return r;
}

/* ---- OTLP/HTTP exporter ----------------------------------------------------------------------- */

typedef struct otlp_log_exporter {
        otel_log_exporter base;           /* must be first */
        const otel_resource *res;         /* borrowed from the provider, outlives the exporter */
        otlp_http *http;                  /* transport, owned */
        otlp_protocol protocol;           /* encoding of requests */
        otel_buf body;                    /* encoded request, reused between batches */
        otlp_log_limiter partial_limiter; /* partial-success warnings */
        otlp_log_limiter encode_limiter;  /* encoder failures */
} otlp_log_exporter;

/* ExportLogsPartialSuccess: how many of n records the receiver says it rejected, and why. */
static size_t response_rejected(const otlp_log_exporter *x, const otlp_http_result *res, size_t n,
                                char **ret_message)
{
        int64_t rejected = 0;
        bool json = res->content_type ? strncasecmp(res->content_type, "application/json", 16) == 0
                                      : x->protocol == OTLP_PROTOCOL_HTTP_JSON;

        *ret_message = NULL;
        if (!res->body || res->body_len == 0)
                return 0; /* an empty body is an empty message: full success */
        if (json) {
                json_tokener *tok = json_tokener_new();
                json_object *root = tok ? json_tokener_parse_ex(tok, (const char *)res->body,
                                                                (int)res->body_len)
                                        : NULL,
                            *ps, *v;

                if (tok)
                        json_tokener_free(tok);
                if (root && json_object_object_get_ex(root, "partialSuccess", &ps)) {
                        if (json_object_object_get_ex(ps, "rejectedLogRecords", &v))
                                rejected = json_object_get_int64(v);
                        if (json_object_object_get_ex(ps, "errorMessage", &v) &&
                            json_object_get_string_len(v) > 0)
                                *ret_message = strdup(json_object_get_string(v));
                }
                json_object_put(root);
        } else {
                pb_response *resp =
                        opentelemetry__proto__collector__logs__v1__export_logs_service_response__unpack(
                                NULL, res->body_len, res->body);

                if (resp && resp->partial_success) {
                        rejected = resp->partial_success->rejected_log_records;
                        if (resp->partial_success->error_message && resp->partial_success->error_message[0])
                                *ret_message = strdup(resp->partial_success->error_message);
                }
                if (resp)
                        opentelemetry__proto__collector__logs__v1__export_logs_service_response__free_unpacked(
                                resp, NULL);
        }
        return rejected <= 0 ? 0 : (uint64_t)rejected > n ? n : (size_t)rejected;
}

static int otlp_export(otel_log_exporter *e, otel_log_record *const *recs, size_t n, uint64_t deadline_ns)
{
        otlp_log_exporter *x = (otlp_log_exporter *)e;
        otlp_http_result res;
        uint64_t suppressed = 0;
        size_t rejected;
        char *message;
        int r;

        if (n == 0)
                return 0;
        otel_buf_reset(&x->body);
        r = x->protocol == OTLP_PROTOCOL_HTTP_JSON ? otlp_logs_encode_json(x->res, recs, n, &x->body)
                                                   : otlp_logs_encode_proto(x->res, recs, n, &x->body);
        if (r < 0) {
                if (otlp_log_limiter_allow(&x->encode_limiter, (uint64_t)-r, otel_mono_ns(), &suppressed))
                        otel_diag(OTEL_DIAG_WARN, "OTLP logs export: cannot encode %zu records: %s", n,
                                  strerror(-r));
                return r;
        }
        r = otlp_http_send(x->http, x->body.data, x->body.len, deadline_ns, &res);
        if (r < 0)
                return r; /* the transport logged why */
        rejected = response_rejected(x, &res, n, &message);
        if ((rejected || message) &&
            otlp_log_limiter_allow(&x->partial_limiter, otlp_log_key(message, rejected > 0), otel_mono_ns(),
                                   &suppressed))
                otel_diag(OTEL_DIAG_WARN, "OTLP logs export: the receiver rejected %zu of %zu records: %s",
                          rejected, n, message ? message : "(no message)");
        free(message);
        return (int)(rejected > INT32_MAX ? INT32_MAX : rejected);
}

static void otlp_free(otel_log_exporter *e)
{
        otlp_log_exporter *x = (otlp_log_exporter *)e;

        if (!x)
                return;
        otlp_http_free(x->http);
        otel_buf_free(&x->body);
        free(x);
}

int otel_otlp_log_exporter_new(const otel_resource *res, otel_log_exporter **ret)
{
        otlp_log_exporter *x;
        otlp_http_config cfg;
        int r;

        r = otlp_http_config_from_env(OTLP_LOGS_SIGNAL, OTLP_LOGS_PATH, &cfg);
        if (r < 0)
                return r;
        x = calloc(1, sizeof(*x));
        if (!x) {
                otlp_http_config_done(&cfg);
                return -ENOMEM;
        }
        x->base.export_logs = otlp_export;
        x->base.free = otlp_free;
        x->res = res;
        x->protocol = cfg.protocol;
        r = otlp_http_new(&cfg, &x->http);
        if (r < 0) {
                free(x);
                return r;
        }
        *ret = &x->base;
        return 0;
}

/* ---- console exporter ------------------------------------------------------------------------- */

typedef struct console_log_exporter {
        otel_log_exporter base; /* must be first */
        FILE *out;              /* where lines go */
        otel_buf line;          /* reused between records */
} console_log_exporter;

static int console_export(otel_log_exporter *e, otel_log_record *const *recs, size_t n, uint64_t deadline_ns)
{
        console_log_exporter *c = (console_log_exporter *)e;
        int ret = 0;

        (void)deadline_ns;
        for (size_t i = 0; i < n; i++) {
                int r;

                otel_buf_reset(&c->line);
                r = otlp_log_record_encode_json(recs[i], &c->line);
                if (r >= 0)
                        r = otel_buf_append(&c->line, "\n", 1);
                if (r < 0) {
                        ret = r;
                        continue;
                }
                /* One fwrite per line keeps lines whole when other threads write to the stream. */
                if (fwrite(c->line.data, 1, c->line.len, c->out) != c->line.len)
                        ret = -EIO;
        }
        fflush(c->out);
        return ret;
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
