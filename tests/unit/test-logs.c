/* SPDX-License-Identifier: Apache-2.0 */
/* The logs signal: severity mappings, journald field names and fields, the JOURNAL_STREAM check, the
 * readable stderr line, level filtering (stderr captured through a pipe), the batch log record
 * processor (a capturing exporter, queue-full drops) and the OTLP protobuf encoding read back with the
 * protoc-c generated decoder. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "diag.h"
#include "logs.h"
#include "provider.h"
#include "logs_service.pb-c.h"

#define TEST_TRACE_ID_HEX "4bf92f3577b34da6a3ce929d0e0e4736"
#define TEST_SPAN_ID_HEX  "00f067aa0ba902b7"
#define TEST_TRACEPARENT  "00-" TEST_TRACE_ID_HEX "-" TEST_SPAN_ID_HEX "-01"
#define TEST_CAPTURE_MAX  16
#define TEST_FLUSH_NS     (5 * OTEL_NSEC_PER_SEC)
#define TEST_LONG_DELAY   3600000 /* ms: the thread never exports on its own during a test */
#define TEST_STDERR_MAX   4096

static otel_span_context test_span_context(void)
{
        otel_span_context sc;

        assert_int_equal(otel_traceparent_parse(TEST_TRACEPARENT, strlen(TEST_TRACEPARENT), &sc), 0);
        return sc;
}

/* ---- severity --------------------------------------------------------------------------------- */

static void test_severity_text_names_each_range_of_four(void **state)
{
        (void)state;
        assert_string_equal(otel_severity_text(1), "TRACE");
        assert_string_equal(otel_severity_text(4), "TRACE");
        assert_string_equal(otel_severity_text(5), "DEBUG");
        assert_string_equal(otel_severity_text(9), "INFO");
        assert_string_equal(otel_severity_text(12), "INFO");
        assert_string_equal(otel_severity_text(13), "WARN");
        assert_string_equal(otel_severity_text(17), "ERROR");
        assert_string_equal(otel_severity_text(21), "FATAL");
        assert_string_equal(otel_severity_text(24), "FATAL");
        assert_string_equal(otel_severity_text(0), "UNSPECIFIED");
        assert_string_equal(otel_severity_text(25), "UNSPECIFIED");
}

static void test_severity_maps_to_syslog_priorities(void **state)
{
        (void)state;
        assert_int_equal(otel_severity_syslog_priority(OTEL_SEVERITY_TRACE), 7);
        assert_int_equal(otel_severity_syslog_priority(OTEL_SEVERITY_DEBUG), 7);
        assert_int_equal(otel_severity_syslog_priority(OTEL_SEVERITY_INFO), 6);
        assert_int_equal(otel_severity_syslog_priority(OTEL_SEVERITY_WARN), 4);
        assert_int_equal(otel_severity_syslog_priority(OTEL_SEVERITY_ERROR), 3);
        assert_int_equal(otel_severity_syslog_priority(OTEL_SEVERITY_FATAL), 2);
        assert_int_equal(otel_severity_syslog_priority(OTEL_SEVERITY_ERROR + 3), 3);
}

static void test_severity_from_string_accepts_names_in_any_case(void **state)
{
        otel_severity sev;

        (void)state;
        assert_int_equal(otel_severity_from_string("trace", &sev), 0);
        assert_int_equal(sev, OTEL_SEVERITY_TRACE);
        assert_int_equal(otel_severity_from_string("DEBUG", &sev), 0);
        assert_int_equal(sev, OTEL_SEVERITY_DEBUG);
        assert_int_equal(otel_severity_from_string("Warning", &sev), 0);
        assert_int_equal(sev, OTEL_SEVERITY_WARN);
        assert_int_equal(otel_severity_from_string("fatal", &sev), 0);
        assert_int_equal(sev, OTEL_SEVERITY_FATAL);
}

static void test_severity_from_string_rejects_unknown_names(void **state)
{
        otel_severity sev = OTEL_SEVERITY_INFO;

        (void)state;
        assert_int_equal(otel_severity_from_string("verbose", &sev), -EINVAL);
        assert_int_equal(otel_severity_from_string("", &sev), -EINVAL);
        assert_int_equal(otel_severity_from_string(NULL, &sev), -EINVAL);
        assert_int_equal(sev, OTEL_SEVERITY_INFO);
}

/* ---- journald --------------------------------------------------------------------------------- */

static void test_journal_field_name_upper_cases_and_maps_dots(void **state)
{
        char name[OTEL_LOG_FIELD_NAME_MAX + 1];

        (void)state;
        assert_int_equal(otel_journal_field_name("http.request.method", name), 19);
        assert_string_equal(name, "HTTP_REQUEST_METHOD");
}

static void test_journal_field_name_drops_invalid_characters(void **state)
{
        char name[OTEL_LOG_FIELD_NAME_MAX + 1];

        (void)state;
        assert_int_equal(otel_journal_field_name("user-agent/é x", name), 10);
        assert_string_equal(name, "USERAGENTX");
}

static void test_journal_field_name_never_starts_with_underscore_or_digit(void **state)
{
        char name[OTEL_LOG_FIELD_NAME_MAX + 1];

        (void)state;
        assert_int_equal(otel_journal_field_name("_9.pid", name), 3);
        assert_string_equal(name, "PID");
        assert_int_equal(otel_journal_field_name("__trusted", name), 7);
        assert_string_equal(name, "TRUSTED");
}

static void test_journal_field_name_rejects_keys_with_nothing_usable(void **state)
{
        char name[OTEL_LOG_FIELD_NAME_MAX + 1];

        (void)state;
        assert_int_equal(otel_journal_field_name("-._-", name), -EINVAL);
        assert_int_equal(otel_journal_field_name("", name), -EINVAL);
}

static void test_journal_field_name_is_cut_at_64_bytes(void **state)
{
        char key[100], name[OTEL_LOG_FIELD_NAME_MAX + 1];

        (void)state;
        memset(key, 'a', sizeof(key) - 1);
        key[sizeof(key) - 1] = 0;
        assert_int_equal(otel_journal_field_name(key, name), OTEL_LOG_FIELD_NAME_MAX);
        assert_int_equal(strlen(name), OTEL_LOG_FIELD_NAME_MAX);
}

static void test_journal_stream_matches_device_and_inode_of_stderr(void **state)
{
        struct stat st = {.st_dev = 27, .st_ino = 123456};

        (void)state;
        assert_true(otel_journal_stream_matches("27:123456", &st));
        assert_false(otel_journal_stream_matches("27:123457", &st));
        assert_false(otel_journal_stream_matches("28:123456", &st));
        assert_false(otel_journal_stream_matches("27:123456x", &st));
        assert_false(otel_journal_stream_matches("27", &st));
        assert_false(otel_journal_stream_matches(":123456", &st));
        assert_false(otel_journal_stream_matches("", &st));
        assert_false(otel_journal_stream_matches(NULL, &st));
}

static char *field_at(otel_buf *buf, const size_t *offsets, const size_t *lens, int i)
{
        static char out[256];

        snprintf(out, sizeof(out), "%.*s", (int)lens[i], (const char *)buf->data + offsets[i]);
        return out;
}

static void test_journal_fields_carry_message_priority_code_trace_and_attributes(void **state)
{
        otel_span_context sc = test_span_context();
        otel_attr attrs[] = {OTEL_ATTR_STR("http.route", "/api/orders"), OTEL_ATTR_I64("order.items", 3),
                             OTEL_ATTR_STR("message", "would shadow MESSAGE")};
        otel_log_event ev = {.severity = OTEL_SEVERITY_ERROR,
                             .err = ENOENT,
                             .file = "src/x.c",
                             .line = 42,
                             .func = "orders_create",
                             .attrs = attrs,
                             .n_attrs = 3,
                             .message = "Order failed",
                             .span = &sc,
                             .service = "oteldemo-backend",
                             .identifier = "oteldemo-backend"};
        static const char *const expected[] = {
                "MESSAGE=Order failed",
                "PRIORITY=3",
                "SYSLOG_IDENTIFIER=oteldemo-backend",
                "CODE_FILE=src/x.c",
                "CODE_LINE=42",
                "CODE_FUNC=orders_create",
                "TRACE_ID=" TEST_TRACE_ID_HEX,
                "SPAN_ID=" TEST_SPAN_ID_HEX,
                "SERVICE_NAME=oteldemo-backend",
                "ERRNO=2",
                "HTTP_ROUTE=/api/orders",
                "ORDER_ITEMS=3",
        };
        size_t offsets[OTEL_JOURNAL_MAX_FIELDS], lens[OTEL_JOURNAL_MAX_FIELDS];
        otel_buf buf = {0};
        int n;

        (void)state;
        n = otel_journal_fields(&ev, &buf, offsets, lens);
        assert_int_equal(n, sizeof(expected) / sizeof(expected[0]));
        for (int i = 0; i < n; i++)
                assert_string_equal(field_at(&buf, offsets, lens, i), expected[i]);
        otel_buf_free(&buf);
}

static void test_journal_fields_leave_out_trace_ids_and_errno_when_absent(void **state)
{
        otel_log_event ev = {
                .severity = OTEL_SEVERITY_INFO, .message = "Ready", .service = "svc", .identifier = "prog"};
        size_t offsets[OTEL_JOURNAL_MAX_FIELDS], lens[OTEL_JOURNAL_MAX_FIELDS];
        otel_buf buf = {0};
        int n;

        (void)state;
        n = otel_journal_fields(&ev, &buf, offsets, lens);
        assert_int_equal(n, 4);
        assert_string_equal(field_at(&buf, offsets, lens, 0), "MESSAGE=Ready");
        assert_string_equal(field_at(&buf, offsets, lens, 1), "PRIORITY=6");
        assert_string_equal(field_at(&buf, offsets, lens, 2), "SYSLOG_IDENTIFIER=prog");
        assert_string_equal(field_at(&buf, offsets, lens, 3), "SERVICE_NAME=svc");
        otel_buf_free(&buf);
}

/* ---- the stderr line -------------------------------------------------------------------------- */

static void test_line_has_time_level_service_message_attributes_and_ids(void **state)
{
        otel_span_context sc = test_span_context();
        otel_attr attrs[] = {OTEL_ATTR_STR("http.route", "/api/orders"), OTEL_ATTR_I64("order.items", 3),
                             OTEL_ATTR_BOOLV("retry", false), OTEL_ATTR_F64("ratio", 0.25)};
        otel_log_event ev = {.time_ns = 1700000000123456789ull,
                             .severity = OTEL_SEVERITY_WARN,
                             .attrs = attrs,
                             .n_attrs = 4,
                             .message = "Order failed",
                             .span = &sc,
                             .service = "oteldemo-backend"};
        otel_buf out = {0};

        (void)state;
        assert_int_equal(otel_log_format_line(&ev, &out), 0);
        assert_string_equal((char *)out.data,
                            "2023-11-14T22:13:20.123456Z WARN [oteldemo-backend] Order failed "
                            "http.route=/api/orders order.items=3 retry=false ratio=0.25 "
                            "trace_id=" TEST_TRACE_ID_HEX " span_id=" TEST_SPAN_ID_HEX "\n");
        otel_buf_free(&out);
}

static void test_line_quotes_values_with_spaces_quotes_or_equals(void **state)
{
        otel_attr attrs[] = {OTEL_ATTR_STR("a", "two words"), OTEL_ATTR_STR("b", "say \"hi\""),
                             OTEL_ATTR_STR("c", "k=v"), OTEL_ATTR_STR("d", "")};
        otel_log_event ev = {.severity = OTEL_SEVERITY_INFO,
                             .attrs = attrs,
                             .n_attrs = 4,
                             .message = "m",
                             .service = "s"};
        otel_buf out = {0};

        (void)state;
        assert_int_equal(otel_log_format_line(&ev, &out), 0);
        assert_string_equal((char *)out.data, "1970-01-01T00:00:00.000000Z INFO [s] m a=\"two words\" "
                                              "b=\"say \\\"hi\\\"\" c=\"k=v\" d=\"\"\n");
        otel_buf_free(&out);
}

static void test_line_stays_one_line_when_the_message_has_control_characters(void **state)
{
        otel_log_event ev = {
                .severity = OTEL_SEVERITY_ERROR, .err = EIO, .message = "a\nb\tc\x01", .service = "s"};
        otel_buf out = {0};

        (void)state;
        assert_int_equal(otel_log_format_line(&ev, &out), 0);
        assert_string_equal((char *)out.data,
                            "1970-01-01T00:00:00.000000Z ERROR [s] a\\nb\\tc\\x01 errno=5\n");
        otel_buf_free(&out);
}

/* ---- otel_log_full: level filtering and the stderr sink -------------------------------------- */

/* Runs fn with fd 2 redirected to a pipe (stderr is then not the journal) and returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
        static char text[TEST_STDERR_MAX];
        int fds[2], saved = dup(STDERR_FILENO);
        ssize_t n;

        assert_true(saved >= 0);
        assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
        assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
        unsetenv("JOURNAL_STREAM");
        otel_log_sink_reset();
        fn();
        dup2(saved, STDERR_FILENO);
        close(saved);
        close(fds[1]);
        n = read(fds[0], text, sizeof(text) - 1);
        close(fds[0]);
        text[n > 0 ? n : 0] = 0;
        otel_log_sink_reset();
        return text;
}

static void log_info_and_warn(void)
{
        otel_log_set_level(OTEL_SEVERITY_WARN);
        otel_log(OTEL_SEVERITY_INFO, "info is below the level");
        otel_log(OTEL_SEVERITY_WARN, "warn passes");
        otel_log_set_level(OTEL_SEVERITY_INFO);
}

static void test_messages_below_the_level_are_not_written(void **state)
{
        char *text = capture_stderr(log_info_and_warn);

        (void)state;
        assert_null(strstr(text, "info is below"));
        assert_non_null(strstr(text, " WARN ["));
        assert_non_null(strstr(text, "] warn passes\n"));
        assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text)); /* exactly one line */
}

static void test_set_level_is_what_get_level_returns(void **state)
{
        (void)state;
        otel_log_set_level(OTEL_SEVERITY_ERROR);
        assert_int_equal(otel_log_get_level(), OTEL_SEVERITY_ERROR);
        otel_log_set_level(OTEL_SEVERITY_INFO);
        assert_int_equal(otel_log_get_level(), OTEL_SEVERITY_INFO);
}

static int errno_ret;

static void log_with_errno(void)
{
        errno_ret = otel_log_errno(OTEL_SEVERITY_ERROR, -ENOENT, "open %s: %m", "/nope");
}

static void test_log_errno_returns_negative_errno_and_renders_percent_m(void **state)
{
        char *text = capture_stderr(log_with_errno);

        (void)state;
        assert_int_equal(errno_ret, -ENOENT);
        assert_non_null(strstr(text, "] open /nope: No such file or directory errno=2\n"));
}

static void test_log_errno_below_the_level_still_returns_the_error(void **state)
{
        (void)state;
        assert_int_equal(otel_log_errno(OTEL_SEVERITY_DEBUG, EACCES, "not written"), -EACCES);
        assert_int_equal(otel_log(OTEL_SEVERITY_DEBUG, "not written"), 0);
}

/* ---- log records and the batch processor ------------------------------------------------------ */

static void test_record_copies_body_attributes_code_location_and_error_type(void **state)
{
        otel_span_context sc = test_span_context();
        char body[] = "message";
        otel_attr attrs[] = {OTEL_ATTR_STR("k", "v")};
        otel_log_event ev = {.time_ns = 5,
                             .severity = OTEL_SEVERITY_ERROR,
                             .err = ECONNREFUSED,
                             .file = "f.c",
                             .line = 7,
                             .func = "fn",
                             .attrs = attrs,
                             .n_attrs = 1,
                             .message = body,
                             .span = &sc};
        otel_log_record *rec = otel_log_record_new(&ev, 6);

        (void)state;
        assert_non_null(rec);
        body[0] = 'X'; /* the caller's memory is only borrowed */
        assert_string_equal(rec->body, "message");
        assert_int_equal(rec->time_ns, 5);
        assert_int_equal(rec->observed_ns, 6);
        assert_true(rec->has_span);
        assert_memory_equal(rec->context.trace_id, sc.trace_id, OTEL_TRACE_ID_SIZE);
        assert_int_equal(rec->attrs.n, 5);
        assert_string_equal(rec->attrs.items[0].key, "k");
        assert_string_equal(rec->attrs.items[1].key, "code.file.path");
        assert_string_equal(rec->attrs.items[1].v.s, "f.c");
        assert_string_equal(rec->attrs.items[2].key, "code.line.number");
        assert_int_equal(rec->attrs.items[2].v.i, 7);
        assert_string_equal(rec->attrs.items[3].key, "code.function.name");
        assert_string_equal(rec->attrs.items[4].key, "error.type");
        assert_string_equal(rec->attrs.items[4].v.s, "ECONNREFUSED");
        otel_log_record_free(rec);
}

/* An exporter that keeps copies of what it got and can be made to block inside export. */
typedef struct capture_exporter {
        otel_log_exporter base; /* must be first */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool block;   /* export waits while this is set */
        bool entered; /* an export has started */
        size_t n;
        char bodies[TEST_CAPTURE_MAX][64];
        int severities[TEST_CAPTURE_MAX];
        bool has_span[TEST_CAPTURE_MAX];
        uint8_t span_ids[TEST_CAPTURE_MAX][OTEL_SPAN_ID_SIZE];
} capture_exporter;

static capture_exporter cap = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int capture_export(otel_log_exporter *e, otel_log_record *const *recs, size_t n, uint64_t deadline_ns)
{
        capture_exporter *c = (capture_exporter *)e;

        (void)deadline_ns;
        pthread_mutex_lock(&c->lock);
        c->entered = true;
        pthread_cond_broadcast(&c->cond);
        while (c->block)
                pthread_cond_wait(&c->cond, &c->lock);
        for (size_t i = 0; i < n && c->n < TEST_CAPTURE_MAX; i++, c->n++) {
                snprintf(c->bodies[c->n], sizeof(c->bodies[c->n]), "%s", recs[i]->body);
                c->severities[c->n] = recs[i]->severity;
                c->has_span[c->n] = recs[i]->has_span;
                memcpy(c->span_ids[c->n], recs[i]->context.span_id, OTEL_SPAN_ID_SIZE);
        }
        pthread_mutex_unlock(&c->lock);
        return 0;
}

static void capture_free(otel_log_exporter *e)
{
        (void)e; /* static */
}

static void capture_start(uint32_t queue, uint32_t batch)
{
        otel_batch_log_config cfg = {.max_queue_size = queue,
                                     .max_export_batch_size = batch,
                                     .schedule_delay_ms = TEST_LONG_DELAY,
                                     .export_timeout_ms = 1000};

        cap.base = (otel_log_exporter){.export_logs = capture_export, .free = capture_free};
        cap.n = 0;
        cap.block = cap.entered = false;
        assert_int_equal(otel_logs_pipeline_start(&cfg, &cap.base), 0);
}

static void discard_stderr(void)
{
}

static void test_pipeline_exports_records_with_the_current_span(void **state)
{
        otel_span_context sc = test_span_context();
        otel_span *span = otel_span_wrap_context(&sc, NULL);
        otel_context_token token;

        (void)state;
        (void)capture_stderr(discard_stderr); /* stderr is a pipe: no journal */
        capture_start(16, 8);
        token = otel_context_attach(span, NULL);
        otel_log(OTEL_SEVERITY_WARN, "inside %d", 1);
        otel_context_detach(token);
        otel_log(OTEL_SEVERITY_INFO, "outside");
        otel_span_unref(span);
        assert_int_equal(otel_logs_sdk_flush(otel_mono_ns() + TEST_FLUSH_NS), 0);
        assert_int_equal(cap.n, 2);
        assert_string_equal(cap.bodies[0], "inside 1");
        assert_int_equal(cap.severities[0], OTEL_SEVERITY_WARN);
        assert_true(cap.has_span[0]);
        assert_memory_equal(cap.span_ids[0], sc.span_id, OTEL_SPAN_ID_SIZE);
        assert_string_equal(cap.bodies[1], "outside");
        assert_false(cap.has_span[1]);
        assert_int_equal(otel_logs_sdk_stop(otel_mono_ns() + TEST_FLUSH_NS), 0);
}

/* ---- the diagnostic hook (otel_diag_set_handler) ------------------------------------------- */

typedef struct diag_seen {
        size_t n;
        otel_diag_level level;
        char message[128];
        bool in_handler;
} diag_seen;

static void diag_record(otel_diag_level level, const char *message, void *userdata)
{
        diag_seen *d = userdata;

        d->n++;
        d->level = level;
        snprintf(d->message, sizeof(d->message), "%s", message);
        d->in_handler = otel_diag_in_handler();
}

static void test_diag_handler_receives_messages_that_pass_the_level(void **state)
{
        diag_seen seen = {0};

        (void)state;
        otel_diag_set_level(OTEL_DIAG_WARN);
        otel_diag_set_handler(diag_record, &seen);
        otel_diag(OTEL_DIAG_INFO, "below the level");
        otel_diag(OTEL_DIAG_WARN, "invalid %s=\"%d\"", "OTEL_BSP_MAX_QUEUE_SIZE", -1);
        otel_diag_set_handler(NULL, NULL);
        otel_diag_set_level(OTEL_DIAG_INFO);
        assert_int_equal(seen.n, 1);
        assert_int_equal(seen.level, OTEL_DIAG_WARN);
        assert_string_equal(seen.message, "invalid OTEL_BSP_MAX_QUEUE_SIZE=\"-1\"");
        assert_true(seen.in_handler);
        assert_false(otel_diag_in_handler());
}

static void diag_once(void)
{
        otel_diag(OTEL_DIAG_WARN, "export failed");
}

static void test_diag_without_a_handler_is_one_stderr_line(void **state)
{
        char *text = capture_stderr(diag_once);

        (void)state;
        assert_string_equal(text, "otel: warning: export failed\n");
}

static void diag_reenter(otel_diag_level level, const char *message, void *userdata)
{
        size_t *calls = userdata;

        (void)level;
        (void)message;
        (*calls)++;
        otel_diag(OTEL_DIAG_ERROR, "raised inside the handler");
}

static size_t reentered_calls;

static void diag_through_reentering_handler(void)
{
        otel_diag_set_handler(diag_reenter, &reentered_calls);
        otel_diag(OTEL_DIAG_WARN, "first");
        otel_diag_set_handler(NULL, NULL);
}

static void test_diag_raised_inside_the_handler_goes_to_stderr(void **state)
{
        char *text;

        (void)state;
        reentered_calls = 0;
        text = capture_stderr(diag_through_reentering_handler);
        assert_int_equal(reentered_calls, 1);
        assert_string_equal(text, "otel: error: raised inside the handler\n");
}

static void diag_log(otel_diag_level level, const char *message, void *userdata)
{
        (void)level;
        (void)userdata;
        otel_log(OTEL_SEVERITY_WARN, "sdk: %s", message);
}

static void diag_and_log_through_the_handler(void)
{
        otel_diag_set_handler(diag_log, NULL);
        otel_diag(OTEL_DIAG_WARN, "OTLP logs export failed");
        otel_diag_set_handler(NULL, NULL);
        otel_log(OTEL_SEVERITY_WARN, "an application line");
}

static void test_diag_lines_logged_by_the_handler_stay_out_of_the_otlp_pipeline(void **state)
{
        char *text;

        (void)state;
        capture_start(16, 8);
        text = capture_stderr(diag_and_log_through_the_handler);
        assert_non_null(strstr(text, "] sdk: OTLP logs export failed"));
        assert_non_null(strstr(text, "] an application line"));
        assert_int_equal(otel_logs_sdk_flush(otel_mono_ns() + TEST_FLUSH_NS), 0);
        assert_int_equal(cap.n, 1);
        assert_string_equal(cap.bodies[0], "an application line");
        assert_int_equal(otel_logs_sdk_stop(otel_mono_ns() + TEST_FLUSH_NS), 0);
}

static void log_four(void)
{
        for (int i = 0; i < 4; i++)
                otel_log(OTEL_SEVERITY_INFO, "record %d", i);
}

static void test_full_queue_drops_and_counts_without_blocking(void **state)
{
        otel_log_stats before, after;

        (void)state;
        otel_log_stats_get(&before);
        capture_start(2, 1);
        cap.block = true;
        /* Record 0 fills a batch of one: the thread takes it and blocks in export. */
        (void)capture_stderr(log_four);
        pthread_mutex_lock(&cap.lock);
        while (!cap.entered)
                pthread_cond_wait(&cap.cond, &cap.lock);
        pthread_mutex_unlock(&cap.lock);
        /* Records 1-3 may have raced ahead of the take; once the thread holds record 0, the queue of 2
         * holds at most 2 of them. Log until one is refused. */
        (void)capture_stderr(log_four);
        otel_log_stats_get(&after);
        assert_true(after.records_dropped_queue_full - before.records_dropped_queue_full >= 2);
        assert_int_equal(after.records_queued - before.records_queued +
                                 (after.records_dropped_queue_full - before.records_dropped_queue_full),
                         8);
        pthread_mutex_lock(&cap.lock);
        cap.block = false;
        pthread_cond_broadcast(&cap.cond);
        pthread_mutex_unlock(&cap.lock);
        assert_int_equal(otel_logs_sdk_stop(otel_mono_ns() + TEST_FLUSH_NS), 0);
        otel_log_stats_get(&after);
        assert_int_equal(cap.n, after.records_queued - before.records_queued);
        assert_int_equal(after.records_exported - before.records_exported, cap.n);
}

static void test_stop_without_start_does_nothing(void **state)
{
        (void)state;
        assert_int_equal(otel_logs_sdk_stop(otel_mono_ns()), 0);
        assert_int_equal(otel_logs_sdk_flush(otel_mono_ns()), 0);
}

static void test_blrp_config_defaults_follow_the_spec(void **state)
{
        otel_batch_log_config cfg;

        (void)state;
        unsetenv("OTEL_BLRP_SCHEDULE_DELAY");
        unsetenv("OTEL_BLRP_MAX_QUEUE_SIZE");
        unsetenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE");
        unsetenv("OTEL_BLRP_EXPORT_TIMEOUT");
        otel_batch_log_config_from_env(&cfg);
        assert_int_equal(cfg.schedule_delay_ms, 1000);
        assert_int_equal(cfg.max_queue_size, 2048);
        assert_int_equal(cfg.max_export_batch_size, 512);
        assert_int_equal(cfg.export_timeout_ms, 30000);
        setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "100", 1);
        otel_batch_log_config_from_env(&cfg);
        assert_int_equal(cfg.max_export_batch_size, 100); /* the default batch follows a smaller queue */
        unsetenv("OTEL_BLRP_MAX_QUEUE_SIZE");
}

/* ---- OTLP protobuf ---------------------------------------------------------------------------- */

static void test_protobuf_request_decodes_with_the_generated_code(void **state)
{
        otel_span_context sc = test_span_context();
        otel_attr attrs[] = {OTEL_ATTR_I64("order.items", 3)};
        otel_log_event ev = {.time_ns = 1700000000000000001ull,
                             .severity = OTEL_SEVERITY_WARN,
                             .file = "f.c",
                             .line = 9,
                             .func = "fn",
                             .attrs = attrs,
                             .n_attrs = 1,
                             .message = "hello",
                             .span = &sc};
        otel_log_record *rec = otel_log_record_new(&ev, 1700000000000000002ull);
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req;
        const Opentelemetry__Proto__Logs__V1__LogRecord *lr;
        otel_buf out = {0};

        (void)state;
        assert_non_null(rec);
        assert_int_equal(otlp_logs_encode_proto(NULL, &rec, 1, &out), 0);
        req = opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(NULL, out.len,
                                                                                             out.data);
        assert_non_null(req);
        assert_int_equal(req->n_resource_logs, 1);
        assert_int_equal(req->resource_logs[0]->n_scope_logs, 1);
        assert_string_equal(req->resource_logs[0]->scope_logs[0]->scope->name, "oteldemo");
        assert_int_equal(req->resource_logs[0]->scope_logs[0]->n_log_records, 1);
        lr = req->resource_logs[0]->scope_logs[0]->log_records[0];
        assert_int_equal(lr->time_unix_nano, 1700000000000000001ull);
        assert_int_equal(lr->observed_time_unix_nano, 1700000000000000002ull);
        assert_int_equal(lr->severity_number, 13);
        assert_string_equal(lr->severity_text, "WARN");
        assert_string_equal(lr->body->string_value, "hello");
        assert_int_equal(lr->n_attributes, 4);
        assert_string_equal(lr->attributes[0]->key, "order.items");
        assert_int_equal(lr->attributes[0]->value->int_value, 3);
        assert_string_equal(lr->attributes[2]->key, "code.line.number");
        assert_int_equal(lr->attributes[2]->value->int_value, 9);
        assert_int_equal(lr->flags, 1);
        assert_int_equal(lr->trace_id.len, OTEL_TRACE_ID_SIZE);
        assert_memory_equal(lr->trace_id.data, sc.trace_id, OTEL_TRACE_ID_SIZE);
        assert_memory_equal(lr->span_id.data, sc.span_id, OTEL_SPAN_ID_SIZE);
        opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(req, NULL);
        otel_buf_free(&out);
        otel_log_record_free(rec);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_severity_text_names_each_range_of_four),
                cmocka_unit_test(test_severity_maps_to_syslog_priorities),
                cmocka_unit_test(test_severity_from_string_accepts_names_in_any_case),
                cmocka_unit_test(test_severity_from_string_rejects_unknown_names),
                cmocka_unit_test(test_journal_field_name_upper_cases_and_maps_dots),
                cmocka_unit_test(test_journal_field_name_drops_invalid_characters),
                cmocka_unit_test(test_journal_field_name_never_starts_with_underscore_or_digit),
                cmocka_unit_test(test_journal_field_name_rejects_keys_with_nothing_usable),
                cmocka_unit_test(test_journal_field_name_is_cut_at_64_bytes),
                cmocka_unit_test(test_journal_stream_matches_device_and_inode_of_stderr),
                cmocka_unit_test(test_journal_fields_carry_message_priority_code_trace_and_attributes),
                cmocka_unit_test(test_journal_fields_leave_out_trace_ids_and_errno_when_absent),
                cmocka_unit_test(test_line_has_time_level_service_message_attributes_and_ids),
                cmocka_unit_test(test_line_quotes_values_with_spaces_quotes_or_equals),
                cmocka_unit_test(test_line_stays_one_line_when_the_message_has_control_characters),
                cmocka_unit_test(test_messages_below_the_level_are_not_written),
                cmocka_unit_test(test_set_level_is_what_get_level_returns),
                cmocka_unit_test(test_log_errno_returns_negative_errno_and_renders_percent_m),
                cmocka_unit_test(test_log_errno_below_the_level_still_returns_the_error),
                cmocka_unit_test(test_record_copies_body_attributes_code_location_and_error_type),
                cmocka_unit_test(test_pipeline_exports_records_with_the_current_span),
                cmocka_unit_test(test_full_queue_drops_and_counts_without_blocking),
                cmocka_unit_test(test_stop_without_start_does_nothing),
                cmocka_unit_test(test_diag_handler_receives_messages_that_pass_the_level),
                cmocka_unit_test(test_diag_without_a_handler_is_one_stderr_line),
                cmocka_unit_test(test_diag_raised_inside_the_handler_goes_to_stderr),
                cmocka_unit_test(test_diag_lines_logged_by_the_handler_stay_out_of_the_otlp_pipeline),
                cmocka_unit_test(test_blrp_config_defaults_follow_the_spec),
                cmocka_unit_test(test_protobuf_request_decodes_with_the_generated_code),
        };

        unsetenv("OTEL_LOG_LEVEL");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
