/* SPDX-License-Identifier: Apache-2.0 */
/* otlp-json.c: the fixture batch (otlp-fixture.h) is encoded as OTLP/JSON, parsed back with json-c,
 * and every field is compared with the exact JSON the OTLP mapping prescribes: lowercase hex ids,
 * 64-bit integers as strings, enums as integers, defaults left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "otlp-fixture.h"
#include "otlp.h"

typedef fx_state test_state;

static void free_json(void *root)
{
        json_object_put(root);
}

static int setup(void **state)
{
        return fx_state_setup(state, free_json);
}

static json_object *parse(test_state *t)
{
        json_object *root = json_tokener_parse((const char *)t->buf.data);
        t->decoded = root;
        assert_non_null(root);
        return root;
}

static json_object *encode(test_state *t, otel_span *const *spans, size_t n)
{
        assert_int_equal(otlp_traces_encode_json(&t->fx->res, spans, n, &t->buf), 0);
        return parse(t);
}

/* The member key of obj, which must exist. */
static json_object *get(json_object *obj, const char *key)
{
        json_object *v = NULL;

        assert_non_null(obj);
        if (!json_object_object_get_ex(obj, key, &v))
                fail_msg("missing \"%s\" in %s", key, json_object_to_json_string(obj));
        return v;
}

static void assert_absent(json_object *obj, const char *key)
{
        if (json_object_object_get_ex(obj, key, NULL))
                fail_msg("unexpected \"%s\" in %s", key, json_object_to_json_string(obj));
}

static json_object *at(json_object *arr, size_t i)
{
        assert_true(json_object_is_type(arr, json_type_array));
        assert_true(i < json_object_array_length(arr));
        return json_object_array_get_idx(arr, i);
}

static void assert_json_string(json_object *v, const char *expected)
{
        assert_true(json_object_is_type(v, json_type_string));
        assert_string_equal(json_object_get_string(v), expected);
}

static void assert_json_int(json_object *v, int64_t expected)
{
        assert_true(json_object_is_type(v, json_type_int));
        assert_true(json_object_get_int64(v) == expected);
}

static json_object *span_at(json_object *root, size_t scope, size_t i)
{
        json_object *rs = get(root, "resourceSpans");

        assert_int_equal(json_object_array_length(rs), 1);
        return at(get(at(get(at(rs, 0), "scopeSpans"), scope), "spans"), i);
}

/* The value object of the i-th attribute, whose key must be key. */
static json_object *attr_value(json_object *obj, size_t i, const char *key)
{
        json_object *kv = at(get(obj, "attributes"), i);

        assert_json_string(get(kv, "key"), key);
        return get(kv, "value");
}

/* The values of attribute i (an arrayValue named key), which must hold n elements. */
static json_object *array_attr(json_object *obj, size_t i, const char *key, size_t n)
{
        json_object *vals = get(get(attr_value(obj, i, key), "arrayValue"), "values");

        assert_int_equal(json_object_array_length(vals), n);
        return vals;
}

static void test_json_ids_are_lowercase_hex(void **state)
{
        json_object *s = span_at(encode(*state, ((test_state *)*state)->fx->batch, 3), 0, 0);

        assert_json_string(get(s, "traceId"), FX_TRACE_ID_HEX);
        assert_json_string(get(s, "spanId"), FX_SERVER_ID_HEX);
        assert_json_string(get(s, "parentSpanId"), FX_REMOTE_PARENT_HEX);
}

static void test_json_root_span_has_no_parent_span_id(void **state)
{
        json_object *s = span_at(encode(*state, ((test_state *)*state)->fx->batch, 3), 1, 0);

        assert_json_string(get(s, "traceId"), FX_INTERNAL_TRACE_ID_HEX);
        assert_json_string(get(s, "spanId"), FX_INTERNAL_ID_HEX);
        assert_absent(s, "parentSpanId");
}

static void test_json_flags_are_integers_with_remote_bits(void **state)
{
        json_object *root = encode(*state, ((test_state *)*state)->fx->batch, 3);

        assert_json_int(get(span_at(root, 0, 0), "flags"), 0x301);
        assert_json_int(get(span_at(root, 0, 1), "flags"), 0x101);
        assert_json_int(get(span_at(root, 1, 0), "flags"), 0x100);
}

static void test_json_name_kind_and_times(void **state)
{
        json_object *root = encode(*state, ((test_state *)*state)->fx->batch, 3);
        json_object *s = span_at(root, 0, 0);

        assert_json_string(get(s, "name"), "GET /api/orders/{id}");
        assert_json_int(get(s, "kind"), 2);
        assert_json_int(get(span_at(root, 0, 1), "kind"), 3);
        assert_json_int(get(span_at(root, 1, 0), "kind"), 1);
        /* fixed64 → decimal string, not a JSON number (which loses precision past 2^53) */
        assert_json_string(get(s, "startTimeUnixNano"), "1700000000123456789");
        assert_json_string(get(s, "endTimeUnixNano"), "1700000000124956789");
}

static void test_json_trace_state_present_only_when_set(void **state)
{
        json_object *root = encode(*state, ((test_state *)*state)->fx->batch, 3);

        assert_json_string(get(span_at(root, 0, 0), "traceState"), FX_SPAN_TRACESTATE);
        assert_absent(span_at(root, 0, 1), "traceState");
}

static void test_json_scalar_attributes(void **state)
{
        json_object *s = span_at(encode(*state, ((test_state *)*state)->fx->batch, 3), 0, 0);
        json_object *v;

        assert_int_equal(json_object_array_length(get(s, "attributes")), FX_N_ATTRS);
        assert_json_string(get(attr_value(s, FX_ATTR_STR, "http.route"), "stringValue"), "/api/orders/{id}");
        v = get(attr_value(s, FX_ATTR_BOOL, "retry"), "boolValue"); /* a set oneof member is never omitted */
        assert_true(json_object_is_type(v, json_type_boolean));
        assert_false(json_object_get_boolean(v));
        assert_json_string(get(attr_value(s, FX_ATTR_INT, "http.response.status_code"), "intValue"), "503");
        assert_json_string(get(attr_value(s, FX_ATTR_INT_MIN, "min"), "intValue"), "-9223372036854775808");
        v = get(attr_value(s, FX_ATTR_DOUBLE, "ratio"), "doubleValue");
        assert_true(json_object_is_type(v, json_type_double));
        assert_true(json_object_get_double(v) == 0.1);
}

static void test_json_array_attributes(void **state)
{
        json_object *s = span_at(encode(*state, ((test_state *)*state)->fx->batch, 3), 0, 0);
        json_object *vals;

        vals = array_attr(s, FX_ATTR_STR_ARRAY, "tags", 3);
        assert_json_string(get(at(vals, 0), "stringValue"), "red");
        assert_json_string(get(at(vals, 1), "stringValue"), "");
        assert_json_string(get(at(vals, 2), "stringValue"), "blue");

        vals = array_attr(s, FX_ATTR_BOOL_ARRAY, "bools", 2);
        assert_true(json_object_get_boolean(get(at(vals, 0), "boolValue")));
        assert_false(json_object_get_boolean(get(at(vals, 1), "boolValue")));

        vals = array_attr(s, FX_ATTR_INT_ARRAY, "ints", 3);
        assert_json_string(get(at(vals, 0), "intValue"), "-1");
        assert_json_string(get(at(vals, 1), "intValue"), "0");
        assert_json_string(get(at(vals, 2), "intValue"), "9223372036854775807");

        vals = array_attr(s, FX_ATTR_DOUBLE_ARRAY, "doubles", 2);
        assert_true(json_object_get_double(get(at(vals, 0), "doubleValue")) == 1.5);
        assert_true(json_object_get_double(get(at(vals, 1), "doubleValue")) == -2.25);
}

static void test_json_empty_array_attribute_is_empty_array_value(void **state)
{
        json_object *s = span_at(encode(*state, ((test_state *)*state)->fx->batch, 3), 0, 0);
        json_object *arr = get(attr_value(s, FX_ATTR_EMPTY_ARRAY, "none"), "arrayValue");

        assert_true(json_object_is_type(arr, json_type_object));
        assert_int_equal(json_object_object_length(arr), 0);
}

static void test_json_non_finite_doubles_are_named_strings(void **state)
{
        test_state *t = *state;
        otel_attr attrs[] = {
                OTEL_ATTR_F64("nan", NAN),
                OTEL_ATTR_F64("inf", INFINITY),
                OTEL_ATTR_F64("ninf", -INFINITY),
        };
        json_object *s;

        t->fx->client.attrs = (otel_attr_list){.items = attrs, .n = 3, .cap = 3};
        s = span_at(encode(t, &t->fx->batch[1], 1), 0, 0);
        assert_json_string(get(attr_value(s, 0, "nan"), "doubleValue"), "NaN");
        assert_json_string(get(attr_value(s, 1, "inf"), "doubleValue"), "Infinity");
        assert_json_string(get(attr_value(s, 2, "ninf"), "doubleValue"), "-Infinity");
}

static void test_json_dropped_counts(void **state)
{
        json_object *s = span_at(encode(*state, ((test_state *)*state)->fx->batch, 3), 0, 0);

        assert_json_int(get(s, "droppedAttributesCount"), 4);
        assert_json_int(get(s, "droppedEventsCount"), 5);
        assert_json_int(get(s, "droppedLinksCount"), 6);
        assert_json_int(get(at(get(s, "events"), 0), "droppedAttributesCount"), 1);
        assert_json_int(get(at(get(s, "links"), 0), "droppedAttributesCount"), 2);
}

static void test_json_events(void **state)
{
        json_object *s = span_at(encode(*state, ((test_state *)*state)->fx->batch, 3), 0, 0);
        json_object *ev = get(s, "events");

        assert_int_equal(json_object_array_length(ev), 2);
        assert_json_string(get(at(ev, 0), "timeUnixNano"), "1700000000123457789");
        assert_json_string(get(at(ev, 0), "name"), "order.validated");
        assert_json_string(get(attr_value(at(ev, 0), 0, "order.id"), "stringValue"), "o-42");
        assert_json_string(get(attr_value(at(ev, 0), 1, "items"), "intValue"), "3");
        assert_json_string(get(at(ev, 1), "timeUnixNano"), "1700000000123458789");
        assert_json_string(get(at(ev, 1), "name"), "exception");
        assert_json_string(get(attr_value(at(ev, 1), 0, "exception.type"), "stringValue"), "StockError");
        assert_json_string(get(attr_value(at(ev, 1), 1, "exception.message"), "stringValue"),
                           "out of stock");
        assert_absent(at(ev, 1), "droppedAttributesCount");
}

static void test_json_links(void **state)
{
        json_object *s = span_at(encode(*state, ((test_state *)*state)->fx->batch, 3), 0, 0);
        json_object *lk = at(get(s, "links"), 0);

        assert_int_equal(json_object_array_length(get(s, "links")), 1);
        assert_json_string(get(lk, "traceId"), FX_LINK_TRACE_ID_HEX);
        assert_json_string(get(lk, "spanId"), FX_LINK_SPAN_ID_HEX);
        assert_json_string(get(lk, "traceState"), FX_LINK_TRACESTATE);
        assert_json_string(get(attr_value(lk, 0, "link.reason"), "stringValue"), "retry-of");
        assert_json_int(get(lk, "flags"), 0x301);
}

static void test_json_status(void **state)
{
        json_object *root = encode(*state, ((test_state *)*state)->fx->batch, 3);
        json_object *st = get(span_at(root, 0, 0), "status");

        assert_json_int(get(st, "code"), 2);
        assert_json_string(get(st, "message"), "payment declined");
        st = get(span_at(root, 1, 0), "status");
        assert_json_int(get(st, "code"), 1);
        assert_absent(st, "message");
}

static void test_json_defaults_are_left_out(void **state)
{
        json_object *s = span_at(encode(*state, ((test_state *)*state)->fx->batch, 3), 0, 1);
        static const char *const absent[] = {
                "traceState",         "attributes", "droppedAttributesCount", "events",
                "droppedEventsCount", "links",      "droppedLinksCount",      "status"};

        for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
                assert_absent(s, absent[i]);
        /* the snake_case names of the .proto must never appear */
        assert_absent(s, "trace_id");
        assert_absent(s, "start_time_unix_nano");
}

static void test_json_resource(void **state)
{
        json_object *root = encode(*state, ((test_state *)*state)->fx->batch, 3);
        json_object *res = get(at(get(root, "resourceSpans"), 0), "resource");

        assert_int_equal(json_object_array_length(get(res, "attributes")), 3);
        assert_json_string(get(attr_value(res, 0, "service.name"), "stringValue"), "frontend");
        assert_json_string(get(attr_value(res, 1, "process.pid"), "intValue"), "4242");
        assert_json_string(get(attr_value(res, 2, "telemetry.sdk.language"), "stringValue"), "c");
        assert_json_int(get(res, "droppedAttributesCount"), 7);
}

static void test_json_scopes_grouped_in_first_seen_order(void **state)
{
        test_state *t = *state;
        otel_span *batch[] = {&t->fx->internal, &t->fx->server, &t->fx->client};
        json_object *ss = get(at(get(encode(t, batch, 3), "resourceSpans"), 0), "scopeSpans");

        assert_int_equal(json_object_array_length(ss), 2);
        assert_json_string(get(get(at(ss, 0), "scope"), "name"), "shop.jobs");
        assert_absent(get(at(ss, 0), "scope"), "version");
        assert_int_equal(json_object_array_length(get(at(ss, 0), "spans")), 1);
        assert_json_string(get(get(at(ss, 1), "scope"), "name"), "shop.frontend");
        assert_json_string(get(get(at(ss, 1), "scope"), "version"), "1.2.3");
        assert_int_equal(json_object_array_length(get(at(ss, 1), "spans")), 2);
        assert_json_string(get(at(get(at(ss, 1), "spans"), 0), "spanId"), FX_SERVER_ID_HEX);
        assert_json_string(get(at(get(at(ss, 1), "spans"), 1), "spanId"), FX_CLIENT_ID_HEX);
}

static void test_json_empty_batch_is_empty_object(void **state)
{
        test_state *t = *state;

        assert_int_equal(otlp_traces_encode_json(&t->fx->res, NULL, 0, &t->buf), 0);
        assert_string_equal((const char *)t->buf.data, "{}");
}

static void test_json_single_span_is_one_line_span_object(void **state)
{
        test_state *t = *state;
        json_object *s;

        t->fx->server.status_message = "line one\nline two";
        assert_int_equal(otlp_span_encode_json(&t->fx->res, &t->fx->server, &t->buf), 0);
        assert_null(memchr(t->buf.data, '\n', t->buf.len));
        s = parse(t);
        assert_json_string(get(s, "spanId"), FX_SERVER_ID_HEX);
        assert_json_string(get(get(s, "status"), "message"), "line one\nline two");
        assert_absent(s, "resourceSpans");
}

/* One test on a fresh fixture. */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_state_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_json_ids_are_lowercase_hex),
                T(test_json_root_span_has_no_parent_span_id),
                T(test_json_flags_are_integers_with_remote_bits),
                T(test_json_name_kind_and_times),
                T(test_json_trace_state_present_only_when_set),
                T(test_json_scalar_attributes),
                T(test_json_array_attributes),
                T(test_json_empty_array_attribute_is_empty_array_value),
                T(test_json_non_finite_doubles_are_named_strings),
                T(test_json_dropped_counts),
                T(test_json_events),
                T(test_json_links),
                T(test_json_status),
                T(test_json_defaults_are_left_out),
                T(test_json_resource),
                T(test_json_scopes_grouped_in_first_seen_order),
                T(test_json_empty_batch_is_empty_object),
                T(test_json_single_span_is_one_line_span_object),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
