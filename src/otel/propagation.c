/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The propagators of OTEL_PROPAGATORS (tracecontext, baggage, none) over caller-supplied carrier
 * callbacks: extraction turns request headers into a remote parent span and baggage, injection
 * writes the current (or given) span and baggage into outgoing headers.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "env.h"
#include "otel.h"
#include "propagation.h"

#define HEADER_TRACEPARENT "traceparent"
#define HEADER_TRACESTATE  "tracestate"
#define HEADER_BAGGAGE     "baggage"

/* Bytes of several same-named header lines we are willing to combine; the lists themselves are far
 * smaller (512 characters of tracestate, 8192 bytes of baggage), so this only stops abuse. */
#define PROPAGATION_MAX_COMBINED (64u * 1024u)

static atomic_uint propagation_active = OTEL_PROPAGATORS_DEFAULT;

typedef struct propagator_name {
        const char *name;
        unsigned bits; /* 0: known to OpenTelemetry but not implemented here */
} propagator_name;

static const propagator_name propagator_names[] = {
        {"tracecontext", OTEL_PROPAGATOR_TRACECONTEXT},
        {"baggage", OTEL_PROPAGATOR_BAGGAGE},
        {"none", 0},
        /* Other values the spec lists; named so that the warning says what is missing. */
        {"b3", 0},
        {"b3multi", 0},
        {"jaeger", 0},
        {"xray", 0},
        {"ottrace", 0},
};

static const propagator_name *propagator_lookup(const char *s, size_t len)
{
        for (size_t i = 0; i < sizeof(propagator_names) / sizeof(propagator_names[0]); i++)
                if (strlen(propagator_names[i].name) == len &&
                    strncasecmp(propagator_names[i].name, s, len) == 0)
                        return &propagator_names[i];
        return NULL;
}

void otel_propagation_configure(void)
{
        const char *v = otel_env_get("OTEL_PROPAGATORS");
        unsigned bits = 0;
        bool recognised = false;

        if (!v) {
                atomic_store_explicit(&propagation_active, OTEL_PROPAGATORS_DEFAULT, memory_order_relaxed);
                return;
        }
        for (const char *p = v;;) {
                const char *comma = strchr(p, ',');
                const char *s = p;
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                const propagator_name *pn;

                otel_propagation_trim_ows(&s, &len);
                if (len > 0) {
                        pn = propagator_lookup(s, len);
                        if (!pn)
                                otel_diag(OTEL_DIAG_WARN,
                                          "OTEL_PROPAGATORS: unknown propagator \"%.*s\", ignored", (int)len,
                                          s);
                        else if (pn->bits == 0 && strcmp(pn->name, "none") != 0)
                                otel_diag(OTEL_DIAG_WARN,
                                          "OTEL_PROPAGATORS: propagator \"%s\" is not supported, ignored",
                                          pn->name);
                        else {
                                bits |= pn->bits;
                                recognised = true;
                        }
                }
                if (!comma)
                        break;
                p = comma + 1;
        }
        /* The spec's rule for invalid configuration: warn and use the default. */
        if (!recognised) {
                otel_diag(OTEL_DIAG_WARN, "invalid OTEL_PROPAGATORS=\"%s\", using \"tracecontext,baggage\"",
                          v);
                bits = OTEL_PROPAGATORS_DEFAULT;
        }
        atomic_store_explicit(&propagation_active, bits, memory_order_relaxed);
}

unsigned otel_propagation_active(void)
{
        return atomic_load_explicit(&propagation_active, memory_order_relaxed);
}

/* The value of header `name`, its several lines joined with ',' (RFC 7230 section 3.2.2, and W3C
 * Trace Context section 3.3.1.1 for tracestate). Returns 0 when absent, 1 with *ret_value set (a
 * heap copy in *ret_buf when lines were joined), or -ENOMEM. */
static int header_combined(otel_carrier_get_fn get, void *carrier, const char *name, const char **ret_value,
                           size_t *ret_len, char **ret_buf)
{
        const char *first = get(carrier, name, 0), *line;
        size_t total, n_lines = 1;
        char *buf, *q;

        *ret_buf = NULL;
        if (!first)
                return 0;
        total = strlen(first);
        for (; (line = get(carrier, name, n_lines)); n_lines++) {
                size_t l = strlen(line);
                if (total + 1 + l > PROPAGATION_MAX_COMBINED)
                        break;
                total += 1 + l;
        }
        if (n_lines == 1) {
                *ret_value = first;
                *ret_len = total;
                return 1;
        }

        buf = q = malloc(total + 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < n_lines; i++) {
                size_t l;

                line = get(carrier, name, i);
                l = strlen(line);
                if (i > 0)
                        *q++ = ',';
                memcpy(q, line, l);
                q += l;
        }
        *q = '\0';
        *ret_value = *ret_buf = buf;
        *ret_len = total;
        return 1;
}

static otel_span *extract_tracecontext(otel_carrier_get_fn get, void *carrier)
{
        otel_span_context sc;
        otel_tracestate *ts = NULL;
        const char *tp, *value;
        otel_span *parent;
        char *buf;
        size_t len;

        tp = get(carrier, HEADER_TRACEPARENT, 0);
        /* W3C test suite (test_traceparent_duplicated): several traceparent lines are invalid. */
        if (!tp || get(carrier, HEADER_TRACEPARENT, 1))
                return NULL;
        if (otel_traceparent_parse(tp, strlen(tp), &sc) < 0)
                return NULL; /* section 3.2.4: invalid → the caller starts a new trace */
        sc.is_remote = true;

        /* An invalid tracestate is dropped on its own; the traceparent still stands (section 3.3.1). */
        if (header_combined(get, carrier, HEADER_TRACESTATE, &value, &len, &buf) > 0) {
                if (otel_tracestate_parse(value, len, &ts) < 0)
                        ts = NULL;
                free(buf);
        }
        parent = otel_span_wrap_context(&sc, ts);
        otel_tracestate_unref(ts);
        return parent;
}

static otel_baggage *extract_baggage(otel_carrier_get_fn get, void *carrier)
{
        otel_baggage *bg = NULL;
        const char *value;
        char *buf;
        size_t len;

        if (header_combined(get, carrier, HEADER_BAGGAGE, &value, &len, &buf) <= 0)
                return NULL;
        if (otel_baggage_parse(value, len, &bg) < 0)
                bg = NULL;
        free(buf);
        if (bg && otel_baggage_count(bg) == 0) {
                otel_baggage_unref(bg);
                bg = NULL;
        }
        return bg;
}

void otel_propagation_extract(otel_carrier_get_fn get, void *carrier, otel_span **ret_parent,
                              otel_baggage **ret_baggage)
{
        unsigned active = otel_propagation_active();

        if (ret_parent)
                *ret_parent = NULL;
        if (ret_baggage)
                *ret_baggage = NULL;
        if (!get)
                return;
        if (ret_parent && (active & OTEL_PROPAGATOR_TRACECONTEXT))
                *ret_parent = extract_tracecontext(get, carrier);
        if (ret_baggage && (active & OTEL_PROPAGATOR_BAGGAGE))
                *ret_baggage = extract_baggage(get, carrier);
}

static void inject_tracecontext(const otel_span *span, otel_carrier_set_fn set, void *carrier)
{
        char tp[OTEL_TRACEPARENT_LEN + 1];
        const otel_span_context *sc;
        const otel_tracestate *ts;

        if (!span)
                span = otel_context_span();
        if (!span)
                return;
        sc = otel_span_get_context(span);
        if (!otel_span_context_is_valid(sc))
                return;
        otel_traceparent_format(sc, tp);
        set(carrier, HEADER_TRACEPARENT, tp);

        ts = otel_span_get_tracestate(span);
        if (ts && otel_tracestate_header(ts)[0] != '\0')
                set(carrier, HEADER_TRACESTATE, otel_tracestate_header(ts));
}

static void inject_baggage(const otel_baggage *baggage, otel_carrier_set_fn set, void *carrier)
{
        char *h;

        if (!baggage)
                baggage = otel_context_baggage();
        h = otel_baggage_header(baggage);
        if (h)
                set(carrier, HEADER_BAGGAGE, h);
        free(h);
}

void otel_propagation_inject(const otel_span *span, const otel_baggage *baggage, otel_carrier_set_fn set,
                             void *carrier)
{
        unsigned active = otel_propagation_active();

        if (!set)
                return;
        if (active & OTEL_PROPAGATOR_TRACECONTEXT)
                inject_tracecontext(span, set, carrier);
        if (active & OTEL_PROPAGATOR_BAGGAGE)
                inject_baggage(baggage, set, carrier);
}
