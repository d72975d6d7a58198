/* SPDX-License-Identifier: Apache-2.0 */
/* The OTLP encoding pieces shared by the trace, metrics and logs encoders and the tracez JSON view:
 * AnyValue and KeyValue lists in OTLP/JSON and as protoc-c messages, and the json-c helpers under
 * them. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "otlp-common.h"

/* Object keys are string literals: json-c need not copy them, and never sees one twice. */
#define JSON_KEY_FLAGS    (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT)
#define JSON_OUT_FLAGS    (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define JSON_INT64_DIGITS 24 /* "18446744073709551615" or "-9223372036854775808", and a NUL */
#define OTLP_ID_MAX_SIZE  16 /* a trace id; a span id is 8 */

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;

/* ---- OTLP/JSON -------------------------------------------------------------------------------- */

int otlp_json_put(json_object *obj, const char *key, json_object *val)
{
        if (!val)
                return -ENOMEM;
        if (json_object_object_add_ex(obj, key, val, JSON_KEY_FLAGS) < 0) {
                json_object_put(val);
                return -ENOMEM;
        }
        return 0;
}

int otlp_json_put_copy(json_object *obj, const char *key, json_object *val)
{
        if (!val)
                return -ENOMEM;
        if (json_object_object_add(obj, key, val) < 0) {
                json_object_put(val);
                return -ENOMEM;
        }
        return 0;
}

int otlp_json_push(json_object *arr, json_object *val)
{
        if (!val)
                return -ENOMEM;
        if (json_object_array_add(arr, val) < 0) {
                json_object_put(val);
                return -ENOMEM;
        }
        return 0;
}

json_object *otlp_json_u64(uint64_t v)
{
        char s[JSON_INT64_DIGITS];

        snprintf(s, sizeof(s), "%" PRIu64, v);
        return json_object_new_string(s);
}

json_object *otlp_json_i64(int64_t v)
{
        char s[JSON_INT64_DIGITS];

        snprintf(s, sizeof(s), "%" PRId64, v);
        return json_object_new_string(s);
}

json_object *otlp_json_double(double d)
{
        if (isnan(d))
                return json_object_new_string("NaN");
        if (isinf(d))
                return json_object_new_string(d > 0 ? "Infinity" : "-Infinity");
        return json_object_new_double(d);
}

json_object *otlp_json_hex(const uint8_t *id, size_t n)
{
        static const char digits[] = "0123456789abcdef";
        char hex[2 * OTLP_ID_MAX_SIZE + 1];

        if (n > OTLP_ID_MAX_SIZE)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                hex[2 * i] = digits[id[i] >> 4];
                hex[2 * i + 1] = digits[id[i] & 0xf];
        }
        hex[2 * n] = 0;
        return json_object_new_string(hex);
}

/* {field: val}: a oneof member is written even when it holds the default. */
static json_object *json_wrap(const char *field, json_object *val)
{
        json_object *o = json_object_new_object();

        if (!o) {
                json_object_put(val);
                return NULL;
        }
        if (otlp_json_put(o, field, val) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* Item i of an array attribute of this type, as an AnyValue. */
static json_object *json_scalar(otel_attr_type type, const void *items, size_t i)
{
        switch (type) {
        case OTEL_ATTR_STRING_ARRAY: {
                const char *s = ((const char *const *)items)[i];
                return json_wrap("stringValue", json_object_new_string(s ? s : ""));
        }
        case OTEL_ATTR_BOOL_ARRAY:
                return json_wrap("boolValue", json_object_new_boolean(((const bool *)items)[i]));
        case OTEL_ATTR_INT_ARRAY:
                return json_wrap("intValue", otlp_json_i64(((const int64_t *)items)[i]));
        default: /* OTEL_ATTR_DOUBLE_ARRAY */
                return json_wrap("doubleValue", otlp_json_double(((const double *)items)[i]));
        }
}

json_object *otlp_json_any_value(const otel_attr *a)
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
        case OTEL_ATTR_STRING_ARRAY:
        case OTEL_ATTR_BOOL_ARRAY:
        case OTEL_ATTR_INT_ARRAY:
        case OTEL_ATTR_DOUBLE_ARRAY:
                break;
        default:
                return NULL;
        }
        arr = json_object_new_object();
        o = json_wrap("arrayValue", arr);
        if (!o || a->v.array.n == 0)
                return o; /* an empty repeated field is left out: "arrayValue": {} */
        values = json_object_new_array_ext((int)a->v.array.n);
        if (otlp_json_put(arr, "values", values) < 0) {
                json_object_put(o);
                return NULL;
        }
        for (size_t i = 0; i < a->v.array.n; i++)
                if (otlp_json_push(values, json_scalar(a->type, a->v.array.items, i)) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        return o;
}

int otlp_json_put_attrs(json_object *obj, const char *field, const otel_attr *items, size_t n)
{
        json_object *arr;
        int r;

        if (n == 0)
                return 0;
        arr = json_object_new_array_ext((int)n);
        r = otlp_json_put(obj, field, arr);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                json_object *kv = json_object_new_object();

                r = otlp_json_push(arr, kv);
                if (r >= 0)
                        r = otlp_json_put(kv, "key",
                                          json_object_new_string(items[i].key ? items[i].key : ""));
                if (r >= 0)
                        r = otlp_json_put(kv, "value", otlp_json_any_value(&items[i]));
        }
        return r;
}

json_object *otlp_json_resource(const otel_resource *res)
{
        json_object *o = json_object_new_object();
        int r = o ? 0 : -ENOMEM;

        if (r >= 0 && res)
                r = otlp_json_put_attrs(o, "attributes", res->attrs.items, res->attrs.n);
        if (r >= 0 && res && res->attrs.dropped)
                r = otlp_json_put(o, "droppedAttributesCount", json_object_new_int64(res->attrs.dropped));
        if (r < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int otlp_json_append(json_object *root, otel_buf *out)
{
        size_t len;
        const char *s = json_object_to_json_string_length(root, JSON_OUT_FLAGS, &len);

        return s ? otel_buf_append(out, s, len) : -ENOMEM;
}

/* ---- protobuf --------------------------------------------------------------------------------- */

void *otlp_pb_alloc(otlp_pb_arena *c, size_t size)
{
        void *p = otel_arena_alloc(&c->arena, size ? size : 1, 16);

        if (!p) {
                c->oom = true;
                return NULL;
        }
        memset(p, 0, size);
        return p;
}

static pb_any *pb_scalar(otlp_pb_arena *c, otel_attr_type type, const void *items, size_t i)
{
        static const pb_any init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        pb_any *v = otlp_pb_alloc(c, sizeof(*v));

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

pb_any *otlp_pb_any_value(otlp_pb_arena *c, const otel_attr *a)
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
        v = otlp_pb_alloc(c, sizeof(*v));
        arr = otlp_pb_alloc(c, sizeof(*arr));
        if (!v || !arr)
                return NULL;
        *v = any_init;
        *arr = array_init;
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        v->array_value = arr;
        arr->values = otlp_pb_alloc(c, a->v.array.n * sizeof(pb_any *));
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

pb_kv **otlp_pb_attrs(otlp_pb_arena *c, const otel_attr *attrs, size_t n)
{
        static const pb_kv kv_init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
        pb_kv **list = otlp_pb_alloc(c, n * sizeof(pb_kv *));

        if (!list)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                list[i] = otlp_pb_alloc(c, sizeof(pb_kv));
                if (!list[i])
                        return NULL;
                *list[i] = kv_init;
                list[i]->key = (char *)attrs[i].key;
                list[i]->value = otlp_pb_any_value(c, &attrs[i]);
                if (!list[i]->value)
                        return NULL;
        }
        return list;
}

pb_resource *otlp_pb_resource(otlp_pb_arena *c, const otel_resource *res)
{
        static const pb_resource init = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
        pb_resource *resource = otlp_pb_alloc(c, sizeof(*resource));

        if (!resource)
                return NULL;
        *resource = init;
        if (res) {
                resource->attributes = otlp_pb_attrs(c, res->attrs.items, res->attrs.n);
                if (!resource->attributes)
                        return NULL;
                resource->n_attributes = res->attrs.n;
                resource->dropped_attributes_count = res->attrs.dropped;
        }
        return resource;
}
