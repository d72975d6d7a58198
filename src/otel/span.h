/* SPDX-License-Identifier: Apache-2.0 */
/* The span record as the SDK keeps it: what processors queue and exporters encode. Recording spans
 * are one heap block (struct + inline arena); non-recording ones only use the header fields. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "attributes.h"
#include "otel.h"

/* A span is one heap block that typical spans never outgrow: the HTTP server span carries 12-14
 * attributes and a database span a statement text of a few hundred bytes. A second block (the arena's
 * next one) costs a malloc on the request thread and a free on the exporter's, which glibc serves
 * from its locked bins, not the thread cache: callgrind counted ~1,000 instructions per span for it,
 * more than the span's own start. */
#define OTEL_SPAN_INLINE_ATTRS 16   /* attributes stored without a second allocation */
#define OTEL_SPAN_INLINE_ARENA 1024 /* bytes for names, strings, events, links in the span block */

typedef struct otel_event {
        struct otel_event *next; /* singly linked in insertion order */
        uint64_t time_ns;        /* Unix epoch ns */
        const char *name;        /* in the span's arena */
        otel_attr_list attrs;    /* items in the span's arena */
} otel_event;

typedef struct otel_span_link {
        struct otel_span_link *next; /* singly linked in insertion order */
        otel_span_context context;   /* the linked span */
        otel_tracestate *tracestate; /* reference held by the link, may be NULL */
        otel_attr_list attrs;        /* items in the span's arena */
} otel_span_link;

/* An instrumentation scope; owned by the provider and alive until otel_sdk_shutdown(). */
struct otel_tracer {
        struct otel_tracer *next; /* provider's list */
        char *scope_name;         /* heap, never NULL */
        char *scope_version;      /* heap, may be NULL */
        bool noop;                /* the SDK is disabled: every span is non-recording */
};

struct otel_span {
        atomic_uint refs;            /* references: the creator's, active contexts', the queue's */
        atomic_flag lock;            /* spinlock guarding mutation of a recording span */
        bool recording;              /* sampled-in and not yet ended: records data */
        bool ended;                  /* otel_span_end() was called */
        bool has_parent;             /* parent_span_id is valid */
        bool parent_is_remote;       /* the parent came from a carrier */
        otel_span_context context;   /* own ids and flags */
        otel_tracestate *tracestate; /* reference, may be NULL */
        uint8_t parent_span_id[OTEL_SPAN_ID_SIZE];
        otel_tracer *tracer; /* scope; NULL for wrapped remote contexts */
        otel_span_kind kind;
        const char *name;       /* in the arena */
        uint64_t start_ns;      /* Unix epoch ns (wall clock) */
        uint64_t end_ns;        /* start_ns + monotonic duration */
        uint64_t start_mono_ns; /* CLOCK_MONOTONIC at start, for the duration */
        otel_status_code status;
        const char *status_message; /* in the arena, NULL unless status is ERROR */
        otel_attr_list attrs;
        otel_event *events;      /* first event */
        otel_event *events_tail; /* last event, for O(1) append */
        uint32_t n_events;
        uint32_t dropped_events;
        otel_span_link *links;      /* first link */
        otel_span_link *links_tail; /* last link */
        uint32_t n_links;
        uint32_t dropped_links;
        struct otel_span *next_free; /* per-thread cache of non-recording spans */
        struct tracez_entry *tracez; /* tracez.c's entry for name, set at start (recording spans) */
        otel_arena arena;            /* strings, arrays, events, links */
        otel_attr inline_attrs[OTEL_SPAN_INLINE_ATTRS];
        uint32_t inline_fps[OTEL_SPAN_INLINE_ATTRS]; /* fingerprints of inline_attrs' keys */
        _Alignas(16) char inline_arena[OTEL_SPAN_INLINE_ARENA];
};

/* 1 when the trace-flags sampled bit is set. */
static inline bool otel_span_context_sampled(const otel_span_context *sc)
{
        return sc->trace_flags & OTEL_TRACE_FLAG_SAMPLED;
}
