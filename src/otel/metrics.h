/* SPDX-License-Identifier: Apache-2.0 */
/* The metrics SDK's private model, shared by the aggregation core (metrics.c), the Prometheus and
 * OpenMetrics renderer (prometheus.c), the OTLP encoders (otlp-metrics.c) and the exporting reader
 * (metrics-export.c). A collection produces an otel_metrics_snapshot: a consistent copy of every
 * series' values that the encoders read without touching the live, concurrently updated state. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otel.h"
#include "otel.h"
#include "resource.h"

/* Metrics SDK spec "Cardinality limits": 2000 distinct attribute sets per instrument by default;
 * the set that would be the 2001st and every later one go to the otel.metric.overflow=true series. */
#define OTEL_METRICS_CARDINALITY_LIMIT 2000
#define OTEL_METRICS_OVERFLOW_KEY      "otel.metric.overflow"
/* API spec "Instrument name syntax": at most 255 characters. */
#define OTEL_METRICS_NAME_MAX 255
/* API spec "Instrument unit": at most 63 ASCII characters. */
#define OTEL_METRICS_UNIT_MAX        63
#define OTEL_METRICS_DESCRIPTION_MAX 1023 /* longer descriptions are truncated */
/* Attributes per measurement we aggregate on; more is a programming error and the extra ones are
 * dropped (with one warning per instrument), which keeps the hot path on the stack. */
#define OTEL_METRICS_MAX_ATTRS 32
/* Buckets: more boundaries than this is no longer an explicit-bucket histogram anyone can read. */
#define OTEL_METRICS_MAX_BOUNDS 256
#define OTEL_METRICS_TABLE_MIN  16 /* initial slots of a series table (power of two) */

/* The latest sampled measurement that fell into one bucket (spec "Exemplar", trace_based filter). */
typedef struct otel_exemplar {
        bool set;                             /* a measurement was kept */
        double value;                         /* the measurement */
        uint64_t time_ns;                     /* Unix epoch ns when it was recorded */
        uint8_t trace_id[OTEL_TRACE_ID_SIZE]; /* the span it was recorded in */
        uint8_t span_id[OTEL_SPAN_ID_SIZE];
} otel_exemplar;

/* How the recording path compares a measurement's attributes with a series without a string
 * comparison on a miss: in key-hash order, key hash and lengths first. */
typedef struct otel_attr_match {
        uint64_t key_hash;     /* of the key bytes */
        uint32_t key_len;      /* strlen of the key */
        uint32_t value_len;    /* strlen of a string value, else 0 */
        const otel_attr *attr; /* the attribute (in the series' attrs) */
} otel_attr_match;

#define OTEL_CACHE_LINE 64

/* Cells per series at most: recording picks the cell of the CPU it runs on, so that threads on
 * different CPUs do not bounce one cache line; collection adds the cells up. Bounded because each
 * histogram cell carries its own buckets and exemplars. */
#define OTEL_METRICS_MAX_CELLS 4

/* One CPU's share of a series (several CPUs share one when there are more CPUs than cells). Starts
 * on its own cache line; a histogram cell is followed by its buckets and exemplars. */
typedef struct otel_series_cell {
        _Alignas(OTEL_CACHE_LINE) _Atomic uint64_t value; /* sums: int64 bits for integer instruments,
                                                           * else double bits of the measurements that
                                                           * are not whole numbers; gauges: the last
                                                           * value (cell 0 only) */
        _Atomic int64_t whole; /* sums of non-integer instruments: whole-number measurements,
                                * added exactly without a compare-and-swap loop */
        atomic_flag lock;      /* histograms: spinlock over the fields below */
        uint64_t count;
        double sum;
        double min;
        double max;
        uint64_t *buckets;        /* n_bounds + 1 counts (not cumulative), histograms only */
        otel_exemplar *exemplars; /* n_bounds + 1, histograms only */
} otel_series_cell;

/* One attribute set of one instrument (a "metric stream" point). Allocated once with its attributes
 * and cells in the same block; never moves and is freed only at shutdown, so readers of a series
 * table need no lock. What recording writes (the cells) sits on other cache lines than what the
 * lookup reads, so that recording into one series does not slow down other threads' lookups. */
typedef struct otel_series {
        uint64_t hash;          /* of the canonical attribute set */
        const otel_attr *attrs; /* sorted by key, deduplicated, deep copy in this block */
        size_t n_attrs;
        const otel_attr_match *match; /* n_attrs entries in key-hash order */
        struct otel_series *next;     /* instrument's list, in creation order */
        uint64_t observed_epoch;      /* observable instruments: collection that last reported it */
        char *cells;                  /* n_cells cells of cell_size bytes (see otel_series_cell_at) */
        size_t n_cells;               /* power of two; 1 for gauges and observable instruments */
        size_t cell_size;             /* multiple of OTEL_CACHE_LINE */
} otel_series;

static inline otel_series_cell *otel_series_cell_at(const otel_series *s, size_t i)
{
        return (otel_series_cell *)(void *)(s->cells + i * s->cell_size);
}

/* Open addressing, linear probing. Readers load the table pointer and probe without a lock; the
 * writer (under the instrument's mutex) fills empty slots with a release store and grows by
 * publishing a bigger table. Old tables stay alive until shutdown: they are at most as large as the
 * current one in total, and a reader may still be probing one. */
typedef struct otel_series_table {
        struct otel_series_table *retired; /* older tables, freed at shutdown */
        size_t mask;                       /* slots - 1 */
        _Atomic(otel_series *) slots[];
} otel_series_table;

struct otel_instrument {
        struct otel_instrument *next; /* meter's list, in creation order */
        otel_meter *meter;            /* scope; NULL for the no-op instrument */
        otel_instrument_kind kind;
        char *name;        /* as given (heap) */
        char *unit;        /* heap, "" when none */
        char *description; /* heap, "" when none */
        bool integer;      /* values are integers */
        bool noop;         /* records nothing */
        uint64_t id;       /* unique in the process (per-thread series caches) */
        size_t n_cells;    /* cells per series (power of two, see otel_series_cell) */
        double *bounds;    /* histogram boundaries (heap), n_bounds of them */
        size_t n_bounds;
        otel_observe_fn callback; /* observable instruments */
        void *userdata;
        _Atomic(otel_series_table *) table; /* lock-free lookup */
        atomic_size_t n_series;             /* attribute sets created, overflow excluded */
        pthread_mutex_t lock;               /* guards series creation and the lists below */
        otel_series *series;                /* first of the creation-order list */
        otel_series *series_tail;
        _Atomic(otel_series *) overflow; /* the otel.metric.overflow=true series, once needed */
        atomic_bool warned_attrs;        /* the too-many-attributes warning was given */
};

struct otel_meter {
        struct otel_meter *next;      /* provider's list, in creation order */
        char *scope_name;             /* heap */
        char *scope_version;          /* heap, NULL when none */
        otel_instrument *instruments; /* owned list (guarded by the metrics lock) */
        otel_instrument *instruments_tail;
        bool noop;
};

/* ---- series (metrics-series.c) -------------------------------------------------------------- */

/* The series of attrs (canonicalised: unusable attributes dropped, the last of duplicate keys kept,
 * order ignored), created on first use; past the cardinality limit, the overflow series. Lock-free
 * when the set exists. NULL only when out of memory. */
otel_series *otel_series_get(otel_instrument *inst, const otel_attr *attrs, size_t n);
/* The first, empty series table of a new instrument: 0 or -ENOMEM. */
int otel_series_table_init(otel_instrument *inst) OTEL_WUR;
/* Frees the series and every table of inst (at shutdown, when no one records any more). */
void otel_series_free_all(otel_instrument *inst);

/* ---- snapshots ------------------------------------------------------------------------------- */

typedef struct otel_point {
        const otel_attr *attrs; /* borrowed from the series (alive until shutdown) */
        size_t n_attrs;
        double value;   /* sums, gauges (as double) */
        int64_t ivalue; /* sums, gauges of integer instruments */
        uint64_t count; /* histograms */
        double sum, min, max;
        uint64_t *buckets;        /* n_bounds + 1, owned by the snapshot */
        otel_exemplar *exemplars; /* n_bounds + 1, owned by the snapshot */
} otel_point;

typedef struct otel_metric_data {
        const otel_instrument *inst; /* name, unit, description, kind, bounds, scope (inst->meter) */
        otel_point *points;          /* owned */
        size_t n_points;
} otel_metric_data;

typedef struct otel_metrics_snapshot {
        otel_metric_data *metrics; /* in meter order, then instrument order; owned */
        size_t n_metrics;
        uint64_t start_ns; /* cumulative start: when the metrics SDK started */
        uint64_t time_ns;  /* when the collection ran */
        const otel_resource *resource;
} otel_metrics_snapshot;

/* Runs observable callbacks and copies every series. Serialised with other collections. Returns 0,
 * -ENOMEM, or -ENODEV when the metrics SDK is not running (an empty snapshot is still returned). */
int otel_metrics_collect(otel_metrics_snapshot *ret) OTEL_WUR;
void otel_metrics_snapshot_done(otel_metrics_snapshot *s);
size_t otel_metrics_snapshot_points(const otel_metrics_snapshot *s);

/* True for the kinds aggregated as a sum (counters, up-down counters, their observable forms). */
bool otel_instrument_kind_is_sum(otel_instrument_kind k);
bool otel_instrument_kind_is_monotonic(otel_instrument_kind k);
bool otel_instrument_kind_is_observable(otel_instrument_kind k);

/* API spec instrument name syntax: ALPHA 0*254 ("_" / "." / "-" / "/" / ALPHA / DIGIT). */
bool otel_instrument_name_is_valid(const char *name);

/* ---- Prometheus / OpenMetrics (prometheus.c) ------------------------------------------------- */

int otel_prometheus_render(const otel_metrics_snapshot *s, bool openmetrics, otel_buf *out) OTEL_WUR;
/* The Prometheus metric name of an instrument per the compatibility spec (sanitised, unit suffix,
 * _total for monotonic sums). ret must hold OTEL_PROMETHEUS_NAME_MAX bytes. */
#define OTEL_PROMETHEUS_NAME_MAX (2 * OTEL_METRICS_NAME_MAX + 64)
void otel_prometheus_metric_name(const otel_instrument *inst, bool with_total, char *ret, size_t size);

/* ---- OTLP (otlp-metrics.c) ------------------------------------------------------------------- */

int otlp_metrics_encode_proto(const otel_metrics_snapshot *s, otel_buf *out) OTEL_WUR;
int otlp_metrics_encode_json(const otel_metrics_snapshot *s, otel_buf *out) OTEL_WUR;

/* ---- the exporting side (metrics-export.c) --------------------------------------------------- */

int otel_metrics_export_start(const otel_resource *res) OTEL_WUR;
int otel_metrics_export_flush(uint64_t deadline_ns);
int otel_metrics_export_stop(uint64_t deadline_ns);
/* Creates the SDK's self-telemetry instruments (meter "oteldemo-otel-sdk"). */
void otel_metrics_self_telemetry_register(void);
/* Tests with golden outputs turn it off before otel_sdk_init(); on by default. */
void otel_metrics_self_telemetry_set_enabled(bool enabled);
