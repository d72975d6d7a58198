/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the W3C propagation parsers: the input is fed to traceparent, tracestate and
 * baggage parsing, and whatever parses must survive a round trip (parse → serialize → parse gives
 * the same thing). A difference aborts, so libFuzzer keeps the input as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otel.h"
#include "propagation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-propagation: round trip broken: %s\n", what);
                abort();
        }
}

static bool str_eq_or_both_null(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

static void fuzz_traceparent(const char *s, size_t len)
{
        otel_span_context a, b;
        char out[OTEL_TRACEPARENT_LEN + 1];

        if (otel_traceparent_parse(s, len, &a) < 0)
                return;
        check(otel_span_context_is_valid(&a), "parsed traceparent is not a valid context");
        otel_traceparent_format(&a, out);
        check(strlen(out) == OTEL_TRACEPARENT_LEN, "traceparent length");
        check(otel_traceparent_parse(out, strlen(out), &b) == 0, "formatted traceparent does not parse");
        check(memcmp(a.trace_id, b.trace_id, OTEL_TRACE_ID_SIZE) == 0, "trace-id");
        check(memcmp(a.span_id, b.span_id, OTEL_SPAN_ID_SIZE) == 0, "parent-id");
        check(a.trace_flags == b.trace_flags, "trace-flags");
}

static void fuzz_tracestate(const char *s, size_t len)
{
        otel_tracestate *a = NULL, *b = NULL;
        const char *h, *ka, *va, *kb, *vb;
        int r;

        r = otel_tracestate_parse(s, len, &a);
        if (r == -ENOMEM)
                abort();
        if (r < 0)
                return;
        h = otel_tracestate_header(a);
        check(strlen(h) <= OTEL_TRACESTATE_MAX_LEN, "tracestate longer than 512");
        check(otel_tracestate_count(a) <= OTEL_TRACESTATE_MAX_MEMBERS, "more than 32 members");
        check(otel_tracestate_parse(h, strlen(h), &b) == 0, "serialized tracestate does not parse");
        check(strcmp(h, otel_tracestate_header(b)) == 0, "tracestate header");
        check(otel_tracestate_count(a) == otel_tracestate_count(b), "tracestate member count");
        for (size_t i = 0; otel_tracestate_member(a, i, &ka, &va); i++) {
                check(otel_tracestate_member(b, i, &kb, &vb), "tracestate member missing");
                check(strcmp(ka, kb) == 0 && strcmp(va, vb) == 0, "tracestate member");
                check(otel_tracestate_get(a, ka) == va, "tracestate lookup");
        }
        otel_tracestate_unref(a);
        otel_tracestate_unref(b);
}

static void fuzz_baggage(const char *s, size_t len)
{
        otel_baggage *a = NULL, *b = NULL;
        const char *ka, *va, *ma, *kb, *vb, *mb;
        char *h;

        if (otel_baggage_parse(s, len, &a) < 0)
                abort(); /* only -ENOMEM, which the fuzzer's inputs cannot cause */
        check(otel_baggage_count(a) <= OTEL_BAGGAGE_MAX_MEMBERS, "more than 64 baggage members");
        h = otel_baggage_header(a);
        if (!h) {
                check(otel_baggage_count(a) == 0, "baggage header missing");
                otel_baggage_unref(a);
                return;
        }
        check(strlen(h) <= OTEL_BAGGAGE_MAX_BYTES, "baggage longer than 8192");
        check(otel_baggage_parse(h, strlen(h), &b) == 0, "serialized baggage does not parse");
        check(otel_baggage_count(a) == otel_baggage_count(b), "baggage member count");
        for (size_t i = 0; otel_baggage_entry(a, i, &ka, &va, &ma); i++) {
                check(otel_baggage_entry(b, i, &kb, &vb, &mb), "baggage member missing");
                check(strcmp(ka, kb) == 0, "baggage key");
                check(strcmp(va, vb) == 0, "baggage value");
                check(str_eq_or_both_null(ma, mb), "baggage metadata");
        }
        free(h);
        otel_baggage_unref(a);
        otel_baggage_unref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A copy of exactly size bytes, so that ASan sees any read past the end. */
        char *s = malloc(size ? size : 1);

        if (!s)
                return 0;
        memcpy(s, data, size);
        fuzz_traceparent(s, size);
        fuzz_tracestate(s, size);
        fuzz_baggage(s, size);
        free(s);
        return 0;
}
