/* SPDX-License-Identifier: Apache-2.0 */
/* The metrics SDK's attribute sets and series (spec "Metrics SDK", "Cardinality limits"): a
 * measurement's attributes in canonical form and their hash, the per-instrument lock-free series
 * table the recording path probes, series creation under the instrument's lock, and the
 * otel.metric.overflow=true series that takes every set past the cardinality limit. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attributes.h"
#include "diag.h"
#include "metrics.h"

#define HASH_SEED 0x9e3779b97f4a7c15ull
#define HASH_MUL  0xff51afd7ed558ccdull

/* A thread's last series per instrument: a recording site usually repeats its attribute set, and a
 * hit costs one comparison of the set instead of hashing it and probing the table. Direct-mapped
 * by instrument id, so that a request recording into a few instruments keeps each one's entry. */
#define SERIES_CACHE_SLOTS 8 /* power of two */
#define SERIES_CACHE_ATTRS 8 /* larger sets take the table every time */

typedef struct series_cache_entry {
        const otel_instrument *inst;      /* NULL when empty */
        uint64_t inst_id;                 /* inst->id when filled: a new instrument at a freed one's
                                           * address has another id, so the series is never stale */
        otel_series *series;              /* the set's series, not the overflow series */
        size_t n;                         /* attributes in the measurement, as given */
        uint8_t perm[SERIES_CACHE_ATTRS]; /* input position -> index in series->match */
} series_cache_entry;

static _Thread_local series_cache_entry series_cache[SERIES_CACHE_SLOTS];

/* Instrument ids start at 1, so that an empty cache entry never matches. */
static atomic_uint_fast64_t instrument_ids;

/* A series' copies of keys and string values are read as aligned words (see str_equal_stored()). */

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
                return hash_bytes(h, a->v.array.items, a->v.array.n * otel_attr_array_item_size(a->type));
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
                              x->v.array.n * otel_attr_array_item_size(x->type)) == 0;
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
                        otel_diag(OTEL_DIAG_WARN,
                                  "instrument %s: more than %d attributes in a measurement, "
                                  "dropping the rest",
                                  inst->name, OTEL_METRICS_MAX_ATTRS);
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
                uint64_t hv = a->type == OTEL_ATTR_STRING ? hash_bytes(HASH_MUL + OTEL_ATTR_STRING, a->v.s,
                                                                       set->items[i].value_len)
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
                if (a->type == OTEL_ATTR_STRING ? !bytes_equal(a->v.s, b->v.s, x->value_len)
                                                : !attr_value_equal(a, b))
                        return false;
        }
        return true;
}

/* ---- series ---------------------------------------------------------------------------------- */

#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((size_t)(a)-1))

/* Bytes of the deep copy of one attribute's value. */
static size_t attr_value_size(const otel_attr *a)
{
        size_t n = 0;

        if (a->type == OTEL_ATTR_STRING)
                return ALIGN_UP(strlen(a->v.s) + 1, 8); /* see str_equal_stored() */
        if (!attr_is_array(a->type))
                return 0;
        n = ALIGN_UP(a->v.array.n * otel_attr_array_item_size(a->type), 8);
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
                p += ALIGN_UP(len + 1, 8);
        } else if (attr_is_array(a->type)) {
                size_t bytes = a->v.array.n * otel_attr_array_item_size(a->type);
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
 * the cells (each with its buckets and exemplars), then the strings. */
static otel_series *series_new(const otel_instrument *inst, const attr_set *set)
{
        size_t nb = inst->kind == OTEL_INSTRUMENT_HISTOGRAM ? inst->n_bounds + 1 : 0;
        size_t off_attrs = ALIGN_UP(sizeof(otel_series), 16);
        size_t off_match = off_attrs + set->n * sizeof(otel_attr);
        size_t off_cells = ALIGN_UP(off_match + set->n * sizeof(otel_attr_match), OTEL_CACHE_LINE);
        size_t off_buckets = sizeof(otel_series_cell);
        size_t off_ex = ALIGN_UP(off_buckets + nb * sizeof(uint64_t), 16);
        size_t cell_size = ALIGN_UP(off_ex + nb * sizeof(otel_exemplar), OTEL_CACHE_LINE);
        size_t off_str = off_cells + inst->n_cells * cell_size, size = off_str;
        otel_attr_match *match;
        otel_attr *attrs;
        otel_series *s;
        char *cur;

        for (size_t i = 0; i < set->n; i++)
                size += ALIGN_UP(set->items[i].key_len + 1, 8) + attr_value_size(set->items[i].attr) + 8;
        size = ALIGN_UP(size, OTEL_CACHE_LINE);
        s = aligned_alloc(OTEL_CACHE_LINE, size);
        if (!s)
                return NULL;
        memset(s, 0, size);
        attrs = (otel_attr *)(void *)((char *)s + off_attrs);
        match = (otel_attr_match *)(void *)((char *)s + off_match);
        cur = (char *)s + off_str;
        /* Keys and string values start on eight-byte boundaries and are zero-padded to the next one
         * (the block is zeroed), as str_equal_stored() reads them. */
        for (size_t i = 0; i < set->n; i++) {
                cur = (char *)ALIGN_UP((uintptr_t)cur, 8);
                memcpy(cur, set->items[i].attr->key, set->items[i].key_len + 1);
                attrs[i].key = cur;
                cur += ALIGN_UP(set->items[i].key_len + 1, 8);
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
        s->cells = (char *)s + off_cells;
        s->n_cells = inst->n_cells;
        s->cell_size = cell_size;
        for (size_t i = 0; i < s->n_cells; i++) {
                otel_series_cell *c = otel_series_cell_at(s, i);

                atomic_flag_clear(&c->lock);
                if (nb) {
                        c->buckets = (uint64_t *)(void *)((char *)c + off_buckets);
                        c->exemplars = (otel_exemplar *)(void *)((char *)c + off_ex);
                        c->min = INFINITY;
                        c->max = -INFINITY;
                }
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

/* Whether the NUL-terminated s equals a series' copy t of length len. strncmp stops at the first
 * difference or terminator, so it never reads past the end of the caller's string (a word-at-a-time
 * compare would, which is undefined behaviour however page-safe). */
static inline bool str_equal_stored(const char *s, const char *t, size_t len)
{
        return strncmp(s, t, len + 1) == 0;
}

/* Whether the measurement's attributes, in the order given, are exactly the set of e->series. Every
 * byte is compared: a caller may reuse one array or buffer for different values. */
static inline bool series_cache_matches(const series_cache_entry *e, const otel_attr *attrs, size_t n)
{
        const otel_series *s = e->series;

        /* Types and integers first: a site that varies a status code misses here, cheaply. */
        for (size_t i = 0; i < n; i++) {
                const otel_attr *a = &attrs[i], *b = s->match[e->perm[i]].attr;

                if (a->type != b->type || (a->type == OTEL_ATTR_INT && a->v.i != b->v.i))
                        return false;
        }
        for (size_t i = 0; i < n; i++) {
                const otel_attr *a = &attrs[i];
                const otel_attr_match *m = &s->match[e->perm[i]];
                const otel_attr *b = m->attr;

                if (!a->key || !str_equal_stored(a->key, b->key, m->key_len))
                        return false;
                if (a->type == OTEL_ATTR_STRING) {
                        if (!a->v.s || !str_equal_stored(a->v.s, b->v.s, m->value_len))
                                return false;
                } else if (a->type != OTEL_ATTR_INT && (!attr_is_usable(a) || !attr_value_equal(a, b)))
                        return false;
        }
        return true;
}

/* Remembers the series of a set given without unusable or duplicate attributes, so that the
 * input positions map one to one onto the series' attributes. */
static void series_cache_fill(series_cache_entry *e, const otel_instrument *inst, const otel_attr *attrs,
                              size_t n, const attr_set *set, otel_series *s)
{
        if (n != set->n || n > SERIES_CACHE_ATTRS || s->n_attrs != n)
                return;
        for (size_t j = 0; j < n; j++)
                e->perm[set->items[j].attr - attrs] = (uint8_t)j;
        e->inst = inst;
        e->inst_id = inst->id;
        e->series = s;
        e->n = n;
}

/* The table lookup, apart from the cache hit so that the hit path needs no stack frame for a
 * canonical set. */
static __attribute__((noinline)) otel_series *series_lookup(otel_instrument *inst, const otel_attr *attrs,
                                                            size_t n, series_cache_entry *e)
{
        otel_series_table *t = atomic_load_explicit(&inst->table, memory_order_acquire);
        otel_series *s;
        attr_set set;

        attr_set_build(inst, attrs, n, &set);
        s = table_find(t, &set);
        if (__builtin_expect(s == NULL, 0)) {
                /* Past the limit, a new set goes straight to the overflow series without the lock. */
                if (atomic_load_explicit(&inst->n_series, memory_order_acquire) >=
                    OTEL_METRICS_CARDINALITY_LIMIT) {
                        s = atomic_load_explicit(&inst->overflow, memory_order_acquire);
                        if (s)
                                return s;
                }
                s = series_create(inst, &set);
                if (!s || s == atomic_load_explicit(&inst->overflow, memory_order_acquire))
                        return s;
        }
        series_cache_fill(e, inst, attrs, n, &set, s);
        return s;
}

otel_series *otel_series_get(otel_instrument *inst, const otel_attr *attrs, size_t n)
{
        series_cache_entry *e = &series_cache[inst->id & (SERIES_CACHE_SLOTS - 1)];

        if (e->inst == inst && e->inst_id == inst->id && e->n == n && series_cache_matches(e, attrs, n))
                return e->series;
        return series_lookup(inst, attrs, n, e);
}

int otel_series_table_init(otel_instrument *inst)
{
        inst->id = atomic_fetch_add_explicit(&instrument_ids, 1, memory_order_relaxed) + 1;
        inst->n_cells = 1;
        /* A last value has no per-CPU form; observations come from one collecting thread. */
        if (inst->kind == OTEL_INSTRUMENT_COUNTER || inst->kind == OTEL_INSTRUMENT_UP_DOWN_COUNTER ||
            inst->kind == OTEL_INSTRUMENT_HISTOGRAM) {
                long cpus = sysconf(_SC_NPROCESSORS_ONLN);

                while (inst->n_cells < OTEL_METRICS_MAX_CELLS && (long)inst->n_cells < cpus)
                        inst->n_cells *= 2;
        }
        return table_reserve(inst, 1);
}

void otel_series_free_all(otel_instrument *inst)
{
        otel_series_table *t;

        while (inst->series) {
                otel_series *s = inst->series;
                inst->series = s->next;
                free(s);
        }
        inst->series_tail = NULL;
        t = atomic_load(&inst->table);
        while (t) {
                otel_series_table *older = t->retired;
                free(t);
                t = older;
        }
        atomic_store(&inst->table, NULL);
}
