/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo's OpenTelemetry SDK for C: the one public header.
 * Tracing API + SDK (spans, samplers, batch processing, OTLP/HTTP export) and W3C propagation,
 * configured from the standard OTEL_* environment variables. Functions that can fail return 0 or a
 * positive value on success and a negative errno on failure; destructors accept NULL.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OTEL_WUR __attribute__((warn_unused_result))

#define OTEL_SDK_NAME     "oteldemo-otel-c"
#define OTEL_SDK_LANGUAGE "c"
/* telemetry.sdk.version and the exporters' User-Agent. The SDK is versioned with the project (the
 * build checks that this matches meson's project version), but it never reads the project's config.h. */
#define OTEL_SDK_VERSION "0.1.0"

#define OTEL_TRACE_ID_SIZE 16
#define OTEL_SPAN_ID_SIZE  8
#define OTEL_TRACE_ID_HEX  32
#define OTEL_SPAN_ID_HEX   16

/* W3C Trace Context: traceparent is exactly 55 characters for version 00. */
#define OTEL_TRACEPARENT_LEN    55
#define OTEL_TRACE_FLAG_SAMPLED 0x01

typedef enum otel_span_kind {
        OTEL_SPAN_KIND_INTERNAL = 1, /* values are the OTLP SpanKind numbers */
        OTEL_SPAN_KIND_SERVER = 2,
        OTEL_SPAN_KIND_CLIENT = 3,
        OTEL_SPAN_KIND_PRODUCER = 4,
        OTEL_SPAN_KIND_CONSUMER = 5,
        _OTEL_SPAN_KIND_MAX,
        _OTEL_SPAN_KIND_INVALID = -EINVAL,
} otel_span_kind;

typedef enum otel_status_code {
        OTEL_STATUS_UNSET = 0, /* values are the OTLP StatusCode numbers */
        OTEL_STATUS_OK = 1,
        OTEL_STATUS_ERROR = 2,
        _OTEL_STATUS_MAX,
        _OTEL_STATUS_INVALID = -EINVAL,
} otel_status_code;

/* ---- attributes ------------------------------------------------------------------------------ */

typedef enum otel_attr_type {
        OTEL_ATTR_STRING,
        OTEL_ATTR_BOOL,
        OTEL_ATTR_INT,
        OTEL_ATTR_DOUBLE,
        OTEL_ATTR_STRING_ARRAY,
        OTEL_ATTR_BOOL_ARRAY,
        OTEL_ATTR_INT_ARRAY,
        OTEL_ATTR_DOUBLE_ARRAY,
        _OTEL_ATTR_TYPE_MAX,
        _OTEL_ATTR_TYPE_INVALID = -EINVAL,
} otel_attr_type;

/* One key/value pair. The SDK copies what it keeps; callers' memory is only borrowed for the call. */
typedef struct otel_attr {
        const char *key;     /* NUL-terminated, non-empty */
        otel_attr_type type; /* selects the member of v */
        union {
                const char *s; /* OTEL_ATTR_STRING (NUL-terminated UTF-8) */
                bool b;        /* OTEL_ATTR_BOOL */
                int64_t i;     /* OTEL_ATTR_INT */
                double d;      /* OTEL_ATTR_DOUBLE */
                struct {
                        const void *items; /* const char *const[], bool[], int64_t[] or double[] */
                        size_t n;          /* number of items */
                } array;                   /* the *_ARRAY types */
        } v;
} otel_attr;

#define OTEL_ATTR_STR(k, val)   ((otel_attr){.key = (k), .type = OTEL_ATTR_STRING, .v.s = (val)})
#define OTEL_ATTR_I64(k, val)   ((otel_attr){.key = (k), .type = OTEL_ATTR_INT, .v.i = (val)})
#define OTEL_ATTR_F64(k, val)   ((otel_attr){.key = (k), .type = OTEL_ATTR_DOUBLE, .v.d = (val)})
#define OTEL_ATTR_BOOLV(k, val) ((otel_attr){.key = (k), .type = OTEL_ATTR_BOOL, .v.b = (val)})
#define OTEL_ATTR_ARRAY(k, t, items_, n_)                                                                   \
        ((otel_attr){.key = (k), .type = (t), .v.array = {.items = (items_), .n = (n_)}})

/* ---- span context and propagation ------------------------------------------------------------ */

typedef struct otel_tracestate otel_tracestate; /* immutable, reference-counted W3C tracestate */
typedef struct otel_baggage otel_baggage;       /* immutable, reference-counted W3C baggage */

typedef struct otel_span_context {
        uint8_t trace_id[OTEL_TRACE_ID_SIZE]; /* all zero = invalid */
        uint8_t span_id[OTEL_SPAN_ID_SIZE];   /* all zero = invalid */
        uint8_t trace_flags;                  /* W3C trace-flags; bit 0 = sampled */
        bool is_remote;                       /* extracted from a carrier */
} otel_span_context;

bool otel_span_context_is_valid(const otel_span_context *sc);
/* Lowercase hex into buffers of OTEL_TRACE_ID_HEX+1 / OTEL_SPAN_ID_HEX+1 bytes. */
void otel_trace_id_to_hex(const uint8_t id[OTEL_TRACE_ID_SIZE], char ret_hex[OTEL_TRACE_ID_HEX + 1]);
void otel_span_id_to_hex(const uint8_t id[OTEL_SPAN_ID_SIZE], char ret_hex[OTEL_SPAN_ID_HEX + 1]);

/* traceparent, strictly per W3C Trace Context Level 1 (section 3.2). Returns 0, or -EINVAL for any
 * malformed, unsupported or all-zero value. Higher versions are parsed as the spec requires. */
int otel_traceparent_parse(const char *value, size_t len, otel_span_context *ret_sc) OTEL_WUR;
/* Writes 55 characters and a NUL into ret (OTEL_TRACEPARENT_LEN + 1 bytes). */
void otel_traceparent_format(const otel_span_context *sc, char ret[OTEL_TRACEPARENT_LEN + 1]);

/* tracestate (W3C section 3.3): combined header value(s) → list. Invalid input yields -EINVAL and
 * the caller drops the whole header, as the spec says. */
#define OTEL_TRACESTATE_MAX_MEMBERS 32
#define OTEL_TRACESTATE_MAX_LEN     512
int otel_tracestate_parse(const char *value, size_t len, otel_tracestate **ret) OTEL_WUR;
const char *otel_tracestate_header(const otel_tracestate *ts); /* serialized form, never NULL */
const char *otel_tracestate_get(const otel_tracestate *ts, const char *key); /* NULL if absent */
otel_tracestate *otel_tracestate_ref(otel_tracestate *ts);
void otel_tracestate_unref(otel_tracestate *ts);

/* W3C Baggage. Limits: at least 64 list-members and 8192 bytes are propagated. */
#define OTEL_BAGGAGE_MAX_MEMBERS 64
#define OTEL_BAGGAGE_MAX_BYTES   8192
int otel_baggage_parse(const char *value, size_t len, otel_baggage **ret) OTEL_WUR;
size_t otel_baggage_count(const otel_baggage *bg);
/* Decoded (percent-decoded) value of key, or NULL. */
const char *otel_baggage_get(const otel_baggage *bg, const char *key);
/* i-th entry; metadata (properties, raw) may be NULL. Returns false when out of range. */
bool otel_baggage_entry(const otel_baggage *bg, size_t i, const char **ret_key, const char **ret_value,
                        const char **ret_metadata);
/* Returns a new baggage with key set (replacing any earlier entry), or NULL on -ENOMEM/-EINVAL. */
otel_baggage *otel_baggage_set(const otel_baggage *bg, const char *key, const char *value,
                               const char *metadata);
/* Serializes with percent-encoding, honouring the limits; caller frees. NULL when empty. */
char *otel_baggage_header(const otel_baggage *bg);
otel_baggage *otel_baggage_ref(otel_baggage *bg);
void otel_baggage_unref(otel_baggage *bg);

/* ---- tracing --------------------------------------------------------------------------------- */

typedef struct otel_tracer otel_tracer; /* one per instrumentation scope, owned by the SDK */
typedef struct otel_span otel_span;     /* reference-counted; ended exactly once */

typedef struct otel_link {
        otel_span_context context;         /* linked span */
        const otel_tracestate *tracestate; /* may be NULL */
        const otel_attr *attrs;            /* may be NULL */
        size_t n_attrs;
} otel_link;

/* Options for otel_span_start(); a zeroed struct (or NULL) means: parent from the current context,
 * start now, no attributes or links. */
typedef struct otel_span_start_opts {
        const otel_span *parent; /* explicit parent span (may be remote); NULL = current span */
        bool root;               /* ignore any parent: start a new trace */
        const otel_attr *attrs;  /* attributes known at start (seen by the sampler) */
        size_t n_attrs;
        const otel_link *links;
        size_t n_links;
        uint64_t start_time_ns; /* Unix epoch ns; 0 = now */
} otel_span_start_opts;

/* Returns the tracer for a scope, creating it on first use; never NULL (a no-op tracer when the SDK
 * is disabled or not initialised). */
otel_tracer *otel_tracer_get(const char *scope_name, const char *scope_version);

/* Never returns NULL: without memory, or when not sampled, a non-recording span is returned whose
 * context still propagates. Returns a reference owned by the caller, released by otel_span_end(). */
otel_span *otel_span_start(otel_tracer *tracer, const char *name, otel_span_kind kind,
                           const otel_span_start_opts *opts);
void otel_span_end(otel_span *span);
void otel_span_end_at(otel_span *span, uint64_t end_time_ns);

bool otel_span_is_recording(const otel_span *span);
const otel_span_context *otel_span_get_context(const otel_span *span);
const otel_tracestate *otel_span_get_tracestate(const otel_span *span);

void otel_span_set_attr(otel_span *span, const otel_attr *attr);
void otel_span_set_attrs(otel_span *span, const otel_attr *attrs, size_t n);
void otel_span_set_str(otel_span *span, const char *key, const char *value);
void otel_span_set_int(otel_span *span, const char *key, int64_t value);
void otel_span_set_double(otel_span *span, const char *key, double value);
void otel_span_set_bool(otel_span *span, const char *key, bool value);
void otel_span_add_event(otel_span *span, const char *name, const otel_attr *attrs, size_t n_attrs);
void otel_span_add_event_at(otel_span *span, const char *name, uint64_t time_ns, const otel_attr *attrs,
                            size_t n_attrs);
void otel_span_add_link(otel_span *span, const otel_link *link);
/* Per the API spec: OK is final, UNSET is ignored, a description only goes with ERROR. */
void otel_span_set_status(otel_span *span, otel_status_code code, const char *description);
void otel_span_update_name(otel_span *span, const char *name);
/* Adds an "exception" event with exception.type / exception.message (and optional stacktrace). */
void otel_span_record_exception(otel_span *span, const char *type, const char *message,
                                const char *stacktrace);

/* A span wrapping a remote (or any) span context; non-recording; caller owns the reference. */
otel_span *otel_span_wrap_context(const otel_span_context *sc, const otel_tracestate *ts);
otel_span *otel_span_ref(otel_span *span); /* NULL-safe; returns span */
void otel_span_unref(otel_span *span);     /* NULL-safe */

/* ---- current context (per thread) ------------------------------------------------------------ */

/* The current span and baggage of this thread. Attach makes span and baggage current (NULL keeps the
 * current one), taking references; detach restores what the token saved, in reverse order of attach. */
typedef struct otel_context_token {
        otel_span *prev_span;       /* what was current before */
        otel_baggage *prev_baggage; /* what was current before */
} otel_context_token;

otel_context_token otel_context_attach(otel_span *span, otel_baggage *baggage);
void otel_context_detach(otel_context_token token);
otel_span *otel_context_span(void);       /* borrowed; NULL when none */
otel_baggage *otel_context_baggage(void); /* borrowed; NULL when none */
/* The current span's context, or NULL (no current span). */
const otel_span_context *otel_context_span_context(void);

/* ---- propagators (OTEL_PROPAGATORS: tracecontext, baggage, none) ----------------------------- */

/* Returns the value of the idx-th header line named `name` (case-insensitive), or NULL past the last. */
typedef const char *(*otel_carrier_get_fn)(void *carrier, const char *name, size_t idx);
typedef void (*otel_carrier_set_fn)(void *carrier, const char *name, const char *value);

/* Extracts a parent from headers with the configured propagators. Returns a non-recording remote
 * span (NULL when no valid traceparent) and baggage (NULL when none); the caller owns both. */
void otel_propagation_extract(otel_carrier_get_fn get, void *carrier, otel_span **ret_parent,
                              otel_baggage **ret_baggage);
/* Injects span (NULL = current) and baggage (NULL = current) with the configured propagators. */
void otel_propagation_inject(const otel_span *span, const otel_baggage *baggage, otel_carrier_set_fn set,
                             void *carrier);

/* ---- metrics (issue 3) ----------------------------------------------------------------------- */

typedef struct otel_meter otel_meter;           /* one per instrumentation scope, owned by the SDK */
typedef struct otel_instrument otel_instrument; /* owned by its meter; valid until otel_sdk_shutdown() */
typedef struct otel_observer otel_observer;     /* handed to observable-instrument callbacks */

typedef enum otel_instrument_kind {
        OTEL_INSTRUMENT_COUNTER,                    /* monotonic sum, synchronous */
        OTEL_INSTRUMENT_UP_DOWN_COUNTER,            /* non-monotonic sum, synchronous */
        OTEL_INSTRUMENT_HISTOGRAM,                  /* explicit-bucket histogram, synchronous */
        OTEL_INSTRUMENT_GAUGE,                      /* last value, synchronous */
        OTEL_INSTRUMENT_OBSERVABLE_COUNTER,         /* monotonic sum, callback */
        OTEL_INSTRUMENT_OBSERVABLE_UP_DOWN_COUNTER, /* non-monotonic sum, callback */
        OTEL_INSTRUMENT_OBSERVABLE_GAUGE,           /* last value, callback */
        _OTEL_INSTRUMENT_KIND_MAX,
        _OTEL_INSTRUMENT_KIND_INVALID = -EINVAL,
} otel_instrument_kind;

/* Called at each collection (Prometheus scrape or OTLP export) on the collecting thread. */
typedef void (*otel_observe_fn)(otel_observer *obs, void *userdata);

typedef struct otel_instrument_opts {
        const char *unit;        /* UCUM, e.g. "s", "By", "{request}"; NULL = none */
        const char *description; /* HELP text; NULL = none */
        bool integer;            /* values are integers (OTLP as_int); default double */
        const double *bounds;    /* histogram bucket boundaries, increasing; NULL = the SDK default */
        size_t n_bounds;
        otel_observe_fn callback; /* observable instruments only */
        void *userdata;           /* passed to callback */
} otel_instrument_opts;

/* Semantic-convention buckets for http.server.request.duration & co. (seconds). */
extern const double otel_http_duration_bounds[];
extern const size_t otel_http_duration_bounds_len;

/* Never NULL (a no-op meter when the SDK is disabled). */
otel_meter *otel_meter_get(const char *scope_name, const char *scope_version);
/* Never NULL: an invalid name or kind yields a no-op instrument and a warning. Asking again for the same
 * name and kind returns the same instrument. */
otel_instrument *otel_instrument_new(otel_meter *meter, otel_instrument_kind kind, const char *name,
                                     const otel_instrument_opts *opts);
/* Counters and up-down counters (a negative value on a counter is ignored, as the API spec says). */
void otel_instrument_add(otel_instrument *inst, double value, const otel_attr *attrs, size_t n_attrs);
/* Histograms and gauges. A histogram records the current sampled span as an exemplar. */
void otel_instrument_record(otel_instrument *inst, double value, const otel_attr *attrs, size_t n_attrs);
/* Inside an otel_observe_fn. */
void otel_observe(otel_observer *obs, double value, const otel_attr *attrs, size_t n_attrs);

/* Renders every instrument in Prometheus text format 0.0.4, or OpenMetrics 1.0 text (with exemplars)
 * when openmetrics is true. *ret is NUL-terminated, malloc'ed, owned by the caller. */
int otel_metrics_render_prometheus(bool openmetrics, char **ret, size_t *ret_len) OTEL_WUR;
/* Content-Type for the above. */
const char *otel_metrics_prometheus_content_type(bool openmetrics);

/* ---- logs (issue 3) -------------------------------------------------------------------------- */

/* OTLP SeverityNumber values of the base level of each range. */
typedef enum otel_severity {
        OTEL_SEVERITY_TRACE = 1,
        OTEL_SEVERITY_DEBUG = 5,
        OTEL_SEVERITY_INFO = 9,
        OTEL_SEVERITY_WARN = 13,
        OTEL_SEVERITY_ERROR = 17,
        OTEL_SEVERITY_FATAL = 21,
        _OTEL_SEVERITY_INVALID = -EINVAL,
} otel_severity;

/* The project's one logging call: journald (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_FILE/LINE/FUNC,
 * TRACE_ID, SPAN_ID, SERVICE_NAME + attrs as upper-cased fields) when stderr is the journal
 * (JOURNAL_STREAM), else one readable line on stderr; and the OTLP logs pipeline. Returns -abs(err)
 * so that `return otel_log_errno(...)` reads like systemd's log_error_errno(); err 0 returns 0 and
 * adds no errno field. Messages below the level are dropped early and cheaply. */
int otel_log_full(otel_severity sev, int err, const char *file, int line, const char *func,
                  const otel_attr *attrs, size_t n_attrs, const char *fmt, ...)
        __attribute__((format(printf, 8, 9)));
#define otel_log(sev, ...) otel_log_full((sev), 0, __FILE__, __LINE__, __func__, NULL, 0, __VA_ARGS__)
#define otel_log_errno(sev, err, ...)                                                                       \
        otel_log_full((sev), (err), __FILE__, __LINE__, __func__, NULL, 0, __VA_ARGS__)
#define otel_log_attrs(sev, attrs, n, ...)                                                                  \
        otel_log_full((sev), 0, __FILE__, __LINE__, __func__, (attrs), (n), __VA_ARGS__)
/* Minimum severity logged (default INFO); also settable from config on reload. */
void otel_log_set_level(otel_severity min);
otel_severity otel_log_get_level(void);
/* Parses "trace", "debug", "info", "warn"/"warning", "error", "fatal"; -EINVAL otherwise. */
int otel_severity_from_string(const char *s, otel_severity *ret) OTEL_WUR;

/* ---- tracez (issue 3) ------------------------------------------------------------------------ */

/* What /debug/tracez is asked for: every string may be NULL or "" (not asked). */
typedef struct otel_tracez_query {
        bool json;            /* JSON instead of HTML */
        const char *name;     /* ?name= : one span name, with its samples */
        const char *bucket;   /* ?bucket= : "0".."8" or "error", samples of that bucket */
        const char *trace_id; /* ?trace_id= : 32 lowercase hex digits, the samples of one trace (any name) */
} otel_tracez_query;

/* Renders the in-process zPages-style span summary (/debug/tracez) as HTML or JSON. -EINVAL for a
 * malformed bucket or trace id. *ret is malloc'ed, owned by the caller. */
int otel_tracez_render(const otel_tracez_query *q, char **ret, size_t *ret_len) OTEL_WUR;

/* ---- SDK lifecycle --------------------------------------------------------------------------- */

typedef struct otel_sdk_options {
        const char *service_name;        /* default for service.name (OTEL_SERVICE_NAME wins) */
        const char *service_version;     /* service.version */
        const otel_attr *resource_attrs; /* extra resource attributes (env wins) */
        size_t n_resource_attrs;
} otel_sdk_options;

/* Builds the global tracer provider from opts and the OTEL_* environment. Invalid variables are
 * warned about and replaced by their defaults; only -ENOMEM and thread creation fail. */
int otel_sdk_init(const otel_sdk_options *opts) OTEL_WUR;
/* Export what is queued, waiting at most timeout_ms. Returns 0, or -ETIMEDOUT. */
int otel_sdk_force_flush(uint64_t timeout_ms);
/* Flush, stop background threads, free everything. Returns 0, or -ETIMEDOUT if work was abandoned. */
int otel_sdk_shutdown(uint64_t timeout_ms);
bool otel_sdk_enabled(void);
/* Replaces the sampler of the running SDK (a daemon's SIGHUP reload): name as OTEL_TRACES_SAMPLER, arg
 * as OTEL_TRACES_SAMPLER_ARG (NULL = 1.0). -EINVAL for an unknown name or a ratio outside [0, 1]; the
 * sampler in force is kept then. Spans already started keep their decision. */
int otel_sdk_set_sampler(const char *name, const char *arg) OTEL_WUR;

/* Counters of the trace pipeline (SDK self-observation). */
typedef struct otel_trace_stats {
        uint64_t spans_started;            /* recording spans started */
        uint64_t spans_ended;              /* recording spans ended */
        uint64_t spans_queued;             /* handed to the batch processor */
        uint64_t spans_dropped_queue_full; /* dropped because the queue was full */
        uint64_t spans_exported;           /* accepted by the receiver */
        uint64_t spans_export_failed;      /* given up on after retries or by the receiver */
        uint64_t export_requests;          /* HTTP requests sent, including retries */
} otel_trace_stats;
void otel_trace_stats_get(otel_trace_stats *ret);

/* Wall-clock time in Unix epoch nanoseconds. */
uint64_t otel_time_now_ns(void);

/* CLOCK_MONOTONIC in nanoseconds: the one clock for durations, deadlines and rate limits, in the SDK and
 * in the programs that use it. */
static inline uint64_t otel_mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The value of one hexadecimal digit of either case, or -1: the one decoder of %XX escapes (RFC 3986
 * section 2.1) for baggage values and request paths. */
static inline int otel_hex_digit_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* ---- capped byte buffer ---------------------------------------------------------------------- */

/* A growable byte buffer (in the spirit of curl's dynbuf): one owner, and an explicit cap so that a
 * runaway encoder or a peer sending too much cannot eat the heap. The SDK's encoders and every HTTP
 * client of the project collect into one. A zeroed struct is an empty buffer. */
#define OTEL_BUF_DEFAULT_MAX (64u * 1024u * 1024u) /* cap when max is 0: the largest export body */

typedef struct otel_buf {
        uint8_t *data; /* malloc'ed (free() may take it over); NUL-terminated, the NUL not in len */
        size_t len;    /* bytes in use */
        size_t cap;    /* bytes allocated */
        size_t max;    /* growth limit; 0 = OTEL_BUF_DEFAULT_MAX */
} otel_buf;

/* Room for extra more bytes (and the NUL): 0, -E2BIG past max, -ENOMEM. */
int otel_buf_reserve(otel_buf *b, size_t extra) OTEL_WUR;
int otel_buf_append(otel_buf *b, const void *p, size_t n) OTEL_WUR;
int otel_buf_appendf(otel_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3))) OTEL_WUR;
void otel_buf_reset(otel_buf *b); /* len = 0, keeps memory */
void otel_buf_free(otel_buf *b);  /* frees memory, zeroes the struct but keeps max; NULL-safe */

/* ---- SDK self-diagnostics -------------------------------------------------------------------- */

/* The SDK's own warnings (bad OTEL_* values, failed exports; spec "Error handling / self-diagnostics"),
 * filtered by OTEL_LOG_LEVEL (error, warn, info, debug; default info). */
typedef enum otel_diag_level {
        OTEL_DIAG_ERROR,
        OTEL_DIAG_WARN,
        OTEL_DIAG_INFO,
        OTEL_DIAG_DEBUG,
        _OTEL_DIAG_LEVEL_MAX,
        _OTEL_DIAG_LEVEL_INVALID = -EINVAL,
} otel_diag_level;

/* Receives each diagnostic that passes the level, as one line without a trailing newline, on whichever
 * thread raised it (exporter threads included). Logging from the handler with otel_log() is allowed:
 * such lines go to journald/stderr only, never into the OTLP logs pipeline, so an export failure
 * cannot feed itself. */
typedef void (*otel_diag_handler_fn)(otel_diag_level level, const char *message, void *userdata);
/* Installs the handler (NULL restores the default: "otel: warning: ..." lines on stderr). Call it
 * before otel_sdk_init(), while no other thread uses the SDK. */
void otel_diag_set_handler(otel_diag_handler_fn fn, void *userdata);
void otel_diag_set_level(otel_diag_level level);

#ifdef __cplusplus
}
#endif
