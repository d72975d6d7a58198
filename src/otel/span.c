/* SPDX-License-Identifier: Apache-2.0 */
/* Span lifecycle (API + SDK "Span"): start with sampling, record attributes/events/links/status
 * under a per-span spinlock, end once and hand the span to the processors. Recording spans are one
 * malloc; non-recording spans come from a per-thread cache so that an unsampled span costs a few ns. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "provider.h"
#include "random.h"
#include "span.h"
#include "tracez.h"
#include "stats.h"

#define OTEL_SPAN_CACHE_MAX 64 /* non-recording span objects kept per thread */

otel_trace_counters otel_trace_counters_global;

/* ---- allocation ------------------------------------------------------------------------------ */

typedef struct span_cache {
        otel_span *head; /* free non-recording spans */
        unsigned n;      /* length of the list */
        bool registered; /* the thread-exit destructor is armed */
} span_cache;

static _Thread_local span_cache cache;
static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void span_cache_drain(void *unused)
{
        (void)unused;
        while (cache.head) {
                otel_span *s = cache.head;
                cache.head = s->next_free;
                free(s);
        }
        cache.n = 0;
}

static void span_cache_key_create(void)
{
        /* The key's destructor frees a thread's cache when the thread exits. */
        (void)pthread_key_create(&cache_key, span_cache_drain);
}

/* A span header for a non-recording span: only refs, lock, context, tracestate are used. */
static otel_span *span_alloc_nonrecording(void)
{
        otel_span *s = cache.head;

        if (s) {
                cache.head = s->next_free;
                cache.n--;
        } else {
                s = malloc(sizeof(*s));
                if (!s)
                        return NULL;
        }
        atomic_init(&s->refs, 1);
        atomic_flag_clear_explicit(&s->lock, memory_order_relaxed); /* not shared yet */
        s->recording = false;
        s->ended = false;
        s->has_parent = false;
        s->tracestate = NULL;
        s->tracer = NULL;
        return s;
}

static void span_free(otel_span *s)
{
        if (s->tracestate)
                otel_tracestate_unref(s->tracestate);
        if (!s->recording) {
                if (cache.n < OTEL_SPAN_CACHE_MAX) {
                        if (!cache.registered) {
                                (void)pthread_once(&cache_key_once, span_cache_key_create);
                                (void)pthread_setspecific(cache_key, &cache);
                                cache.registered = true;
                        }
                        s->next_free = cache.head;
                        cache.head = s;
                        cache.n++;
                        return;
                }
                free(s);
                return;
        }
        for (otel_span_link *l = s->links; l; l = l->next)
                otel_tracestate_unref(l->tracestate);
        otel_arena_release(&s->arena);
        free(s);
}

otel_span *otel_span_ref(otel_span *span)
{
        if (span)
                atomic_fetch_add_explicit(&span->refs, 1, memory_order_relaxed);
        return span;
}

void otel_span_unref(otel_span *span)
{
        if (!span)
                return;
        /* Holding the only reference means nobody else can take one: skip the atomic RMW then. */
        if (atomic_load_explicit(&span->refs, memory_order_acquire) == 1 ||
            atomic_fetch_sub_explicit(&span->refs, 1, memory_order_acq_rel) == 1)
                span_free(span);
}

/* When even a non-recording header cannot be allocated, this shared, immortal span is returned:
 * it carries an invalid context, so nothing is propagated, and every call on it is a no-op. */
static otel_span span_oom = {.refs = 1u << 30};

static bool span_is_oom(const otel_span *s)
{
        return s == &span_oom;
}

/* ---- clock ----------------------------------------------------------------------------------- */

/* Span times come from one CLOCK_MONOTONIC reading at start and one at end: the wall-clock start is
 * the monotonic reading plus an offset refreshed at most once a second, which saves a clock call per
 * span and keeps durations monotonic even when the wall clock is stepped. */
#define OTEL_WALL_OFFSET_REFRESH_NS OTEL_NSEC_PER_SEC

static _Atomic int64_t wall_offset_ns;    /* CLOCK_REALTIME - CLOCK_MONOTONIC */
static _Atomic int64_t wall_offset_at_ns; /* monotonic time of the last refresh; 0 = never */

static uint64_t span_wall_from_mono(uint64_t mono)
{
        int64_t at = atomic_load_explicit(&wall_offset_at_ns, memory_order_relaxed);

        if (at == 0 || (int64_t)mono - at > (int64_t)OTEL_WALL_OFFSET_REFRESH_NS) {
                uint64_t wall = otel_clock_ns(CLOCK_REALTIME), now = otel_mono_ns();
                atomic_store_explicit(&wall_offset_ns, (int64_t)(wall - now), memory_order_relaxed);
                atomic_store_explicit(&wall_offset_at_ns, (int64_t)now, memory_order_relaxed);
        }
        return mono + (uint64_t)atomic_load_explicit(&wall_offset_ns, memory_order_relaxed);
}

/* ---- locking --------------------------------------------------------------------------------- */

static inline void span_lock(otel_span *s)
{
        while (atomic_flag_test_and_set_explicit(&s->lock, memory_order_acquire))
                __builtin_ia32_pause();
}

static inline void span_unlock(otel_span *s)
{
        atomic_flag_clear_explicit(&s->lock, memory_order_release);
}

/* Locks s if it still records; returns false (unlocked) otherwise. */
static bool span_lock_recording(otel_span *s)
{
        if (!s || !s->recording)
                return false;
        span_lock(s);
        if (s->ended) {
                span_unlock(s);
                return false;
        }
        return true;
}

/* ---- start ----------------------------------------------------------------------------------- */

/* A new span's ids, kept as 64-bit words so that they go into the span with word-sized stores (a
 * byte-built otel_span_context copied with vector loads stalls store forwarding on the hot path). */
typedef struct span_ids {
        uint64_t trace[2]; /* trace id, as in memory */
        uint64_t span;     /* span id, as in memory */
        uint8_t flags;     /* W3C trace flags */
} span_ids;

static void span_set_ids(otel_span *s, const span_ids *ids)
{
        memcpy(s->context.trace_id, ids->trace, OTEL_TRACE_ID_SIZE);
        memcpy(s->context.span_id, &ids->span, OTEL_SPAN_ID_SIZE);
        s->context.trace_flags = ids->flags;
        s->context.is_remote = false;
}

static otel_span *span_start_unsampled(const span_ids *ids, otel_tracestate *ts)
{
        otel_span *s = span_alloc_nonrecording();

        if (!s)
                return &span_oom;
        span_set_ids(s, ids);
        s->tracestate = ts ? otel_tracestate_ref(ts) : NULL;
        return s;
}

static otel_span *span_start_nonrecording(const otel_span_context *sc, otel_tracestate *ts)
{
        otel_span *s = span_alloc_nonrecording();

        if (!s)
                return &span_oom;
        s->context = *sc;
        s->tracestate = ts ? otel_tracestate_ref(ts) : NULL;
        return s;
}

static void span_add_link_locked(otel_span *s, const otel_link *link, const otel_provider *p)
{
        otel_span_link *l;

        if (!otel_span_context_is_valid(&link->context))
                return;
        if (s->n_links >= p->link_count_limit) {
                s->dropped_links++;
                return;
        }
        l = otel_arena_alloc(&s->arena, sizeof(*l), _Alignof(otel_span_link));
        if (!l || otel_attr_list_copy(&l->attrs, &s->arena, link->attrs, link->n_attrs,
                                      &p->link_attr_limits) < 0) {
                s->dropped_links++;
                return;
        }
        l->next = NULL;
        l->context = link->context;
        l->tracestate = link->tracestate ? otel_tracestate_ref((otel_tracestate *)link->tracestate) : NULL;
        if (s->links_tail)
                s->links_tail->next = l;
        else
                s->links = l;
        s->links_tail = l;
        s->n_links++;
}

static otel_span *span_start_recording(otel_tracer *tracer, const char *name, otel_span_kind kind,
                                       const span_ids *ids, const otel_span *parent,
                                       const otel_span_start_opts *opts, const otel_provider *p)
{
        otel_span *s = malloc(sizeof(*s));

        if (!s)
                return span_start_unsampled(ids, parent ? parent->tracestate : NULL);
        atomic_init(&s->refs, 1);
        atomic_flag_clear_explicit(&s->lock, memory_order_relaxed); /* not shared yet */
        s->recording = true;
        s->ended = false;
        span_set_ids(s, ids);
        s->tracestate = parent && parent->tracestate ? otel_tracestate_ref(parent->tracestate) : NULL;
        s->has_parent = parent != NULL;
        s->parent_is_remote = parent && parent->context.is_remote;
        if (parent)
                memcpy(s->parent_span_id, parent->context.span_id, OTEL_SPAN_ID_SIZE);
        s->tracer = tracer;
        s->kind = (unsigned)kind - 1u < _OTEL_SPAN_KIND_MAX - 1u ? kind : OTEL_SPAN_KIND_INTERNAL;
        s->status = OTEL_STATUS_UNSET;
        s->status_message = NULL;
        s->events = s->events_tail = NULL;
        s->links = s->links_tail = NULL;
        s->n_events = s->dropped_events = s->n_links = s->dropped_links = 0;
        otel_arena_init(&s->arena, s->inline_arena, sizeof(s->inline_arena));
        otel_attr_list_init_fp(&s->attrs, s->inline_attrs, s->inline_fps, OTEL_SPAN_INLINE_ATTRS);
        s->name = otel_arena_strndup(&s->arena, name ? name : "", name ? strlen(name) : 0);
        if (!s->name)
                s->name = "";
        if (opts) {
                for (size_t i = 0; i < opts->n_attrs; i++)
                        (void)otel_attr_list_set(&s->attrs, &s->arena, &opts->attrs[i],
                                                 &p->span_attr_limits);
                for (size_t i = 0; i < opts->n_links; i++)
                        span_add_link_locked(s, &opts->links[i], p);
        }
        s->start_mono_ns = otel_mono_ns();
        s->start_ns =
                opts && opts->start_time_ns ? opts->start_time_ns : span_wall_from_mono(s->start_mono_ns);
        s->end_ns = 0;
        OTEL_COUNT(spans_started, 1);
        s->tracez = otel_tracez_span_started(s->name);
        return s;
}

otel_span *otel_span_start(otel_tracer *tracer, const char *name, otel_span_kind kind,
                           const otel_span_start_opts *opts)
{
        otel_provider *p = &otel_provider_global;
        const otel_span *parent = NULL;
        uint8_t trace_id[OTEL_TRACE_ID_SIZE];
        otel_sampler sampler;
        span_ids ids;

        if (!(opts && opts->root))
                parent = opts && opts->parent ? opts->parent : otel_context_span();
        if (parent && !otel_span_context_is_valid(&parent->context))
                parent = NULL;

        if (!tracer || tracer->noop || !atomic_load_explicit(&p->active, memory_order_acquire)) {
                /* API without SDK: propagate the parent's context unchanged (spec "Behavior of the API
                 * in the absence of an installed SDK"). */
                if (parent)
                        return span_start_nonrecording(&parent->context, parent->tracestate);
                return span_start_nonrecording(&(otel_span_context){0}, NULL);
        }

        if (parent)
                memcpy(ids.trace, parent->context.trace_id, OTEL_TRACE_ID_SIZE);
        else
                do {
                        ids.trace[0] = otel_random_u64();
                        ids.trace[1] = otel_random_u64();
                } while (__builtin_expect(!(ids.trace[0] | ids.trace[1]), 0));
        ids.span = otel_random_nonzero_u64();
        memcpy(trace_id, ids.trace, OTEL_TRACE_ID_SIZE);
        otel_sampler_unpack(atomic_load_explicit(&p->sampler, memory_order_relaxed), &sampler);
        ids.flags = otel_sampler_should_sample(&sampler, parent ? &parent->context : NULL, trace_id)
                            ? OTEL_TRACE_FLAG_SAMPLED
                            : 0;
        if (!ids.flags)
                return span_start_unsampled(&ids, parent ? parent->tracestate : NULL);
        return span_start_recording(tracer, name, kind, &ids, parent, opts, p);
}

otel_span *otel_span_wrap_context(const otel_span_context *sc, const otel_tracestate *ts)
{
        return span_start_nonrecording(sc, (otel_tracestate *)ts);
}

/* ---- recording ------------------------------------------------------------------------------- */

void otel_span_set_attrs(otel_span *span, const otel_attr *attrs, size_t n)
{
        if (!span_lock_recording(span))
                return;
        for (size_t i = 0; i < n; i++)
                (void)otel_attr_list_set(&span->attrs, &span->arena, &attrs[i],
                                         &otel_provider_global.span_attr_limits);
        span_unlock(span);
}

void otel_span_set_attr(otel_span *span, const otel_attr *attr)
{
        otel_span_set_attrs(span, attr, 1);
}

void otel_span_set_str(otel_span *span, const char *key, const char *value)
{
        otel_span_set_attr(span, &OTEL_ATTR_STR(key, value));
}

void otel_span_set_int(otel_span *span, const char *key, int64_t value)
{
        otel_span_set_attr(span, &OTEL_ATTR_I64(key, value));
}

void otel_span_set_double(otel_span *span, const char *key, double value)
{
        otel_span_set_attr(span, &OTEL_ATTR_F64(key, value));
}

void otel_span_set_bool(otel_span *span, const char *key, bool value)
{
        otel_span_set_attr(span, &OTEL_ATTR_BOOLV(key, value));
}

void otel_span_add_event_at(otel_span *span, const char *name, uint64_t time_ns, const otel_attr *attrs,
                            size_t n_attrs)
{
        const otel_provider *p = &otel_provider_global;
        otel_event *e;

        if (!span_lock_recording(span))
                return;
        if (span->n_events >= p->event_count_limit) {
                span->dropped_events++;
                goto out;
        }
        e = otel_arena_alloc(&span->arena, sizeof(*e), _Alignof(otel_event));
        if (!e)
                goto drop;
        e->next = NULL;
        e->time_ns = time_ns ? time_ns : otel_clock_ns(CLOCK_REALTIME);
        e->name = otel_arena_strndup(&span->arena, name ? name : "", name ? strlen(name) : 0);
        if (!e->name ||
            otel_attr_list_copy(&e->attrs, &span->arena, attrs, n_attrs, &p->event_attr_limits) < 0)
                goto drop;
        if (span->events_tail)
                span->events_tail->next = e;
        else
                span->events = e;
        span->events_tail = e;
        span->n_events++;
        goto out;
drop:
        span->dropped_events++;
out:
        span_unlock(span);
}

void otel_span_add_event(otel_span *span, const char *name, const otel_attr *attrs, size_t n_attrs)
{
        otel_span_add_event_at(span, name, 0, attrs, n_attrs);
}

void otel_span_add_link(otel_span *span, const otel_link *link)
{
        if (!link || !span_lock_recording(span))
                return;
        span_add_link_locked(span, link, &otel_provider_global);
        span_unlock(span);
}

void otel_span_set_status(otel_span *span, otel_status_code code, const char *description)
{
        /* API spec "Set Status": UNSET is ignored, OK is final, the description only goes with ERROR. */
        if (code != OTEL_STATUS_OK && code != OTEL_STATUS_ERROR)
                return;
        if (!span_lock_recording(span))
                return;
        if (span->status != OTEL_STATUS_OK) {
                span->status = code;
                span->status_message = NULL;
                if (code == OTEL_STATUS_ERROR && description && *description)
                        span->status_message =
                                otel_arena_strndup(&span->arena, description, strlen(description));
        }
        span_unlock(span);
}

void otel_span_update_name(otel_span *span, const char *name)
{
        const char *n;

        if (!name || !span_lock_recording(span))
                return;
        n = otel_arena_strndup(&span->arena, name, strlen(name));
        if (n) {
                span->tracez = otel_tracez_span_renamed(span->tracez, n);
                span->name = n;
        }
        span_unlock(span);
}

void otel_span_record_exception(otel_span *span, const char *type, const char *message,
                                const char *stacktrace)
{
        /* Semantic conventions "Recording exceptions": an event named "exception". */
        otel_attr attrs[3];
        size_t n = 0;

        if (type && *type)
                attrs[n++] = OTEL_ATTR_STR("exception.type", type);
        if (message && *message)
                attrs[n++] = OTEL_ATTR_STR("exception.message", message);
        if (stacktrace && *stacktrace)
                attrs[n++] = OTEL_ATTR_STR("exception.stacktrace", stacktrace);
        otel_span_add_event(span, "exception", attrs, n);
}

/* ---- queries --------------------------------------------------------------------------------- */

bool otel_span_is_recording(const otel_span *span)
{
        bool r;

        if (!span || !span->recording)
                return false;
        span_lock((otel_span *)span);
        r = !span->ended;
        span_unlock((otel_span *)span);
        return r;
}

const otel_span_context *otel_span_get_context(const otel_span *span)
{
        static const otel_span_context invalid;
        return span ? &span->context : &invalid;
}

const otel_tracestate *otel_span_get_tracestate(const otel_span *span)
{
        return span ? span->tracestate : NULL;
}

/* ---- end ------------------------------------------------------------------------------------- */

static void span_finish(otel_span *span, uint64_t end_ns)
{
        otel_provider *p = &otel_provider_global;

        span_lock(span);
        if (span->ended) {
                span_unlock(span);
                return;
        }
        if (end_ns)
                span->end_ns = end_ns;
        else if (span->start_ns && span->start_mono_ns)
                span->end_ns = span->start_ns + (otel_mono_ns() - span->start_mono_ns);
        if (span->end_ns < span->start_ns)
                span->end_ns = span->start_ns;
        span->ended = true;
        span_unlock(span);
        OTEL_COUNT(spans_ended, 1);

        /* Shutdown clears `active` and then waits for in_flight to drain before freeing processors. */
        if (atomic_load_explicit(&p->n_processors, memory_order_relaxed) == 0)
                return;
        atomic_fetch_add_explicit(&p->in_flight, 1, memory_order_acq_rel);
        if (atomic_load_explicit(&p->active, memory_order_acquire)) {
                unsigned n = atomic_load_explicit(&p->n_processors, memory_order_relaxed);
                for (unsigned i = 0; i < n; i++)
                        p->processors[i]->on_end(p->processors[i], span);
        }
        atomic_fetch_sub_explicit(&p->in_flight, 1, memory_order_release);
}

void otel_span_end_at(otel_span *span, uint64_t end_time_ns)
{
        if (!span || span_is_oom(span))
                return;
        if (span->recording)
                span_finish(span, end_time_ns);
        otel_span_unref(span);
}

void otel_span_end(otel_span *span)
{
        otel_span_end_at(span, 0);
}
