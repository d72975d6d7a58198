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

#if __has_include(<sys/rseq.h>) && (defined(__x86_64__) || defined(__aarch64__))
#include <sys/rseq.h>
#define OTEL_HAVE_RSEQ 1
#endif

const double otel_http_duration_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                            0.5,   0.75, 1,     2.5,  5,     7.5, 10};
const size_t otel_http_duration_bounds_len = sizeof(otel_http_duration_bounds) / sizeof(double);

/* Metrics SDK spec "Explicit Bucket Histogram Aggregation": the default boundaries. */
static const double default_bounds[] = {0,   5,   10,   25,   50,   75,   100,  250,
                                        500, 750, 1000, 2500, 5000, 7500, 10000};

typedef struct metrics_state {
        pthread_mutex_t lock;         /* guards the meter and instrument lists */
        pthread_mutex_t collect_lock; /* one collection at a time (callbacks, epochs) */
        atomic_bool running;          /* between otel_metrics_sdk_start() and stop */
        otel_meter *meters;           /* owned list, creation order */
        otel_meter *meters_tail;
        const otel_resource *resource; /* borrowed from the provider */
        uint64_t start_ns;             /* start of every cumulative stream */
        uint64_t epoch;                /* collections so far (collect_lock) */
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

/* ---- recording ------------------------------------------------------------------------------- */

/* The CPU this thread runs on, from the restartable-sequences area the C library registers (a plain
 * load; sched_getcpu() is a call). Only a hint: the thread may move right after, so cells are
 * still updated atomically or under their lock. */
static inline size_t current_cpu(void)
{
#ifdef OTEL_HAVE_RSEQ
        if (__rseq_size > 0) {
                const volatile struct rseq *r =
                        (const struct rseq *)(void *)((char *)__builtin_thread_pointer() + __rseq_offset);
                return r->cpu_id;
        }
#endif
        return 0;
}

static inline otel_series_cell *series_cell(const otel_series *s)
{
        return otel_series_cell_at(s, s->n_cells > 1 ? current_cpu() & (s->n_cells - 1) : 0);
}

static inline void atomic_add_double(_Atomic uint64_t *p, double v)
{
        uint64_t old = atomic_load_explicit(p, memory_order_relaxed), new;

        do {
                double d;
                memcpy(&d, &old, sizeof(d));
                d += v;
                memcpy(&new, &d, sizeof(new));
        } while (!atomic_compare_exchange_weak_explicit(p, &old, new, memory_order_relaxed,
                                                        memory_order_relaxed));
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

/* Whole numbers this small add up exactly in an int64 for longer than any process runs (2^31 adds
 * of 2^32), and counters mostly add 1. */
#define WHOLE_ADD_MAX 4294967296.0
/* 2^63: the doubles an int64_t can hold are [-2^63, 2^63). */
#define INT64_LIMIT_AS_DOUBLE 9223372036854775808.0

void otel_instrument_add(otel_instrument *inst, double value, const otel_attr *attrs, size_t n_attrs)
{
        otel_series_cell *c;
        otel_series *s;
        int64_t iv;

        if (!inst || inst->noop)
                return;
        if (inst->kind == OTEL_INSTRUMENT_COUNTER) {
                if (!(value >= 0)) /* API spec: a counter only goes up; NaN is not a measurement */
                        return;
        } else if (inst->kind != OTEL_INSTRUMENT_UP_DOWN_COUNTER || isnan(value))
                return;
        s = otel_series_get(inst, attrs, n_attrs);
        if (!s)
                return;
        c = series_cell(s);
        if (inst->integer) {
                if (int_value(value, &iv))
                        atomic_fetch_add_explicit(&c->value, (uint64_t)iv, memory_order_relaxed);
        } else if (value >= -WHOLE_ADD_MAX && value <= WHOLE_ADD_MAX && value == (double)(int64_t)value)
                atomic_fetch_add_explicit(&c->whole, (int64_t)value, memory_order_relaxed);
        else
                atomic_add_double(&c->value, value);
}

/* First bucket whose upper bound is >= v (buckets are (prev, bound]); n_bounds for +Inf. Without
 * branches on v: measurements land in unpredictable buckets, and each mispredicted halving step
 * would cost more than the whole search. */
static inline size_t bucket_index(const double *bounds, size_t n, double v)
{
        const double *base = bounds;

        if (n == 0)
                return 0;
        while (n > 1) {
                size_t half = n / 2;

                base = base[half] < v ? base + half : base;
                n -= half;
        }
        return (size_t)(base - bounds) + (*base < v);
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
        otel_series_cell *c;
        otel_series *s;
        uint64_t now;
        size_t b;

        if (!inst || inst->noop || isnan(value))
                return;
        if (inst->kind == OTEL_INSTRUMENT_GAUGE) {
                s = otel_series_get(inst, attrs, n_attrs);
                if (s)
                        store_value(inst, &otel_series_cell_at(s, 0)->value, value);
                return;
        }
        if (inst->kind != OTEL_INSTRUMENT_HISTOGRAM)
                return;
        s = otel_series_get(inst, attrs, n_attrs);
        if (!s)
                return;
        b = bucket_index(inst->bounds, inst->n_bounds, value);
        /* Exemplar filter trace_based (the spec default): only inside a sampled span. */
        sc = otel_context_span_context();
        if (sc && !otel_span_context_sampled(sc))
                sc = NULL;
        now = sc ? otel_time_now_ns() : 0;
        c = series_cell(s);
        spin_lock(&c->lock);
        c->count++;
        c->sum += value;
        if (value < c->min)
                c->min = value;
        if (value > c->max)
                c->max = value;
        c->buckets[b]++;
        if (sc) {
                otel_exemplar *e = &c->exemplars[b];
                e->set = true;
                e->value = value;
                e->time_ns = now;
                memcpy(e->trace_id, sc->trace_id, OTEL_TRACE_ID_SIZE);
                memcpy(e->span_id, sc->span_id, OTEL_SPAN_ID_SIZE);
        }
        spin_unlock(&c->lock);
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
        s = otel_series_get(inst, attrs, n_attrs);
        if (!s)
                return;
        /* Observations are absolute (cumulative for counters); the last one of a collection wins. */
        store_value(inst, &otel_series_cell_at(s, 0)->value, value);
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
                if (strcmp(m->scope_name, scope_name) == 0 &&
                    str_eq_nullable(m->scope_version, scope_version))
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
        if (!inst || inst == &instrument_noop)
                return;
        otel_series_free_all(inst);
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
                        otel_diag(OTEL_DIAG_WARN,
                                  "histogram %s: bucket boundaries must be finite and increasing "
                                  "(at most %d), using the defaults",
                                  inst->name, OTEL_METRICS_MAX_BOUNDS);
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
            otel_series_table_init(inst) < 0) {
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
                otel_diag(OTEL_DIAG_WARN,
                          "invalid instrument name \"%s\" (API spec: a letter, then up to 254 "
                          "letters, digits, '_', '.', '-' or '/'), it will record nothing",
                          name ? name : "(null)");
                return &instrument_noop;
        }
        if (opts && opts->unit && !unit_is_valid(opts->unit)) {
                otel_diag(OTEL_DIAG_WARN,
                          "instrument %s: invalid unit \"%s\" (at most %d ASCII characters), "
                          "it will record nothing",
                          name, opts->unit, OTEL_METRICS_UNIT_MAX);
                return &instrument_noop;
        }
        if (otel_instrument_kind_is_observable(kind) && !(opts && opts->callback))
                otel_diag(OTEL_DIAG_WARN, "observable instrument %s has no callback", name);
        pthread_mutex_lock(&metrics.lock);
        /* API spec: names are case-insensitive; the same name and kind is the same instrument. */
        for (inst = meter->instruments; inst; inst = inst->next)
                if (strcasecmp(inst->name, name) == 0) {
                        if (inst->kind != kind) {
                                otel_diag(OTEL_DIAG_WARN,
                                          "instrument %s already exists in meter %s with another "
                                          "kind; the new one will record nothing",
                                          name, meter->scope_name);
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

/* A sum adds up the cells; a last value lives in cell 0. A cell holds an int64 or a double bit
 * pattern (by the instrument's kind), plus whole-number adds of a double instrument in `whole`. Integer
 * sums wrap like the counters themselves (unsigned arithmetic: no overflow UB). */
static void point_value(const otel_instrument *inst, const otel_series *se, otel_point *p)
{
        uint64_t usum = 0, whole = 0;
        double dsum = 0;

        for (size_t i = 0; i < se->n_cells; i++) {
                const otel_series_cell *c = otel_series_cell_at(se, i);
                uint64_t bits = atomic_load_explicit(&c->value, memory_order_relaxed);
                double d;

                if (inst->integer) {
                        usum += bits;
                } else {
                        memcpy(&d, &bits, sizeof(d));
                        dsum += d;
                        whole += (uint64_t)atomic_load_explicit(&c->whole, memory_order_relaxed);
                }
        }
        if (inst->integer) {
                memcpy(&p->ivalue, &usum, sizeof(p->ivalue));
                p->value = (double)p->ivalue;
        } else {
                int64_t w;

                memcpy(&w, &whole, sizeof(w));
                p->value = (double)w + dsum;
                p->ivalue = p->value >= -INT64_LIMIT_AS_DOUBLE && p->value < INT64_LIMIT_AS_DOUBLE
                                    ? (int64_t)p->value
                                    : 0;
        }
}

/* Adds a cell's histogram into p; an exemplar of a bucket is the latest one of any cell. */
static void point_histogram_add(const otel_instrument *inst, otel_series_cell *c, otel_point *p)
{
        spin_lock(&c->lock);
        p->count += c->count;
        p->sum += c->sum;
        p->min = c->min < p->min ? c->min : p->min;
        p->max = c->max > p->max ? c->max : p->max;
        for (size_t b = 0; b <= inst->n_bounds; b++) {
                p->buckets[b] += c->buckets[b];
                if (c->exemplars[b].set &&
                    (!p->exemplars[b].set || c->exemplars[b].time_ns > p->exemplars[b].time_ns))
                        p->exemplars[b] = c->exemplars[b];
        }
        spin_unlock(&c->lock);
}

static int point_histogram(const otel_instrument *inst, otel_series *se, otel_point *p)
{
        size_t nb = inst->n_bounds + 1;

        p->buckets = calloc(nb, sizeof(uint64_t));
        p->exemplars = calloc(nb, sizeof(otel_exemplar));
        if (!p->buckets || !p->exemplars)
                return -ENOMEM;
        p->count = 0;
        p->sum = 0;
        p->min = INFINITY;
        p->max = -INFINITY;
        for (size_t i = 0; i < se->n_cells; i++)
                point_histogram_add(inst, otel_series_cell_at(se, i), p);
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
                p->attrs = se->attrs;
                p->n_attrs = se->n_attrs;
                ret->n_points++;
                if (inst->kind == OTEL_INSTRUMENT_HISTOGRAM) {
                        r = point_histogram(inst, se, p);
                        if (r < 0)
                                goto out;
                        /* A histogram series exists once something was recorded, but a failed first
                         * record leaves it empty: nothing to show. */
                        if (p->count == 0) {
                                free(p->buckets);
                                free(p->exemplars);
                                *p = (otel_point){0};
                                ret->n_points--;
                        }
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
