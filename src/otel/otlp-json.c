/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP/JSON encoding (OTLP spec, "JSON Protobuf Encoding"): the protobuf JSON mapping with OTLP's
 * exceptions — trace and span ids as lowercase hex instead of base64, enums as integers — plus the
 * usual proto3 rules: lowerCamelCase names, 64-bit integers as decimal strings, default values left
 * out, non-finite doubles as "NaN"/"Infinity"/"-Infinity". Built with json-c, one object tree per call. */
#include <errno.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "otlp-common.h"
#include "otlp.h"
#include "span.h"

/* SpanFlags (trace.proto): bit 8 says bit 9 is meaningful; bit 9 says the parent/link is remote. */
#define OTLP_FLAGS_HAS_IS_REMOTE 0x100u
#define OTLP_FLAGS_IS_REMOTE     0x200u

/* ---- json-c helpers that take ownership of val and turn every failure into -ENOMEM -------------- */

static int json_put_str(json_object *obj, const char *key, const char *s)
{
        return otlp_json_put(obj, key, json_object_new_string(s));
}

/* Proto3 JSON leaves empty strings out. */
static int json_put_str_nonempty(json_object *obj, const char *key, const char *s)
{
        return s && s[0] ? json_put_str(obj, key, s) : 0;
}

static int json_put_u32_nonzero(json_object *obj, const char *key, uint32_t v)
{
        return v ? otlp_json_put(obj, key, json_object_new_int64(v)) : 0;
}

static int json_put_u64_string(json_object *obj, const char *key, uint64_t v)
{
        return otlp_json_put(obj, key, otlp_json_u64(v));
}

static int json_put_hex(json_object *obj, const char *key, const uint8_t *id, size_t n)
{
        return otlp_json_put(obj, key, otlp_json_hex(id, n));
}

/* ---- spans ----------------------------------------------------------------------------------- */

static uint32_t context_flags(uint8_t trace_flags, bool is_remote)
{
        return trace_flags | OTLP_FLAGS_HAS_IS_REMOTE | (is_remote ? OTLP_FLAGS_IS_REMOTE : 0);
}

static int json_put_events(json_object *obj, const otel_span *s)
{
        json_object *arr;
        int r;

        if (!s->events)
                return 0;
        arr = json_object_new_array_ext((int)s->n_events);
        r = otlp_json_put(obj, "events", arr);
        if (r < 0)
                return r;
        for (const otel_event *e = s->events; e; e = e->next) {
                json_object *ev = json_object_new_object();

                r = otlp_json_push(arr, ev);
                if (r < 0)
                        return r;
                if (e->time_ns)
                        r = json_put_u64_string(ev, "timeUnixNano", e->time_ns);
                if (r >= 0)
                        r = json_put_str_nonempty(ev, "name", e->name);
                if (r >= 0)
                        r = otlp_json_put_attrs(ev, "attributes", e->attrs.items, e->attrs.n);
                if (r >= 0)
                        r = json_put_u32_nonzero(ev, "droppedAttributesCount", e->attrs.dropped);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int json_put_links(json_object *obj, const otel_span *s)
{
        json_object *arr;
        int r;

        if (!s->links)
                return 0;
        arr = json_object_new_array_ext((int)s->n_links);
        r = otlp_json_put(obj, "links", arr);
        if (r < 0)
                return r;
        for (const otel_span_link *l = s->links; l; l = l->next) {
                json_object *lk = json_object_new_object();

                r = otlp_json_push(arr, lk);
                if (r >= 0)
                        r = json_put_hex(lk, "traceId", l->context.trace_id, OTEL_TRACE_ID_SIZE);
                if (r >= 0)
                        r = json_put_hex(lk, "spanId", l->context.span_id, OTEL_SPAN_ID_SIZE);
                if (r >= 0 && l->tracestate)
                        r = json_put_str_nonempty(lk, "traceState", otel_tracestate_header(l->tracestate));
                if (r >= 0)
                        r = otlp_json_put_attrs(lk, "attributes", l->attrs.items, l->attrs.n);
                if (r >= 0)
                        r = json_put_u32_nonzero(lk, "droppedAttributesCount", l->attrs.dropped);
                if (r >= 0)
                        r = json_put_u32_nonzero(
                                lk, "flags", context_flags(l->context.trace_flags, l->context.is_remote));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int json_put_status(json_object *obj, const otel_span *s)
{
        json_object *st;
        int r;

        if (s->status == OTEL_STATUS_UNSET && !(s->status_message && s->status_message[0]))
                return 0;
        st = json_object_new_object();
        r = otlp_json_put(obj, "status", st);
        if (r >= 0)
                r = json_put_str_nonempty(st, "message", s->status_message);
        if (r >= 0)
                r = json_put_u32_nonzero(st, "code", (uint32_t)s->status);
        return r;
}

static int json_span(const otel_span *s, json_object **ret)
{
        json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = json_put_hex(o, "traceId", s->context.trace_id, OTEL_TRACE_ID_SIZE);
        if (r >= 0)
                r = json_put_hex(o, "spanId", s->context.span_id, OTEL_SPAN_ID_SIZE);
        if (r >= 0 && s->tracestate)
                r = json_put_str_nonempty(o, "traceState", otel_tracestate_header(s->tracestate));
        if (r >= 0 && s->has_parent)
                r = json_put_hex(o, "parentSpanId", s->parent_span_id, OTEL_SPAN_ID_SIZE);
        if (r >= 0)
                r = json_put_u32_nonzero(
                        o, "flags",
                        context_flags(s->context.trace_flags, s->has_parent && s->parent_is_remote));
        if (r >= 0)
                r = json_put_str_nonempty(o, "name", s->name);
        if (r >= 0)
                r = json_put_u32_nonzero(o, "kind", (uint32_t)s->kind);
        if (r >= 0 && s->start_ns)
                r = json_put_u64_string(o, "startTimeUnixNano", s->start_ns);
        if (r >= 0 && s->end_ns)
                r = json_put_u64_string(o, "endTimeUnixNano", s->end_ns);
        if (r >= 0)
                r = otlp_json_put_attrs(o, "attributes", s->attrs.items, s->attrs.n);
        if (r >= 0)
                r = json_put_u32_nonzero(o, "droppedAttributesCount", s->attrs.dropped);
        if (r >= 0)
                r = json_put_events(o, s);
        if (r >= 0)
                r = json_put_u32_nonzero(o, "droppedEventsCount", s->dropped_events);
        if (r >= 0)
                r = json_put_links(o, s);
        if (r >= 0)
                r = json_put_u32_nonzero(o, "droppedLinksCount", s->dropped_links);
        if (r >= 0)
                r = json_put_status(o, s);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        *ret = o;
        return 0;
}

/* ---- request --------------------------------------------------------------------------------- */

static int json_new_scope_spans(const otel_tracer *t, json_object **ret_ss, json_object **ret_spans)
{
        json_object *ss = json_object_new_object(), *scope, *spans;
        int r;

        if (!ss)
                return -ENOMEM;
        scope = json_object_new_object();
        r = otlp_json_put(ss, "scope", scope);
        if (r >= 0 && t)
                r = json_put_str_nonempty(scope, "name", t->scope_name);
        if (r >= 0 && t)
                r = json_put_str_nonempty(scope, "version", t->scope_version);
        spans = json_object_new_array();
        if (r >= 0)
                r = otlp_json_put(ss, "spans", spans);
        if (r < 0) {
                json_object_put(ss);
                return r;
        }
        *ret_ss = ss;
        *ret_spans = spans;
        return 0;
}

/* One ScopeSpans per distinct tracer, in order of first appearance; spans keep their input order. */
static int json_put_scope_spans(json_object *rs, otel_span *const *spans, size_t n)
{
        const otel_tracer **tracers = NULL;
        json_object **scope_arrays = NULL, *list;
        size_t n_scopes = 0;
        int r;

        list = json_object_new_array();
        r = otlp_json_put(rs, "scopeSpans", list);
        if (r < 0)
                return r;
        tracers = calloc(n, sizeof(*tracers));
        scope_arrays = calloc(n, sizeof(*scope_arrays));
        if (!tracers || !scope_arrays) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *span;
                size_t j;

                for (j = 0; j < n_scopes && tracers[j] != spans[i]->tracer; j++)
                        ;
                if (j == n_scopes) {
                        json_object *ss;

                        r = json_new_scope_spans(spans[i]->tracer, &ss, &scope_arrays[j]);
                        if (r < 0)
                                goto finish;
                        r = otlp_json_push(list, ss);
                        if (r < 0)
                                goto finish;
                        tracers[n_scopes++] = spans[i]->tracer;
                }
                r = json_span(spans[i], &span);
                if (r < 0)
                        goto finish;
                r = otlp_json_push(scope_arrays[j], span);
                if (r < 0)
                        goto finish;
        }
finish:
        free(tracers);
        free(scope_arrays);
        return r;
}

int otlp_traces_encode_json(const otel_resource *res, otel_span *const *spans, size_t n, otel_buf *out)
{
        json_object *req, *list, *rs;
        int r;

        if (!out || (n > 0 && !spans))
                return -EINVAL;
        req = json_object_new_object();
        if (!req)
                return -ENOMEM;
        if (n > 0) {
                list = json_object_new_array_ext(1);
                rs = json_object_new_object();
                r = otlp_json_put(req, "resourceSpans", list);
                if (r >= 0)
                        r = otlp_json_push(list, rs);
                else
                        json_object_put(rs);
                if (r >= 0)
                        r = otlp_json_put(rs, "resource", otlp_json_resource(res));
                if (r >= 0)
                        r = json_put_scope_spans(rs, spans, n);
                if (r < 0)
                        goto finish;
        }
        r = otlp_json_append(req, out);
finish:
        json_object_put(req);
        return r;
}

int otlp_span_encode_json(const otel_resource *res, const otel_span *span, otel_buf *out)
{
        json_object *o;
        int r;

        (void)res; /* the console shows the span only; the resource is the same on every line */
        if (!span || !out)
                return -EINVAL;
        r = json_span(span, &o);
        if (r < 0)
                return r;
        r = otlp_json_append(o, out);
        json_object_put(o);
        return r;
}
