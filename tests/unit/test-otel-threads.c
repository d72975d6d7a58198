/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SDK used from several threads at once, as the daemons use it: request threads start and end spans,
 * record metrics and write logs while the batch worker, the metric reader and the log processor export
 * over OTLP/HTTP to a loopback sink, while /metrics and /debug/tracez are rendered, and while the provider
 * shuts down. Meant for ThreadSanitizer (scripts/test-sanitizers builds it with -Db_sanitize=thread); under
 * ASan it checks the counts and that nothing leaks or is used after shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "otel.h"

#define THREADS          4
#define SPANS_PER_THREAD 400
#define SINK_MAX_CLIENTS 8
#define SINK_POLL_MS     20
#define FLUSH_TIMEOUT_MS 10000
#define HELD_SPANS       64 /* per thread, ended while the provider shuts down */
#define RENDER_ROUNDS    20

/* ---- a loopback OTLP/HTTP sink: answers every POST 200 with an empty (success) body ---------------- */

typedef struct sink_conn {
        int fd;      /* -1 when the slot is free */
        char *buf;   /* what was received and not answered yet */
        size_t len;  /* bytes in buf */
        size_t size; /* allocated */
} sink_conn;

typedef struct sink {
        int fd;                            /* listening socket */
        int port;                          /* its port on 127.0.0.1 */
        pthread_t thread;                  /* sink_main */
        atomic_bool stop;                  /* set by sink_stop */
        atomic_uint traces, metrics, logs; /* requests answered, by path */
        sink_conn conns[SINK_MAX_CLIENTS];
} sink;

static void sink_count(sink *s, const char *head)
{
        if (strncmp(head, "POST /v1/traces ", 16) == 0)
                atomic_fetch_add(&s->traces, 1);
        else if (strncmp(head, "POST /v1/metrics ", 17) == 0)
                atomic_fetch_add(&s->metrics, 1);
        else if (strncmp(head, "POST /v1/logs ", 14) == 0)
                atomic_fetch_add(&s->logs, 1);
}

/* Answers every complete request in c's buffer; false when the connection must be closed. */
static bool sink_answer(sink *s, sink_conn *c)
{
        static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                                    "Content-Length: 0\r\n\r\n";

        for (;;) {
                char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl;
                size_t head_len, body_len = 0;

                if (!end)
                        return true;
                head_len = (size_t)(end - c->buf) + 4;
                *end = '\0';
                cl = strcasestr(c->buf, "\r\nContent-Length:");
                if (cl)
                        body_len = strtoul(cl + 17, NULL, 10);
                *end = '\r';
                if (c->len < head_len + body_len)
                        return true;
                c->buf[head_len - 1] = '\0';
                sink_count(s, c->buf);
                if (send(c->fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(reply) - 1))
                        return false;
                memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
                c->len -= head_len + body_len;
        }
}

static bool sink_read(sink *s, sink_conn *c)
{
        ssize_t n;

        if (c->size - c->len < 65536) {
                char *b = realloc(c->buf, c->size + 262144);

                if (!b)
                        return false;
                c->buf = b;
                c->size += 262144;
        }
        n = recv(c->fd, c->buf + c->len, c->size - c->len, 0);
        if (n <= 0)
                return false;
        c->len += (size_t)n;
        return sink_answer(s, c);
}

static void sink_close(sink_conn *c)
{
        close(c->fd);
        free(c->buf);
        *c = (sink_conn){.fd = -1};
}

static void sink_accept(sink *s)
{
        int fd = accept(s->fd, NULL, NULL);

        if (fd < 0)
                return;
        for (size_t i = 0; i < SINK_MAX_CLIENTS; i++)
                if (s->conns[i].fd < 0) {
                        s->conns[i].fd = fd;
                        return;
                }
        close(fd);
}

static void *sink_main(void *arg)
{
        sink *s = arg;

        while (!atomic_load(&s->stop)) {
                struct pollfd pfd[SINK_MAX_CLIENTS + 1] = {{.fd = s->fd, .events = POLLIN}};

                for (size_t i = 0; i < SINK_MAX_CLIENTS; i++)
                        pfd[i + 1] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
                if (poll(pfd, SINK_MAX_CLIENTS + 1, SINK_POLL_MS) <= 0)
                        continue;
                for (size_t i = 0; i < SINK_MAX_CLIENTS; i++)
                        if (s->conns[i].fd >= 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) &&
                            !sink_read(s, &s->conns[i]))
                                sink_close(&s->conns[i]);
                if (pfd[0].revents & POLLIN)
                        sink_accept(s);
        }
        for (size_t i = 0; i < SINK_MAX_CLIENTS; i++)
                if (s->conns[i].fd >= 0)
                        sink_close(&s->conns[i]);
        return NULL;
}

static void sink_start(sink *s)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);

        *s = (sink){.fd = -1};
        for (size_t i = 0; i < SINK_MAX_CLIENTS; i++)
                s->conns[i].fd = -1;
        s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(s->fd >= 0);
        assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(s->fd, SINK_MAX_CLIENTS), 0);
        assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
        s->port = ntohs(a.sin_port);
        assert_int_equal(pthread_create(&s->thread, NULL, sink_main, s), 0);
}

static void sink_stop(sink *s)
{
        atomic_store(&s->stop, true);
        assert_int_equal(pthread_join(s->thread, NULL), 0);
        close(s->fd);
}

/* ---- the SDK, configured to export often to the sink ------------------------------------------------ */

static int saved_stderr = -1;

/* Defined by the sanitizer runtimes (ASan, TSan, UBSan); absent in a plain build. */
extern void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

/* Thousands of log lines would flood the test output: stderr goes to /dev/null while the SDK runs, and
 * a sanitizer's report to the real stderr. */
static void stderr_silence(void)
{
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

        assert_true(null >= 0);
        saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        assert_true(saved_stderr >= 0);
        if (__sanitizer_set_report_fd)
                __sanitizer_set_report_fd((void *)(intptr_t)saved_stderr);
        assert_int_equal(dup2(null, STDERR_FILENO), STDERR_FILENO);
        close(null);
}

static void stderr_restore(void)
{
        assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
        if (__sanitizer_set_report_fd)
                __sanitizer_set_report_fd((void *)(intptr_t)STDERR_FILENO);
        close(saved_stderr);
        saved_stderr = -1;
}

static void sdk_start(const sink *s)
{
        char endpoint[64];

        snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", s->port);
        unsetenv("JOURNAL_STREAM");
        setenv("OTEL_SERVICE_NAME", "test-otel-threads", 1);
        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, 1);
        setenv("OTEL_TRACES_EXPORTER", "otlp", 1);
        setenv("OTEL_METRICS_EXPORTER", "otlp", 1);
        setenv("OTEL_LOGS_EXPORTER", "otlp", 1);
        /* Short delays and a small queue: exports run all the time, and the queue overflows now and then. */
        setenv("OTEL_BSP_SCHEDULE_DELAY", "5", 1);
        setenv("OTEL_BSP_MAX_QUEUE_SIZE", "256", 1);
        setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64", 1);
        setenv("OTEL_BLRP_SCHEDULE_DELAY", "5", 1);
        setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "256", 1);
        setenv("OTEL_METRIC_EXPORT_INTERVAL", "20", 1);
        stderr_silence();
        assert_int_equal(otel_sdk_init(&(otel_sdk_options){.service_name = "test-otel-threads"}), 0);
}

static void sdk_stop(void)
{
        assert_int_equal(otel_sdk_shutdown(FLUSH_TIMEOUT_MS), 0);
        stderr_restore();
}

/* ---- what a request thread does --------------------------------------------------------------------- */

typedef struct worker {
        pthread_t thread;
        int index;
        otel_instrument *duration;   /* histogram, shared by all workers */
        otel_instrument *requests;   /* counter, shared */
        otel_instrument *in_flight;  /* up-down counter, shared */
        otel_span *held[HELD_SPANS]; /* started before shutdown, ended during it */
        pthread_barrier_t *started;  /* all held spans started (shutdown test) */
        pthread_barrier_t *stopping; /* shutdown has begun (shutdown test) */
} worker;

static void one_request(worker *w, int i)
{
        otel_tracer *tracer = otel_tracer_get("test-otel-threads", "1.0");
        otel_attr attrs[] = {
                OTEL_ATTR_STR("http.request.method", i % 2 ? "GET" : "POST"),
                OTEL_ATTR_I64("worker", w->index),
        };
        otel_span *server = otel_span_start(tracer, "GET /api/things", OTEL_SPAN_KIND_SERVER, NULL);
        otel_context_token token = otel_context_attach(server, NULL);
        otel_span *db = otel_span_start(tracer, "SELECT things", OTEL_SPAN_KIND_CLIENT, NULL);

        otel_instrument_add(w->in_flight, 1, attrs, 1);
        otel_span_set_int(db, "db.rows", i);
        otel_span_add_event(db, "fetched", attrs, 2);
        if (i % 7 == 0)
                otel_span_set_status(server, OTEL_STATUS_ERROR, "every seventh fails");
        otel_span_end(db);
        otel_log_attrs(OTEL_SEVERITY_INFO, attrs, 2, "request %d of worker %d", i, w->index);
        otel_instrument_record(w->duration, 0.001 * (i % 100), attrs, 2);
        otel_instrument_add(w->requests, 1, attrs, 2);
        otel_instrument_add(w->in_flight, -1, attrs, 1);
        otel_context_detach(token);
        otel_span_end(server);
}

static void *worker_requests(void *arg)
{
        worker *w = arg;

        for (int i = 0; i < SPANS_PER_THREAD; i++)
                one_request(w, i);
        return NULL;
}

/* Renders /metrics and /debug/tracez, forces flushes and changes the sampler and the log level (a
 * daemon's SIGHUP reload) while the workers run. */
static void *reader_main(void *arg)
{
        (void)arg;
        for (int i = 0; i < RENDER_ROUNDS; i++) {
                char *text = NULL;
                size_t len = 0;

                assert_int_equal(otel_sdk_set_sampler(i % 2 ? "parentbased_always_on" : "always_on", NULL),
                                 0);
                otel_log_set_level(i % 2 ? OTEL_SEVERITY_DEBUG : OTEL_SEVERITY_INFO);

                assert_int_equal(otel_metrics_render_prometheus(i % 2, &text, &len), 0);
                free(text);
                text = NULL;
                assert_int_equal(otel_tracez_render(&(otel_tracez_query){.json = i % 2}, &text, &len), 0);
                free(text);
                (void)otel_sdk_force_flush(FLUSH_TIMEOUT_MS);
        }
        return NULL;
}

static void workers_init(worker w[THREADS])
{
        otel_meter *meter = otel_meter_get("test-otel-threads", "1.0");
        otel_instrument *duration = otel_instrument_new(meter, OTEL_INSTRUMENT_HISTOGRAM, "test.duration",
                                                        &(otel_instrument_opts){.unit = "s"});
        otel_instrument *requests = otel_instrument_new(meter, OTEL_INSTRUMENT_COUNTER, "test.requests",
                                                        &(otel_instrument_opts){.integer = true});
        otel_instrument *in_flight =
                otel_instrument_new(meter, OTEL_INSTRUMENT_UP_DOWN_COUNTER, "test.active",
                                    &(otel_instrument_opts){.integer = true});

        for (int i = 0; i < THREADS; i++)
                w[i] = (worker){
                        .index = i, .duration = duration, .requests = requests, .in_flight = in_flight};
}

static void test_threads_record_while_the_exporters_flush(void **state)
{
        otel_trace_stats before, st;
        worker w[THREADS];
        pthread_t reader;
        sink s;

        (void)state;
        otel_trace_stats_get(&before);
        sink_start(&s);
        sdk_start(&s);
        workers_init(w);
        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_create(&w[i].thread, NULL, worker_requests, &w[i]), 0);
        assert_int_equal(pthread_create(&reader, NULL, reader_main, NULL), 0);
        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_join(w[i].thread, NULL), 0);
        assert_int_equal(pthread_join(reader, NULL), 0);
        assert_int_equal(otel_sdk_force_flush(FLUSH_TIMEOUT_MS), 0);

        otel_trace_stats_get(&st);
        sdk_stop();
        sink_stop(&s);
        /* Every span started was ended, and every ended one was exported or counted as dropped. */
        assert_int_equal(st.spans_started - before.spans_started, 2 * THREADS * SPANS_PER_THREAD);
        assert_int_equal(st.spans_ended - before.spans_ended, st.spans_started - before.spans_started);
        assert_int_equal(st.spans_queued - before.spans_queued + st.spans_dropped_queue_full -
                                 before.spans_dropped_queue_full,
                         st.spans_ended - before.spans_ended);
        assert_int_equal(st.spans_exported - before.spans_exported, st.spans_queued - before.spans_queued);
        assert_int_equal(st.spans_export_failed, before.spans_export_failed);
        assert_true(atomic_load(&s.traces) > 0);
        assert_true(atomic_load(&s.metrics) > 0);
        assert_true(atomic_load(&s.logs) > 0);
}

/* Holds spans across the start of otel_sdk_shutdown(), then ends them and logs while it runs. */
static void *worker_across_shutdown(void *arg)
{
        worker *w = arg;
        otel_tracer *tracer = otel_tracer_get("test-otel-threads", "1.0");

        for (int i = 0; i < HELD_SPANS; i++)
                w->held[i] = otel_span_start(tracer, "held", OTEL_SPAN_KIND_INTERNAL, NULL);
        for (int i = 0; i < SPANS_PER_THREAD / 4; i++)
                one_request(w, i);
        pthread_barrier_wait(w->started);
        pthread_barrier_wait(w->stopping);
        for (int i = 0; i < HELD_SPANS; i++) {
                otel_span_end(w->held[i]);
                otel_log(OTEL_SEVERITY_WARN, "span %d of worker %d ended during shutdown", i, w->index);
        }
        return NULL;
}

static void test_spans_end_and_logs_are_written_while_the_provider_shuts_down(void **state)
{
        pthread_barrier_t started, stopping;
        worker w[THREADS];
        otel_trace_stats st;
        sink s;

        (void)state;
        sink_start(&s);
        sdk_start(&s);
        workers_init(w);
        assert_int_equal(pthread_barrier_init(&started, NULL, THREADS + 1), 0);
        assert_int_equal(pthread_barrier_init(&stopping, NULL, THREADS + 1), 0);
        for (int i = 0; i < THREADS; i++) {
                w[i].started = &started;
                w[i].stopping = &stopping;
                assert_int_equal(pthread_create(&w[i].thread, NULL, worker_across_shutdown, &w[i]), 0);
        }
        pthread_barrier_wait(&started);
        pthread_barrier_wait(&stopping);
        /* The workers now end their held spans and log, while this thread shuts the SDK down. */
        assert_int_equal(otel_sdk_shutdown(FLUSH_TIMEOUT_MS), 0);
        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_join(w[i].thread, NULL), 0);
        otel_trace_stats_get(&st);
        stderr_restore();
        sink_stop(&s);
        assert_int_equal(pthread_barrier_destroy(&started), 0);
        assert_int_equal(pthread_barrier_destroy(&stopping), 0);
        assert_false(otel_sdk_enabled());
        assert_int_equal(st.spans_ended, st.spans_started);
        assert_true(atomic_load(&s.traces) > 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_threads_record_while_the_exporters_flush),
                cmocka_unit_test(test_spans_end_and_logs_are_written_while_the_provider_shuts_down),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
