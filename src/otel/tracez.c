/* SPDX-License-Identifier: Apache-2.0 */
/* tracez: the in-process span summary behind /debug/tracez (after OpenCensus zPages). Per span name:
 * spans running now, ended spans per latency bucket, the latest few samples per bucket and the latest
 * error spans, each a small copy (ids, times, status, a few attributes), never the span. Memory is
 * bounded: at most OTEL_TRACEZ_MAX_NAMES names (then "other"), sample rings allocated on first use.
 * The name table is lock-free (entries are never removed), so a span start costs a hash lookup and one
 * atomic add; the per-name lock is taken on span end only. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attributes.h"
#include "otel.h"
#include "logs.h"
#include "otlp-common.h"
#include "span.h"
#include "tracez.h"

#define TRACEZ_HASH_SEED  0x9e3779b97f4a7c15ull             /* odd multiplier of the word-wise hash */
#define TRACEZ_N_RINGS    (OTEL_TRACEZ_LATENCY_BUCKETS + 1) /* latency buckets and the error ring */
#define TRACEZ_HEX_ID_MAX (OTEL_TRACE_ID_HEX + 1)

/* A small copy of an ended span: enough to show it, and to place it in its trace's waterfall. */
typedef struct tracez_sample {
        uint8_t trace_id[OTEL_TRACE_ID_SIZE];
        uint8_t span_id[OTEL_SPAN_ID_SIZE];
        uint8_t parent_span_id[OTEL_SPAN_ID_SIZE]; /* valid when has_parent */
        bool has_parent;
        otel_span_kind kind;
        uint64_t start_ns;    /* Unix epoch ns */
        uint64_t duration_ns; /* end - start */
        otel_status_code status;
        char status_message[OTEL_TRACEZ_STATUS_MAX];
        unsigned n_attrs;                    /* pairs in attrs */
        unsigned n_attrs_dropped;            /* by the span's limits, or not fitting in attrs */
        size_t attrs_len;                    /* bytes used in attrs */
        char attrs[OTEL_TRACEZ_ATTRS_BYTES]; /* "key\0value\0" pairs, each cut at a UTF-8 boundary */
} tracez_sample;

/* The latest OTEL_TRACEZ_SAMPLES samples of one bucket, oldest overwritten first. */
typedef struct tracez_ring {
        unsigned next; /* slot the next sample goes to */
        unsigned n;    /* samples held, at most OTEL_TRACEZ_SAMPLES */
        tracez_sample items[OTEL_TRACEZ_SAMPLES];
} tracez_ring;

/* Counters are atomics so that a span's end costs a few relaxed atomic operations; the lock is only
 * taken when a bucket is due for a new sample (at most every OTEL_TRACEZ_SAMPLE_INTERVAL_NS). */
struct tracez_entry {
        char name[OTEL_TRACEZ_NAME_MAX]; /* the (cut) span name; immutable once published */
        atomic_int_fast64_t started;     /* span starts (running = started - ended) */
        atomic_uint_fast64_t latency[OTEL_TRACEZ_LATENCY_BUCKETS]; /* ended without error */
        atomic_uint_fast64_t errors;                               /* ended with status ERROR */
        atomic_uint_fast64_t sample_due_ns[TRACEZ_N_RINGS]; /* end time from which a bucket samples again */
        pthread_mutex_t lock;                               /* guards rings */
        tracez_ring *rings[TRACEZ_N_RINGS];                 /* allocated on first sample, or NULL */
};

static _Atomic(tracez_entry *) tracez_table[OTEL_TRACEZ_TABLE_SIZE];
static atomic_size_t tracez_n_names;
static tracez_entry tracez_other = {.name = OTEL_TRACEZ_OTHER_NAME, .lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- buckets ---------------------------------------------------------------------------------- */

uint64_t otel_tracez_bucket_lower_ns(unsigned b)
{
        uint64_t ns = 0;

        if (b == 0 || b >= OTEL_TRACEZ_LATENCY_BUCKETS)
                return 0;
        ns = 10000; /* 10 µs */
        while (--b > 0)
                ns *= 10;
        return ns;
}

unsigned otel_tracez_bucket_of(uint64_t duration_ns)
{
        unsigned b = 0;

        for (uint64_t bound = 10000; b < OTEL_TRACEZ_LATENCY_BUCKETS - 1 && duration_ns >= bound;
             bound *= 10)
                b++;
        return b;
}

static const char *const bucket_labels[TRACEZ_N_RINGS] = {
        "[0, 10µs)",   "[10µs, 100µs)", "[100µs, 1ms)", "[1ms, 10ms)",  "[10ms, 100ms)",
        "[100ms, 1s)", "[1s, 10s)",     "[10s, 100s)",  "[100s, +inf)", "errors",
};

/* ---- the name table --------------------------------------------------------------------------- */

/* The name as stored: cut to OTEL_TRACEZ_NAME_MAX - 1 bytes without splitting a character. */
static size_t tracez_key_len(const char *name)
{
        return otel_utf8_truncate(name, strlen(name), OTEL_TRACEZ_NAME_MAX - 1);
}

/* Word-at-a-time multiply-xor hash: every recording span start hashes its name once. */
static uint64_t tracez_hash(const char *name, size_t len)
{
        uint64_t h = len * TRACEZ_HASH_SEED, w;

        for (; len >= 8; name += 8, len -= 8) {
                memcpy(&w, name, 8);
                h = (h ^ w) * TRACEZ_HASH_SEED;
                h ^= h >> 29;
        }
        w = 0;
        memcpy(&w, name, len);
        h = (h ^ w) * TRACEZ_HASH_SEED;
        return h ^ (h >> 32);
}

static bool tracez_entry_is(const tracez_entry *e, const char *name, size_t len)
{
        return memcmp(e->name, name, len) == 0 && e->name[len] == 0;
}

/* The entry of name; with create, adds it (or falls back to "other" when the table is full or memory
 * is short). Without create, NULL when absent. */
static tracez_entry *tracez_lookup(const char *name, bool create)
{
        tracez_entry *fresh = NULL;
        size_t len, slot;

        if (!name)
                name = "";
        len = tracez_key_len(name);
        slot = (size_t)tracez_hash(name, len) & (OTEL_TRACEZ_TABLE_SIZE - 1);
        for (size_t probe = 0; probe < OTEL_TRACEZ_TABLE_SIZE;
             probe++, slot = (slot + 1) & (OTEL_TRACEZ_TABLE_SIZE - 1)) {
                tracez_entry *e = atomic_load_explicit(&tracez_table[slot], memory_order_acquire);

                if (e) {
                        if (tracez_entry_is(e, name, len)) {
                                free(fresh);
                                return e;
                        }
                        continue;
                }
                if (!create)
                        return NULL;
                if (!fresh) {
                        /* Admission first, so that the table never holds more than MAX_NAMES. */
                        if (atomic_fetch_add(&tracez_n_names, 1) >= OTEL_TRACEZ_MAX_NAMES) {
                                atomic_fetch_sub(&tracez_n_names, 1);
                                return &tracez_other;
                        }
                        fresh = calloc(1, sizeof(*fresh));
                        if (!fresh) {
                                atomic_fetch_sub(&tracez_n_names, 1);
                                return &tracez_other;
                        }
                        memcpy(fresh->name, name, len);
                        fresh->name[len] = 0;
                        pthread_mutex_init(&fresh->lock, NULL);
                }
                if (atomic_compare_exchange_strong_explicit(&tracez_table[slot], &e, fresh,
                                                            memory_order_acq_rel, memory_order_acquire))
                        return fresh;
                /* Another thread filled this slot meanwhile: it may be our name. */
                if (tracez_entry_is(e, name, len)) {
                        pthread_mutex_destroy(&fresh->lock);
                        free(fresh);
                        atomic_fetch_sub(&tracez_n_names, 1);
                        return e;
                }
        }
        if (fresh) {
                pthread_mutex_destroy(&fresh->lock);
                free(fresh);
                atomic_fetch_sub(&tracez_n_names, 1);
        }
        return create ? &tracez_other : NULL;
}

/* The entry this thread looked up last: a server starts the same few span names over and over, and
 * a compare with the entry's own copy of the name is cheaper than hashing and probing. Entries live
 * until otel_tracez_reset(), which bumps the generation so that no thread uses a stale one. */
typedef struct tracez_last {
        tracez_entry *entry; /* NULL: none yet */
        unsigned gen;        /* tracez_gen when entry was cached */
} tracez_last;

static _Thread_local tracez_last tracez_last_lookup;
static atomic_uint tracez_gen;

tracez_entry *otel_tracez_span_started(const char *name)
{
        tracez_last *last = &tracez_last_lookup;
        unsigned gen = atomic_load_explicit(&tracez_gen, memory_order_acquire);
        tracez_entry *e = last->entry;

        if (!e || last->gen != gen || e == &tracez_other || !name || strcmp(e->name, name) != 0) {
                e = tracez_lookup(name, true);
                *last = (tracez_last){.entry = e, .gen = gen};
        }

        atomic_fetch_add_explicit(&e->started, 1, memory_order_relaxed);
        return e;
}

tracez_entry *otel_tracez_span_renamed(tracez_entry *old, const char *new_name)
{
        /* The running span moves to its new name; its end is counted there. */
        if (old)
                atomic_fetch_sub_explicit(&old->started, 1, memory_order_relaxed);
        return otel_tracez_span_started(new_name);
}

/* Spans started and not yet ended: a span's end is counted once, in a latency bucket or as an error,
 * so no counter is decremented on the end path. */
static int64_t tracez_running(tracez_entry *e)
{
        int64_t ended = (int64_t)atomic_load_explicit(&e->errors, memory_order_relaxed);

        for (unsigned b = 0; b < OTEL_TRACEZ_LATENCY_BUCKETS; b++)
                ended += (int64_t)atomic_load_explicit(&e->latency[b], memory_order_relaxed);
        return atomic_load_explicit(&e->started, memory_order_relaxed) - ended;
}

size_t otel_tracez_names(void)
{
        return atomic_load(&tracez_n_names);
}

static void tracez_entry_clear(tracez_entry *e)
{
        for (unsigned b = 0; b < TRACEZ_N_RINGS; b++) {
                free(e->rings[b]);
                e->rings[b] = NULL;
        }
        for (unsigned b = 0; b < OTEL_TRACEZ_LATENCY_BUCKETS; b++)
                atomic_store(&e->latency[b], 0);
        for (unsigned b = 0; b < TRACEZ_N_RINGS; b++)
                atomic_store(&e->sample_due_ns[b], 0);
        atomic_store(&e->errors, 0);
        atomic_store(&e->started, 0);
}

void otel_tracez_reset(void)
{
        atomic_fetch_add_explicit(&tracez_gen, 1, memory_order_release);
        for (size_t i = 0; i < OTEL_TRACEZ_TABLE_SIZE; i++) {
                tracez_entry *e = atomic_exchange(&tracez_table[i], NULL);

                if (!e)
                        continue;
                tracez_entry_clear(e);
                pthread_mutex_destroy(&e->lock);
                free(e);
        }
        atomic_store(&tracez_n_names, 0);
        tracez_entry_clear(&tracez_other);
}

bool otel_tracez_counts_get(const char *name, otel_tracez_counts *ret)
{
        tracez_entry *e = name && strcmp(name, OTEL_TRACEZ_OTHER_NAME) == 0 ? &tracez_other
                                                                            : tracez_lookup(name, false);

        if (!e)
                return false;
        pthread_mutex_lock(&e->lock);
        ret->running = tracez_running(e);
        for (unsigned b = 0; b < OTEL_TRACEZ_LATENCY_BUCKETS; b++)
                ret->latency[b] = atomic_load_explicit(&e->latency[b], memory_order_relaxed);
        ret->errors = atomic_load_explicit(&e->errors, memory_order_relaxed);
        for (unsigned b = 0; b < TRACEZ_N_RINGS; b++)
                ret->samples[b] = e->rings[b] ? e->rings[b]->n : 0;
        pthread_mutex_unlock(&e->lock);
        return true;
}

/* ---- the processor ---------------------------------------------------------------------------- */

/* Copies at most max-1 bytes of s into dst without splitting a UTF-8 character. */
static void copy_cut(char *dst, size_t max, const char *s, size_t len)
{
        size_t n = otel_utf8_truncate(s, len, max - 1);

        memcpy(dst, s, n);
        dst[n] = 0;
}

/* Appends "key\0value\0" to the sample's attributes; false when it does not fit. */
static bool sample_add_attr(tracez_sample *smp, const char *key, const char *value, size_t value_len)
{
        size_t klen = otel_utf8_truncate(key, strlen(key), OTEL_TRACEZ_KEY_MAX - 1);
        size_t vlen = otel_utf8_truncate(value, value_len, OTEL_TRACEZ_VALUE_MAX - 1);
        char *p = smp->attrs + smp->attrs_len;

        if (smp->attrs_len + klen + vlen + 2 > sizeof(smp->attrs))
                return false;
        memcpy(p, key, klen);
        p[klen] = 0;
        memcpy(p + klen + 1, value, vlen);
        p[klen + 1 + vlen] = 0;
        smp->attrs_len += klen + vlen + 2;
        smp->n_attrs++;
        return true;
}

static void sample_fill(tracez_sample *smp, const otel_span *s)
{
        otel_buf text = {0};

        memcpy(smp->trace_id, s->context.trace_id, OTEL_TRACE_ID_SIZE);
        memcpy(smp->span_id, s->context.span_id, OTEL_SPAN_ID_SIZE);
        smp->has_parent = s->has_parent;
        memcpy(smp->parent_span_id, s->parent_span_id, OTEL_SPAN_ID_SIZE);
        smp->kind = s->kind;
        smp->start_ns = s->start_ns;
        smp->duration_ns = s->end_ns - s->start_ns;
        smp->status = s->status;
        copy_cut(smp->status_message, sizeof(smp->status_message),
                 s->status_message ? s->status_message : "",
                 s->status_message ? strlen(s->status_message) : 0);
        smp->n_attrs = 0;
        smp->attrs_len = 0;
        smp->n_attrs_dropped = s->attrs.dropped;
        for (uint32_t i = 0; i < s->attrs.n; i++) {
                otel_buf_reset(&text);
                if (otel_log_value_text(&s->attrs.items[i], &text) < 0 ||
                    !sample_add_attr(smp, s->attrs.items[i].key, text.data ? (const char *)text.data : "",
                                     text.len))
                        smp->n_attrs_dropped++;
        }
        otel_buf_free(&text);
}

static void tracez_on_end(otel_span_processor *p, otel_span *s)
{
        bool error = s->status == OTEL_STATUS_ERROR;
        tracez_entry *e = s->tracez ? s->tracez : tracez_lookup(s->name, true);
        unsigned b = error ? OTEL_TRACEZ_ERROR_BUCKET : otel_tracez_bucket_of(s->end_ns - s->start_ns);
        tracez_ring *ring;

        (void)p;
        if (error)
                atomic_fetch_add_explicit(&e->errors, 1, memory_order_relaxed);
        else
                atomic_fetch_add_explicit(&e->latency[b], 1, memory_order_relaxed);
        /* Sampled recently enough: no lock, no copy. Error spans are always sampled. */
        if (!error && s->end_ns < atomic_load_explicit(&e->sample_due_ns[b], memory_order_relaxed))
                return;
        pthread_mutex_lock(&e->lock);
        ring = e->rings[b];
        if (!ring)
                ring = e->rings[b] = calloc(1, sizeof(*ring)); /* no memory: counted, not sampled */
        if (ring) {
                atomic_store_explicit(&e->sample_due_ns[b], s->end_ns + OTEL_TRACEZ_SAMPLE_INTERVAL_NS,
                                      memory_order_relaxed);
                sample_fill(&ring->items[ring->next], s);
                ring->next = (ring->next + 1) % OTEL_TRACEZ_SAMPLES;
                if (ring->n < OTEL_TRACEZ_SAMPLES)
                        ring->n++;
        }
        pthread_mutex_unlock(&e->lock);
}

static int tracez_force_flush(otel_span_processor *p, uint64_t deadline_ns)
{
        (void)p;
        (void)deadline_ns;
        return 0;
}

static int tracez_shutdown(otel_span_processor *p, uint64_t deadline_ns)
{
        (void)deadline_ns;
        free(p);
        return 0;
}

int otel_tracez_processor_new(otel_span_processor **ret)
{
        otel_span_processor *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        p->on_end = tracez_on_end;
        p->force_flush = tracez_force_flush;
        p->shutdown = tracez_shutdown;
        *ret = p;
        return 0;
}

/* ---- rendering -------------------------------------------------------------------------------- */

/* A consistent copy of one entry, taken under its lock, so that rendering runs without it. */
typedef struct tracez_view {
        char name[OTEL_TRACEZ_NAME_MAX];
        int64_t running;
        uint64_t latency[OTEL_TRACEZ_LATENCY_BUCKETS];
        uint64_t errors;
        tracez_ring rings[TRACEZ_N_RINGS]; /* only filled when samples are asked for */
} tracez_view;

static void view_take(tracez_entry *e, bool with_samples, tracez_view *v)
{
        pthread_mutex_lock(&e->lock);
        memcpy(v->name, e->name, sizeof(v->name));
        v->running = tracez_running(e);
        for (unsigned b = 0; b < OTEL_TRACEZ_LATENCY_BUCKETS; b++)
                v->latency[b] = atomic_load_explicit(&e->latency[b], memory_order_relaxed);
        v->errors = atomic_load_explicit(&e->errors, memory_order_relaxed);
        for (unsigned b = 0; b < TRACEZ_N_RINGS; b++) {
                if (with_samples && e->rings[b])
                        v->rings[b] = *e->rings[b];
                else
                        v->rings[b].n = 0;
        }
        pthread_mutex_unlock(&e->lock);
}

static bool view_is_empty(const tracez_view *v)
{
        if (v->running || v->errors)
                return false;
        for (unsigned b = 0; b < OTEL_TRACEZ_LATENCY_BUCKETS; b++)
                if (v->latency[b])
                        return false;
        return true;
}

/* ?bucket= : "0" … "8" or "error"; -1 for all buckets when absent. */
static int parse_bucket(const char *s, int *ret)
{
        if (!s || !*s) {
                *ret = -1;
                return 0;
        }
        if (strcmp(s, "error") == 0 || strcmp(s, "errors") == 0) {
                *ret = OTEL_TRACEZ_ERROR_BUCKET;
                return 0;
        }
        if (s[0] >= '0' && s[0] < '0' + OTEL_TRACEZ_LATENCY_BUCKETS && s[1] == 0) {
                *ret = s[0] - '0';
                return 0;
        }
        return -EINVAL;
}

static int html_escape(otel_buf *out, const char *s)
{
        int r = 0;

        for (; r >= 0 && *s; s++) {
                switch (*s) {
                case '&':
                        r = otel_buf_append(out, "&amp;", 5);
                        break;
                case '<':
                        r = otel_buf_append(out, "&lt;", 4);
                        break;
                case '>':
                        r = otel_buf_append(out, "&gt;", 4);
                        break;
                case '"':
                        r = otel_buf_append(out, "&quot;", 6);
                        break;
                case '\'':
                        r = otel_buf_append(out, "&#39;", 5);
                        break;
                default:
                        r = otel_buf_append(out, s, 1);
                }
        }
        return r;
}

/* Percent-encodes a query value (RFC 3986 unreserved characters stay). */
static int url_escape(otel_buf *out, const char *s)
{
        int r = 0;

        for (; r >= 0 && *s; s++) {
                unsigned char c = (unsigned char)*s;

                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~')
                        r = otel_buf_append(out, s, 1);
                else
                        r = otel_buf_appendf(out, "%%%02X", c);
        }
        return r;
}

static int html_link(otel_buf *out, const char *name, unsigned bucket, uint64_t count)
{
        int r;

        if (count == 0)
                return otel_buf_appendf(out, "<td>0</td>");
        r = otel_buf_appendf(out, "<td><a href=\"?name=");
        if (r >= 0)
                r = url_escape(out, name);
        if (r >= 0)
                r = bucket == OTEL_TRACEZ_ERROR_BUCKET ? otel_buf_appendf(out, "&amp;bucket=error\">")
                                                       : otel_buf_appendf(out, "&amp;bucket=%u\">", bucket);
        if (r >= 0)
                r = otel_buf_appendf(out, "%" PRIu64 "</a></td>", count);
        return r;
}

static const char *status_name(otel_status_code s)
{
        return s == OTEL_STATUS_OK ? "OK" : s == OTEL_STATUS_ERROR ? "ERROR" : "UNSET";
}

static const char *kind_name(otel_span_kind k)
{
        switch (k) {
        case OTEL_SPAN_KIND_SERVER:
                return "SERVER";
        case OTEL_SPAN_KIND_CLIENT:
                return "CLIENT";
        case OTEL_SPAN_KIND_PRODUCER:
                return "PRODUCER";
        case OTEL_SPAN_KIND_CONSUMER:
                return "CONSUMER";
        default:
                return "INTERNAL";
        }
}

/* ?trace_id= : 32 lowercase hex digits, not all zero (W3C Trace Context's valid trace id). */
static int parse_trace_id(const char *s, const char **ret)
{
        if (!s || !*s) {
                *ret = NULL;
                return 0;
        }
        if (strlen(s) != OTEL_TRACE_ID_HEX || strspn(s, "0123456789abcdef") != OTEL_TRACE_ID_HEX ||
            strspn(s, "0") == OTEL_TRACE_ID_HEX)
                return -EINVAL;
        *ret = s;
        return 0;
}

/* "2026-12-03T16:18:04.123456Z": a start time a person reads (RFC 3339, UTC, microseconds). */
#define TRACEZ_TIME_MAX 32
static void format_utc(uint64_t unix_ns, char ret[TRACEZ_TIME_MAX])
{
        time_t secs = (time_t)(unix_ns / 1000000000u);
        struct tm tm;
        size_t len;

        if (!gmtime_r(&secs, &tm)) {
                (void)snprintf(ret, TRACEZ_TIME_MAX, "%" PRIu64, unix_ns);
                return;
        }
        /* strftime: the year has as many digits as it needs, which snprintf's checker cannot bound. */
        len = strftime(ret, TRACEZ_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        (void)snprintf(ret + len, TRACEZ_TIME_MAX - len, ".%06uZ",
                       (unsigned)(unix_ns % 1000000000u / 1000u));
}

/* A sample as seen by a renderer: b is its ring (latency bucket or OTEL_TRACEZ_ERROR_BUCKET), the ids
 * already in hex. */
typedef int (*tracez_sample_fn)(void *ctx, const tracez_view *v, unsigned b, const tracez_sample *smp,
                                const char *trace_hex, const char *span_hex);

/* Calls fn on the samples of ring bucket (all rings when bucket < 0) that belong to trace_hex (all
 * when NULL), newest first; stops at an error. */
static int samples_each(const tracez_view *v, int bucket, const char *trace_filter, tracez_sample_fn fn,
                        void *ctx)
{
        char trace_hex[TRACEZ_HEX_ID_MAX], span_hex[TRACEZ_HEX_ID_MAX];
        int r = 0;

        for (unsigned b = 0; r >= 0 && b < TRACEZ_N_RINGS; b++) {
                const tracez_ring *ring = &v->rings[b];

                if (bucket >= 0 && (unsigned)bucket != b)
                        continue;
                for (unsigned k = 0; r >= 0 && k < ring->n; k++) {
                        const tracez_sample *smp = &ring->items[(ring->next + OTEL_TRACEZ_SAMPLES - 1 - k) %
                                                                OTEL_TRACEZ_SAMPLES];

                        otel_trace_id_to_hex(smp->trace_id, trace_hex);
                        if (trace_filter && strcmp(trace_hex, trace_filter) != 0)
                                continue;
                        otel_span_id_to_hex(smp->span_id, span_hex);
                        r = fn(ctx, v, b, smp, trace_hex, span_hex);
                }
        }
        return r;
}

/* The sample's attributes in order: key and value of pair i, via the cursor *at (start with 0). */
static bool sample_next_attr(const tracez_sample *smp, size_t *at, const char **ret_key,
                             const char **ret_value)
{
        if (*at >= smp->attrs_len)
                return false;
        *ret_key = smp->attrs + *at;
        *ret_value = *ret_key + strlen(*ret_key) + 1;
        *at = (size_t)(*ret_value - smp->attrs) + strlen(*ret_value) + 1;
        return true;
}

static int html_sample(void *ctx, const tracez_view *v, unsigned b, const tracez_sample *smp,
                       const char *trace_hex, const char *span_hex)
{
        char start[TRACEZ_TIME_MAX], parent_hex[TRACEZ_HEX_ID_MAX] = "";
        const char *key, *value;
        otel_buf *out = ctx;
        size_t at = 0;
        int r = otel_buf_appendf(out, "<tr><td>");

        format_utc(smp->start_ns, start);
        if (smp->has_parent)
                otel_span_id_to_hex(smp->parent_span_id, parent_hex);
        if (r >= 0)
                r = html_escape(out, v->name);
        if (r >= 0)
                r = otel_buf_appendf(out,
                                     "</td><td>%s</td><td><a href=\"?trace_id=%s\">%s</a></td><td>%s</td>"
                                     "<td>%s</td><td>%s</td><td>%s</td><td>%.3f</td><td>%s ",
                                     bucket_labels[b], trace_hex, trace_hex, span_hex,
                                     parent_hex[0] ? parent_hex : "(root)", kind_name(smp->kind), start,
                                     (double)smp->duration_ns / 1e6, status_name(smp->status));
        if (r >= 0)
                r = html_escape(out, smp->status_message);
        if (r >= 0)
                r = otel_buf_appendf(out, "</td><td class=\"attrs\">");
        while (r >= 0 && sample_next_attr(smp, &at, &key, &value)) {
                r = otel_buf_appendf(out, "<code>");
                if (r >= 0)
                        r = html_escape(out, key);
                if (r >= 0)
                        r = otel_buf_append(out, "=", 1);
                if (r >= 0)
                        r = html_escape(out, value);
                if (r >= 0)
                        r = otel_buf_appendf(out, "</code><br>");
        }
        if (r >= 0 && smp->n_attrs_dropped)
                r = otel_buf_appendf(out, "(%u more not kept)", smp->n_attrs_dropped);
        if (r >= 0)
                r = otel_buf_appendf(out, "</td></tr>\n");
        return r;
}

/* The shop's colours and type (www/style.css), inline: the backend serves this page too, without www. */
static const char html_head[] =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>tracez</title>\n"
        "<style>body{margin:0;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif;"
        "color:#1d2330;background:#f6f7fb;line-height:1.5}header{background:#fff;border-bottom:1px solid "
        "#e3e6ee;"
        "padding:.75rem 1.5rem;display:flex;gap:1.5rem;align-items:baseline}header strong{color:#3b4fd8}"
        "main{padding:1rem 1.5rem}a{color:#3b4fd8;text-decoration:none}a:hover{text-decoration:underline}"
        "table{border-collapse:collapse;background:#fff;border:1px solid #e3e6ee;border-radius:10px;"
        "margin-bottom:1.5rem}td,th{border-bottom:1px solid #e3e6ee;padding:.3rem .6rem;text-align:right;"
        "vertical-align:top}th{background:#eef0fd;font-weight:600}td:first-child,th:first-child,td.attrs"
        "{text-align:left}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}"
        "</style></head><body>\n<header><strong>oteldemo</strong><span>tracez: recent spans of this "
        "process</span><a href=\"?\">all span names</a></header><main>\n";

/* One render: the HTML pieces or the JSON arrays, filled entry by entry. */
typedef struct tracez_render {
        bool json;
        bool with_samples;    /* a name or a bucket was asked for */
        int bucket;           /* the bucket asked for, -1 for all */
        const char *name;     /* the name asked for, NULL for all */
        const char *trace_id; /* the trace asked for (hex), NULL for all */
        otel_buf rows;        /* HTML: summary rows */
        otel_buf sample_rows; /* HTML: sample rows */
        json_object *spans;   /* JSON: the summary array */
        json_object *samples; /* JSON: the samples array */
} tracez_render;

static int json_summary(json_object *spans, const tracez_view *v)
{
        json_object *o = json_object_new_object(), *lat = json_object_new_array();
        int r = otlp_json_push(spans, o);

        if (r < 0) {
                json_object_put(lat);
                return r;
        }
        r = otlp_json_put(o, "name", json_object_new_string(v->name));
        if (r >= 0)
                r = otlp_json_put(o, "running", json_object_new_int64(v->running < 0 ? 0 : v->running));
        if (r >= 0)
                r = otlp_json_put(o, "latency", lat);
        else
                json_object_put(lat);
        for (unsigned b = 0; r >= 0 && b < OTEL_TRACEZ_LATENCY_BUCKETS; b++)
                r = otlp_json_push(lat, json_object_new_uint64(v->latency[b]));
        if (r >= 0)
                r = otlp_json_put(o, "errors", json_object_new_uint64(v->errors));
        return r;
}

static int json_sample(void *ctx, const tracez_view *v, unsigned b, const tracez_sample *smp,
                       const char *trace_hex, const char *span_hex)
{
        json_object *o = json_object_new_object(), *attrs = json_object_new_object();
        const char *key, *value;
        size_t at = 0;
        int r = otlp_json_push(ctx, o);

        if (r < 0) {
                json_object_put(attrs);
                return r;
        }
        r = otlp_json_put(o, "attributes", attrs);
        if (r >= 0)
                r = otlp_json_put(o, "name", json_object_new_string(v->name));
        if (r >= 0)
                r = b == OTEL_TRACEZ_ERROR_BUCKET
                            ? otlp_json_put(o, "bucket", json_object_new_string("error"))
                            : otlp_json_put(o, "bucket", json_object_new_int((int)b));
        if (r >= 0)
                r = otlp_json_put(o, "trace_id", json_object_new_string(trace_hex));
        if (r >= 0)
                r = otlp_json_put(o, "span_id", json_object_new_string(span_hex));
        if (r >= 0 && smp->has_parent) {
                char parent_hex[TRACEZ_HEX_ID_MAX];

                otel_span_id_to_hex(smp->parent_span_id, parent_hex);
                r = otlp_json_put(o, "parent_span_id", json_object_new_string(parent_hex));
        }
        if (r >= 0)
                r = otlp_json_put(o, "kind", json_object_new_string(kind_name(smp->kind)));
        if (r >= 0)
                r = otlp_json_put(o, "start_unix_nano", json_object_new_uint64(smp->start_ns));
        if (r >= 0) {
                char start[TRACEZ_TIME_MAX];

                format_utc(smp->start_ns, start);
                r = otlp_json_put(o, "start_time", json_object_new_string(start));
        }
        if (r >= 0)
                r = otlp_json_put(o, "duration_ns", json_object_new_uint64(smp->duration_ns));
        if (r >= 0)
                r = otlp_json_put(o, "status", json_object_new_string(status_name(smp->status)));
        if (r >= 0 && smp->status_message[0])
                r = otlp_json_put(o, "status_message", json_object_new_string(smp->status_message));
        while (r >= 0 && sample_next_attr(smp, &at, &key, &value))
                r = otlp_json_put_copy(attrs, key, json_object_new_string(value));
        if (r >= 0 && smp->n_attrs_dropped)
                r = otlp_json_put(o, "attributes_dropped", json_object_new_int64(smp->n_attrs_dropped));
        return r;
}

static int html_summary(otel_buf *out, const tracez_view *v)
{
        int r = otel_buf_appendf(out, "<tr><td><a href=\"?name=");

        if (r >= 0)
                r = url_escape(out, v->name);
        if (r >= 0)
                r = otel_buf_appendf(out, "\">");
        if (r >= 0)
                r = html_escape(out, v->name);
        if (r >= 0)
                r = otel_buf_appendf(out, "</a></td><td>%" PRId64 "</td>", v->running < 0 ? 0 : v->running);
        for (unsigned b = 0; r >= 0 && b < OTEL_TRACEZ_LATENCY_BUCKETS; b++)
                r = html_link(out, v->name, b, v->latency[b]);
        if (r >= 0)
                r = html_link(out, v->name, OTEL_TRACEZ_ERROR_BUCKET, v->errors);
        if (r >= 0)
                r = otel_buf_appendf(out, "</tr>\n");
        return r;
}

/* Renders every tracked entry (and "other" once it saw spans) that the query selects. */
static int render_entries(tracez_render *rd)
{
        tracez_view *v = malloc(sizeof(*v));
        int r = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i <= OTEL_TRACEZ_TABLE_SIZE; i++) {
                tracez_entry *e = i < OTEL_TRACEZ_TABLE_SIZE ? atomic_load(&tracez_table[i]) : &tracez_other;

                if (!e || (rd->name && strcmp(e->name, rd->name) != 0))
                        continue;
                view_take(e, rd->with_samples, v);
                if (e == &tracez_other && view_is_empty(v))
                        continue;
                if (rd->json) {
                        r = json_summary(rd->spans, v);
                        if (r >= 0 && rd->with_samples)
                                r = samples_each(v, rd->bucket, rd->trace_id, json_sample, rd->samples);
                } else {
                        r = html_summary(&rd->rows, v);
                        if (r >= 0 && rd->with_samples)
                                r = samples_each(v, rd->bucket, rd->trace_id, html_sample, &rd->sample_rows);
                }
        }
        free(v);
        return r;
}

static int render_json(tracez_render *rd, otel_buf *out)
{
        json_object *root = json_object_new_object(), *buckets = json_object_new_array();
        int r;

        if (!root) {
                json_object_put(buckets);
                return -ENOMEM;
        }
        rd->spans = json_object_new_array();
        rd->samples = json_object_new_array();
        r = otlp_json_put(root, "buckets", buckets);
        for (unsigned b = 0; r >= 0 && b < OTEL_TRACEZ_LATENCY_BUCKETS; b++) {
                json_object *o = json_object_new_object();

                r = otlp_json_push(buckets, o);
                if (r >= 0)
                        r = otlp_json_put(o, "label", json_object_new_string(bucket_labels[b]));
                if (r >= 0)
                        r = otlp_json_put(o, "lower_ns",
                                          json_object_new_uint64(otel_tracez_bucket_lower_ns(b)));
        }
        /* root owns both arrays from here (json_add releases them on failure). */
        r = r >= 0 ? otlp_json_put(root, "spans", rd->spans) : (json_object_put(rd->spans), r);
        if (r >= 0 && rd->with_samples)
                r = otlp_json_put(root, "samples", rd->samples);
        else
                json_object_put(rd->samples);
        if (r >= 0)
                r = render_entries(rd);
        if (r >= 0)
                r = otlp_json_append(root, out);
        json_object_put(root);
        return r;
}

static int render_html(tracez_render *rd, otel_buf *out)
{
        int r = render_entries(rd);

        if (r >= 0)
                r = otel_buf_append(out, html_head, sizeof(html_head) - 1);
        if (r >= 0)
                r = otel_buf_appendf(out, "<h2>Span names</h2>\n<table>\n<tr><th>Name</th><th>Running</th>");
        for (unsigned b = 0; r >= 0 && b < TRACEZ_N_RINGS; b++)
                r = otel_buf_appendf(out, "<th>%s</th>", bucket_labels[b]);
        if (r >= 0)
                r = otel_buf_appendf(out, "</tr>\n");
        if (r >= 0 && rd->rows.len)
                r = otel_buf_append(out, rd->rows.data, rd->rows.len);
        if (r >= 0)
                r = otel_buf_appendf(out, "</table>\n");
        if (r >= 0 && rd->with_samples) {
                r = otel_buf_appendf(out, "<h2>Samples</h2>\n<table>\n<tr><th>Name</th><th>Bucket</th>"
                                          "<th>Trace ID</th><th>Span ID</th><th>Parent</th><th>Kind</th>"
                                          "<th>Start (UTC)</th><th>Duration (ms)</th><th>Status</th>"
                                          "<th>Attributes</th></tr>\n");
                if (r >= 0 && rd->sample_rows.len)
                        r = otel_buf_append(out, rd->sample_rows.data, rd->sample_rows.len);
                if (r >= 0)
                        r = otel_buf_appendf(out, "</table>\n");
        }
        if (r >= 0)
                r = otel_buf_appendf(out, "</main></body></html>\n");
        return r;
}

int otel_tracez_render(const otel_tracez_query *q, char **ret, size_t *ret_len)
{
        tracez_render rd = {.json = q->json};
        otel_buf out = {0};
        int r;

        r = parse_bucket(q->bucket, &rd.bucket);
        if (r >= 0)
                r = parse_trace_id(q->trace_id, &rd.trace_id);
        if (r < 0)
                return r;
        rd.name = q->name && *q->name ? q->name : NULL;
        rd.with_samples = rd.name || rd.bucket >= 0 || rd.trace_id;
        r = rd.json ? render_json(&rd, &out) : render_html(&rd, &out);
        otel_buf_free(&rd.rows);
        otel_buf_free(&rd.sample_rows);
        if (r >= 0 && !out.data)
                r = otel_buf_reserve(&out, 1); /* an empty string still is a string */
        if (r < 0) {
                otel_buf_free(&out);
                return r;
        }
        out.data[out.len] = 0;
        *ret = (char *)out.data;
        *ret_len = out.len;
        return 0;
}
