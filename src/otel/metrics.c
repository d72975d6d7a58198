/* SPDX-License-Identifier: Apache-2.0 */
/* The metrics SDK's aggregation core (spec "Metrics SDK"): meters per scope, instruments per meter,
 * one series per distinct attribute set with the cardinality limit, cumulative sums, last values and
 * explicit-bucket histograms with trace-based exemplars. The recording path takes no global lock: a
 * lock-free hash lookup, then an atomic add (sums) or a per-series spinlock (histograms). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "diag.h"
#include "metrics.h"
#include "provider.h"
#include "span.h"

#define HASH_SEED 0x9e3779b97f4a7c15ull
#define HASH_MUL  0xff51afd7ed558ccdull

const double otel_http_duration_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                            0.5,   0.75, 1,     2.5,  5,     7.5, 10};
const size_t otel_http_duration_bounds_len = sizeof(otel_http_duration_bounds) / sizeof(double);

/* Metrics SDK spec "Explicit Bucket Histogram Aggregation": the default boundaries. */
static const double default_bounds[] = {0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000};

typedef struct metrics_state {
        pthread_mutex_t lock;         /* guards the meter and instrument lists */
        pthread_mutex_t collect_lock; /* one collection at a time (callbacks, epochs) */
        atomic_bool running;          /* between otel_metrics_sdk_start() and stop */
        otel_meter *meters;           /* owned list, creation order */
        otel_meter *meters_tail;
        const otel_resource *resource; /* borrowed from the provider */
        uint64_t start_ns;            /* start of every cumulative stream */
        uint64_t epoch;               /* collections so far (collect_lock) */
} metrics_state;

static metrics_state metrics = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .collect_lock = PTHREAD_MUTEX_INITIALIZER,
};

static otel_meter meter_noop = {.scope_name = (char *)"noop", .noop = true};
static otel_instrument instrument_noop = {
        .name = (char *)"noop",
        .unit = (char *)"",
        .description = (char *)"",
        .noop = true,
        .lock = PTHREAD_MUTEX_INITIALIZER,
};

struct otel_observer {
        otel_instrument *inst; /* the instrument whose callback runs */
        uint64_t epoch;        /* the collection it reports to */
};

bool otel_instrument_kind_is_sum(otel_instrument_kind k)
{
        return k == OTEL_INSTRUMENT_COUNTER || k == OTEL_INSTRUMENT_UP_DOWN_COUNTER ||
               k == OTEL_INSTRUMENT_OBSERVABLE_COUNTER || k == OTEL_INSTRUMENT_OBSERVABLE_UP_DOWN_COUNTER;
}

bool otel_instrument_kind_is_monotonic(otel_instrument_kind k)
{
        return k == OTEL_INSTRUMENT_COUNTER || k == OTEL_INSTRUMENT_OBSERVABLE_COUNTER;
}

bool otel_instrument_kind_is_observable(otel_instrument_kind k)
{
        return k == OTEL_INSTRUMENT_OBSERVABLE_COUNTER || k == OTEL_INSTRUMENT_OBSERVABLE_UP_DOWN_COUNTER ||
               k == OTEL_INSTRUMENT_OBSERVABLE_GAUGE;
}

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool otel_instrument_name_is_valid(const char *name)
{
        size_t i;

        if (!name || !is_alpha(name[0]))
                return false;
        for (i = 1; name[i]; i++) {
                char c = name[i];
                if (i >= OTEL_METRICS_NAME_MAX)
                        return false;
                if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '_' && c != '.' && c != '-' && c != '/')
                        return false;
        }
        return true;
}

/* ---- attribute sets ---------------------------------------------------------------------------- */

static inline uint64_t hash_mix(uint64_t h, uint64_t w)
{
        h = (h ^ w) * HASH_MUL;
        return h ^ (h >> 31);
}

/* Eight bytes at a time: the keys and values of a typical set are 50-100 bytes. The last partial
 * word is read as the (overlapping) last eight bytes of the string, or assembled in a register for
 * short strings: copying it through a stack word costs a store-forwarding stall on every call. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
        const uint8_t *s = p;
        uint64_t w;

        if (n >= 8) {
                size_t i;
                for (i = 0; i + 8 <= n; i += 8) {
                        memcpy(&w, s + i, 8);
                        h = hash_mix(h, w);
                }
                if (i < n) {
                        memcpy(&w, s + n - 8, 8);
                        h = hash_mix(h, w);
                }
        } else if (n >= 4) {
                uint32_t lo, hi;
                memcpy(&lo, s, 4);
                memcpy(&hi, s + n - 4, 4);
                h = hash_mix(h, lo | (uint64_t)hi << 32);
        } else if (n > 0)
                h = hash_mix(h, s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16);
        return hash_mix(h, n);
}

static size_t attr_array_item_size(otel_attr_type t)
{
        switch (t) {
        case OTEL_ATTR_BOOL_ARRAY:
                return sizeof(bool);
        case OTEL_ATTR_INT_ARRAY:
                return sizeof(int64_t);
        case OTEL_ATTR_DOUBLE_ARRAY:
                return sizeof(double);
        default:
                return sizeof(const char *);
        }
}

static bool attr_is_array(otel_attr_type t)
{
        return t >= OTEL_ATTR_STRING_ARRAY && t < _OTEL_ATTR_TYPE_MAX;
}

static uint64_t attr_hash_value(uint64_t h, const otel_attr *a)
{
        h = hash_mix(h, (uint64_t)a->type);
        switch (a->type) {
        case OTEL_ATTR_STRING:
                return hash_bytes(h, a->v.s, strlen(a->v.s));
        case OTEL_ATTR_BOOL:
                return hash_mix(h, a->v.b);
        case OTEL_ATTR_INT:
                return hash_mix(h, (uint64_t)a->v.i);
        case OTEL_ATTR_DOUBLE: {
                uint64_t bits;
                memcpy(&bits, &a->v.d, sizeof(bits));
                return hash_mix(h, bits);
        }
        case OTEL_ATTR_STRING_ARRAY:
                for (size_t i = 0; i < a->v.array.n; i++) {
                        const char *s = ((const char *const *)a->v.array.items)[i];
                        h = s ? hash_bytes(h, s, strlen(s)) : hash_mix(h, 1);
                }
                return h;
        default:
                return hash_bytes(h, a->v.array.items, a->v.array.n * attr_array_item_size(a->type));
        }
}

static bool attr_value_equal(const otel_attr *x, const otel_attr *y)
{
        if (x->type != y->type)
                return false;
        switch (x->type) {
        case OTEL_ATTR_STRING:
                return strcmp(x->v.s, y->v.s) == 0;
        case OTEL_ATTR_BOOL:
                return x->v.b == y->v.b;
        case OTEL_ATTR_INT:
                return x->v.i == y->v.i;
        case OTEL_ATTR_DOUBLE:
                return memcmp(&x->v.d, &y->v.d, sizeof(double)) == 0;
        case OTEL_ATTR_STRING_ARRAY:
                if (x->v.array.n != y->v.array.n)
                        return false;
                for (size_t i = 0; i < x->v.array.n; i++) {
                        const char *a = ((const char *const *)x->v.array.items)[i];
                        const char *b = ((const char *const *)y->v.array.items)[i];
                        if (strcmp(a ? a : "", b ? b : "") != 0)
                                return false;
                }
                return true;
        default:
                return x->v.array.n == y->v.array.n &&
                       memcmp(x->v.array.items, y->v.array.items,
                              x->v.array.n * attr_array_item_size(x->type)) == 0;
        }
}

/* A measurement's attributes in canonical form, on the caller's stack. */
typedef struct attr_set {
        otel_attr_match items[OTEL_METRICS_MAX_ATTRS]; /* key-hash order, one per key */
        size_t n;
        uint64_t hash;
} attr_set;

static bool attr_is_usable(const otel_attr *a)
{
        if (!a->key || !a->key[0] || (unsigned)a->type >= _OTEL_ATTR_TYPE_MAX)
                return false;
        if (a->type == OTEL_ATTR_STRING && !a->v.s)
                return false;
        if (attr_is_array(a->type) && a->v.array.n && !a->v.array.items)
                return false;
        return true;
}

/* memcmp(a, b, n) == 0 without a library call: keys and values are short. */
static inline bool bytes_equal(const char *a, const char *b, size_t n)
{
        uint64_t x, y;
        uint32_t u, v;

        if (n >= 8) {
                size_t i;
                for (i = 0; i + 8 <= n; i += 8) {
                        memcpy(&x, a + i, 8);
                        memcpy(&y, b + i, 8);
                        if (x != y)
                                return false;
                }
                if (i == n)
                        return true;
                memcpy(&x, a + n - 8, 8);
                memcpy(&y, b + n - 8, 8);
                return x == y;
        }
        if (n >= 4) {
                memcpy(&u, a, 4);
                memcpy(&v, b, 4);
                if (u != v)
                        return false;
                memcpy(&u, a + n - 4, 4);
                memcpy(&v, b + n - 4, 4);
                return u == v;
        }
        for (size_t i = 0; i < n; i++)
                if (a[i] != b[i])
                        return false;
        return true;
}

/* Canonical order for matching: by key hash, then (only for two keys with the same 64-bit hash) by
 * length and bytes. Integer compares on the hot path; the by-key order users see is kept separately
 * in the series. */
static int match_cmp(const otel_attr_match *x, const otel_attr_match *y)
{
        if (x->key_hash != y->key_hash)
                return x->key_hash < y->key_hash ? -1 : 1;
        if (x->key_len != y->key_len)
                return x->key_len < y->key_len ? -1 : 1;
        return memcmp(x->attr->key, y->attr->key, x->key_len);
}

/* Orders the usable attributes (insertion sort: sets are small), keeps the last of duplicate keys
 * (API spec: the later value wins) and hashes the set. */
static void attr_set_build(otel_instrument *inst, const otel_attr *attrs, size_t n, attr_set *set)
{
        uint64_t h = HASH_SEED;

        set->n = 0;
        if (__builtin_expect(n > OTEL_METRICS_MAX_ATTRS, 0)) {
                if (!atomic_exchange(&inst->warned_attrs, true))
                        otel_diag(OTEL_DIAG_WARN, "instrument %s: more than %d attributes in a measurement, "
                                  "dropping the rest", inst->name, OTEL_METRICS_MAX_ATTRS);
                n = OTEL_METRICS_MAX_ATTRS;
        }
        for (size_t i = 0; i < n; i++) {
                otel_attr_match m;
                size_t j;
                int c = 1;

                if (!attr_is_usable(&attrs[i]))
                        continue;
                m.attr = &attrs[i];
                m.key_len = (uint32_t)strlen(attrs[i].key);
                m.key_hash = hash_bytes(HASH_SEED, attrs[i].key, m.key_len);
                m.value_len = attrs[i].type == OTEL_ATTR_STRING ? (uint32_t)strlen(attrs[i].v.s) : 0;
                for (j = set->n; j > 0; j--) {
                        c = match_cmp(&set->items[j - 1], &m);
                        if (c <= 0)
                                break;
                }
                if (j > 0 && c == 0) {
                        set->items[j - 1] = m; /* duplicate key: the later one wins */
                        continue;
                }
                for (size_t k = set->n; k > j; k--)
                        set->items[k] = set->items[k - 1];
                set->items[j] = m;
                set->n++;
        }
        /* Key and value chains are independent, so that the CPU overlaps them. */
        for (size_t i = 0; i < set->n; i++) {
                const otel_attr *a = set->items[i].attr;
                uint64_t hv = a->type == OTEL_ATTR_STRING
                                      ? hash_bytes(HASH_MUL + OTEL_ATTR_STRING, a->v.s, set->items[i].value_len)
                                      : attr_hash_value(HASH_MUL, a);
                h = hash_mix(h, set->items[i].key_hash ^ (hv << 17 | hv >> 47));
        }
        set->hash = h;
}

static bool series_matches(const otel_series *s, const attr_set *set)
{
        if (s->hash != set->hash || s->n_attrs != set->n)
                return false;
        for (size_t i = 0; i < set->n; i++) {
                const otel_attr_match *x = &s->match[i], *y = &set->items[i];
                const otel_attr *a = x->attr, *b = y->attr;

                if (x->key_hash != y->key_hash || x->key_len != y->key_len || x->value_len != y->value_len ||
                    a->type != b->type || !bytes_equal(a->key, b->key, x->key_len))
                        return false;
                if (a->type == OTEL_ATTR_STRING ? !bytes_equal(a->v.s, b->v.s, x->value_len) : !attr_value_equal(a, b))
                        return false;
        }
        return true;
}

/* ---- series ---------------------------------------------------------------------------------- */

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((size_t)(a) - 1))

/* Bytes of the deep copy of one attribute's value. */
static size_t attr_value_size(const otel_attr *a)
{
        size_t n = 0;

        if (a->type == OTEL_ATTR_STRING)
                return strlen(a->v.s) + 1;
        if (!attr_is_array(a->type))
                return 0;
        n = ALIGN_UP(a->v.array.n * attr_array_item_size(a->type), 8);
        if (a->type == OTEL_ATTR_STRING_ARRAY)
                for (size_t i = 0; i < a->v.array.n; i++) {
                        const char *s = ((const char *const *)a->v.array.items)[i];
                        n += strlen(s ? s : "") + 1;
                }
        return n;
}

/* Copies a's value into *cursor (advanced), filling dst. */
static void attr_value_copy(otel_attr *dst, const otel_attr *a, char **cursor)
{
        char *p = *cursor;

        dst->type = a->type;
        dst->v = a->v;
        if (a->type == OTEL_ATTR_STRING) {
                size_t len = strlen(a->v.s);
                memcpy(p, a->v.s, len + 1);
                dst->v.s = p;
                p += len + 1;
        } else if (attr_is_array(a->type)) {
                size_t bytes = a->v.array.n * attr_array_item_size(a->type);
                char *items = p;

                p += ALIGN_UP(bytes, 8);
                if (a->type == OTEL_ATTR_STRING_ARRAY) {
                        const char **out = (const char **)(void *)items;
                        for (size_t i = 0; i < a->v.array.n; i++) {
                                const char *s = ((const char *const *)a->v.array.items)[i];
                                size_t len = strlen(s ? s : "");
                                memcpy(p, s ? s : "", len + 1);
                                out[i] = p;
                                p += len + 1;
                        }
                } else if (bytes)
                        memcpy(items, a->v.array.items, bytes);
                dst->v.array.items = items;
        }
        *cursor = p;
}

static int attr_key_cmp(const void *x, const void *y)
{
        return strcmp(((const otel_attr *)x)->key, ((const otel_attr *)y)->key);
}

/* One allocation, cache-line aligned: the series, its attributes (sorted by key), the match table,
 * buckets, exemplars, then the strings. */
static otel_series *series_new(const otel_instrument *inst, const attr_set *set)
{
        size_t nb = inst->kind == OTEL_INSTRUMENT_HISTOGRAM ? inst->n_bounds + 1 : 0;
        size_t off_attrs = ALIGN_UP(sizeof(otel_series), 16);
        size_t off_match = off_attrs + set->n * sizeof(otel_attr);
        size_t off_buckets = ALIGN_UP(off_match + set->n * sizeof(otel_attr_match), 8);
        size_t off_ex = ALIGN_UP(off_buckets + nb * sizeof(uint64_t), 16);
        size_t off_str = off_ex + nb * sizeof(otel_exemplar), size = off_str;
        otel_attr_match *match;
        otel_attr *attrs;
        otel_series *s;
        char *cur;

        for (size_t i = 0; i < set->n; i++)
                size += set->items[i].key_len + 1 + 8 + attr_value_size(set->items[i].attr);
        size = ALIGN_UP(size, OTEL_CACHE_LINE);
        s = aligned_alloc(OTEL_CACHE_LINE, size);
        if (!s)
                return NULL;
        memset(s, 0, size);
        attrs = (otel_attr *)(void *)((char *)s + off_attrs);
        match = (otel_attr_match *)(void *)((char *)s + off_match);
        cur = (char *)s + off_str;
        for (size_t i = 0; i < set->n; i++) {
                memcpy(cur, set->items[i].attr->key, set->items[i].key_len + 1);
                attrs[i].key = cur;
                cur += set->items[i].key_len + 1;
                cur = (char *)ALIGN_UP((uintptr_t)cur, 8);
                attr_value_copy(&attrs[i], set->items[i].attr, &cur);
        }
        /* What users see (Prometheus labels, OTLP) is sorted by key. */
        qsort(attrs, set->n, sizeof(otel_attr), attr_key_cmp);
        for (size_t i = 0; i < set->n; i++) {
                match[i] = set->items[i];
                for (size_t j = 0; j < set->n; j++)
                        if (strcmp(attrs[j].key, set->items[i].attr->key) == 0)
                                match[i].attr = &attrs[j];
        }
        s->attrs = attrs;
        s->n_attrs = set->n;
        s->match = match;
        s->hash = set->hash;
        atomic_flag_clear(&s->lock);
        if (nb) {
                s->buckets = (uint64_t *)(void *)((char *)s + off_buckets);
                s->exemplars = (otel_exemplar *)(void *)((char *)s + off_ex);
                s->min = INFINITY;
                s->max = -INFINITY;
        }
        return s;
}

static otel_series_table *table_new(size_t slots)
{
        otel_series_table *t = calloc(1, sizeof(*t) + slots * sizeof(t->slots[0]));

        if (t)
                t->mask = slots - 1;
        return t;
}

static void table_put(otel_series_table *t, otel_series *s)
{
        size_t i = s->hash & t->mask;

        while (atomic_load_explicit(&t->slots[i], memory_order_relaxed))
                i = (i + 1) & t->mask;
        atomic_store_explicit(&t->slots[i], s, memory_order_release);
}

static otel_series *table_find(otel_series_table *t, const attr_set *set)
{
        for (size_t i = set->hash & t->mask;; i = (i + 1) & t->mask) {
                otel_series *s = atomic_load_explicit(&t->slots[i], memory_order_acquire);
                if (!s)
                        return NULL;
                if (series_matches(s, set))
                        return s;
        }
}

/* Keeps the load factor at or under 1/2 so that probes stay short and a free slot always exists. */
static int table_reserve(otel_instrument *inst, size_t n)
{
        otel_series_table *old = atomic_load_explicit(&inst->table, memory_order_relaxed), *t;
        size_t slots = old ? old->mask + 1 : OTEL_METRICS_TABLE_MIN;

        if (old && n * 2 <= slots)
                return 0;
        while (n * 2 > slots)
                slots *= 2;
        t = table_new(slots);
        if (!t)
                return -ENOMEM;
        for (otel_series *s = inst->series; s; s = s->next)
                if (s != atomic_load_explicit(&inst->overflow, memory_order_relaxed))
                        table_put(t, s);
        t->retired = old;
        atomic_store_explicit(&inst->table, t, memory_order_release);
        return 0;
}

static void series_append(otel_instrument *inst, otel_series *s)
{
        if (inst->series_tail)
                inst->series_tail->next = s;
        else
                inst->series = s;
        inst->series_tail = s;
}

/* The overflow series (created under inst->lock). */
static otel_series *series_overflow(otel_instrument *inst)
{
        otel_attr flag = OTEL_ATTR_BOOLV(OTEL_METRICS_OVERFLOW_KEY, true);
        attr_set set;

        otel_series *s = atomic_load_explicit(&inst->overflow, memory_order_relaxed);

        if (!s) {
                attr_set_build(inst, &flag, 1, &set);
                s = series_new(inst, &set);
                if (s) {
                        series_append(inst, s);
                        atomic_store_explicit(&inst->overflow, s, memory_order_release);
                }
        }
        return s;
}

/* Slow path: the set was not in the table. */
static otel_series *series_create(otel_instrument *inst, const attr_set *set)
{
        otel_series *s;

        pthread_mutex_lock(&inst->lock);
        s = table_find(atomic_load_explicit(&inst->table, memory_order_acquire), set);
        if (s)
                goto out;
        if (atomic_load_explicit(&inst->n_series, memory_order_relaxed) >= OTEL_METRICS_CARDINALITY_LIMIT) {
                s = series_overflow(inst);
                goto out;
        }
        if (table_reserve(inst, atomic_load_explicit(&inst->n_series, memory_order_relaxed) + 1) < 0)
                goto out;
        s = series_new(inst, set);
        if (!s)
                goto out;
        series_append(inst, s);
        table_put(atomic_load_explicit(&inst->table, memory_order_relaxed), s);
        atomic_fetch_add_explicit(&inst->n_series, 1, memory_order_release);
out:
        pthread_mutex_unlock(&inst->lock);
        return s;
}

static inline otel_series *series_get(otel_instrument *inst, const otel_attr *attrs, size_t n)
{
        otel_series_table *t = atomic_load_explicit(&inst->table, memory_order_acquire);
        otel_series *s;
        attr_set set;

        attr_set_build(inst, attrs, n, &set);
        s = table_find(t, &set);
        if (__builtin_expect(s != NULL, 1))
                return s;
        /* Past the limit, a new set goes straight to the overflow series without the lock. */
        if (atomic_load_explicit(&inst->n_series, memory_order_acquire) >= OTEL_METRICS_CARDINALITY_LIMIT) {
                s = atomic_load_explicit(&inst->overflow, memory_order_acquire);
                if (s)
                        return s;
        }
        return series_create(inst, &set);
}

/* ---- recording ------------------------------------------------------------------------------- */

static inline void atomic_add_double(_Atomic uint64_t *p, double v)
{
        uint64_t old = atomic_load_explicit(p, memory_order_relaxed), new;

        do {
                double d;
                memcpy(&d, &old, sizeof(d));
                d += v;
                memcpy(&new, &d, sizeof(new));
        } while (!atomic_compare_exchange_weak_explicit(p, &old, new, memory_order_relaxed, memory_order_relaxed));
}

static inline void store_value(const otel_instrument *inst, _Atomic uint64_t *p, double v)
{
        uint64_t bits;

        if (inst->integer) {
                int64_t i = (int64_t)llround(v);
                memcpy(&bits, &i, sizeof(bits));
        } else
                memcpy(&bits, &v, sizeof(bits));
        atomic_store_explicit(p, bits, memory_order_relaxed);
}

/* Integer instruments take whole numbers; a value out of int64 range cannot be meant. */
static inline bool int_value(double v, int64_t *ret)
{
        if (!(v > -9.2e18 && v < 9.2e18))
                return false;
        *ret = (int64_t)llround(v);
        return true;
}

void otel_instrument_add(otel_instrument *inst, double value, const otel_attr *attrs, size_t n_attrs)
{
        otel_series *s;
        int64_t iv;

        if (!inst || inst->noop)
                return;
        if (inst->kind == OTEL_INSTRUMENT_COUNTER) {
                if (!(value >= 0)) /* API spec: a counter only goes up; NaN is not a measurement */
                        return;
        } else if (inst->kind != OTEL_INSTRUMENT_UP_DOWN_COUNTER || isnan(value))
                return;
        s = series_get(inst, attrs, n_attrs);
        if (!s)
                return;
        if (inst->integer) {
                if (int_value(value, &iv))
                        atomic_fetch_add_explicit(&s->value, (uint64_t)iv, memory_order_relaxed);
        } else
                atomic_add_double(&s->value, value);
}

/* First bucket whose upper bound is >= v (buckets are (prev, bound]); n_bounds for +Inf. */
static inline size_t bucket_index(const double *bounds, size_t n, double v)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (v <= bounds[mid])
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return lo;
}

static inline void spin_lock(atomic_flag *l)
{
        while (atomic_flag_test_and_set_explicit(l, memory_order_acquire)) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
        }
}

static inline void spin_unlock(atomic_flag *l)
{
        atomic_flag_clear_explicit(l, memory_order_release);
}

void otel_instrument_record(otel_instrument *inst, double value, const otel_attr *attrs, size_t n_attrs)
{
        const otel_span_context *sc;
        otel_series *s;
        size_t b;

        if (!inst || inst->noop || isnan(value))
                return;
        if (inst->kind == OTEL_INSTRUMENT_GAUGE) {
                s = series_get(inst, attrs, n_attrs);
                if (s)
                        store_value(inst, &s->value, value);
                return;
        }
        if (inst->kind != OTEL_INSTRUMENT_HISTOGRAM)
                return;
        s = series_get(inst, attrs, n_attrs);
        if (!s)
                return;
        b = bucket_index(inst->bounds, inst->n_bounds, value);
        /* Exemplar filter trace_based (the spec default): only inside a sampled span. */
        sc = otel_context_span_context();
        if (sc && !otel_span_context_sampled(sc))
                sc = NULL;
        {
                uint64_t now = sc ? otel_time_now_ns() : 0;

                spin_lock(&s->lock);
                s->count++;
                s->sum += value;
                if (value < s->min)
                        s->min = value;
                if (value > s->max)
                        s->max = value;
                s->buckets[b]++;
                if (sc) {
                        otel_exemplar *e = &s->exemplars[b];
                        e->set = true;
                        e->value = value;
                        e->time_ns = now;
                        memcpy(e->trace_id, sc->trace_id, OTEL_TRACE_ID_SIZE);
                        memcpy(e->span_id, sc->span_id, OTEL_SPAN_ID_SIZE);
                }
                spin_unlock(&s->lock);
        }
}

void otel_observe(otel_observer *obs, double value, const otel_attr *attrs, size_t n_attrs)
{
        otel_instrument *inst;
        otel_series *s;

        if (!obs || !obs->inst || isnan(value))
                return;
        inst = obs->inst;
        if (inst->kind == OTEL_INSTRUMENT_OBSERVABLE_COUNTER && value < 0)
                return;
        s = series_get(inst, attrs, n_attrs);
        if (!s)
                return;
        /* Observations are absolute (cumulative for counters); the last one of a collection wins. */
        store_value(inst, &s->value, value);
        s->observed_epoch = obs->epoch;
}

/* ---- meters and instruments ------------------------------------------------------------------ */

static bool str_eq_nullable(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

otel_meter *otel_meter_get(const char *scope_name, const char *scope_version)
{
        otel_meter *m;

        if (!atomic_load(&metrics.running))
                return &meter_noop;
        if (!scope_name || !*scope_name) {
                otel_diag(OTEL_DIAG_WARN, "meter requested with an empty scope name");
                scope_name = "";
        }
        pthread_mutex_lock(&metrics.lock);
        for (m = metrics.meters; m; m = m->next)
                if (strcmp(m->scope_name, scope_name) == 0 && str_eq_nullable(m->scope_version, scope_version))
                        goto out;
        m = calloc(1, sizeof(*m));
        if (!m)
                goto out;
        m->scope_name = strdup(scope_name);
        m->scope_version = scope_version ? strdup(scope_version) : NULL;
        if (!m->scope_name || (scope_version && !m->scope_version)) {
                free(m->scope_name);
                free(m->scope_version);
                free(m);
                m = NULL;
                goto out;
        }
        if (metrics.meters_tail)
                metrics.meters_tail->next = m;
        else
                metrics.meters = m;
        metrics.meters_tail = m;
out:
        pthread_mutex_unlock(&metrics.lock);
        return m ? m : &meter_noop;
}

static void instrument_free(otel_instrument *inst)
{
        otel_series_table *t;

        if (!inst || inst == &instrument_noop)
                return;
        while (inst->series) {
                otel_series *s = inst->series;
                inst->series = s->next;
                free(s);
        }
        t = atomic_load(&inst->table);
        while (t) {
                otel_series_table *older = t->retired;
                free(t);
                t = older;
        }
        pthread_mutex_destroy(&inst->lock);
        free(inst->name);
        free(inst->unit);
        free(inst->description);
        free(inst->bounds);
        free(inst);
}

static bool bounds_are_valid(const double *b, size_t n)
{
        if (n > OTEL_METRICS_MAX_BOUNDS)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
                        return false;
        return true;
}

static bool unit_is_valid(const char *u)
{
        size_t i;

        for (i = 0; u[i]; i++)
                if ((unsigned char)u[i] > 0x7f || i >= OTEL_METRICS_UNIT_MAX)
                        return false;
        return true;
}

/* Semantic conventions advise these buckets for http.{server,client}.request.duration & co. */
static bool name_is_http_duration(const char *name)
{
        size_t n = strlen(name);
        return strncmp(name, "http.", 5) == 0 && n > 9 && strcmp(name + n - 9, ".duration") == 0;
}

static int instrument_set_bounds(otel_instrument *inst, const otel_instrument_opts *o)
{
        const double *b = default_bounds;
        size_t n = sizeof(default_bounds) / sizeof(default_bounds[0]);

        if (o && o->bounds) {
                if (bounds_are_valid(o->bounds, o->n_bounds)) {
                        b = o->bounds;
                        n = o->n_bounds;
                } else
                        otel_diag(OTEL_DIAG_WARN, "histogram %s: bucket boundaries must be finite and increasing "
                                  "(at most %d), using the defaults", inst->name, OTEL_METRICS_MAX_BOUNDS);
        } else if (name_is_http_duration(inst->name)) {
                b = otel_http_duration_bounds;
                n = otel_http_duration_bounds_len;
        }
        inst->bounds = malloc((n ? n : 1) * sizeof(double));
        if (!inst->bounds)
                return -ENOMEM;
        if (n)
                memcpy(inst->bounds, b, n * sizeof(double));
        inst->n_bounds = n;
        return 0;
}

static otel_instrument *instrument_alloc(otel_meter *meter, otel_instrument_kind kind, const char *name,
                                         const otel_instrument_opts *o)
{
        otel_instrument *inst = calloc(1, sizeof(*inst));
        size_t dlen;

        if (!inst)
                return NULL;
        inst->meter = meter;
        inst->kind = kind;
        inst->name = strdup(name);
        inst->unit = strdup(o && o->unit ? o->unit : "");
        dlen = o && o->description ? strnlen(o->description, OTEL_METRICS_DESCRIPTION_MAX) : 0;
        inst->description = strndup(o && o->description ? o->description : "", dlen);
        inst->integer = o && o->integer;
        inst->callback = o ? o->callback : NULL;
        inst->userdata = o ? o->userdata : NULL;
        pthread_mutex_init(&inst->lock, NULL);
        if (!inst->name || !inst->unit || !inst->description ||
            (kind == OTEL_INSTRUMENT_HISTOGRAM && instrument_set_bounds(inst, o) < 0) ||
            table_reserve(inst, 1) < 0) {
                instrument_free(inst);
                return NULL;
        }
        return inst;
}

otel_instrument *otel_instrument_new(otel_meter *meter, otel_instrument_kind kind, const char *name,
                                     const otel_instrument_opts *opts)
{
        otel_instrument *inst;

        if (!meter || meter->noop)
                return &instrument_noop;
        if ((unsigned)kind >= _OTEL_INSTRUMENT_KIND_MAX) {
                otel_diag(OTEL_DIAG_WARN, "instrument %s: invalid kind %d, it will record nothing",
                          name ? name : "(null)", (int)kind);
                return &instrument_noop;
        }
        if (!otel_instrument_name_is_valid(name)) {
                otel_diag(OTEL_DIAG_WARN, "invalid instrument name \"%s\" (API spec: a letter, then up to 254 "
                          "letters, digits, '_', '.', '-' or '/'), it will record nothing", name ? name : "(null)");
                return &instrument_noop;
        }
        if (opts && opts->unit && !unit_is_valid(opts->unit)) {
                otel_diag(OTEL_DIAG_WARN, "instrument %s: invalid unit \"%s\" (at most %d ASCII characters), "
                          "it will record nothing", name, opts->unit, OTEL_METRICS_UNIT_MAX);
                return &instrument_noop;
        }
        if (otel_instrument_kind_is_observable(kind) && !(opts && opts->callback))
                otel_diag(OTEL_DIAG_WARN, "observable instrument %s has no callback", name);
        pthread_mutex_lock(&metrics.lock);
        /* API spec: names are case-insensitive; the same name and kind is the same instrument. */
        for (inst = meter->instruments; inst; inst = inst->next)
                if (strcasecmp(inst->name, name) == 0) {
                        if (inst->kind != kind) {
                                otel_diag(OTEL_DIAG_WARN, "instrument %s already exists in meter %s with another "
                                          "kind; the new one will record nothing", name, meter->scope_name);
                                inst = &instrument_noop;
                        }
                        goto out;
                }
        inst = instrument_alloc(meter, kind, name, opts);
        if (!inst) {
                inst = &instrument_noop;
                goto out;
        }
        if (meter->instruments_tail)
                meter->instruments_tail->next = inst;
        else
                meter->instruments = inst;
        meter->instruments_tail = inst;
out:
        pthread_mutex_unlock(&metrics.lock);
        return inst;
}

/* ---- collection ------------------------------------------------------------------------------ */

void otel_metrics_snapshot_done(otel_metrics_snapshot *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_metrics; i++) {
                for (size_t j = 0; j < s->metrics[i].n_points; j++) {
                        free(s->metrics[i].points[j].buckets);
                        free(s->metrics[i].points[j].exemplars);
                }
                free(s->metrics[i].points);
        }
        free(s->metrics);
        *s = (otel_metrics_snapshot){0};
}

size_t otel_metrics_snapshot_points(const otel_metrics_snapshot *s)
{
        size_t n = 0;

        for (size_t i = 0; i < s->n_metrics; i++)
                n += s->metrics[i].n_points;
        return n;
}

static void point_value(const otel_instrument *inst, const otel_series *se, otel_point *p)
{
        uint64_t bits = atomic_load_explicit(&se->value, memory_order_relaxed);

        if (inst->integer) {
                memcpy(&p->ivalue, &bits, sizeof(bits));
                p->value = (double)p->ivalue;
        } else {
                memcpy(&p->value, &bits, sizeof(bits));
                p->ivalue = (int64_t)p->value;
        }
}

static int point_histogram(const otel_instrument *inst, otel_series *se, otel_point *p)
{
        size_t nb = inst->n_bounds + 1;

        p->buckets = malloc(nb * sizeof(uint64_t));
        p->exemplars = malloc(nb * sizeof(otel_exemplar));
        if (!p->buckets || !p->exemplars)
                return -ENOMEM;
        spin_lock(&se->lock);
        p->count = se->count;
        p->sum = se->sum;
        p->min = se->min;
        p->max = se->max;
        memcpy(p->buckets, se->buckets, nb * sizeof(uint64_t));
        memcpy(p->exemplars, se->exemplars, nb * sizeof(otel_exemplar));
        spin_unlock(&se->lock);
        return 0;
}

static int collect_instrument(otel_instrument *inst, uint64_t epoch, otel_metric_data *ret)
{
        bool observable = otel_instrument_kind_is_observable(inst->kind);
        size_t n = 0;
        int r = 0;

        ret->inst = inst;
        pthread_mutex_lock(&inst->lock);
        for (otel_series *se = inst->series; se; se = se->next)
                n++;
        ret->points = n ? calloc(n, sizeof(otel_point)) : NULL;
        if (n && !ret->points) {
                r = -ENOMEM;
                goto out;
        }
        for (otel_series *se = inst->series; se; se = se->next) {
                otel_point *p = &ret->points[ret->n_points];

                /* An observable stream not reported by this collection's callback is not exported. */
                if (observable && se->observed_epoch != epoch)
                        continue;
                /* A histogram series exists once something was recorded, but a failed first record
                 * leaves it empty: nothing to show. */
                if (inst->kind == OTEL_INSTRUMENT_HISTOGRAM && se->count == 0)
                        continue;
                p->attrs = se->attrs;
                p->n_attrs = se->n_attrs;
                ret->n_points++;
                if (inst->kind == OTEL_INSTRUMENT_HISTOGRAM) {
                        r = point_histogram(inst, se, p);
                        if (r < 0)
                                goto out;
                } else
                        point_value(inst, se, p);
        }
out:
        pthread_mutex_unlock(&inst->lock);
        return r;
}

/* The instruments, copied under the list lock so that callbacks may create instruments. */
static int collect_instrument_list(otel_instrument ***ret, size_t *ret_n)
{
        otel_instrument **list = NULL;
        size_t n = 0, i = 0;

        pthread_mutex_lock(&metrics.lock);
        for (otel_meter *m = metrics.meters; m; m = m->next)
                for (otel_instrument *inst = m->instruments; inst; inst = inst->next)
                        n++;
        if (n) {
                list = malloc(n * sizeof(*list));
                if (!list) {
                        pthread_mutex_unlock(&metrics.lock);
                        return -ENOMEM;
                }
                for (otel_meter *m = metrics.meters; m; m = m->next)
                        for (otel_instrument *inst = m->instruments; inst; inst = inst->next)
                                list[i++] = inst;
        }
        pthread_mutex_unlock(&metrics.lock);
        *ret = list;
        *ret_n = n;
        return 0;
}

int otel_metrics_collect(otel_metrics_snapshot *ret)
{
        otel_instrument **list = NULL;
        size_t n = 0;
        uint64_t epoch;
        int r;

        *ret = (otel_metrics_snapshot){.start_ns = metrics.start_ns, .resource = metrics.resource};
        if (!atomic_load(&metrics.running))
                return 0;
        pthread_mutex_lock(&metrics.collect_lock);
        epoch = ++metrics.epoch;
        r = collect_instrument_list(&list, &n);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n; i++)
                if (otel_instrument_kind_is_observable(list[i]->kind) && list[i]->callback) {
                        otel_observer obs = {.inst = list[i], .epoch = epoch};
                        list[i]->callback(&obs, list[i]->userdata);
                }
        ret->time_ns = otel_time_now_ns();
        ret->metrics = n ? calloc(n, sizeof(otel_metric_data)) : NULL;
        if (n && !ret->metrics) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                otel_metric_data *md = &ret->metrics[ret->n_metrics];

                r = collect_instrument(list[i], epoch, md);
                ret->n_metrics++;
                if (r < 0)
                        goto out;
                /* An instrument with no point is left out (OTLP: a metric needs data points). */
                if (md->n_points == 0) {
                        free(md->points);
                        *md = (otel_metric_data){0};
                        ret->n_metrics--;
                }
        }
out:
        pthread_mutex_unlock(&metrics.collect_lock);
        free(list);
        if (r < 0)
                otel_metrics_snapshot_done(ret);
        return r;
}

int otel_metrics_render_prometheus(bool openmetrics, char **ret, size_t *ret_len)
{
        otel_metrics_snapshot snap;
        otel_buf out = {0};
        int r;

        r = otel_metrics_collect(&snap);
        if (r >= 0)
                r = otel_prometheus_render(&snap, openmetrics, &out);
        otel_metrics_snapshot_done(&snap);
        if (r >= 0 && !out.data)
                r = otel_buf_reserve(&out, 1);
        if (r < 0) {
                otel_buf_free(&out);
                return r;
        }
        *ret = (char *)out.data;
        if (ret_len)
                *ret_len = out.len;
        return 0;
}

const char *otel_metrics_prometheus_content_type(bool openmetrics)
{
        return openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                           : "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void metrics_free_all(void)
{
        pthread_mutex_lock(&metrics.lock);
        while (metrics.meters) {
                otel_meter *m = metrics.meters;
                metrics.meters = m->next;
                while (m->instruments) {
                        otel_instrument *inst = m->instruments;
                        m->instruments = inst->next;
                        instrument_free(inst);
                }
                free(m->scope_name);
                free(m->scope_version);
                free(m);
        }
        metrics.meters_tail = NULL;
        pthread_mutex_unlock(&metrics.lock);
}

int otel_metrics_sdk_start(const otel_resource *res)
{
        int r;

        if (atomic_load(&metrics.running))
                return -EALREADY;
        metrics.resource = res;
        metrics.start_ns = otel_time_now_ns();
        metrics.epoch = 0;
        atomic_store(&metrics.running, true);
        otel_metrics_self_telemetry_register();
        r = otel_metrics_export_start(res);
        if (r < 0) {
                atomic_store(&metrics.running, false);
                metrics_free_all();
                return r;
        }
        return 0;
}

int otel_metrics_sdk_flush(uint64_t deadline_ns)
{
        if (!atomic_load(&metrics.running))
                return 0;
        return otel_metrics_export_flush(deadline_ns);
}

int otel_metrics_sdk_stop(uint64_t deadline_ns)
{
        int r;

        if (!atomic_load(&metrics.running))
                return 0;
        /* Final collection and export while the instruments still exist. */
        r = otel_metrics_export_stop(deadline_ns);
        atomic_store(&metrics.running, false);
        metrics_free_all();
        metrics.resource = NULL;
        return r;
}
