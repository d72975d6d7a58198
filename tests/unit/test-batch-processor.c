/* SPDX-License-Identifier: Apache-2.0 */
/* Batch and simple span processors (batch-processor.c) against an in-test exporter that records the
 * batches it gets and can be made to hang. Spans come from the public API (always_on, no exporter of
 * the SDK's own), each test holding one reference. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "exporter.h"
#include "processor.h"
#include "span.h"
#include "stats.h"

#define TEST_WAIT_MS           5000  /* longest any test waits for the exporter thread */
#define TEST_DEADLINE_MS       200   /* deadlines of the timeout tests */
#define TEST_DEADLINE_SLACK_MS 150   /* how late a timed-out call may return on a loaded 2-core box */
#define TEST_LONG_DELAY_MS     60000 /* a schedule delay that never passes during a test */
#define TEST_N_SPANS           16    /* spans the tests hand out (by reference, many times) */

/* ---- the recording exporter ------------------------------------------------------------------- */

typedef struct test_exporter {
        otel_span_exporter base;   /* first: the processor only sees this */
        pthread_mutex_t lock;      /* guards everything below */
        pthread_cond_t cond;       /* CLOCK_MONOTONIC; broadcast on every change */
        bool hang;                 /* export_spans blocks until this is cleared */
        bool freed;                /* the processor called free() */
        unsigned in_export;        /* exports running now */
        bool overlapped;           /* two exports ran at once (contract violation) */
        size_t n_batches;          /* export_spans calls */
        size_t n_spans;            /* spans received in total */
        size_t max_batch;          /* largest batch received */
        uint64_t first_export_ns;  /* CLOCK_MONOTONIC of the first export, 0 before */
        uint64_t last_deadline_ns; /* deadline given to the latest export */
        bool dead_span_seen;       /* a span arrived with no reference held */
} test_exporter;

static test_exporter te;
static otel_span *spans[TEST_N_SPANS];

static int test_export(otel_span_exporter *e, otel_span *const *batch, size_t n, uint64_t deadline_ns)
{
        test_exporter *x = (test_exporter *)e;

        pthread_mutex_lock(&x->lock);
        if (x->in_export++ > 0)
                x->overlapped = true;
        for (size_t i = 0; i < n; i++)
                if (atomic_load(&batch[i]->refs) == 0)
                        x->dead_span_seen = true;
        x->n_batches++;
        x->n_spans += n;
        if (n > x->max_batch)
                x->max_batch = n;
        if (!x->first_export_ns)
                x->first_export_ns = otel_mono_ns();
        x->last_deadline_ns = deadline_ns;
        pthread_cond_broadcast(&x->cond);
        while (x->hang)
                pthread_cond_wait(&x->cond, &x->lock);
        x->in_export--;
        pthread_cond_broadcast(&x->cond);
        pthread_mutex_unlock(&x->lock);
        return 0;
}

static void test_exporter_free(otel_span_exporter *e)
{
        test_exporter *x = (test_exporter *)e;

        pthread_mutex_lock(&x->lock);
        x->freed = true;
        pthread_cond_broadcast(&x->cond);
        pthread_mutex_unlock(&x->lock);
}

/* Per test: a fresh exporter and fresh spans, so a failed test leaves nothing behind for the next. */
static int test_setup(void **state)
{
        pthread_condattr_t attr;
        otel_tracer *tracer;

        (void)state;
        memset(&te, 0, sizeof(te));
        te.base.export_spans = test_export;
        te.base.free = test_exporter_free;
        pthread_mutex_init(&te.lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&te.cond, &attr);
        pthread_condattr_destroy(&attr);

        tracer = otel_tracer_get("test-batch-processor", NULL);
        for (size_t i = 0; i < TEST_N_SPANS; i++) {
                otel_span *s = otel_span_start(tracer, "queued", OTEL_SPAN_KIND_INTERNAL, NULL);

                if (!otel_span_is_recording(s))
                        return -1;
                spans[i] = otel_span_ref(s); /* the test's reference outlives end */
                otel_span_end(s);
        }
        return 0;
}

static int test_teardown(void **state)
{
        (void)state;
        for (size_t i = 0; i < TEST_N_SPANS; i++)
                otel_span_unref(spans[i]);
        pthread_cond_destroy(&te.cond);
        pthread_mutex_destroy(&te.lock);
        return 0;
}

static void exporter_set_hang(bool hang)
{
        pthread_mutex_lock(&te.lock);
        te.hang = hang;
        pthread_cond_broadcast(&te.cond);
        pthread_mutex_unlock(&te.lock);
}

/* Waits until the exporter has seen n spans (or, with in_export, until an export is running). */
static bool exporter_wait(size_t n_spans, bool in_export, bool freed, uint64_t timeout_ms)
{
        uint64_t deadline = otel_mono_ns() + timeout_ms * OTEL_NSEC_PER_MSEC;
        struct timespec ts = {.tv_sec = (time_t)(deadline / OTEL_NSEC_PER_SEC),
                              .tv_nsec = (long)(deadline % OTEL_NSEC_PER_SEC)};
        bool ok;

        pthread_mutex_lock(&te.lock);
        while (!(ok = te.n_spans >= n_spans && (!in_export || te.in_export > 0) && (!freed || te.freed)))
                if (pthread_cond_timedwait(&te.cond, &te.lock, &ts) == ETIMEDOUT)
                        break;
        ok = te.n_spans >= n_spans && (!in_export || te.in_export > 0) && (!freed || te.freed);
        pthread_mutex_unlock(&te.lock);
        return ok;
}

static size_t exporter_spans(void)
{
        size_t n;

        pthread_mutex_lock(&te.lock);
        n = te.n_spans;
        pthread_mutex_unlock(&te.lock);
        return n;
}

/* What the exporter recorded, read under its lock (the exporter thread may be running). */
typedef struct test_record {
        bool freed, overlapped, dead_span_seen;
        size_t n_batches, n_spans, max_batch;
        uint64_t first_export_ns, last_deadline_ns;
} test_record;

static test_record seen(void)
{
        test_record r;

        pthread_mutex_lock(&te.lock);
        r = (test_record){.freed = te.freed,
                          .overlapped = te.overlapped,
                          .dead_span_seen = te.dead_span_seen,
                          .n_batches = te.n_batches,
                          .n_spans = te.n_spans,
                          .max_batch = te.max_batch,
                          .first_export_ns = te.first_export_ns,
                          .last_deadline_ns = te.last_deadline_ns};
        pthread_mutex_unlock(&te.lock);
        return r;
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static uint64_t deadline_in_ms(uint64_t ms)
{
        return otel_mono_ns() + ms * OTEL_NSEC_PER_MSEC;
}

static uint64_t ms_since(uint64_t start_ns)
{
        return (otel_mono_ns() - start_ns) / OTEL_NSEC_PER_MSEC;
}

static uint64_t counter(atomic_uint_fast64_t *c)
{
        return atomic_load(c);
}

static otel_span_processor *new_batch(uint32_t queue, uint32_t batch, uint64_t delay_ms, uint64_t timeout_ms)
{
        otel_batch_config cfg = {.max_queue_size = queue,
                                 .max_export_batch_size = batch,
                                 .schedule_delay_ms = delay_ms,
                                 .export_timeout_ms = timeout_ms};
        otel_span_processor *p = NULL;

        assert_int_equal(otel_batch_processor_new(&cfg, &te.base, &p), 0);
        assert_non_null(p);
        return p;
}

static void end_spans(otel_span_processor *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                p->on_end(p, spans[i % TEST_N_SPANS]);
}

/* Every reference the processor took has been given back. */
static void assert_spans_released(void)
{
        for (size_t i = 0; i < TEST_N_SPANS; i++)
                assert_int_equal(atomic_load(&spans[i]->refs), 1);
}

/* Runs fn with stderr captured; returns what was written (caller frees). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
        FILE *tmp = tmpfile();
        int saved = dup(STDERR_FILENO);
        char *out = calloc(1, 4096);
        size_t n;

        assert_non_null(tmp);
        assert_non_null(out);
        fflush(stderr);
        dup2(fileno(tmp), STDERR_FILENO);
        fn(arg);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        rewind(tmp);
        n = fread(out, 1, 4095, tmp);
        out[n] = '\0';
        fclose(tmp);
        return out;
}

static void read_config(void *arg)
{
        otel_batch_config_from_env(arg);
}

static void clear_bsp_env(void)
{
        unsetenv("OTEL_BSP_SCHEDULE_DELAY");
        unsetenv("OTEL_BSP_EXPORT_TIMEOUT");
        unsetenv("OTEL_BSP_MAX_QUEUE_SIZE");
        unsetenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
}

/* ---- configuration ---------------------------------------------------------------------------- */

static void test_config_defaults_are_the_spec_values(void **state)
{
        otel_batch_config cfg;

        (void)state;
        clear_bsp_env();
        otel_batch_config_from_env(&cfg);
        assert_int_equal(cfg.max_queue_size, 2048);
        assert_int_equal(cfg.max_export_batch_size, 512);
        assert_int_equal(cfg.schedule_delay_ms, 5000);
        assert_int_equal(cfg.export_timeout_ms, 30000);
}

static void test_config_reads_valid_values(void **state)
{
        otel_batch_config cfg;

        (void)state;
        setenv("OTEL_BSP_SCHEDULE_DELAY", "250", 1);
        setenv("OTEL_BSP_EXPORT_TIMEOUT", "1000", 1);
        setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100", 1);
        setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10", 1);
        otel_batch_config_from_env(&cfg);
        clear_bsp_env();
        assert_int_equal(cfg.schedule_delay_ms, 250);
        assert_int_equal(cfg.export_timeout_ms, 1000);
        assert_int_equal(cfg.max_queue_size, 100);
        assert_int_equal(cfg.max_export_batch_size, 10);
}

static void test_config_invalid_values_fall_back_to_defaults_with_a_warning(void **state)
{
        otel_batch_config cfg;
        char *err;

        (void)state;
        setenv("OTEL_BSP_SCHEDULE_DELAY", "-5", 1);
        setenv("OTEL_BSP_EXPORT_TIMEOUT", "10s", 1);
        setenv("OTEL_BSP_MAX_QUEUE_SIZE", "0", 1);
        setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many", 1);
        err = capture_stderr(read_config, &cfg);
        clear_bsp_env();
        assert_int_equal(cfg.schedule_delay_ms, 5000);
        assert_int_equal(cfg.export_timeout_ms, 30000);
        assert_int_equal(cfg.max_queue_size, 2048);
        assert_int_equal(cfg.max_export_batch_size, 512);
        assert_non_null(strstr(err, "OTEL_BSP_SCHEDULE_DELAY"));
        assert_non_null(strstr(err, "OTEL_BSP_EXPORT_TIMEOUT"));
        assert_non_null(strstr(err, "OTEL_BSP_MAX_QUEUE_SIZE"));
        assert_non_null(strstr(err, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"));
        free(err);
}

static void test_config_clamps_batch_size_to_queue_size_with_a_warning(void **state)
{
        otel_batch_config cfg;
        char *err;

        (void)state;
        setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64", 1);
        setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100", 1);
        err = capture_stderr(read_config, &cfg);
        clear_bsp_env();
        assert_int_equal(cfg.max_queue_size, 64);
        assert_int_equal(cfg.max_export_batch_size, 64);
        assert_non_null(
                strstr(err, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=100 > OTEL_BSP_MAX_QUEUE_SIZE=64, using 64"));
        free(err);
}

static void test_config_default_batch_size_follows_a_small_queue_silently(void **state)
{
        otel_batch_config cfg;
        char *err;

        (void)state;
        setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100", 1);
        err = capture_stderr(read_config, &cfg);
        clear_bsp_env();
        assert_int_equal(cfg.max_queue_size, 100);
        assert_int_equal(cfg.max_export_batch_size, 100);
        assert_string_equal(err, "");
        free(err);
}

static void test_new_rejects_batch_larger_than_queue_and_frees_exporter(void **state)
{
        otel_batch_config cfg = {.max_queue_size = 4,
                                 .max_export_batch_size = 8,
                                 .schedule_delay_ms = 1,
                                 .export_timeout_ms = 1};
        otel_span_processor *p = NULL;

        (void)state;
        assert_int_equal(otel_batch_processor_new(&cfg, &te.base, &p), -EINVAL);
        assert_null(p);
        assert_true(seen().freed);
}

/* ---- exporting -------------------------------------------------------------------------------- */

static void test_exports_when_a_batch_fills_before_the_delay(void **state)
{
        otel_span_processor *p = new_batch(16, 4, TEST_LONG_DELAY_MS, 30000);

        (void)state;
        end_spans(p, 3);
        usleep(100 * 1000);
        assert_int_equal(exporter_spans(), 0); /* 3 of 4: nothing yet */
        end_spans(p, 1);
        assert_true(exporter_wait(4, false, false, TEST_WAIT_MS));
        assert_int_equal(seen().n_batches, 1);
        assert_int_equal(seen().max_batch, 4);
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_spans_released();
}

static void test_exports_a_partial_batch_when_the_delay_passes(void **state)
{
        uint64_t start = otel_mono_ns();
        otel_span_processor *p = new_batch(2048, 512, 100, 30000);

        (void)state;
        end_spans(p, 3);
        assert_true(exporter_wait(3, false, false, TEST_WAIT_MS));
        assert_int_equal(seen().n_batches, 1);
        assert_true(seen().first_export_ns - start >= 90 * OTEL_NSEC_PER_MSEC);
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_spans_released();
}

static void test_batches_never_exceed_max_export_batch_size(void **state)
{
        otel_span_processor *p = new_batch(100, 5, 1, 30000);

        (void)state;
        end_spans(p, 97);
        assert_int_equal(p->force_flush(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_int_equal(seen().n_spans, 97);
        assert_true(seen().max_batch <= 5);
        assert_true(seen().n_batches >= 20); /* 97 / 5, rounded up */
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_false(seen().overlapped);
        assert_false(seen().dead_span_seen);
}

static void test_export_deadline_is_now_plus_export_timeout(void **state)
{
        otel_span_processor *p = new_batch(16, 1, TEST_LONG_DELAY_MS, 7000);
        uint64_t before = otel_mono_ns();

        (void)state;
        end_spans(p, 1);
        assert_true(exporter_wait(1, false, false, TEST_WAIT_MS));
        assert_true(seen().last_deadline_ns >= before + 7000 * OTEL_NSEC_PER_MSEC);
        assert_true(seen().last_deadline_ns <= otel_mono_ns() + 7000 * OTEL_NSEC_PER_MSEC);
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
}

static void test_force_flush_delivers_everything_queued(void **state)
{
        otel_span_processor *p = new_batch(2048, 512, TEST_LONG_DELAY_MS, 30000);

        (void)state;
        end_spans(p, 10);
        assert_int_equal(p->force_flush(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_int_equal(seen().n_spans, 10);
        assert_int_equal(seen().n_batches, 1);
        assert_spans_released();
        assert_int_equal(p->force_flush(p, deadline_in_ms(TEST_WAIT_MS)), 0); /* nothing left: at once */
        assert_int_equal(seen().n_batches, 1);
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
}

static void test_force_flush_with_hanging_exporter_times_out_at_deadline(void **state)
{
        otel_span_processor *p = new_batch(2048, 512, TEST_LONG_DELAY_MS, 30000);
        uint64_t start, deadline;

        (void)state;
        exporter_set_hang(true);
        end_spans(p, 1);
        start = otel_mono_ns();
        deadline = deadline_in_ms(TEST_DEADLINE_MS);
        assert_int_equal(p->force_flush(p, deadline), -ETIMEDOUT);
        assert_true(ms_since(start) >= TEST_DEADLINE_MS - 1);
        assert_true(ms_since(start) <= TEST_DEADLINE_MS + TEST_DEADLINE_SLACK_MS);
        assert_true(seen().last_deadline_ns <= deadline); /* the exporter was told the flush's deadline */
        exporter_set_hang(false);
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_int_equal(seen().n_spans, 1);
        assert_spans_released();
}

static void test_queue_full_drops_and_counts_exactly(void **state)
{
        otel_span_processor *p = new_batch(4, 2, TEST_LONG_DELAY_MS, 30000);
        uint64_t queued, dropped;

        (void)state;
        /* Park the thread inside an export of the first two, so the ring only fills from here. */
        exporter_set_hang(true);
        end_spans(p, 2);
        assert_true(exporter_wait(2, true, false, TEST_WAIT_MS));

        queued = counter(&otel_trace_counters_global.spans_queued);
        dropped = counter(&otel_trace_counters_global.spans_dropped_queue_full);
        end_spans(p, 7);
        assert_int_equal(counter(&otel_trace_counters_global.spans_queued) - queued, 4);
        assert_int_equal(counter(&otel_trace_counters_global.spans_dropped_queue_full) - dropped, 3);

        exporter_set_hang(false);
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_int_equal(seen().n_spans, 6);
        assert_spans_released();
}

typedef struct producer {
        otel_span_processor *p; /* shared processor */
        otel_span *span;        /* handed to on_end again and again */
        size_t n;               /* on_end calls to make */
        uint64_t elapsed_ns;    /* time the calls took */
} producer;

static void *producer_main(void *arg)
{
        producer *pr = arg;
        uint64_t start = otel_mono_ns();

        for (size_t i = 0; i < pr->n; i++)
                pr->p->on_end(pr->p, pr->span);
        pr->elapsed_ns = otel_mono_ns() - start;
        return NULL;
}

/* Runs n_threads producers of n calls each; returns the mean ns per on_end call. */
static double run_producers(otel_span_processor *p, unsigned n_threads, size_t n)
{
        pthread_t threads[2];
        producer prs[2];
        uint64_t total_ns = 0;

        assert_true(n_threads <= 2);
        for (unsigned t = 0; t < n_threads; t++) {
                prs[t] = (producer){.p = p, .span = spans[t], .n = n};
                assert_int_equal(pthread_create(&threads[t], NULL, producer_main, &prs[t]), 0);
        }
        for (unsigned t = 0; t < n_threads; t++) {
                assert_int_equal(pthread_join(threads[t], NULL), 0);
                total_ns += prs[t].elapsed_ns;
        }
        return (double)total_ns / (double)(n * n_threads);
}

static void test_on_end_from_two_threads_loses_nothing(void **state)
{
        const size_t per_thread = 200000;
        otel_span_processor *p = new_batch(256, 64, 1, 30000);
        uint64_t queued = counter(&otel_trace_counters_global.spans_queued);
        uint64_t dropped = counter(&otel_trace_counters_global.spans_dropped_queue_full);

        (void)state;
        run_producers(p, 2, per_thread);
        assert_int_equal(p->force_flush(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        queued = counter(&otel_trace_counters_global.spans_queued) - queued;
        dropped = counter(&otel_trace_counters_global.spans_dropped_queue_full) - dropped;
        print_message("# two threads: %zu on_end calls, %llu queued, %llu dropped\n", 2 * per_thread,
                      (unsigned long long)queued, (unsigned long long)dropped);
        assert_int_equal(queued + dropped, 2 * per_thread);
        assert_int_equal(seen().n_spans, queued);
        assert_true(seen().max_batch <= 64);
        assert_spans_released();
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_false(seen().overlapped);
        assert_false(seen().dead_span_seen);
}

static void test_shutdown_exports_the_rest_and_frees_the_exporter(void **state)
{
        otel_span_processor *p = new_batch(2048, 512, TEST_LONG_DELAY_MS, 30000);

        (void)state;
        end_spans(p, 10);
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_int_equal(seen().n_spans, 10);
        assert_true(seen().freed);
        assert_spans_released();
}

static void test_shutdown_with_hung_exporter_times_out_at_deadline(void **state)
{
        otel_span_processor *p = new_batch(2048, 512, TEST_LONG_DELAY_MS, 30000);
        uint64_t start, deadline;

        (void)state;
        exporter_set_hang(true);
        end_spans(p, 3);
        start = otel_mono_ns();
        deadline = deadline_in_ms(TEST_DEADLINE_MS);
        assert_int_equal(p->shutdown(p, deadline), -ETIMEDOUT);
        assert_true(ms_since(start) >= TEST_DEADLINE_MS - 1);
        assert_true(ms_since(start) <= TEST_DEADLINE_MS + TEST_DEADLINE_SLACK_MS);
        assert_true(seen().last_deadline_ns <= deadline); /* the exporter was given what was left */
        assert_false(seen().freed);                       /* still in use by the detached thread */

        /* The exporter comes back late: the detached thread cleans up everything (ASan checks). */
        exporter_set_hang(false);
        assert_true(exporter_wait(3, false, true, TEST_WAIT_MS));
        usleep(50 * 1000); /* let the detached thread return after its last free() */
        assert_spans_released();
}

/* ---- simple processor ------------------------------------------------------------------------- */

static void test_simple_processor_exports_each_span_before_on_end_returns(void **state)
{
        otel_span_processor *p = NULL;
        uint64_t before = otel_mono_ns();

        (void)state;
        assert_int_equal(otel_simple_processor_new(&te.base, &p), 0);
        p->on_end(p, spans[0]);
        assert_int_equal(seen().n_spans, 1);
        p->on_end(p, spans[1]);
        assert_int_equal(seen().n_spans, 2);
        assert_int_equal(seen().n_batches, 2);
        assert_true(seen().last_deadline_ns >= before + 30000 * OTEL_NSEC_PER_MSEC);
        assert_int_equal(p->force_flush(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        assert_true(seen().freed);
        assert_spans_released();
}

/* ---- every on_end call is accounted for ------------------------------------------------------ */

/* n_threads producers end n spans each into a queue of the given size; after shutdown every call is
 * either exported or counted as dropped, and a queue that holds them all drops none. (The cost per
 * call is a benchmark's business, not a unit test's: bench/ measures the request path.) */
static void assert_on_end_accounts_for_every_call(uint32_t queue, unsigned n_threads, size_t n)
{
        otel_span_processor *p =
                new_batch(queue, OTEL_BSP_DEFAULT_MAX_EXPORT_BATCH, OTEL_BSP_DEFAULT_SCHEDULE_DELAY_MS,
                          OTEL_BSP_DEFAULT_EXPORT_TIMEOUT_MS);
        uint64_t dropped = counter(&otel_trace_counters_global.spans_dropped_queue_full);
        size_t exported = seen().n_spans;

        (void)run_producers(p, n_threads, n);
        assert_int_equal(p->shutdown(p, deadline_in_ms(TEST_WAIT_MS)), 0);
        dropped = counter(&otel_trace_counters_global.spans_dropped_queue_full) - dropped;
        exported = seen().n_spans - exported;
        assert_int_equal(exported + dropped, n * n_threads);
        if (queue >= n * n_threads)
                assert_int_equal(dropped, 0);
        assert_spans_released();
}

static void test_on_end_exports_or_counts_every_span_at_any_queue_size(void **state)
{
        (void)state;
        /* A queue that holds every call: the accept path only, with the thread draining alongside. */
        assert_on_end_accounts_for_every_call(1u << 18, 1, 100000);
        assert_on_end_accounts_for_every_call(1u << 18, 2, 100000);
        /* Spec defaults: producers outrun a 2048 queue, so this is mostly the drop path. */
        assert_on_end_accounts_for_every_call(OTEL_BSP_DEFAULT_MAX_QUEUE_SIZE, 1, 200000);
        assert_on_end_accounts_for_every_call(OTEL_BSP_DEFAULT_MAX_QUEUE_SIZE, 2, 200000);
}

/* ---- fixture ---------------------------------------------------------------------------------- */

static int suite_setup(void **state)
{
        (void)state;
        /* Only our processors see spans; no other signal talks to the network. */
        setenv("OTEL_TRACES_EXPORTER", "none", 1);
        setenv("OTEL_METRICS_EXPORTER", "none", 1);
        setenv("OTEL_LOGS_EXPORTER", "none", 1);
        setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
        return otel_sdk_init(NULL) < 0 ? -1 : 0;
}

static int suite_teardown(void **state)
{
        (void)state;
        return otel_sdk_shutdown(TEST_WAIT_MS) == 0 ? 0 : -1;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_config_defaults_are_the_spec_values),
                T(test_config_reads_valid_values),
                T(test_config_invalid_values_fall_back_to_defaults_with_a_warning),
                T(test_config_clamps_batch_size_to_queue_size_with_a_warning),
                T(test_config_default_batch_size_follows_a_small_queue_silently),
                T(test_new_rejects_batch_larger_than_queue_and_frees_exporter),
                T(test_exports_when_a_batch_fills_before_the_delay),
                T(test_exports_a_partial_batch_when_the_delay_passes),
                T(test_batches_never_exceed_max_export_batch_size),
                T(test_export_deadline_is_now_plus_export_timeout),
                T(test_force_flush_delivers_everything_queued),
                T(test_force_flush_with_hanging_exporter_times_out_at_deadline),
                T(test_queue_full_drops_and_counts_exactly),
                T(test_on_end_from_two_threads_loses_nothing),
                T(test_shutdown_exports_the_rest_and_frees_the_exporter),
                T(test_shutdown_with_hung_exporter_times_out_at_deadline),
                T(test_simple_processor_exports_each_span_before_on_end_returns),
                T(test_on_end_exports_or_counts_every_span_at_any_queue_size),
        };

        return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
