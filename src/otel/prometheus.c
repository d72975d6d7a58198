/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text format 0.0.4 and OpenMetrics 1.0 text from a metrics snapshot, following the
 * OpenTelemetry "Prometheus and OpenMetrics Compatibility" spec: sanitised names with unit suffixes
 * and _total, scope labels on every point, resource attributes only on target_info, histogram
 * buckets made cumulative, and (OpenMetrics only) exemplars on buckets. No timestamps on points:
 * the Prometheus exporter spec forbids them. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "metrics.h"

#define PROM_FLOAT_MAX 32 /* "%.17g" of any double, or "+Inf" */

/* ---- names ----------------------------------------------------------------------------------- */

typedef struct unit_word {
        const char *ucum; /* OpenTelemetry (UCUM) unit */
        const char *prom; /* Prometheus suffix word */
} unit_word;

/* Compatibility spec "Metric Metadata": units expanded to the words Prometheus names use. */
static const unit_word unit_words[] = {
        {"d", "days"},          {"h", "hours"},         {"min", "minutes"},    {"s", "seconds"},
        {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
        {"KiBy", "kibibytes"},  {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"}, {"TiBy", "tibibytes"},
        {"KBy", "kilobytes"},   {"MBy", "megabytes"},   {"GBy", "gigabytes"},  {"TBy", "terabytes"},
        {"m", "meters"},        {"V", "volts"},         {"A", "amperes"},      {"J", "joules"},
        {"W", "watts"},         {"g", "grams"},         {"Cel", "celsius"},    {"Hz", "hertz"},
        {"%", "percent"},
};

/* The denominator of "x/y" units is singular ("_per_second"). */
static const unit_word per_words[] = {
        {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
        {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

static const char *unit_lookup(const unit_word *t, size_t n, const char *u, size_t len)
{
        for (size_t i = 0; i < n; i++)
                if (strlen(t[i].ucum) == len && memcmp(t[i].ucum, u, len) == 0)
                        return t[i].prom;
        return NULL;
}

static bool is_name_char(char c, bool colon)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               (colon && c == ':');
}

typedef struct name_builder {
        char *p;     /* output */
        size_t size; /* bytes at p */
        size_t len;  /* used, without the NUL */
} name_builder;

/* Appends s[0..n), invalid characters as '_' and runs of '_' collapsed (compatibility spec). */
static void nb_append(name_builder *b, const char *s, size_t n)
{
        for (size_t i = 0; i < n && b->len + 1 < b->size; i++) {
                char c = is_name_char(s[i], true) ? s[i] : '_';
                if (c == '_' && b->len > 0 && b->p[b->len - 1] == '_')
                        continue;
                b->p[b->len++] = c;
        }
        b->p[b->len] = 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
        size_t n = strlen(suffix);
        return len >= n && memcmp(s + len - n, suffix, n) == 0 && (len == n || s[len - n - 1] == '_');
}

/* The unit part of a name: annotations in braces dropped, "x/y" as "x_per_y", UCUM words expanded;
 * "1" only names gauges (as _ratio). Empty when there is nothing to add. */
static void unit_suffix(const otel_instrument *inst, char *ret, size_t size)
{
        char unit[OTEL_METRICS_UNIT_MAX + 1];
        name_builder b = {.p = ret, .size = size};
        const char *slash, *w;
        size_t n = 0;

        ret[0] = 0;
        for (const char *u = inst->unit; *u && n < OTEL_METRICS_UNIT_MAX; u++) {
                if (*u == '{') {
                        const char *close = strchr(u, '}');
                        if (close) {
                                u = close;
                                continue;
                        }
                }
                unit[n++] = *u;
        }
        unit[n] = 0;
        if (n == 0)
                return;
        if (strcmp(unit, "1") == 0) {
                if (inst->kind == OTEL_INSTRUMENT_GAUGE || inst->kind == OTEL_INSTRUMENT_OBSERVABLE_GAUGE)
                        nb_append(&b, "ratio", 5);
                return;
        }
        slash = strchr(unit, '/');
        if (!slash) {
                w = unit_lookup(unit_words, sizeof(unit_words) / sizeof(unit_words[0]), unit, n);
                nb_append(&b, w ? w : unit, w ? strlen(w) : n);
        } else {
                size_t main_len = (size_t)(slash - unit), per_len = n - main_len - 1;
                const char *per = slash + 1;

                if (main_len) {
                        w = unit_lookup(unit_words, sizeof(unit_words) / sizeof(unit_words[0]), unit,
                                        main_len);
                        nb_append(&b, w ? w : unit, w ? strlen(w) : main_len);
                }
                if (per_len) {
                        w = unit_lookup(per_words, sizeof(per_words) / sizeof(per_words[0]), per, per_len);
                        nb_append(&b, main_len ? "_per_" : "per_", main_len ? 5 : 4);
                        nb_append(&b, w ? w : per, w ? strlen(w) : per_len);
                }
        }
        /* a suffix of only underscores adds nothing */
        if (strspn(ret, "_") == b.len)
                ret[0] = 0;
}

void otel_prometheus_metric_name(const otel_instrument *inst, bool with_total, char *ret, size_t size)
{
        name_builder b = {.p = ret, .size = size};
        char unit[OTEL_METRICS_UNIT_MAX * 2 + 8];

        ret[0] = 0;
        if (inst->name[0] >= '0' && inst->name[0] <= '9')
                nb_append(&b, "_", 1);
        nb_append(&b, inst->name, strlen(inst->name));
        unit_suffix(inst, unit, sizeof(unit));
        if (unit[0] && !ends_with(ret, b.len, unit)) {
                nb_append(&b, "_", 1);
                nb_append(&b, unit, strlen(unit));
        }
        if (with_total && otel_instrument_kind_is_monotonic(inst->kind) && !ends_with(ret, b.len, "total"))
                nb_append(&b, "_total", 6);
}

/* ---- output helpers -------------------------------------------------------------------------- */

typedef struct prom_writer {
        otel_buf *out;
        bool openmetrics;
        int error; /* first failure; later writes are skipped */
} prom_writer;

static void pw_append(prom_writer *w, const char *s, size_t n)
{
        if (w->error == 0)
                w->error = otel_buf_append(w->out, s, n);
}

static void pw_str(prom_writer *w, const char *s)
{
        pw_append(w, s, strlen(s));
}

static void pw_char(prom_writer *w, char c)
{
        pw_append(w, &c, 1);
}

/* What Prometheus' own clients write (Go's strconv.FormatFloat(d, 'g', -1, 64)): the fewest digits
 * that read back as the same double, in exponent form only when the decimal exponent is < -4 or
 * >= 6. This matters beyond looks: `le` values are label strings, so "10" and "1e+01" would be two
 * different series. */
static void format_double(double d, char ret[PROM_FLOAT_MAX])
{
        int digits, exp;
        char *end;

        if (isnan(d)) {
                snprintf(ret, PROM_FLOAT_MAX, "NaN");
                return;
        }
        if (isinf(d)) {
                snprintf(ret, PROM_FLOAT_MAX, "%s", d > 0 ? "+Inf" : "-Inf");
                return;
        }
        for (digits = 1; digits < 17; digits++) {
                snprintf(ret, PROM_FLOAT_MAX, "%.*e", digits - 1, d);
                if (strtod(ret, &end) == d && !*end)
                        break;
        }
        snprintf(ret, PROM_FLOAT_MAX, "%.*e", digits - 1, d);
        exp = (int)strtol(strchr(ret, 'e') + 1, &end, 10); /* "%e" always writes an exponent */
        if (d == 0 || (exp >= -4 && exp < 6))
                snprintf(ret, PROM_FLOAT_MAX, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, d);
}

static void pw_double(prom_writer *w, double d)
{
        char s[PROM_FLOAT_MAX];
        format_double(d, s);
        pw_str(w, s);
}

static void pw_u64(prom_writer *w, uint64_t v)
{
        char s[24];
        int n = snprintf(s, sizeof(s), "%" PRIu64, v);
        pw_append(w, s, (size_t)n);
}

static void pw_i64(prom_writer *w, int64_t v)
{
        char s[24];
        int n = snprintf(s, sizeof(s), "%" PRId64, v);
        pw_append(w, s, (size_t)n);
}

/* Label values: backslash, double quote and newline escaped (both formats). HELP text in 0.0.4
 * escapes only backslash and newline; OpenMetrics escapes the quote there too. */
static void pw_escaped(prom_writer *w, const char *s, bool quote)
{
        const char *run = s;

        for (; *s; s++) {
                const char *esc = *s == '\\'             ? "\\\\"
                                  : *s == '\n'           ? "\\n"
                                  : (*s == '"' && quote) ? "\\\""
                                                         : NULL;
                if (!esc)
                        continue;
                pw_append(w, run, (size_t)(s - run));
                pw_str(w, esc);
                run = s + 1;
        }
        pw_append(w, run, (size_t)(s - run));
}

/* ---- labels ---------------------------------------------------------------------------------- */

/* Label names: [a-zA-Z0-9_], a leading digit gets "key_", a leading "__" (reserved by Prometheus)
 * gets "key". Compared without building the string, for the collision rule below. */
static const char *label_prefix(const char *key)
{
        if (key[0] >= '0' && key[0] <= '9')
                return "key_";
        if (key[0] == '_' && key[1] == '_')
                return "key";
        return "";
}

static bool label_names_equal(const char *a, const char *b)
{
        if (strcmp(label_prefix(a), label_prefix(b)) != 0)
                return false;
        for (; *a && *b; a++, b++)
                if ((is_name_char(*a, false) ? *a : '_') != (is_name_char(*b, false) ? *b : '_'))
                        return false;
        return *a == *b;
}

static void pw_label_name(prom_writer *w, const char *key)
{
        const char *run = key;

        pw_str(w, label_prefix(key));
        for (; *key; key++)
                if (!is_name_char(*key, false)) {
                        pw_append(w, run, (size_t)(key - run));
                        pw_char(w, '_');
                        run = key + 1;
                }
        pw_append(w, run, (size_t)(key - run));
}

/* A JSON string for array items (compatibility spec: arrays become JSON-encoded label values). */
static void pw_json_string(prom_writer *w, const char *s)
{
        pw_char(w, '"');
        for (; *s; s++) {
                if (*s == '"' || *s == '\\') {
                        pw_char(w, '\\');
                        pw_char(w, *s);
                } else if ((unsigned char)*s < 0x20) {
                        char esc[8];
                        snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*s);
                        pw_str(w, esc);
                } else
                        pw_char(w, *s);
        }
        pw_char(w, '"');
}

/* An attribute value as label text (unescaped), into a scratch buffer. */
static void attr_value_text(prom_writer *w, const otel_attr *a)
{
        char s[PROM_FLOAT_MAX];

        switch (a->type) {
        case OTEL_ATTR_STRING:
                pw_str(w, a->v.s);
                return;
        case OTEL_ATTR_BOOL:
                pw_str(w, a->v.b ? "true" : "false");
                return;
        case OTEL_ATTR_INT:
                pw_i64(w, a->v.i);
                return;
        case OTEL_ATTR_DOUBLE:
                format_double(a->v.d, s);
                pw_str(w, s);
                return;
        default:
                break;
        }
        pw_char(w, '[');
        for (size_t i = 0; i < a->v.array.n; i++) {
                if (i)
                        pw_char(w, ',');
                switch (a->type) {
                case OTEL_ATTR_STRING_ARRAY: {
                        const char *v = ((const char *const *)a->v.array.items)[i];
                        pw_json_string(w, v ? v : "");
                        break;
                }
                case OTEL_ATTR_BOOL_ARRAY:
                        pw_str(w, ((const bool *)a->v.array.items)[i] ? "true" : "false");
                        break;
                case OTEL_ATTR_INT_ARRAY:
                        pw_i64(w, ((const int64_t *)a->v.array.items)[i]);
                        break;
                default:
                        format_double(((const double *)a->v.array.items)[i], s);
                        /* JSON has no Inf/NaN literals */
                        if (isfinite(((const double *)a->v.array.items)[i]))
                                pw_str(w, s);
                        else
                                pw_json_string(w, s);
                        break;
                }
        }
        pw_char(w, ']');
}

/* Writes the escaped label value of a (scratch → escape, since values may need both steps). */
static void pw_attr_value(prom_writer *w, otel_buf *scratch, const otel_attr *a)
{
        prom_writer sw = {.out = scratch};

        if (a->type == OTEL_ATTR_STRING) {
                pw_escaped(w, a->v.s, true);
                return;
        }
        otel_buf_reset(scratch);
        attr_value_text(&sw, a);
        if (sw.error == 0)
                sw.error = otel_buf_reserve(scratch, 1);
        if (sw.error) {
                w->error = w->error ? w->error : sw.error;
                return;
        }
        scratch->data[scratch->len] = 0;
        pw_escaped(w, (const char *)scratch->data, true);
}

static bool label_is_reserved(const char *key)
{
        return label_names_equal(key, "le") || label_names_equal(key, "otel_scope_name") ||
               label_names_equal(key, "otel_scope_version");
}

/* Attributes as labels. Keys that sanitise to the same name share one label whose values are
 * joined with ';' in key order (compatibility spec); attrs are sorted by key already. Returns
 * whether anything was written. */
static bool pw_attr_labels(prom_writer *w, otel_buf *scratch, const otel_attr *attrs, size_t n,
                           bool skip_reserved)
{
        bool any = false;

        for (size_t i = 0; i < n; i++) {
                bool dup = false;

                if (skip_reserved && label_is_reserved(attrs[i].key))
                        continue;
                for (size_t j = 0; j < i && !dup; j++)
                        dup = label_names_equal(attrs[i].key, attrs[j].key);
                if (dup)
                        continue;
                if (any)
                        pw_char(w, ',');
                pw_label_name(w, attrs[i].key);
                pw_str(w, "=\"");
                pw_attr_value(w, scratch, &attrs[i]);
                for (size_t j = i + 1; j < n; j++)
                        if (label_names_equal(attrs[i].key, attrs[j].key)) {
                                pw_char(w, ';');
                                pw_attr_value(w, scratch, &attrs[j]);
                        }
                pw_char(w, '"');
                any = true;
        }
        return any;
}

/* {attrs…,otel_scope_name="…",otel_scope_version="…"[,le="…"]} */
static void pw_point_labels(prom_writer *w, otel_buf *scratch, const otel_metric_data *md,
                            const otel_point *p, const char *le)
{
        const otel_meter *m = md->inst->meter;

        pw_char(w, '{');
        if (pw_attr_labels(w, scratch, p->attrs, p->n_attrs, true))
                pw_char(w, ',');
        pw_str(w, "otel_scope_name=\"");
        pw_escaped(w, m->scope_name, true);
        pw_char(w, '"');
        if (m->scope_version && m->scope_version[0]) {
                pw_str(w, ",otel_scope_version=\"");
                pw_escaped(w, m->scope_version, true);
                pw_char(w, '"');
        }
        if (le) {
                pw_str(w, ",le=\"");
                pw_str(w, le);
                pw_char(w, '"');
        }
        pw_char(w, '}');
}

/* ---- families -------------------------------------------------------------------------------- */

typedef enum prom_type {
        PROM_COUNTER,
        PROM_GAUGE,
        PROM_HISTOGRAM,
} prom_type;

static prom_type metric_prom_type(const otel_instrument *inst)
{
        if (inst->kind == OTEL_INSTRUMENT_HISTOGRAM)
                return PROM_HISTOGRAM;
        /* Non-monotonic sums are gauges in Prometheus (compatibility spec "Sums"). */
        return otel_instrument_kind_is_monotonic(inst->kind) ? PROM_COUNTER : PROM_GAUGE;
}

static const char *const prom_type_names[] = {"counter", "gauge", "histogram"};

static void pw_value(prom_writer *w, const otel_metric_data *md, const otel_point *p)
{
        if (md->inst->integer)
                pw_i64(w, p->ivalue);
        else
                pw_double(w, p->value);
}

/* " # {trace_id="…",span_id="…"} value timestamp" (OpenMetrics exemplar on a bucket). */
static void pw_exemplar(prom_writer *w, const otel_exemplar *e)
{
        char trace_hex[OTEL_TRACE_ID_HEX + 1], span_hex[OTEL_SPAN_ID_HEX + 1], ts[48];

        otel_trace_id_to_hex(e->trace_id, trace_hex);
        otel_span_id_to_hex(e->span_id, span_hex);
        pw_str(w, " # {trace_id=\"");
        pw_str(w, trace_hex);
        pw_str(w, "\",span_id=\"");
        pw_str(w, span_hex);
        pw_str(w, "\"} ");
        pw_double(w, e->value);
        snprintf(ts, sizeof(ts), " %" PRIu64 ".%03" PRIu64, e->time_ns / 1000000000u,
                 e->time_ns % 1000000000u / 1000000u);
        pw_str(w, ts);
}

/* One histogram series' prefix: "<name><suffix>{labels} ", the value follows. */
static void pw_histogram_series(prom_writer *w, otel_buf *scratch, const char *name, const char *suffix,
                                const otel_metric_data *md, const otel_point *p, const char *le)
{
        pw_str(w, name);
        pw_str(w, suffix);
        pw_point_labels(w, scratch, md, p, le);
        pw_char(w, ' ');
}

/* les: the instrument's boundaries already formatted (one row of PROM_FLOAT_MAX per bucket, the last
 * "+Inf"), shared by all its points. */
static void pw_histogram_point(prom_writer *w, otel_buf *scratch, const char *name,
                               const otel_metric_data *md, const otel_point *p,
                               const char (*les)[PROM_FLOAT_MAX])
{
        const otel_instrument *inst = md->inst;
        uint64_t cumulative = 0;

        for (size_t b = 0; b <= inst->n_bounds; b++) {
                cumulative += p->buckets[b];
                pw_histogram_series(w, scratch, name, "_bucket", md, p, les[b]);
                pw_u64(w, cumulative);
                if (w->openmetrics && p->exemplars[b].set)
                        pw_exemplar(w, &p->exemplars[b]);
                pw_char(w, '\n');
        }
        pw_histogram_series(w, scratch, name, "_sum", md, p, NULL);
        pw_double(w, p->sum);
        pw_char(w, '\n');
        pw_histogram_series(w, scratch, name, "_count", md, p, NULL);
        pw_u64(w, p->count);
        pw_char(w, '\n');
}

static void pw_points(prom_writer *w, otel_buf *scratch, const char *family, const otel_metric_data *md)
{
        prom_type t = metric_prom_type(md->inst);
        char(*les)[PROM_FLOAT_MAX] = NULL;

        if (t == PROM_HISTOGRAM) {
                /* formatting a boundary is a dozen snprintf/strtod rounds: once per metric, not per point */
                les = malloc((md->inst->n_bounds + 1) * sizeof(*les));
                if (!les) {
                        w->error = w->error ? w->error : -ENOMEM;
                        return;
                }
                for (size_t b = 0; b < md->inst->n_bounds; b++)
                        format_double(md->inst->bounds[b], les[b]);
                snprintf(les[md->inst->n_bounds], PROM_FLOAT_MAX, "+Inf");
        }
        for (size_t i = 0; i < md->n_points; i++) {
                const otel_point *p = &md->points[i];

                if (t == PROM_HISTOGRAM) {
                        pw_histogram_point(w, scratch, family, md, p, (const char(*)[PROM_FLOAT_MAX])les);
                        continue;
                }
                pw_str(w, family);
                /* OpenMetrics: the family is the base name, the counter sample is <base>_total. */
                if (t == PROM_COUNTER && w->openmetrics)
                        pw_str(w, "_total");
                pw_point_labels(w, scratch, md, p, NULL);
                pw_char(w, ' ');
                pw_value(w, md, p);
                pw_char(w, '\n');
        }
        free(les);
}

static void pw_family_header(prom_writer *w, const char *family, const otel_metric_data *md)
{
        const otel_instrument *inst = md->inst;
        char unit[OTEL_METRICS_UNIT_MAX * 2 + 8];

        if (inst->description[0]) {
                pw_str(w, "# HELP ");
                pw_str(w, family);
                pw_char(w, ' ');
                pw_escaped(w, inst->description, w->openmetrics);
                pw_char(w, '\n');
        }
        pw_str(w, "# TYPE ");
        pw_str(w, family);
        pw_char(w, ' ');
        pw_str(w, prom_type_names[metric_prom_type(inst)]);
        pw_char(w, '\n');
        unit_suffix(inst, unit, sizeof(unit));
        /* OpenMetrics: a UNIT line needs the family name to end with the unit. */
        if (w->openmetrics && unit[0] && ends_with(family, strlen(family), unit)) {
                pw_str(w, "# UNIT ");
                pw_str(w, family);
                pw_char(w, ' ');
                pw_str(w, unit);
                pw_char(w, '\n');
        }
}

static void pw_target_info(prom_writer *w, otel_buf *scratch, const otel_resource *res)
{
        if (!res || res->attrs.n == 0)
                return;
        if (w->openmetrics)
                pw_str(w, "# HELP target Target metadata\n# TYPE target info\n");
        else
                pw_str(w, "# HELP target_info Target metadata\n# TYPE target_info gauge\n");
        pw_str(w, "target_info{");
        pw_attr_labels(w, scratch, res->attrs.items, res->attrs.n, false);
        pw_str(w, "} 1\n");
}

int otel_prometheus_render(const otel_metrics_snapshot *s, bool openmetrics, otel_buf *out)
{
        prom_writer w = {.out = out, .openmetrics = openmetrics};
        char(*names)[OTEL_PROMETHEUS_NAME_MAX] = NULL;
        otel_buf scratch = {0};
        bool *done = NULL;

        if (s->n_metrics) {
                names = malloc(s->n_metrics * sizeof(*names));
                done = calloc(s->n_metrics, sizeof(*done));
                if (!names || !done) {
                        free(names);
                        free(done);
                        return -ENOMEM;
                }
        }
        pw_target_info(&w, &scratch, s->resource);
        /* In 0.0.4 a counter's family name carries _total; in OpenMetrics only its samples do. */
        for (size_t i = 0; i < s->n_metrics; i++)
                otel_prometheus_metric_name(s->metrics[i].inst, !openmetrics, names[i], sizeof(names[i]));
        /* One family per name: the same instrument name in several scopes is one family told apart by
         * otel_scope_name; a later one of another type cannot join it and is dropped. */
        for (size_t i = 0; i < s->n_metrics; i++) {
                if (done[i])
                        continue;
                pw_family_header(&w, names[i], &s->metrics[i]);
                for (size_t j = i; j < s->n_metrics; j++) {
                        if (done[j] || strcmp(names[i], names[j]) != 0)
                                continue;
                        done[j] = true;
                        if (metric_prom_type(s->metrics[j].inst) != metric_prom_type(s->metrics[i].inst)) {
                                otel_diag(OTEL_DIAG_DEBUG,
                                          "Prometheus: %s from scope %s conflicts with another "
                                          "type of the same name, not exposed",
                                          s->metrics[j].inst->name, s->metrics[j].inst->meter->scope_name);
                                continue;
                        }
                        pw_points(&w, &scratch, names[i], &s->metrics[j]);
                }
        }
        if (openmetrics)
                pw_str(&w, "# EOF\n");
        free(names);
        free(done);
        otel_buf_free(&scratch);
        return w.error;
}
