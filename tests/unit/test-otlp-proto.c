/* SPDX-License-Identifier: Apache-2.0 */
/* otlp-proto.c: the fixture batch (otlp-fixture.h) is encoded, decoded again with protobuf-c's
 * generated unpack, and every field is compared with what the span records hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "otlp-fixture.h"
#include "otlp.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pb_request;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_resource_spans;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;

#define CASE(name) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##name

typedef fx_state test_state;

static void free_request(void *req)
{
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req, NULL);
}

static int setup(void **state)
{
        return fx_state_setup(state, free_request);
}

/* Unpacks one request from data; teardown frees it. */
static pb_request *decode(test_state *t, size_t len, const uint8_t *data)
{
        pb_request *req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                NULL, len, data);
        t->decoded = req;
        assert_non_null(req);
        return req;
}

/* Encodes spans and decodes the bytes again; the decoded request is freed by teardown. */
static pb_request *encode_decode(test_state *t, otel_span *const *spans, size_t n)
{
        assert_int_equal(otlp_traces_encode_proto(&t->fx->res, spans, n, &t->buf), 0);
        return decode(t, t->buf.len, t->buf.data);
}

static pb_request *encode_fixture(test_state *t)
{
        return encode_decode(t, t->fx->batch, 3);
}

static pb_span *span_at(pb_request *req, size_t scope, size_t i)
{
        assert_int_equal(req->n_resource_spans, 1);
        assert_true(scope < req->resource_spans[0]->n_scope_spans);
        assert_true(i < req->resource_spans[0]->scope_spans[scope]->n_spans);
        return req->resource_spans[0]->scope_spans[scope]->spans[i];
}

static void assert_bytes(ProtobufCBinaryData b, const uint8_t *expected, size_t len)
{
        assert_int_equal(b.len, len);
        assert_memory_equal(b.data, expected, len);
}

static const pb_any *kv_value(pb_kv *const *kvs, size_t n, size_t i, const char *key)
{
        assert_true(i < n);
        assert_string_equal(kvs[i]->key, key);
        assert_non_null(kvs[i]->value);
        return kvs[i]->value;
}

static void assert_str_value(const pb_any *v, const char *s)
{
        assert_int_equal(v->value_case, CASE(STRING_VALUE));
        assert_string_equal(v->string_value, s);
}

static void assert_int_value(const pb_any *v, int64_t i)
{
        assert_int_equal(v->value_case, CASE(INT_VALUE));
        assert_true(v->int_value == i);
}

static void test_proto_span_ids_and_name_round_trip(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 0);

        assert_bytes(s->trace_id, fx_trace_id, OTEL_TRACE_ID_SIZE);
        assert_bytes(s->span_id, fx_server_id, OTEL_SPAN_ID_SIZE);
        assert_string_equal(s->name, "GET /api/orders/{id}");
}

static void test_proto_remote_parent_sets_parent_id_and_remote_flags(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 0);

        assert_bytes(s->parent_span_id, fx_remote_parent_id, OTEL_SPAN_ID_SIZE);
        /* sampled | CONTEXT_HAS_IS_REMOTE | CONTEXT_IS_REMOTE */
        assert_int_equal(s->flags, 0x301);
}

static void test_proto_local_parent_sets_has_is_remote_bit_only(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 1);

        assert_bytes(s->parent_span_id, fx_server_id, OTEL_SPAN_ID_SIZE);
        assert_int_equal(s->flags, 0x101);
}

static void test_proto_root_span_has_no_parent_id(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 1, 0);

        assert_int_equal(s->parent_span_id.len, 0);
        assert_int_equal(s->flags, 0x100); /* unsampled, local root */
}

static void test_proto_trace_state_is_tracestate_header(void **state)
{
        pb_request *req = encode_fixture(*state);

        assert_string_equal(span_at(req, 0, 0)->trace_state, FX_SPAN_TRACESTATE);
        assert_string_equal(span_at(req, 0, 1)->trace_state, "");
}

static void test_proto_kind_and_times(void **state)
{
        pb_request *req = encode_fixture(*state);

        assert_int_equal(span_at(req, 0, 0)->kind,
                         OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
        assert_int_equal(span_at(req, 0, 1)->kind,
                         OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
        assert_int_equal(span_at(req, 1, 0)->kind,
                         OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL);
        assert_true(span_at(req, 0, 0)->start_time_unix_nano == FX_START_NS);
        assert_true(span_at(req, 0, 0)->end_time_unix_nano == FX_END_NS);
}

static void test_proto_scalar_attributes_keep_type_and_value(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 0);
        const pb_any *v;

        assert_int_equal(s->n_attributes, FX_N_ATTRS);
        assert_str_value(kv_value(s->attributes, s->n_attributes, FX_ATTR_STR, "http.route"),
                         "/api/orders/{id}");
        v = kv_value(s->attributes, s->n_attributes, FX_ATTR_BOOL, "retry");
        assert_int_equal(v->value_case, CASE(BOOL_VALUE)); /* false is still sent: it is a oneof member */
        assert_false(v->bool_value);
        assert_int_value(kv_value(s->attributes, s->n_attributes, FX_ATTR_INT, "http.response.status_code"),
                         503);
        assert_int_value(kv_value(s->attributes, s->n_attributes, FX_ATTR_INT_MIN, "min"), INT64_MIN);
        v = kv_value(s->attributes, s->n_attributes, FX_ATTR_DOUBLE, "ratio");
        assert_int_equal(v->value_case, CASE(DOUBLE_VALUE));
        assert_true(v->double_value == 0.1);
}

static void test_proto_array_attributes_become_array_values(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 0);
        const pb_any *v;

        v = kv_value(s->attributes, s->n_attributes, FX_ATTR_STR_ARRAY, "tags");
        assert_int_equal(v->value_case, CASE(ARRAY_VALUE));
        assert_int_equal(v->array_value->n_values, 3);
        assert_str_value(v->array_value->values[0], "red");
        assert_str_value(v->array_value->values[1], "");
        assert_str_value(v->array_value->values[2], "blue");

        v = kv_value(s->attributes, s->n_attributes, FX_ATTR_BOOL_ARRAY, "bools");
        assert_int_equal(v->value_case, CASE(ARRAY_VALUE));
        assert_int_equal(v->array_value->n_values, 2);
        assert_int_equal(v->array_value->values[0]->value_case, CASE(BOOL_VALUE));
        assert_true(v->array_value->values[0]->bool_value);
        assert_int_equal(v->array_value->values[1]->value_case, CASE(BOOL_VALUE));
        assert_false(v->array_value->values[1]->bool_value);

        v = kv_value(s->attributes, s->n_attributes, FX_ATTR_INT_ARRAY, "ints");
        assert_int_equal(v->array_value->n_values, 3);
        assert_int_value(v->array_value->values[0], -1);
        assert_int_value(v->array_value->values[1], 0);
        assert_int_value(v->array_value->values[2], INT64_MAX);

        v = kv_value(s->attributes, s->n_attributes, FX_ATTR_DOUBLE_ARRAY, "doubles");
        assert_int_equal(v->array_value->n_values, 2);
        assert_int_equal(v->array_value->values[0]->value_case, CASE(DOUBLE_VALUE));
        assert_true(v->array_value->values[0]->double_value == 1.5);
        assert_true(v->array_value->values[1]->double_value == -2.25);
}

static void test_proto_empty_array_attribute_is_empty_array_value(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 0);
        const pb_any *v = kv_value(s->attributes, s->n_attributes, FX_ATTR_EMPTY_ARRAY, "none");

        assert_int_equal(v->value_case, CASE(ARRAY_VALUE));
        assert_non_null(v->array_value);
        assert_int_equal(v->array_value->n_values, 0);
}

static void test_proto_dropped_counts(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 0);

        assert_int_equal(s->dropped_attributes_count, 4);
        assert_int_equal(s->dropped_events_count, 5);
        assert_int_equal(s->dropped_links_count, 6);
        assert_int_equal(s->events[0]->dropped_attributes_count, 1);
        assert_int_equal(s->links[0]->dropped_attributes_count, 2);
}

static void test_proto_events_keep_order_time_name_and_attributes(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 0);

        assert_int_equal(s->n_events, 2);
        assert_true(s->events[0]->time_unix_nano == FX_START_NS + 1000);
        assert_string_equal(s->events[0]->name, "order.validated");
        assert_int_equal(s->events[0]->n_attributes, 2);
        assert_str_value(kv_value(s->events[0]->attributes, 2, 0, "order.id"), "o-42");
        assert_int_value(kv_value(s->events[0]->attributes, 2, 1, "items"), 3);

        assert_true(s->events[1]->time_unix_nano == FX_START_NS + 2000);
        assert_string_equal(s->events[1]->name, "exception");
        assert_str_value(kv_value(s->events[1]->attributes, 2, 0, "exception.type"), "StockError");
        assert_str_value(kv_value(s->events[1]->attributes, 2, 1, "exception.message"), "out of stock");
        assert_int_equal(s->events[1]->dropped_attributes_count, 0);
}

static void test_proto_link_carries_ids_state_attributes_and_remote_flags(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 0);

        assert_int_equal(s->n_links, 1);
        assert_bytes(s->links[0]->trace_id, fx_link_trace_id, OTEL_TRACE_ID_SIZE);
        assert_bytes(s->links[0]->span_id, fx_link_span_id, OTEL_SPAN_ID_SIZE);
        assert_string_equal(s->links[0]->trace_state, FX_LINK_TRACESTATE);
        assert_int_equal(s->links[0]->n_attributes, 1);
        assert_str_value(kv_value(s->links[0]->attributes, 1, 0, "link.reason"), "retry-of");
        assert_int_equal(s->links[0]->flags, 0x301);
}

static void test_proto_local_link_has_is_remote_bit_only(void **state)
{
        test_state *t = *state;
        pb_span *s;

        t->fx->link.context.is_remote = false;
        t->fx->link.context.trace_flags = 0;
        s = span_at(encode_fixture(t), 0, 0);
        assert_int_equal(s->links[0]->flags, 0x100);
}

static void assert_status(const pb_span *s, int code, const char *message)
{
        assert_non_null(s->status);
        assert_int_equal(s->status->code, code);
        assert_string_equal(s->status->message, message);
}

static void test_proto_error_status_carries_code_and_message(void **state)
{
        assert_status(span_at(encode_fixture(*state), 0, 0),
                      OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR,
                      "payment declined");
}

static void test_proto_ok_status_is_sent_without_message(void **state)
{
        assert_status(span_at(encode_fixture(*state), 1, 0),
                      OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK, "");
}

static void test_proto_unset_status_is_left_out(void **state)
{
        pb_span *s = span_at(encode_fixture(*state), 0, 1);

        assert_null(s->status);
        assert_int_equal(s->n_attributes, 0);
        assert_int_equal(s->n_events, 0);
        assert_int_equal(s->n_links, 0);
}

static void test_proto_resource_attributes_and_dropped_count(void **state)
{
        pb_request *req = encode_fixture(*state);
        Opentelemetry__Proto__Resource__V1__Resource *res = req->resource_spans[0]->resource;

        assert_non_null(res);
        assert_int_equal(res->n_attributes, 3);
        assert_str_value(kv_value(res->attributes, 3, 0, "service.name"), "frontend");
        assert_int_value(kv_value(res->attributes, 3, 1, "process.pid"), 4242);
        assert_str_value(kv_value(res->attributes, 3, 2, "telemetry.sdk.language"), "c");
        assert_int_equal(res->dropped_attributes_count, 7);
}

static void test_proto_spans_grouped_by_scope_in_first_seen_order(void **state)
{
        test_state *t = *state;
        /* scopes interleaved: A, B, A → ScopeSpans A {server, client}, B {internal} */
        otel_span *batch[] = {&t->fx->server, &t->fx->internal, &t->fx->client};
        pb_resource_spans *rs = encode_decode(t, batch, 3)->resource_spans[0];

        assert_int_equal(rs->n_scope_spans, 2);
        assert_string_equal(rs->scope_spans[0]->scope->name, "shop.frontend");
        assert_string_equal(rs->scope_spans[0]->scope->version, "1.2.3");
        assert_int_equal(rs->scope_spans[0]->n_spans, 2);
        assert_bytes(rs->scope_spans[0]->spans[0]->span_id, fx_server_id, OTEL_SPAN_ID_SIZE);
        assert_bytes(rs->scope_spans[0]->spans[1]->span_id, fx_client_id, OTEL_SPAN_ID_SIZE);
        assert_string_equal(rs->scope_spans[1]->scope->name, "shop.jobs");
        assert_string_equal(rs->scope_spans[1]->scope->version, "");
        assert_int_equal(rs->scope_spans[1]->n_spans, 1);
        assert_bytes(rs->scope_spans[1]->spans[0]->span_id, fx_internal_id, OTEL_SPAN_ID_SIZE);
}

static void test_proto_appends_after_existing_buffer_content(void **state)
{
        test_state *t = *state;
        static const char prefix[] = "xyz";
        size_t alone;

        assert_int_equal(otlp_traces_encode_proto(&t->fx->res, t->fx->batch, 3, &t->buf), 0);
        alone = t->buf.len;
        otel_buf_reset(&t->buf);
        assert_int_equal(otel_buf_append(&t->buf, prefix, 3), 0);
        assert_int_equal(otlp_traces_encode_proto(&t->fx->res, t->fx->batch, 3, &t->buf), 0);
        assert_int_equal(t->buf.len, 3 + alone);
        assert_memory_equal(t->buf.data, prefix, 3);
        assert_int_equal(decode(t, alone, t->buf.data + 3)->resource_spans[0]->n_scope_spans, 2);
}

static void test_proto_empty_batch_is_empty_request(void **state)
{
        test_state *t = *state;

        assert_int_equal(otlp_traces_encode_proto(&t->fx->res, NULL, 0, &t->buf), 0);
        assert_int_equal(t->buf.len, 0);
}

static void test_proto_large_batch_round_trips_every_span(void **state)
{
        enum { N = 700 }; /* more than a default batch: exercises the scratch sizing */
        test_state *t = *state;
        otel_span **batch = calloc(N, sizeof(*batch));
        pb_resource_spans *rs;

        assert_non_null(batch);
        for (size_t i = 0; i < N; i++)
                batch[i] = t->fx->batch[i % 3];
        rs = encode_decode(t, batch, N)->resource_spans[0];
        free(batch);
        assert_int_equal(rs->n_scope_spans, 2);
        assert_int_equal(rs->scope_spans[0]->n_spans, 467); /* server + client: 234 + 233 */
        assert_int_equal(rs->scope_spans[1]->n_spans, 233);
        for (size_t i = 0; i < rs->scope_spans[0]->n_spans; i += 2)
                assert_int_equal(rs->scope_spans[0]->spans[i]->n_attributes, FX_N_ATTRS);
}

/* One test on a fresh fixture. */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_state_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_proto_span_ids_and_name_round_trip),
                T(test_proto_remote_parent_sets_parent_id_and_remote_flags),
                T(test_proto_local_parent_sets_has_is_remote_bit_only),
                T(test_proto_root_span_has_no_parent_id),
                T(test_proto_trace_state_is_tracestate_header),
                T(test_proto_kind_and_times),
                T(test_proto_scalar_attributes_keep_type_and_value),
                T(test_proto_array_attributes_become_array_values),
                T(test_proto_empty_array_attribute_is_empty_array_value),
                T(test_proto_dropped_counts),
                T(test_proto_events_keep_order_time_name_and_attributes),
                T(test_proto_link_carries_ids_state_attributes_and_remote_flags),
                T(test_proto_local_link_has_is_remote_bit_only),
                T(test_proto_error_status_carries_code_and_message),
                T(test_proto_ok_status_is_sent_without_message),
                T(test_proto_unset_status_is_left_out),
                T(test_proto_resource_attributes_and_dropped_count),
                T(test_proto_spans_grouped_by_scope_in_first_seen_order),
                T(test_proto_appends_after_existing_buffer_content),
                T(test_proto_empty_batch_is_empty_request),
                T(test_proto_large_batch_round_trips_every_span),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
