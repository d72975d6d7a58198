/* SPDX-License-Identifier: Apache-2.0 */
/* A fixed batch of span records built field by field (span.h's plain structs, no SDK involved) for
 * the OTLP encoder tests, so that every expected value on the wire is known exactly:
 *   server   SERVER span, scope A, remote sampled parent, tracestate, every attribute type, two events,
 *            one link, ERROR status, dropped counts;
 *   client   CLIENT child of server (local parent), scope A, no attributes, UNSET status;
 *   internal INTERNAL root span, scope B (no version), unsampled flags, OK status. */
#pragma once

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otel.h"
#include "resource.h"
#include "span.h"

#define FX_START_NS 1700000000123456789ull
#define FX_END_NS   1700000000124956789ull

static const uint8_t fx_trace_id[OTEL_TRACE_ID_SIZE] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                                        0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
#define FX_TRACE_ID_HEX "4bf92f3577b34da6a3ce929d0e0e4736"
static const uint8_t fx_remote_parent_id[OTEL_SPAN_ID_SIZE] = {0x00, 0xf0, 0x67, 0xaa,
                                                               0x0b, 0xa9, 0x02, 0xb7};
#define FX_REMOTE_PARENT_HEX "00f067aa0ba902b7"
static const uint8_t fx_server_id[OTEL_SPAN_ID_SIZE] = {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18};
#define FX_SERVER_ID_HEX "a1b2c3d4e5f60718"
static const uint8_t fx_client_id[OTEL_SPAN_ID_SIZE] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
#define FX_CLIENT_ID_HEX "1122334455667788"
static const uint8_t fx_internal_trace_id[OTEL_TRACE_ID_SIZE] = {
        0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};
#define FX_INTERNAL_TRACE_ID_HEX "ffeeddccbbaa99887766554433221100"
static const uint8_t fx_internal_id[OTEL_SPAN_ID_SIZE] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x01};
#define FX_INTERNAL_ID_HEX "deadbeef00000001"
static const uint8_t fx_link_trace_id[OTEL_TRACE_ID_SIZE] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                                                             0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
#define FX_LINK_TRACE_ID_HEX "0af7651916cd43dd8448eb211c80319c"
static const uint8_t fx_link_span_id[OTEL_SPAN_ID_SIZE] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};
#define FX_LINK_SPAN_ID_HEX "b7ad6b7169203331"

#define FX_SPAN_TRACESTATE "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
#define FX_LINK_TRACESTATE "vendor=linked"

static const char *const fx_tags[] = {"red", "", "blue"};
static const bool fx_bools[] = {true, false};
static const int64_t fx_ints[] = {-1, 0, INT64_MAX};
static const double fx_doubles[] = {1.5, -2.25};

/* Index of each attribute in fx_attrs, for the assertions. */
enum {
        FX_ATTR_STR,
        FX_ATTR_BOOL,
        FX_ATTR_INT,
        FX_ATTR_INT_MIN,
        FX_ATTR_DOUBLE,
        FX_ATTR_STR_ARRAY,
        FX_ATTR_BOOL_ARRAY,
        FX_ATTR_INT_ARRAY,
        FX_ATTR_DOUBLE_ARRAY,
        FX_ATTR_EMPTY_ARRAY,
        FX_N_ATTRS,
};

typedef struct otlp_fixture {
        otel_tracer scope_a, scope_b;
        otel_span server, client, internal;
        otel_event event, exception;
        otel_span_link link;
        otel_resource res;
        otel_attr attrs[FX_N_ATTRS];
        otel_attr event_attrs[2];
        otel_attr exception_attrs[2];
        otel_attr link_attrs[1];
        otel_attr res_attrs[3];
        otel_span *batch[3]; /* server, client, internal */
} otlp_fixture;

static inline void fx_span_init(otel_span *s, const uint8_t *trace_id, const uint8_t *span_id,
                                otel_tracer *t, const char *name, otel_span_kind kind)
{
        memcpy(s->context.trace_id, trace_id, OTEL_TRACE_ID_SIZE);
        memcpy(s->context.span_id, span_id, OTEL_SPAN_ID_SIZE);
        s->context.trace_flags = OTEL_TRACE_FLAG_SAMPLED;
        s->tracer = t;
        s->name = name;
        s->kind = kind;
        s->start_ns = FX_START_NS;
        s->end_ns = FX_END_NS;
        s->recording = false;
        s->ended = true;
}

static inline otlp_fixture *fx_new(void)
{
        otlp_fixture *f = calloc(1, sizeof(*f));
        otel_span *s;

        if (!f)
                abort();
        f->scope_a = (otel_tracer){.scope_name = (char *)"shop.frontend", .scope_version = (char *)"1.2.3"};
        f->scope_b = (otel_tracer){.scope_name = (char *)"shop.jobs"};

        f->attrs[FX_ATTR_STR] = OTEL_ATTR_STR("http.route", "/api/orders/{id}");
        f->attrs[FX_ATTR_BOOL] = OTEL_ATTR_BOOLV("retry", false);
        f->attrs[FX_ATTR_INT] = OTEL_ATTR_I64("http.response.status_code", 503);
        f->attrs[FX_ATTR_INT_MIN] = OTEL_ATTR_I64("min", INT64_MIN);
        f->attrs[FX_ATTR_DOUBLE] = OTEL_ATTR_F64("ratio", 0.1);
        f->attrs[FX_ATTR_STR_ARRAY] = OTEL_ATTR_ARRAY("tags", OTEL_ATTR_STRING_ARRAY, fx_tags, 3);
        f->attrs[FX_ATTR_BOOL_ARRAY] = OTEL_ATTR_ARRAY("bools", OTEL_ATTR_BOOL_ARRAY, fx_bools, 2);
        f->attrs[FX_ATTR_INT_ARRAY] = OTEL_ATTR_ARRAY("ints", OTEL_ATTR_INT_ARRAY, fx_ints, 3);
        f->attrs[FX_ATTR_DOUBLE_ARRAY] = OTEL_ATTR_ARRAY("doubles", OTEL_ATTR_DOUBLE_ARRAY, fx_doubles, 2);
        f->attrs[FX_ATTR_EMPTY_ARRAY] = OTEL_ATTR_ARRAY("none", OTEL_ATTR_INT_ARRAY, NULL, 0);

        f->event_attrs[0] = OTEL_ATTR_STR("order.id", "o-42");
        f->event_attrs[1] = OTEL_ATTR_I64("items", 3);
        f->event = (otel_event){.time_ns = FX_START_NS + 1000,
                                .name = "order.validated",
                                .attrs = {.items = f->event_attrs, .n = 2, .cap = 2, .dropped = 1}};
        f->exception_attrs[0] = OTEL_ATTR_STR("exception.type", "StockError");
        f->exception_attrs[1] = OTEL_ATTR_STR("exception.message", "out of stock");
        f->exception = (otel_event){.time_ns = FX_START_NS + 2000,
                                    .name = "exception",
                                    .attrs = {.items = f->exception_attrs, .n = 2, .cap = 2}};
        f->event.next = &f->exception;

        f->link_attrs[0] = OTEL_ATTR_STR("link.reason", "retry-of");
        memcpy(f->link.context.trace_id, fx_link_trace_id, OTEL_TRACE_ID_SIZE);
        memcpy(f->link.context.span_id, fx_link_span_id, OTEL_SPAN_ID_SIZE);
        f->link.context.trace_flags = OTEL_TRACE_FLAG_SAMPLED;
        f->link.context.is_remote = true;
        f->link.attrs = (otel_attr_list){.items = f->link_attrs, .n = 1, .cap = 1, .dropped = 2};
        if (otel_tracestate_parse(FX_LINK_TRACESTATE, strlen(FX_LINK_TRACESTATE), &f->link.tracestate) < 0)
                abort();

        s = &f->server;
        fx_span_init(s, fx_trace_id, fx_server_id, &f->scope_a, "GET /api/orders/{id}",
                     OTEL_SPAN_KIND_SERVER);
        s->has_parent = true;
        s->parent_is_remote = true;
        memcpy(s->parent_span_id, fx_remote_parent_id, OTEL_SPAN_ID_SIZE);
        if (otel_tracestate_parse(FX_SPAN_TRACESTATE, strlen(FX_SPAN_TRACESTATE), &s->tracestate) < 0)
                abort();
        s->attrs = (otel_attr_list){.items = f->attrs, .n = FX_N_ATTRS, .cap = FX_N_ATTRS, .dropped = 4};
        s->events = &f->event;
        s->events_tail = &f->exception;
        s->n_events = 2;
        s->dropped_events = 5;
        s->links = s->links_tail = &f->link;
        s->n_links = 1;
        s->dropped_links = 6;
        s->status = OTEL_STATUS_ERROR;
        s->status_message = "payment declined";

        s = &f->client;
        fx_span_init(s, fx_trace_id, fx_client_id, &f->scope_a, "POST", OTEL_SPAN_KIND_CLIENT);
        s->has_parent = true;
        memcpy(s->parent_span_id, fx_server_id, OTEL_SPAN_ID_SIZE);

        s = &f->internal;
        fx_span_init(s, fx_internal_trace_id, fx_internal_id, &f->scope_b, "cleanup",
                     OTEL_SPAN_KIND_INTERNAL);
        s->context.trace_flags = 0;
        s->status = OTEL_STATUS_OK;

        f->res_attrs[0] = OTEL_ATTR_STR("service.name", "frontend");
        f->res_attrs[1] = OTEL_ATTR_I64("process.pid", 4242);
        f->res_attrs[2] = OTEL_ATTR_STR("telemetry.sdk.language", "c");
        f->res.attrs = (otel_attr_list){.items = f->res_attrs, .n = 3, .cap = 3, .dropped = 7};

        f->batch[0] = &f->server;
        f->batch[1] = &f->client;
        f->batch[2] = &f->internal;
        return f;
}

static inline void fx_free(otlp_fixture *f)
{
        if (!f)
                return;
        otel_tracestate_unref(f->server.tracestate);
        otel_tracestate_unref(f->link.tracestate);
        free(f);
}

/* Per-test state of the encoder tests: the fixture, the encoded bytes, and the message the test
 * decoded from them, which teardown releases with free_decoded. */
typedef struct fx_state {
        otlp_fixture *fx;
        otel_buf buf;
        void *decoded;
        void (*free_decoded)(void *decoded);
} fx_state;

static inline int fx_state_setup(void **state, void (*free_decoded)(void *decoded))
{
        fx_state *t = calloc(1, sizeof(*t));
        if (!t)
                return -1;
        t->fx = fx_new();
        if (!t->fx) {
                free(t);
                return -1;
        }
        t->free_decoded = free_decoded;
        *state = t;
        return 0;
}

static inline int fx_state_teardown(void **state)
{
        fx_state *t = *state;
        if (t->decoded)
                t->free_decoded(t->decoded);
        otel_buf_free(&t->buf);
        fx_free(t->fx);
        free(t);
        return 0;
}
