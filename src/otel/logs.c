/* SPDX-License-Identifier: Apache-2.0 */
/* The logs signal: otel_log_full(), the project's one logging call. Each message goes to journald when
 * stderr is the journal (systemd.exec(5) $JOURNAL_STREAM), else as one readable line on stderr, and to
 * the OTLP logs pipeline (the batch log record processor in log-processor.c). The pipeline's own failures
 * are reported through otel_diag() (stderr only), never through otel_log(), so they cannot loop. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "diag.h"
#include "env.h"
#include "logs.h"
#include "provider.h"

#define LOGS_EXPORTER_LIST_MAX 256 /* longest OTEL_LOGS_EXPORTER value we read */
#define LOGS_CODE_ATTRS                                                                                     \
        4                    /* code.file.path, code.line.number, code.function.name,                       \
                              * error.type */
#define LOGS_NUMBER_MAX   32 /* an int64 or a %.17g double as text, with a NUL */
#define LOGS_FRACTION_LEN 9  /* ".123456Z" and a NUL after the seconds */
#define LOGS_ISO8601_MAX  64 /* "2025-01-02T03:04:05.123456Z" needs 28; room for any int */

/* ---- severity --------------------------------------------------------------------------------- */

static const char *const severity_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

const char *otel_severity_text(int severity)
{
        if (severity < OTEL_SEVERITY_NUMBER_MIN || severity > OTEL_SEVERITY_NUMBER_MAX)
                return "UNSPECIFIED";
        /* Six ranges of four numbers each (Logs data model, "Field: SeverityNumber"). */
        return severity_names[(severity - 1) / 4];
}

int otel_severity_syslog_priority(int severity)
{
        /* Data model appendix "Syslog" mapping, read backwards: one syslog level per range; FATAL is
         * LOG_CRIT (LOG_ALERT/LOG_EMERG are for the whole system, not one service). */
        static const int priorities[] = {7 /* LOG_DEBUG */, 7, 6 /* LOG_INFO */, 4 /* LOG_WARNING */,
                                         3 /* LOG_ERR */,   2 /* LOG_CRIT */};

        if (severity < OTEL_SEVERITY_NUMBER_MIN)
                severity = OTEL_SEVERITY_NUMBER_MIN;
        if (severity > OTEL_SEVERITY_NUMBER_MAX)
                severity = OTEL_SEVERITY_NUMBER_MAX;
        return priorities[(severity - 1) / 4];
}

int otel_severity_from_string(const char *s, otel_severity *ret)
{
        static const struct {
                const char *name;
                otel_severity sev;
        } table[] = {
                {"trace", OTEL_SEVERITY_TRACE},  {"debug", OTEL_SEVERITY_DEBUG},
                {"info", OTEL_SEVERITY_INFO},    {"warn", OTEL_SEVERITY_WARN},
                {"warning", OTEL_SEVERITY_WARN}, {"error", OTEL_SEVERITY_ERROR},
                {"fatal", OTEL_SEVERITY_FATAL},
        };

        for (size_t i = 0; s && i < sizeof(table) / sizeof(table[0]); i++)
                if (strcasecmp(s, table[i].name) == 0) {
                        *ret = table[i].sev;
                        return 0;
                }
        return -EINVAL;
}

/* ---- level ------------------------------------------------------------------------------------ */

/* 0 until the first message or otel_logs_sdk_start() reads OTEL_LOG_LEVEL; messages below it cost one
 * relaxed load and a compare. */
static atomic_int log_level;

static int log_level_init(void)
{
        const char *v = otel_env_get("OTEL_LOG_LEVEL");
        otel_severity sev = OTEL_SEVERITY_INFO;
        int expected = 0;

        if (v && otel_severity_from_string(v, &sev) < 0)
                sev = OTEL_SEVERITY_INFO; /* diag.c warns about a bad value already */
        /* A level set by otel_log_set_level() meanwhile wins. */
        (void)atomic_compare_exchange_strong(&log_level, &expected, (int)sev);
        return atomic_load(&log_level);
}

void otel_log_set_level(otel_severity min)
{
        if ((int)min < OTEL_SEVERITY_NUMBER_MIN)
                min = OTEL_SEVERITY_TRACE;
        if ((int)min > OTEL_SEVERITY_NUMBER_MAX)
                min = OTEL_SEVERITY_FATAL;
        atomic_store(&log_level, (int)min);
}

otel_severity otel_log_get_level(void)
{
        int v = atomic_load(&log_level);

        return (otel_severity)(v ? v : log_level_init());
}

/* ---- text rendering --------------------------------------------------------------------------- */

static int append_str(otel_buf *out, const char *s)
{
        return otel_buf_append(out, s, strlen(s));
}

static int value_text_item(otel_attr_type type, const void *items, size_t i, otel_buf *out)
{
        char num[LOGS_NUMBER_MAX];
        int n;

        switch (type) {
        case OTEL_ATTR_STRING_ARRAY: {
                const char *s = ((const char *const *)items)[i];
                return otel_buf_append(out, s ? s : "", s ? strlen(s) : 0);
        }
        case OTEL_ATTR_BOOL_ARRAY:
                return append_str(out, ((const bool *)items)[i] ? "true" : "false");
        case OTEL_ATTR_INT_ARRAY:
                n = snprintf(num, sizeof(num), "%" PRId64, ((const int64_t *)items)[i]);
                return otel_buf_append(out, num, (size_t)n);
        default:
                /* %.17g round-trips every double. */
                n = snprintf(num, sizeof(num), "%.17g", ((const double *)items)[i]);
                return otel_buf_append(out, num, (size_t)n);
        }
}

int otel_log_value_text(const otel_attr *a, otel_buf *out)
{
        int r = 0;

        switch (a->type) {
        case OTEL_ATTR_STRING:
                return value_text_item(OTEL_ATTR_STRING_ARRAY, &a->v.s, 0, out);
        case OTEL_ATTR_BOOL:
                return value_text_item(OTEL_ATTR_BOOL_ARRAY, &a->v.b, 0, out);
        case OTEL_ATTR_INT:
                return value_text_item(OTEL_ATTR_INT_ARRAY, &a->v.i, 0, out);
        case OTEL_ATTR_DOUBLE:
                return value_text_item(OTEL_ATTR_DOUBLE_ARRAY, &a->v.d, 0, out);
        case OTEL_ATTR_STRING_ARRAY:
        case OTEL_ATTR_BOOL_ARRAY:
        case OTEL_ATTR_INT_ARRAY:
        case OTEL_ATTR_DOUBLE_ARRAY:
                for (size_t i = 0; r >= 0 && i < a->v.array.n; i++) {
                        if (i > 0)
                                r = otel_buf_append(out, ",", 1);
                        if (r >= 0)
                                r = value_text_item(a->type, a->v.array.items, i, out);
                }
                return r;
        default:
                return -EINVAL;
        }
}

static bool char_needs_escape(unsigned char c, bool quote)
{
        return c < 0x20 || c == 0x7f || (quote && (c == '"' || c == '\\'));
}

/* Appends s[0..n) keeping the line one line: control characters become C escapes. With quote, '"' and
 * '\\' are escaped too and the whole is double-quoted. Runs of plain bytes are copied at once: this is
 * on the path of every message. */
static int append_escaped(otel_buf *out, const char *s, size_t n, bool quote)
{
        int r = quote ? otel_buf_append(out, "\"", 1) : 0;
        size_t i = 0;

        while (r >= 0 && i < n) {
                size_t run = i;
                unsigned char c;
                char esc[8];

                while (run < n && !char_needs_escape((unsigned char)s[run], quote))
                        run++;
                if (run > i)
                        r = otel_buf_append(out, s + i, run - i);
                if (r < 0 || run == n)
                        break;
                c = (unsigned char)s[run];
                if (c == '\n')
                        r = otel_buf_append(out, "\\n", 2);
                else if (c == '\t')
                        r = otel_buf_append(out, "\\t", 2);
                else if (c == '\r')
                        r = otel_buf_append(out, "\\r", 2);
                else if (c == '"' || c == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)c;
                        r = otel_buf_append(out, esc, 2);
                } else {
                        snprintf(esc, sizeof(esc), "\\x%02x", c);
                        r = otel_buf_append(out, esc, 4);
                }
                i = run + 1;
        }
        if (r >= 0 && quote)
                r = otel_buf_append(out, "\"", 1);
        return r;
}

/* A value is quoted when a reader splitting on spaces and '=' would misread it. */
static bool value_needs_quotes(const char *s, size_t n)
{
        if (n == 0)
                return true;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
                        return true;
        }
        return false;
}

/* "YYYY-MM-DDTHH:MM:SS" of the last second this thread formatted: gmtime_r() and a 6-field printf cost
 * more than the rest of a line, and consecutive messages mostly share the second. */
static _Thread_local struct {
        bool valid;
        time_t sec;
        char text[LOGS_ISO8601_MAX];
        size_t len;
} time_cache;

static int format_time(uint64_t ns, char ret[LOGS_ISO8601_MAX])
{
        time_t sec = (time_t)(ns / OTEL_NSEC_PER_SEC);
        unsigned usec = (unsigned)(ns % OTEL_NSEC_PER_SEC / 1000);
        struct tm tm;
        int n;

        if (!time_cache.valid || time_cache.sec != sec) {
                if (!gmtime_r(&sec, &tm))
                        return -EOVERFLOW;
                n = snprintf(time_cache.text, sizeof(time_cache.text), "%04d-%02d-%02dT%02d:%02d:%02d",
                             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
                if (n < 0 || (size_t)n + LOGS_FRACTION_LEN >= LOGS_ISO8601_MAX)
                        return -EOVERFLOW;
                time_cache.len = (size_t)n;
                time_cache.sec = sec;
                time_cache.valid = true;
        }
        memcpy(ret, time_cache.text, time_cache.len);
        /* ".uuuuuuZ" */
        ret[time_cache.len] = '.';
        for (int d = 6; d >= 1; d--, usec /= 10)
                ret[time_cache.len + (size_t)d] = (char)('0' + usec % 10);
        ret[time_cache.len + 7] = 'Z';
        ret[time_cache.len + 8] = 0;
        return 0;
}

int otel_log_format_line(const otel_log_event *ev, otel_buf *out)
{
        char when[LOGS_ISO8601_MAX], hex[OTEL_TRACE_ID_HEX + 1];
        size_t n_attrs = ev->n_attrs < OTEL_LOG_MAX_ATTRS ? ev->n_attrs : OTEL_LOG_MAX_ATTRS;
        const char *msg = ev->message ? ev->message : "";
        otel_buf value = {0};
        int r;

        r = format_time(ev->time_ns, when);
        if (r >= 0)
                r = append_str(out, when);
        if (r >= 0)
                r = otel_buf_append(out, " ", 1);
        if (r >= 0)
                r = append_str(out, otel_severity_text(ev->severity));
        if (r >= 0)
                r = otel_buf_append(out, " [", 2);
        if (r >= 0)
                r = append_str(out, ev->service ? ev->service : "");
        if (r >= 0)
                r = otel_buf_append(out, "] ", 2);
        if (r >= 0)
                r = append_escaped(out, msg, strlen(msg), false);
        for (size_t i = 0; r >= 0 && i < n_attrs; i++) {
                const char *key = ev->attrs[i].key;

                if (!key || !*key)
                        continue;
                otel_buf_reset(&value);
                r = otel_log_value_text(&ev->attrs[i], &value);
                if (r == -EINVAL) {
                        r = 0;
                        continue;
                }
                if (r >= 0)
                        r = otel_buf_append(out, " ", 1);
                if (r >= 0)
                        r = append_escaped(out, key, strlen(key), false);
                if (r >= 0)
                        r = otel_buf_append(out, "=", 1);
                if (r >= 0)
                        r = append_escaped(out, (const char *)value.data, value.len,
                                           value_needs_quotes((const char *)value.data, value.len));
        }
        otel_buf_free(&value);
        if (r >= 0 && ev->err > 0)
                r = otel_buf_appendf(out, " errno=%d", ev->err);
        if (r >= 0 && ev->span) {
                otel_trace_id_to_hex(ev->span->trace_id, hex);
                r = otel_buf_append(out, " trace_id=", 10);
                if (r >= 0)
                        r = otel_buf_append(out, hex, OTEL_TRACE_ID_HEX);
                otel_span_id_to_hex(ev->span->span_id, hex);
                if (r >= 0)
                        r = otel_buf_append(out, " span_id=", 9);
                if (r >= 0)
                        r = otel_buf_append(out, hex, OTEL_SPAN_ID_HEX);
        }
        if (r >= 0)
                r = otel_buf_append(out, "\n", 1);
        return r;
}

/* ---- where a message goes --------------------------------------------------------------------- */

enum { SINK_UNKNOWN, SINK_STDERR, SINK_JOURNAL };
static atomic_int log_sink; /* SINK_*, decided at the first message after a reset */

/* service.name for SERVICE_NAME= and the stderr line. Written by otel_logs_sdk_start(), which the
 * application calls before its threads log; empty until then (the environment is used instead). */
static char log_service[OTEL_LOG_SERVICE_MAX];

void otel_log_sink_reset(void)
{
        atomic_store(&log_sink, SINK_UNKNOWN);
}

static int log_sink_get(void)
{
        int sink = atomic_load_explicit(&log_sink, memory_order_relaxed);
        struct stat st;

        if (sink != SINK_UNKNOWN)
                return sink;
        /* systemd.exec(5): output is connected to the journal when $JOURNAL_STREAM names the device
         * and inode of stderr; a child that inherited the variable but not the stream must not match. */
        sink = OTEL_HAVE_LIBSYSTEMD && fstat(STDERR_FILENO, &st) == 0 &&
                               otel_journal_stream_matches(getenv("JOURNAL_STREAM"), &st)
                       ? SINK_JOURNAL
                       : SINK_STDERR;
        atomic_store(&log_sink, sink);
        return sink;
}

static const char *log_service_name(void)
{
        const char *env;

        if (log_service[0])
                return log_service;
        env = otel_env_get("OTEL_SERVICE_NAME");
        return env ? env : program_invocation_short_name;
}

static void log_write_stderr(const otel_log_event *ev)
{
        otel_buf line = {0};
        size_t done = 0;

        if (otel_log_format_line(ev, &line) < 0) {
                otel_buf_free(&line);
                return;
        }
        /* One write(2) per line, so that lines from several threads do not interleave. */
        while (done < line.len) {
                ssize_t n = write(STDERR_FILENO, line.data + done, line.len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                done += (size_t)n;
        }
        otel_buf_free(&line);
}

/* ---- log records ------------------------------------------------------------------------------ */

otel_log_record *otel_log_record_new(const otel_log_event *ev, uint64_t observed_ns)
{
        otel_attr attrs[OTEL_LOG_MAX_ATTRS + LOGS_CODE_ATTRS];
        size_t n = ev->n_attrs < OTEL_LOG_MAX_ATTRS ? ev->n_attrs : OTEL_LOG_MAX_ATTRS;
        const otel_attr_limits lim = {.count = OTEL_LOG_MAX_ATTRS + LOGS_CODE_ATTRS,
                                      .value_length = OTEL_ATTR_UNLIMITED};
        otel_log_record *rec = malloc(sizeof(*rec));
        const char *msg = ev->message ? ev->message : "";

        if (!rec)
                return NULL;
        rec->time_ns = ev->time_ns;
        rec->observed_ns = observed_ns;
        rec->severity = ev->severity;
        rec->has_span = ev->span != NULL;
        if (ev->span)
                rec->context = *ev->span;
        else
                memset(&rec->context, 0, sizeof(rec->context));
        otel_arena_init(&rec->arena, rec->inline_arena, sizeof(rec->inline_arena));
        rec->body = otel_arena_strndup(&rec->arena, msg, strlen(msg));
        if (!rec->body)
                goto fail;

        if (n)
                memcpy(attrs, ev->attrs, n * sizeof(*attrs));
        /* Semantic conventions "code.*" (the stable names since semconv 1.30). */
        if (ev->file)
                attrs[n++] = OTEL_ATTR_STR("code.file.path", ev->file);
        if (ev->line > 0)
                attrs[n++] = OTEL_ATTR_I64("code.line.number", ev->line);
        if (ev->func)
                attrs[n++] = OTEL_ATTR_STR("code.function.name", ev->func);
        if (ev->err > 0) {
                /* error.type wants a low-cardinality code: the errno's symbolic name. */
                const char *name = strerrorname_np(ev->err);
                attrs[n++] = OTEL_ATTR_STR("error.type", name ? name : "_OTHER");
        }
        if (otel_attr_list_copy(&rec->attrs, &rec->arena, attrs, n, &lim) < 0)
                goto fail;
        return rec;

fail:
        otel_arena_release(&rec->arena);
        free(rec);
        return NULL;
}

void otel_log_record_free(otel_log_record *rec)
{
        if (!rec)
                return;
        otel_arena_release(&rec->arena);
        free(rec);
}

/* ---- the pipeline ----------------------------------------------------------------------------- */

/* The installed processor, or NULL. otel_log_full() counts itself in log_in_flight around its use, and
 * stop waits for that count to drain after clearing the pointer, so that no record is pushed into a
 * processor being freed. */
static _Atomic(otel_log_processor *) log_pipeline;
static atomic_uint log_in_flight;

int otel_logs_pipeline_start(const otel_batch_log_config *cfg, otel_log_exporter *exporter)
{
        otel_log_processor *p = NULL, *expected = NULL;
        int r;

        if (atomic_load(&log_pipeline)) {
                exporter->free(exporter);
                return -EALREADY;
        }
        r = otel_log_processor_new(cfg, exporter, &p);
        if (r < 0)
                return r;
        if (!atomic_compare_exchange_strong(&log_pipeline, &expected, p)) {
                (void)otel_log_processor_shutdown(p, otel_mono_ns());
                return -EALREADY;
        }
        return 0;
}

/* OTEL_LOGS_EXPORTER: otlp (default), console or none. One pipeline: the first usable entry wins. */
static int logs_exporter_from_env(const otel_resource *res, otel_log_exporter **ret)
{
        const char *v = otel_env_get("OTEL_LOGS_EXPORTER");
        char name[16];

        *ret = NULL;
        if (!v)
                v = "otlp";
        if (strlen(v) > LOGS_EXPORTER_LIST_MAX) {
                otel_diag(OTEL_DIAG_WARN, "OTEL_LOGS_EXPORTER is too long, using \"otlp\"");
                v = "otlp";
        }
        for (const char *s = v;;) {
                size_t len = strcspn(s, ",");
                const char *e = s + len;

                while (s < e && (*s == ' ' || *s == '\t'))
                        s++;
                while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                        e--;
                if ((size_t)(e - s) < sizeof(name)) {
                        memcpy(name, s, (size_t)(e - s));
                        name[e - s] = 0;
                        if (strcasecmp(name, "none") == 0)
                                return 0;
                        if (strcasecmp(name, "otlp") == 0)
                                return otel_otlp_log_exporter_new(res, ret);
                        if (strcasecmp(name, "console") == 0)
                                return otel_console_log_exporter_new(res, stderr, ret);
                }
                if (e > s)
                        otel_diag(OTEL_DIAG_WARN,
                                  "invalid OTEL_LOGS_EXPORTER entry \"%.*s\" (expected otlp, console or "
                                  "none), "
                                  "ignoring it",
                                  (int)(e - s), s);
                s += len;
                if (!*s)
                        return 0;
                s++;
        }
}

int otel_logs_sdk_start(const otel_resource *res)
{
        otel_log_exporter *exporter;
        otel_batch_log_config cfg;
        const char *service = res ? otel_resource_service_name(res) : NULL;
        int r;

        if (service)
                snprintf(log_service, sizeof(log_service), "%s", service);
        otel_log_sink_reset();
        if (atomic_load(&log_level) == 0)
                (void)log_level_init();
        r = logs_exporter_from_env(res, &exporter);
        if (r < 0 || !exporter)
                return r;
        otel_batch_log_config_from_env(&cfg);
        return otel_logs_pipeline_start(&cfg, exporter);
}

int otel_logs_sdk_flush(uint64_t deadline_ns)
{
        otel_log_processor *p = atomic_load(&log_pipeline);

        return p ? otel_log_processor_flush(p, deadline_ns) : 0;
}

int otel_logs_sdk_stop(uint64_t deadline_ns)
{
        otel_log_processor *p = atomic_exchange(&log_pipeline, NULL);

        if (!p)
                return 0;
        while (atomic_load(&log_in_flight) > 0)
                sched_yield();
        return otel_log_processor_shutdown(p, deadline_ns);
}

/* ---- the logging call ------------------------------------------------------------------------- */

static void log_emit_otlp(const otel_log_event *ev)
{
        otel_log_processor *p;
        otel_log_record *rec;

        if (!atomic_load_explicit(&log_pipeline, memory_order_relaxed))
                return;
        atomic_fetch_add_explicit(&log_in_flight, 1, memory_order_seq_cst);
        p = atomic_load_explicit(&log_pipeline, memory_order_seq_cst);
        if (p) {
                rec = otel_log_record_new(ev, ev->time_ns);
                if (rec)
                        otel_log_processor_emit(p, rec);
                else
                        otel_log_count_no_memory();
        }
        atomic_fetch_sub_explicit(&log_in_flight, 1, memory_order_release);
}

int otel_log_full(otel_severity sev, int err, const char *file, int line, const char *func,
                  const otel_attr *attrs, size_t n_attrs, const char *fmt, ...)
{
        int min = atomic_load_explicit(&log_level, memory_order_relaxed);
        int ret = err == INT_MIN ? -INT_MAX : err > 0 ? -err : err;
        const otel_span_context *sc;
        char message[OTEL_LOG_MESSAGE_MAX];
        int saved_errno;
        va_list ap;

        if ((int)sev < min)
                return ret;
        if (min == 0 && (int)sev < log_level_init())
                return ret;

        saved_errno = errno;
        /* Like systemd's log_*_errno(): %m in fmt renders err. */
        errno = -ret;
        va_start(ap, fmt);
        message[0] = '\0'; /* a NULL fmt is an empty message (clang refuses "" as a format) */
        if (fmt)
                vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);

        sc = otel_context_span_context();
        otel_log_event ev = {
                .time_ns = otel_time_now_ns(),
                .severity = (int)sev < OTEL_SEVERITY_NUMBER_MIN   ? OTEL_SEVERITY_NUMBER_MIN
                            : (int)sev > OTEL_SEVERITY_NUMBER_MAX ? OTEL_SEVERITY_NUMBER_MAX
                                                                  : (int)sev,
                .err = -ret,
                .file = file,
                .line = line,
                .func = func,
                .attrs = attrs,
                .n_attrs = attrs ? n_attrs : 0,
                .message = message,
                .span = sc && otel_span_context_is_valid(sc) ? sc : NULL,
                .service = log_service_name(),
                .identifier = program_invocation_short_name,
        };

        /* A journal that refuses the entry (gone, full) still leaves the line on stderr. */
        if (log_sink_get() != SINK_JOURNAL || otel_journal_send(&ev) < 0)
                log_write_stderr(&ev);
        /* The SDK's own diagnostics, routed here by the application's handler, stay local: an OTLP
         * export failure must not queue a record whose export fails again. */
        if (!otel_diag_in_handler())
                log_emit_otlp(&ev);
        errno = saved_errno;
        return ret;
}
