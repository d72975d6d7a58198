/* SPDX-License-Identifier: Apache-2.0 */
/* The logs signal inside the SDK: one log event as otel_log_full() sees it, its three sinks (journald in
 * journal.c, the readable stderr line and the OTLP pipeline in logs.c), the log record the OTLP pipeline
 * queues, and the log exporters (otlp-logs.c). The pure pieces are here so that tests can call them. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "arena.h"
#include "attributes.h"
#include "batch-worker.h"
#include "otel.h"
#include "otel.h"
#include "resource.h"

#define OTEL_LOG_MESSAGE_MAX    4096 /* bytes of a formatted message kept (longer ones are cut) */
#define OTEL_LOG_MAX_ATTRS      32   /* caller attributes kept per event; the rest are dropped */
#define OTEL_LOG_FIELD_NAME_MAX 64   /* journald's limit on a field name (journal-file format) */
#define OTEL_LOG_SERVICE_MAX    256  /* bytes of service.name kept for SERVICE_NAME and stderr lines */
#define OTEL_LOG_RECORD_INLINE                                                                              \
        1024 /* arena bytes inside a queued record: an access-log record (message, 10+ attributes) needs no \
                second block */
#define OTEL_LOG_SCOPE_NAME      "oteldemo" /* instrumentation scope of every record */
#define OTEL_SEVERITY_NUMBER_MIN 1
#define OTEL_SEVERITY_NUMBER_MAX 24

/* Spec defaults (SDK "Batch LogRecord processor"). */
#define OTEL_BLRP_DEFAULT_SCHEDULE_DELAY_MS 1000
#define OTEL_BLRP_DEFAULT_MAX_QUEUE_SIZE    2048
#define OTEL_BLRP_DEFAULT_MAX_EXPORT_BATCH  512
#define OTEL_BLRP_DEFAULT_EXPORT_TIMEOUT_MS 30000

/* One call of otel_log_full(), borrowed from the caller's stack. */
typedef struct otel_log_event {
        uint64_t time_ns;              /* Unix epoch ns of the call */
        int severity;                  /* OTLP SeverityNumber, 1..24 */
        int err;                       /* positive errno, 0 when none */
        const char *file;              /* __FILE__, may be NULL */
        int line;                      /* __LINE__, 0 when unknown */
        const char *func;              /* __func__, may be NULL */
        const otel_attr *attrs;        /* caller attributes, may be NULL */
        size_t n_attrs;                /* at most OTEL_LOG_MAX_ATTRS are used */
        const char *message;           /* formatted message, NUL-terminated */
        const otel_span_context *span; /* the current span's context, NULL when none is valid */
        const char *service;           /* service.name, may be NULL */
        const char *identifier;        /* SYSLOG_IDENTIFIER, may be NULL */
} otel_log_event;

/* ---- mappings (logs.c) ------------------------------------------------------------------------ */

/* The OTel short name of the severity's range ("TRACE" … "FATAL"); severity must be 1..24. */
const char *otel_severity_text(int severity);
/* syslog(3) priority for journald's PRIORITY= (LOG_DEBUG … LOG_CRIT). */
int otel_severity_syslog_priority(int severity);
/* An attribute value as text (strings as they are, arrays comma-separated); appended to out. */
int otel_log_value_text(const otel_attr *a, otel_buf *out) OTEL_WUR;
/* The readable stderr line: `<ISO 8601 UTC time> <LEVEL> [service] message key=value … trace_id=…
 * span_id=…` and a newline. Values that need it are double-quoted with C escapes. */
int otel_log_format_line(const otel_log_event *ev, otel_buf *out) OTEL_WUR;

/* ---- journald (journal.c) --------------------------------------------------------------------- */

/* The journal field name for an attribute key: upper-cased, '.' → '_', characters journald rejects
 * dropped, no leading '_' or digit, at most OTEL_LOG_FIELD_NAME_MAX bytes. Returns its length, or
 * -EINVAL when nothing usable is left. ret must hold OTEL_LOG_FIELD_NAME_MAX + 1 bytes. */
int otel_journal_field_name(const char *key, char *ret) OTEL_WUR;
/* systemd.exec(5) "$JOURNAL_STREAM": "<device>:<inode>" in decimal, naming the stream stderr must be
 * for output to be the journal. True when value names st. */
bool otel_journal_stream_matches(const char *value, const struct stat *st);
/* Builds the journal entry's fields ("NAME=value" each) into buf: offsets[i]/lens[i] locate field i.
 * Returns the number of fields or a negative errno. */
#define OTEL_JOURNAL_MAX_FIELDS (16 + OTEL_LOG_MAX_ATTRS)
int otel_journal_fields(const otel_log_event *ev, otel_buf *buf, size_t offsets[OTEL_JOURNAL_MAX_FIELDS],
                        size_t lens[OTEL_JOURNAL_MAX_FIELDS]) OTEL_WUR;
/* Sends the event to journald (sd_journal_sendv). 0 or a negative errno. */
int otel_journal_send(const otel_log_event *ev) OTEL_WUR;

/* ---- the sink choice (logs.c) ----------------------------------------------------------------- */

/* Forgets the cached answer to "is stderr the journal?" (JOURNAL_STREAM vs fstat(2)), so that the next
 * message looks again; called by otel_logs_sdk_start() and tests. */
void otel_log_sink_reset(void);

/* ---- the OTLP pipeline ------------------------------------------------------------------------ */

/* What the batch processor queues: one heap block per record. */
typedef struct otel_log_record {
        uint64_t time_ns;          /* when the event happened */
        uint64_t observed_ns;      /* when the SDK saw it (the same clock read for a direct call) */
        int severity;              /* OTLP SeverityNumber */
        bool has_span;             /* context holds the current span of the call */
        otel_span_context context; /* trace_id, span_id, trace flags */
        const char *body;          /* formatted message, in the arena */
        otel_attr_list attrs;      /* caller attributes + code.* + error.type, in the arena */
        otel_arena arena;          /* strings and attributes */
        _Alignas(16) char inline_arena[OTEL_LOG_RECORD_INLINE];
} otel_log_record;

/* A copy of ev as a record; NULL without memory. Freed by otel_log_record_free(). */
otel_log_record *otel_log_record_new(const otel_log_event *ev, uint64_t observed_ns);
void otel_log_record_free(otel_log_record *rec);

/* Log exporter (SDK spec "LogRecordExporter"): one batch at a time, never concurrently. */
typedef struct otel_log_exporter otel_log_exporter;
struct otel_log_exporter {
        /* The number of records the receiver rejected (0 when it took them all; a partial success is
         * logged by the exporter), or a negative errno when the batch as a whole failed. */
        int (*export_logs)(otel_log_exporter *e, otel_log_record *const *recs, size_t n,
                           uint64_t deadline_ns);
        void (*free)(otel_log_exporter *e);
};

/* OTLP over HTTP to /v1/logs, configured from OTEL_EXPORTER_OTLP_[LOGS_]* (otlp-logs.c). */
int otel_otlp_log_exporter_new(const otel_resource *res, otel_log_exporter **ret) OTEL_WUR;
/* One OTLP/JSON LogRecord object per line on stream (a FILE *). */
int otel_console_log_exporter_new(const otel_resource *res, void *stream, otel_log_exporter **ret) OTEL_WUR;

/* ExportLogsServiceRequest encoders: one ResourceLogs (res), one ScopeLogs (OTEL_LOG_SCOPE_NAME). */
int otlp_logs_encode_proto(const otel_resource *res, otel_log_record *const *recs, size_t n,
                           otel_buf *out) OTEL_WUR;
int otlp_logs_encode_json(const otel_resource *res, otel_log_record *const *recs, size_t n,
                          otel_buf *out) OTEL_WUR;
/* One LogRecord as a single-line OTLP/JSON object (console exporter). */
int otlp_log_record_encode_json(const otel_log_record *rec, otel_buf *out) OTEL_WUR;

/* OTEL_BLRP_* (the batch-worker.h variables under that prefix). */
typedef otel_batch_config otel_batch_log_config;

void otel_batch_log_config_from_env(otel_batch_log_config *ret);

/* Counters of the logs pipeline (self-observation and tests). */
typedef struct otel_log_stats {
        uint64_t records_queued;             /* accepted by the batch processor */
        uint64_t records_dropped_queue_full; /* refused: queue full */
        uint64_t records_dropped_no_memory;  /* no memory for the record copy */
        uint64_t records_exported;           /* accepted by the receiver */
        uint64_t records_export_failed;      /* given up on (transport, encoding, rejection, shutdown) */
} otel_log_stats;
void otel_log_stats_get(otel_log_stats *ret);

/* The batch log record processor (log-processor.c). */
typedef struct otel_log_processor otel_log_processor;
/* Takes ownership of exporter (also on failure). */
int otel_log_processor_new(const otel_batch_log_config *cfg, otel_log_exporter *exporter,
                           otel_log_processor **ret) OTEL_WUR;
/* Request path: queues rec (taking ownership) or drops and counts it; never blocks. */
void otel_log_processor_emit(otel_log_processor *p, otel_log_record *rec);
/* Exports what was queued before the call; 0, or -ETIMEDOUT past the deadline (CLOCK_MONOTONIC). */
int otel_log_processor_flush(otel_log_processor *p, uint64_t deadline_ns);
/* Flushes, stops the thread, frees the processor and the exporter; 0 or -ETIMEDOUT. */
int otel_log_processor_shutdown(otel_log_processor *p, uint64_t deadline_ns);
/* A record that could not be copied (no memory): counted with the drops. */
void otel_log_count_no_memory(void);

/* Installs a pipeline around exporter (taking ownership, also on failure), for tests and the bench;
 * otel_logs_sdk_start() does this from OTEL_LOGS_EXPORTER. */
int otel_logs_pipeline_start(const otel_batch_log_config *cfg, otel_log_exporter *exporter) OTEL_WUR;
