/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `oteldemo load`: an open-loop load generator. Worker threads (one HTTP client each) take the next
 * slot of the schedule (schedule.h), wait for its intended start, run the next step of their shopper
 * session (sessions.h) and record the latency from the intended start into one histogram, so a server
 * that stalls shows up as latency instead of as a silently lower request rate. The main thread prints
 * progress and, at the end or on SIGINT/SIGTERM, the summary.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli-args.h"
#include "commands.h"
#include "histogram.h"
#include "load-record.h"
#include "output.h"
#include "progress.h"
#include "schedule.h"
#include "otel.h"
#include "sessions.h"
#include "usage.h"

#define LOAD_DEFAULT_RATE        10.0
#define LOAD_DEFAULT_DURATION_NS (UINT64_C(60) * SCHEDULE_NSEC_PER_SEC)
#define LOAD_DEFAULT_CONCURRENCY 8u
#define LOAD_DEFAULT_MIX         "browse=70,order=20,user=10"
#define LOAD_START_DELAY_NS      UINT64_C(50000000)  /* lets the workers start before slot 0 is due */
#define LOAD_POLL_NS             UINT64_C(100000000) /* longest sleep between looks at the stop flag */
#define LOAD_STATUS_SLOTS        600                 /* HTTP statuses 100..599; slot 0 = no reply */
/* With this many attempts and not one reply, the target is down: stop instead of running the whole
 * duration against a closed port. */
#define LOAD_GIVE_UP_ATTEMPTS 20

typedef struct load_options {
        double rate;          /* requests per second */
        uint64_t duration_ns; /* 0 = until interrupted */
        unsigned concurrency; /* worker threads */
        load_mix mix;         /* session kinds */
        uint64_t seed;        /* PRNG seed of the sessions */
        unsigned retries;     /* retries of an order that got no reply or a 5xx, same key */
        const char *record;   /* --record FILE, or NULL */
} load_options;

typedef struct load_stats {
        pthread_mutex_t lock;
        histogram latency;                                   /* µs from the intended start */
        uint64_t by_status[_LOAD_EP_MAX][LOAD_STATUS_SLOTS]; /* requests per endpoint and status */
        uint64_t done;                                       /* requests finished */
        uint64_t errors;                                     /* no reply, or status >= 400 */
        uint64_t replies;                                    /* requests that got any HTTP reply */
} load_stats;

typedef struct load_run load_run;

typedef struct load_worker {
        load_run *run;        /* shared state */
        pthread_t thread;     /* runs worker_main() */
        bool started;         /* thread was created */
        http_client *client;  /* this worker's connection */
        load_session session; /* this worker's shopper */
} load_worker;

struct load_run {
        const load_options *opts;  /* what the user asked for */
        load_schedule schedule;    /* intended start of every slot */
        uint64_t slots;            /* slots in the schedule */
        atomic_uint_fast64_t next; /* next slot to take */
        atomic_uint running;       /* workers not yet finished */
        load_stats stats;          /* what happened so far */
        load_record *record;       /* --record, or NULL */
};

/* Set from the signal handler: lock-free atomics are async-signal-safe. */
static atomic_int load_interrupted;

static void on_stop_signal(int sig)
{
        (void)sig;
        atomic_store(&load_interrupted, 1);
}

static bool stopping(void)
{
        return atomic_load_explicit(&load_interrupted, memory_order_relaxed) != 0;
}

/* Sleeps until the CLOCK_MONOTONIC time t, in steps so that a stop request is seen within
 * LOAD_POLL_NS. Returns false when stopped first. */
static bool sleep_until(uint64_t t)
{
        for (;;) {
                uint64_t now = otel_mono_ns(), until;
                struct timespec ts;

                if (stopping())
                        return false;
                if (now >= t)
                        return true;
                until = t - now > LOAD_POLL_NS ? now + LOAD_POLL_NS : t;
                ts.tv_sec = (time_t)(until / SCHEDULE_NSEC_PER_SEC);
                ts.tv_nsec = (long)(until % SCHEDULE_NSEC_PER_SEC);
                (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
}

static void stats_record(load_stats *st, load_endpoint ep, long status, uint64_t latency_us)
{
        unsigned slot = status >= 100 && status < LOAD_STATUS_SLOTS ? (unsigned)status : 0;

        pthread_mutex_lock(&st->lock);
        histogram_record(&st->latency, latency_us);
        st->by_status[ep][slot]++;
        st->done++;
        if (slot == 0 || status >= 400)
                st->errors++;
        if (slot != 0)
                st->replies++;
        pthread_mutex_unlock(&st->lock);
}

static void *worker_main(void *userdata)
{
        load_worker *w = userdata;
        load_run *run = w->run;

        for (;;) {
                http_client_response resp;
                load_request req;
                uint64_t slot, intended, end;
                long status;
                int r;

                if (stopping())
                        break;
                slot = atomic_fetch_add(&run->next, 1);
                if (slot >= run->slots)
                        break;
                intended = schedule_slot_time_ns(&run->schedule, slot);
                if (!sleep_until(intended))
                        break;
                load_session_next(&w->session, &run->opts->mix, &req);
                r = http_client_do(
                        w->client,
                        &(http_client_request){
                                .method = load_endpoint_method(req.endpoint),
                                .path = req.path,
                                .route = load_endpoint_route(req.endpoint),
                                .json_body = req.body[0] ? req.body : NULL,
                                .idempotency_key = req.idempotency_key[0] ? req.idempotency_key : NULL,
                        },
                        &resp);
                end = otel_mono_ns();
                status = r < 0 ? 0 : resp.status;
                stats_record(&run->stats, req.endpoint, status, (end - intended) / 1000);
                if (run->record)
                        load_record_write(run->record, &req, intended - run->schedule.t0_ns,
                                          (end - intended) / 1000, status, resp.body, resp.body_len);
                load_session_observe(&w->session, &req, status, r < 0 ? NULL : resp.body,
                                     r < 0 ? 0 : resp.body_len);
                http_client_response_done(&resp);
        }
        atomic_fetch_sub(&run->running, 1);
        return NULL;
}

static void snapshot(load_run *run, uint64_t now, progress_snapshot *ret)
{
        load_stats *st = &run->stats;

        pthread_mutex_lock(&st->lock);
        *ret = (progress_snapshot){
                .elapsed_ns = now > run->schedule.t0_ns ? now - run->schedule.t0_ns : 0,
                .done = st->done,
                .errors = st->errors,
                .target_rate = run->opts->rate,
                .p50_us = histogram_percentile(&st->latency, 50.0),
                .p99_us = histogram_percentile(&st->latency, 99.0),
        };
        pthread_mutex_unlock(&st->lock);
}

static const double summary_percentiles[] = {50.0, 90.0, 99.0, 99.9};
static const char *const summary_percentile_names[] = {"p50", "p90", "p99", "p99_9"};
#define N_PERCENTILES (sizeof(summary_percentiles) / sizeof(summary_percentiles[0]))

static void mix_string(const load_mix *mix, char *ret, size_t size)
{
        size_t len = 0;

        ret[0] = '\0';
        for (int k = 0; k < _LOAD_SESSION_KIND_MAX && len < size; k++)
                len += (size_t)snprintf(ret + len, size - len, "%s%s=%u", k ? "," : "",
                                        load_session_kind_to_string((load_session_kind)k), mix->pct[k]);
}

/* Decimals kept in the JSON summary: latencies to the microsecond the histogram measures (ms with 3),
 * rates to a hundredth of a request per second, times to the millisecond. json-c would otherwise print
 * every double with 17 significant digits. */
#define SUMMARY_MS_DECIMALS   3
#define SUMMARY_RATE_DECIMALS 2
#define SUMMARY_S_DECIMALS    3

/* A JSON number printed with a fixed number of decimals (the value itself rounded alike). */
static json_object *json_rounded(double v, int decimals)
{
        char text[64], *end;
        double rounded;

        (void)snprintf(text, sizeof(text), "%.*f", decimals, v);
        rounded = strtod(text, &end);
        /* snprintf of a finite double always parses back; NaN or infinity has no JSON form */
        if (*end || !isfinite(rounded))
                return json_object_new_double(0);
        return json_object_new_double_s(rounded, text);
}

static json_object *summary_json(const load_run *run, const uint64_t sessions[], uint64_t elapsed_ns,
                                 bool interrupted)
{
        const load_stats *st = &run->stats;
        json_object *o = json_object_new_object(), *lat, *eps, *mix, *sess;

        if (!o)
                return NULL;
        lat = json_object_new_object();
        eps = json_object_new_array();
        mix = json_object_new_object();
        sess = json_object_new_object();
        (void)json_object_object_add(o, "target_rate", json_rounded(run->opts->rate, SUMMARY_RATE_DECIMALS));
        (void)json_object_object_add(
                o, "achieved_rate",
                json_rounded(schedule_rate(st->done, elapsed_ns), SUMMARY_RATE_DECIMALS));
        (void)json_object_object_add(o, "duration_s",
                                     json_rounded((double)run->opts->duration_ns / 1e9, SUMMARY_S_DECIMALS));
        (void)json_object_object_add(o, "elapsed_s",
                                     json_rounded((double)elapsed_ns / 1e9, SUMMARY_S_DECIMALS));
        (void)json_object_object_add(o, "concurrency", json_object_new_int64(run->opts->concurrency));
        (void)json_object_object_add(o, "seed", json_object_new_uint64(run->opts->seed));
        (void)json_object_object_add(o, "interrupted", json_object_new_boolean(interrupted));
        (void)json_object_object_add(o, "requests", json_object_new_uint64(st->done));
        (void)json_object_object_add(o, "errors", json_object_new_uint64(st->errors));
        for (int k = 0; k < _LOAD_SESSION_KIND_MAX; k++) {
                const char *name = load_session_kind_to_string((load_session_kind)k);

                if (mix)
                        (void)json_object_object_add(mix, name,
                                                     json_object_new_int64(run->opts->mix.pct[k]));
                if (sess)
                        (void)json_object_object_add(sess, name, json_object_new_uint64(sessions[k]));
        }
        (void)json_object_object_add(o, "mix", mix);
        (void)json_object_object_add(o, "sessions", sess);
        if (lat) {
                for (size_t i = 0; i < N_PERCENTILES; i++)
                        (void)json_object_object_add(
                                lat, summary_percentile_names[i],
                                json_rounded(
                                        (double)histogram_percentile(&st->latency, summary_percentiles[i]) /
                                                1000.0,
                                        SUMMARY_MS_DECIMALS));
                (void)json_object_object_add(
                        lat, "max", json_rounded((double)st->latency.max / 1000.0, SUMMARY_MS_DECIMALS));
                (void)json_object_object_add(
                        lat, "mean",
                        json_rounded(histogram_mean(&st->latency) / 1000.0, SUMMARY_MS_DECIMALS));
        }
        (void)json_object_object_add(o, "latency_ms", lat);
        for (int ep = 0; eps && ep < _LOAD_EP_MAX; ep++) {
                json_object *e, *statuses;
                uint64_t count = 0;

                for (unsigned s = 0; s < LOAD_STATUS_SLOTS; s++)
                        count += st->by_status[ep][s];
                if (count == 0)
                        continue;
                e = json_object_new_object();
                statuses = json_object_new_object();
                if (!e || !statuses || json_object_array_add(eps, e) < 0) {
                        json_object_put(e);
                        json_object_put(statuses);
                        break;
                }
                (void)json_object_object_add(e, "method", json_object_new_string(load_endpoint_method(ep)));
                (void)json_object_object_add(e, "route", json_object_new_string(load_endpoint_route(ep)));
                (void)json_object_object_add(e, "count", json_object_new_uint64(count));
                for (unsigned s = 0; s < LOAD_STATUS_SLOTS; s++) {
                        char key[16];

                        if (!st->by_status[ep][s])
                                continue;
                        (void)snprintf(key, sizeof(key), s ? "%u" : "no_reply", s);
                        (void)json_object_object_add(statuses, key,
                                                     json_object_new_uint64(st->by_status[ep][s]));
                }
                (void)json_object_object_add(e, "statuses", statuses);
        }
        (void)json_object_object_add(o, "endpoints", eps);
        return o;
}

static void summary_table(const load_run *run, const uint64_t sessions[], uint64_t elapsed_ns,
                          bool interrupted)
{
        const load_stats *st = &run->stats;
        double achieved = schedule_rate(st->done, elapsed_ns);
        char mix[LOAD_PATH_MAX];

        mix_string(&run->opts->mix, mix, sizeof(mix));
        printf("load: %" PRIu64 " requests in %.2f s%s\n", st->done, (double)elapsed_ns / 1e9,
               interrupted ? " (interrupted)" : "");
        printf("rate: %.1f/s achieved, %.1f/s target (%.1f %%)\n", achieved, run->opts->rate,
               100.0 * achieved / run->opts->rate);
        printf("errors: %" PRIu64 " (%.2f %%)\n", st->errors,
               st->done ? 100.0 * (double)st->errors / (double)st->done : 0.0);
        printf("concurrency %u, seed %" PRIu64 ", mix %s; sessions", run->opts->concurrency, run->opts->seed,
               mix);
        for (int k = 0; k < _LOAD_SESSION_KIND_MAX; k++)
                printf(" %s %" PRIu64, load_session_kind_to_string((load_session_kind)k), sessions[k]);
        printf("\n\n%-30s  %-8s  %s\n", "ENDPOINT", "STATUS", "COUNT");
        for (int ep = 0; ep < _LOAD_EP_MAX; ep++)
                for (unsigned s = 0; s < LOAD_STATUS_SLOTS; s++) {
                        char name[LOAD_PATH_MAX], status[16];

                        if (!st->by_status[ep][s])
                                continue;
                        (void)snprintf(name, sizeof(name), "%s %s", load_endpoint_method(ep),
                                       load_endpoint_route(ep));
                        (void)snprintf(status, sizeof(status), s ? "%u" : "no-reply", s);
                        printf("%-30s  %-8s  %" PRIu64 "\n", name, status, st->by_status[ep][s]);
                }
        printf("\nlatency from intended start (ms):");
        for (size_t i = 0; i < N_PERCENTILES; i++)
                printf(" %s %.2f", i == 3 ? "p99.9" : summary_percentile_names[i],
                       (double)histogram_percentile(&st->latency, summary_percentiles[i]) / 1000.0);
        printf(" max %.2f mean %.2f\n", (double)st->latency.max / 1000.0,
               histogram_mean(&st->latency) / 1000.0);
}

static int install_stop_handlers(void)
{
        struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESETHAND};

        /* SA_RESETHAND: a second Ctrl-C kills at once, for when a request hangs. */
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
                return -errno;
        return 0;
}

static int load_execute(const cli_globals *g, const load_options *opts)
{
        bool tty = isatty(STDERR_FILENO), gave_up = false;
        uint64_t next_tick, interval, end, sessions[_LOAD_SESSION_KIND_MAX] = {};
        load_worker *workers;
        load_run *run;
        int r, code = OTELDEMO_EXIT_OK;

        run = calloc(1, sizeof(*run));
        workers = calloc(opts->concurrency, sizeof(*workers));
        if (!run || !workers) {
                free(run);
                free(workers);
                fprintf(stderr, "%s load: out of memory\n", CLI_PROGRAM_NAME);
                return OTELDEMO_EXIT_FAILURE;
        }
        run->opts = opts;
        pthread_mutex_init(&run->stats.lock, NULL);
        histogram_init(&run->stats.latency);
        for (unsigned i = 0; i < opts->concurrency; i++) {
                workers[i].run = run;
                /* Distinct, reproducible streams: the seed mixed with the worker's index. */
                load_session_init(&workers[i].session,
                                  opts->seed ^ ((uint64_t)(i + 1) * UINT64_C(0x9e3779b97f4a7c15)));
                workers[i].session.max_retries = opts->retries;
                r = http_client_new(g->url, g->timeout_ms, NULL, g->write_token, &g->tls,
                                    &workers[i].client);
                if (r < 0) {
                        code = r == -ENOMEM
                                       ? OTELDEMO_EXIT_FAILURE
                                       : cli_usage_error(NULL,
                                                         "invalid URL '%s' (expected http://HOST[:PORT])",
                                                         g->url);
                        goto out;
                }
        }
        if (opts->record) {
                r = load_record_open(opts->record, &run->record);
                if (r < 0) {
                        fprintf(stderr, "%s load: cannot create %s: %s\n", CLI_PROGRAM_NAME, opts->record,
                                strerror(-r));
                        code = OTELDEMO_EXIT_FAILURE;
                        goto out;
                }
        }
        r = install_stop_handlers();
        if (r < 0) {
                fprintf(stderr, "%s load: cannot install signal handlers: %s\n", CLI_PROGRAM_NAME,
                        strerror(-r));
                code = OTELDEMO_EXIT_FAILURE;
                goto out;
        }

        run->schedule = (load_schedule){
                .t0_ns = otel_mono_ns() + LOAD_START_DELAY_NS,
                .rate = opts->rate,
                .duration_ns = opts->duration_ns,
        };
        run->slots = schedule_slot_count(&run->schedule);
        atomic_store(&run->running, opts->concurrency);
        for (unsigned i = 0; i < opts->concurrency; i++) {
                r = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
                if (r != 0) {
                        /* Run with the workers we have rather than not at all; say so. */
                        fprintf(stderr, "%s load: could only start %u of %u workers: %s\n", CLI_PROGRAM_NAME,
                                i, opts->concurrency, strerror(r));
                        atomic_fetch_sub(&run->running, opts->concurrency - i);
                        break;
                }
                workers[i].started = true;
        }

        interval = tty ? PROGRESS_TTY_INTERVAL_NS : PROGRESS_PLAIN_INTERVAL_NS;
        next_tick = run->schedule.t0_ns + interval;
        while (atomic_load(&run->running) > 0) {
                uint64_t now = otel_mono_ns();
                progress_snapshot snap;

                if (now >= next_tick) {
                        snapshot(run, now, &snap);
                        progress_print(stderr, tty, &snap);
                        next_tick += interval;
                }
                pthread_mutex_lock(&run->stats.lock);
                if (!gave_up && run->stats.replies == 0 && run->stats.done >= LOAD_GIVE_UP_ATTEMPTS) {
                        gave_up = true;
                        atomic_store(&load_interrupted, 1);
                }
                pthread_mutex_unlock(&run->stats.lock);
                /* Short naps: the loop also notices the end of the run and the give-up condition. */
                (void)sleep_until(now + LOAD_POLL_NS / 2 < next_tick ? now + LOAD_POLL_NS / 2 : next_tick);
                if (stopping()) {
                        /* sleep_until() returns at once now; wait for the workers by polling gently. */
                        struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};

                        (void)nanosleep(&ts, NULL);
                }
        }
        for (unsigned i = 0; i < opts->concurrency; i++)
                if (workers[i].started)
                        (void)pthread_join(workers[i].thread, NULL);
        end = otel_mono_ns();
        progress_finish(stderr, tty);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);

        for (unsigned i = 0; i < opts->concurrency; i++)
                for (int k = 0; k < _LOAD_SESSION_KIND_MAX; k++)
                        sessions[k] += workers[i].session.sessions[k];
        {
                uint64_t elapsed = end > run->schedule.t0_ns ? end - run->schedule.t0_ns : 0;
                bool interrupted = atomic_load(&load_interrupted) && !gave_up;

                if (g->output == CLI_OUTPUT_JSON) {
                        json_object *o = summary_json(run, sessions, elapsed, interrupted);

                        if (!o) {
                                fprintf(stderr, "%s load: out of memory\n", CLI_PROGRAM_NAME);
                                code = OTELDEMO_EXIT_FAILURE;
                                goto out;
                        }
                        output_json(stdout, o);
                        json_object_put(o);
                } else
                        summary_table(run, sessions, elapsed, interrupted);
        }
        if (gave_up) {
                fprintf(stderr, "%s load: cannot reach %s: no reply to %" PRIu64 " requests, giving up\n",
                        CLI_PROGRAM_NAME, g->url, run->stats.done);
                code = OTELDEMO_EXIT_UNAVAILABLE;
        }
out:
        r = load_record_close(run->record);
        if (r < 0) {
                fprintf(stderr, "%s load: cannot write %s: %s\n", CLI_PROGRAM_NAME, opts->record,
                        strerror(-r));
                code = OTELDEMO_EXIT_FAILURE;
        }
        for (unsigned i = 0; i < opts->concurrency; i++)
                http_client_free(workers[i].client);
        pthread_mutex_destroy(&run->stats.lock);
        free(workers);
        free(run);
        return code;
}

static const char load_help[] =
        "Usage: oteldemo [GLOBAL OPTIONS] load [OPTIONS]\n"
        "\n"
        "Generates shop traffic at a fixed rate (open loop: requests start on schedule whatever the\n"
        "replies do, and latency counts from the scheduled start).\n"
        "\n"
        "  --rate R[/s|/m]        requests per second (default 10)\n"
        "  --duration D           e.g. 500ms, 10s, 2m, 1h; 0 = until Ctrl-C (default 60s)\n"
        "  --concurrency C        worker threads, 1..1024 (default 8)\n"
        "  --mix browse=P,order=P,user=P\n"
        "                         session shares in percent, summing to 100\n"
        "                         (default " LOAD_DEFAULT_MIX ")\n"
        "  --seed S               seed of the sessions' random choices (default: from the clock)\n"
        "  --retries N            send an order that got no reply or a 5xx again, with the same\n"
        "                         Idempotency-Key, up to N times (default 0)\n"
        "  --record FILE          write one JSON line per request to FILE: start, latency, status;\n"
        "                         for orders also the key, attempt, order id and body\n"
        "\n"
        "Progress goes to stderr; the summary (--output json for machines) to stdout. Ctrl-C stops\n"
        "cleanly and prints the summary.\n";

int cmd_load(const cli_globals *g, int argc, char **argv)
{
        static const struct option options[] = {
                {"rate", required_argument, NULL, 'r'},
                {"duration", required_argument, NULL, 'd'},
                {"concurrency", required_argument, NULL, 'c'},
                {"mix", required_argument, NULL, 'm'},
                {"seed", required_argument, NULL, 's'},
                {"retries", required_argument, NULL, 'R'},
                {"record", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *cmd = "load";
        load_options opts = {
                .rate = LOAD_DEFAULT_RATE,
                .duration_ns = LOAD_DEFAULT_DURATION_NS,
                .concurrency = LOAD_DEFAULT_CONCURRENCY,
                .seed = (uint64_t)time(NULL),
        };
        uint64_t v;
        int c, r;

        r = cli_parse_mix(LOAD_DEFAULT_MIX, &opts.mix);
        if (r < 0)
                return cli_usage_error(cmd, "internal error: bad default mix");
        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1)
                switch (c) {
                case 'r':
                        if (cli_parse_rate(optarg, &opts.rate) < 0)
                                return cli_usage_error(
                                        cmd,
                                        "invalid --rate '%s' (expected a number > 0 and <= %.0f, "
                                        "optionally followed by /s or /m)",
                                        optarg, CLI_RATE_MAX);
                        break;
                case 'd':
                        if (cli_parse_duration_ns(optarg, &opts.duration_ns) < 0)
                                return cli_usage_error(
                                        cmd, "invalid --duration '%s' (expected e.g. 500ms, 10s, 2m, 1h)",
                                        optarg);
                        break;
                case 'c':
                        if (cli_parse_uint(optarg, 1, CLI_CONCURRENCY_MAX, &v) < 0)
                                return cli_usage_error(cmd, "invalid --concurrency '%s' (expected 1..%u)",
                                                       optarg, CLI_CONCURRENCY_MAX);
                        opts.concurrency = (unsigned)v;
                        break;
                case 'm':
                        r = cli_parse_mix(optarg, &opts.mix);
                        if (r == -EDOM)
                                return cli_usage_error(
                                        cmd, "invalid --mix '%s': the percentages must add up to 100",
                                        optarg);
                        if (r == -ENOENT)
                                return cli_usage_error(
                                        cmd, "invalid --mix '%s': kinds are browse, order and user", optarg);
                        if (r == -EEXIST)
                                return cli_usage_error(cmd, "invalid --mix '%s': a kind is named twice",
                                                       optarg);
                        if (r < 0)
                                return cli_usage_error(cmd, "invalid --mix '%s' (expected e.g. %s)", optarg,
                                                       LOAD_DEFAULT_MIX);
                        break;
                case 's':
                        if (cli_parse_uint(optarg, 0, UINT64_MAX, &opts.seed) < 0)
                                return cli_usage_error(cmd, "invalid --seed '%s' (expected a whole number)",
                                                       optarg);
                        break;
                case 'R':
                        if (cli_parse_uint(optarg, 0, LOAD_RETRIES_MAX, &v) < 0)
                                return cli_usage_error(cmd, "invalid --retries '%s' (expected 0..%u)",
                                                       optarg, LOAD_RETRIES_MAX);
                        opts.retries = (unsigned)v;
                        break;
                case 'o':
                        if (!*optarg)
                                return cli_usage_error(cmd, "--record needs a file name");
                        opts.record = optarg;
                        break;
                case 'h':
                        fputs(load_help, stdout);
                        return OTELDEMO_EXIT_OK;
                default:
                        return cli_option_error(cmd, c, argv);
                }
        if (optind < argc)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        return load_execute(g, &opts);
}
