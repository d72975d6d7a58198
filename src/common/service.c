/* SPDX-License-Identifier: Apache-2.0 */
/* The daemons' skeleton and main loop (see service.h). */
#include "service.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "otel.h"

static sigset_t service_signal_set(void)
{
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        return set;
}

int service_signals_block(void)
{
        sigset_t set = service_signal_set();
        struct sigaction ign = {.sa_handler = SIG_IGN};
        int r;

        /* A peer that closes early must cost an EPIPE, not the process. */
        if (sigaction(SIGPIPE, &ign, NULL) < 0)
                return -errno;
        r = pthread_sigmask(SIG_BLOCK, &set, NULL);
        return r > 0 ? -r : 0;
}

static uint64_t service_now_ms(void)
{
        return otel_mono_ns() / 1000000u; /* the one monotonic clock, in ms */
}

static void service_update_status(const service_ops *ops, void *userdata)
{
        char text[NOTIFY_STATUS_MAX];

        if (!ops->status)
                return;
        text[0] = '\0';
        ops->status(userdata, text, sizeof(text));
        (void)notify_status("%s", text);
}

static void service_reload(const service_ops *ops, void *userdata)
{
        int r;

        (void)notify_reloading();
        r = ops->reload ? ops->reload(userdata) : 0;
        if (r >= 0) /* on failure the callback has logged why */
                otel_log(OTEL_SEVERITY_INFO, "Reloaded");
        (void)notify_ready();
}

static void service_watchdog(const service_ops *ops, void *userdata, bool *failing)
{
        int r = ops->probe ? ops->probe(userdata, SERVICE_PROBE_TIMEOUT_MS) : 0;

        if (r < 0) {
                /* No WATCHDOG=1: if this persists, systemd restarts the service. Log the first. */
                if (!*failing)
                        otel_log_errno(OTEL_SEVERITY_ERROR, r,
                                       "Liveness probe failed, withholding WATCHDOG=1: %m");
                *failing = true;
                return;
        }
        if (*failing)
                otel_log(OTEL_SEVERITY_INFO, "Liveness probe succeeds again");
        *failing = false;
        (void)notify_watchdog();
}

int service_run(const service_ops *ops, void *userdata)
{
        sigset_t set = service_signal_set();
        uint64_t watchdog_ms = (notify_watchdog_interval_usec() + 999u) / 1000u;
        uint64_t next_status = 0, next_watchdog = 0;
        bool probe_failing = false;

        for (;;) {
                uint64_t now = service_now_ms(), wake;
                struct timespec timeout;
                siginfo_t info;
                int sig;

                if (now >= next_status) {
                        service_update_status(ops, userdata);
                        next_status = now + SERVICE_STATUS_INTERVAL_MS;
                }
                if (watchdog_ms > 0 && now >= next_watchdog) {
                        service_watchdog(ops, userdata, &probe_failing);
                        next_watchdog = now + watchdog_ms;
                }
                wake = next_status;
                if (watchdog_ms > 0 && next_watchdog < wake)
                        wake = next_watchdog;
                now = service_now_ms();
                wake = wake > now ? wake - now : 0;
                timeout.tv_sec = (time_t)(wake / 1000u);
                timeout.tv_nsec = (long)(wake % 1000u) * 1000000L;

                sig = sigtimedwait(&set, &info, &timeout);
                if (sig < 0)
                        continue; /* EAGAIN (timeout) or EINTR */
                if (sig == SIGHUP) {
                        service_reload(ops, userdata);
                        continue;
                }
                otel_log(OTEL_SEVERITY_INFO, "Received %s, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                (void)notify_stopping();
                return sig;
        }
}

int service_wait_for(int (*check)(void *userdata), void *userdata, unsigned interval_ms, const char *what)
{
        sigset_t set = service_signal_set();
        struct timespec timeout = {.tv_sec = interval_ms / 1000u,
                                   .tv_nsec = (long)(interval_ms % 1000u) * 1000000L};
        bool logged = false;

        for (;;) {
                siginfo_t info;
                int r, sig;

                r = check(userdata);
                if (r >= 0) {
                        if (logged)
                                otel_log(OTEL_SEVERITY_INFO, "%s answers", what);
                        return 0;
                }
                if (!logged) {
                        /* -EAGAIN only says "not yet"; the check itself has logged the cause. */
                        if (r == -EAGAIN)
                                otel_log(
                                        OTEL_SEVERITY_WARN,
                                        "Not ready: waiting for %s to answer, checking every %u ms; READY=1 "
                                        "and /readyz follow once it does",
                                        what, interval_ms);
                        else
                                otel_log_errno(OTEL_SEVERITY_WARN, r,
                                               "Not ready: waiting for %s to answer (%m), checking every %u "
                                               "ms; READY=1 and /readyz follow once it does",
                                               what, interval_ms);
                        (void)notify_status("waiting for %s", what);
                        logged = true;
                }
                sig = sigtimedwait(&set, &info, &timeout);
                if (sig == SIGTERM || sig == SIGINT) {
                        otel_log(OTEL_SEVERITY_INFO, "Received %s while waiting for %s, stopping",
                                 sig == SIGTERM ? "SIGTERM" : "SIGINT", what);
                        (void)notify_stopping();
                        return -ECANCELED;
                }
        }
}

/* ---- the skeleton -------------------------------------------------------------------------------- */

/* What the command line asks for, besides an index into desc->actions (>= 0). */
enum {
        SERVICE_ARGS_SERVE = -1,
        SERVICE_ARGS_CHECK_CONFIG = -2,
        SERVICE_ARGS_VERSION = -3,
        SERVICE_ARGS_HELP = -4,
        SERVICE_ARGS_INVALID = -5,
};

/* getopt_long values of the common options; an action's value is its index. */
enum { SERVICE_OPT_CONFIG = 0x100, SERVICE_OPT_CHECK, SERVICE_OPT_VERSION, SERVICE_OPT_HELP };

static size_t service_n_actions(const service_desc *desc)
{
        size_t n = 0;

        while (n < SERVICE_ACTIONS_MAX && desc->actions[n].option)
                n++;
        return n;
}

static void service_help(const service_desc *desc)
{
        size_t n = service_n_actions(desc);

        printf("Usage: %s [OPTIONS]\n\n%s\nOptions:\n", desc->name, desc->summary);
        printf("  --config PATH    configuration file (default %s)\n", desc->default_config);
        printf("  --check-config   validate the configuration and exit (0, or %d when invalid)\n",
               OTELDEMO_EXIT_CONFIG);
        for (size_t i = 0; i < n; i++)
                printf("  --%-15s%s\n", desc->actions[i].option, desc->actions[i].help);
        printf("  --version        print the version and exit\n"
               "  --help           show this help and exit\n\n");
        printf("%s\n%s", desc->config_help, desc->notes);
        printf("Exit status: %d ok, %d failure, %d usage error, %d a service it needs is unavailable, %d "
               "invalid configuration.\n",
               OTELDEMO_EXIT_OK, OTELDEMO_EXIT_FAILURE, OTELDEMO_EXIT_USAGE, OTELDEMO_EXIT_UNAVAILABLE,
               OTELDEMO_EXIT_CONFIG);
}

/* Returns an index into desc->actions or SERVICE_ARGS_*; *ret_config is the --config value. */
static int service_parse_args(int argc, char **argv, const service_desc *desc, const char **ret_config)
{
        struct option options[4 + SERVICE_ACTIONS_MAX + 1] = {
                {"config", required_argument, NULL, SERVICE_OPT_CONFIG},
                {"check-config", no_argument, NULL, SERVICE_OPT_CHECK},
                {"version", no_argument, NULL, SERVICE_OPT_VERSION},
                {"help", no_argument, NULL, SERVICE_OPT_HELP},
        };
        size_t n = service_n_actions(desc);
        int c, what = SERVICE_ARGS_SERVE;

        for (size_t i = 0; i < n; i++)
                options[4 + i] = (struct option){desc->actions[i].option, no_argument, NULL, (int)i};
        *ret_config = desc->default_config;
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                case SERVICE_OPT_CONFIG:
                        *ret_config = optarg;
                        break;
                case SERVICE_OPT_CHECK:
                        what = SERVICE_ARGS_CHECK_CONFIG;
                        break;
                case SERVICE_OPT_VERSION:
                        return SERVICE_ARGS_VERSION;
                case 'h':
                case SERVICE_OPT_HELP:
                        return SERVICE_ARGS_HELP;
                default:
                        if (c >= 0 && (size_t)c < n) {
                                what = c;
                                break;
                        }
                        return SERVICE_ARGS_INVALID; /* getopt has named the option */
                }
        }
        if (optind < argc) {
                /* Usage text, before any logging is set up. */
                fprintf(stderr, "%s: unexpected argument '%s'\n", desc->name, argv[optind]);
                return SERVICE_ARGS_INVALID;
        }
        return what;
}

/* Telemetry, open, listen, wait until ready, READY=1, the main loop, the drain. Sets *ret_started once
 * the SDK runs (it must then be shut down). */
static int service_serve(const service_desc *desc, void *userdata, bool *ret_started)
{
        const http_server_config *server = NULL;
        http_server *http = NULL;
        int r;

        r = telemetry_start(desc->telemetry(userdata));
        if (r < 0) {
                otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot start telemetry: %m");
                return OTELDEMO_EXIT_FAILURE;
        }
        *ret_started = true;
        r = desc->open(userdata, &http, &server);
        if (r < 0)
                return OTELDEMO_EXIT_FAILURE;
        r = http_server_start(http);
        if (r < 0) {
                otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot listen on %s: %m", server->listen);
                return OTELDEMO_EXIT_FAILURE;
        }
        otel_log(OTEL_SEVERITY_INFO, "Listening on %s (%u threads)", http_server_address(http),
                 server->threads);

        r = desc->wait_ready ? desc->wait_ready(userdata) : 0;
        if (r >= 0) {
                (void)notify_ready();
                otel_log(OTEL_SEVERITY_INFO, "%s %s ready", desc->name, desc->version);
                (void)service_run(&desc->ops, userdata);
        }
        if (http_server_drain(http, server->drain_timeout_ms) < 0)
                otel_log(OTEL_SEVERITY_WARN, "Requests still running after %u ms, cutting them off",
                         server->drain_timeout_ms);
        if (r == -ECANCELED)
                return OTELDEMO_EXIT_OK;
        return r < 0 ? OTELDEMO_EXIT_UNAVAILABLE : OTELDEMO_EXIT_OK;
}

/* glibc gives every thread that allocates an arena of its own, up to 8 per CPU, and each arena keeps
 * the memory freed into it: under bench/run's GET load the frontend's 13 threads had 13 arenas of
 * 5.4 MB, 2.6 MB of it free (malloc_stats()); with 2 (2 CPUs) they had 3.9 MB, 1.5 MB free. No more
 * threads than CPUs run malloc() at the same moment, so one arena per CPU costs no req/s measurable
 * here (README "Performance", "Memory").
 * The operator's own setting (MALLOC_ARENA_MAX, GLIBC_TUNABLES=glibc.malloc.arena_max=N) wins. Called
 * before any thread exists: a thread keeps the arena it first got. */
static void service_limit_malloc_arenas(void)
{
#ifdef M_ARENA_MAX
        const char *tunables = getenv("GLIBC_TUNABLES");
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        if (getenv("MALLOC_ARENA_MAX") || (tunables && strstr(tunables, "glibc.malloc.arena_max")))
                return;
        (void)mallopt(M_ARENA_MAX, cpus > 0 && cpus < INT32_MAX ? (int)cpus : 1);
#endif
}

int service_main(int argc, char **argv, const service_desc *desc, void *userdata)
{
        char error[CONFIG_ERROR_MAX] = "";
        const char *config_path;
        bool started = false;
        int what, r, status;

        what = service_parse_args(argc, argv, desc, &config_path);
        switch (what) {
        case SERVICE_ARGS_HELP:
                service_help(desc);
                return OTELDEMO_EXIT_OK;
        case SERVICE_ARGS_VERSION:
                printf("%s %s\n", desc->name, desc->version);
                return OTELDEMO_EXIT_OK;
        case SERVICE_ARGS_INVALID:
                fprintf(stderr, "Try '%s --help'.\n", desc->name);
                return OTELDEMO_EXIT_USAGE;
        default:
                break;
        }

        service_limit_malloc_arenas();
        /* Before any thread exists, so that all inherit the mask and only the main loop takes them. */
        r = service_signals_block();
        if (r < 0) {
                otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot block signals: %m");
                return OTELDEMO_EXIT_FAILURE;
        }
        r = desc->config_load(userdata, config_path, error);
        if (r < 0) {
                if (!error[0])
                        snprintf(error, sizeof(error), "%s: %s", config_path, strerror(-r));
                otel_log(OTEL_SEVERITY_ERROR, "Invalid configuration: %s", error);
                return OTELDEMO_EXIT_CONFIG;
        }

        if (what == SERVICE_ARGS_CHECK_CONFIG) {
                printf("%s: configuration OK\n", config_path);
                status = OTELDEMO_EXIT_OK;
        } else if (what >= 0) {
                otel_log_set_level(desc->telemetry(userdata)->log_level);
                status = desc->actions[what].run(userdata);
        } else
                status = service_serve(desc, userdata, &started);

        /* The daemon's resources go before the final export, which then also carries their last spans. */
        desc->close(userdata);
        if (started) {
                r = otel_sdk_shutdown(SERVICE_FLUSH_TIMEOUT_MS);
                if (r < 0)
                        otel_log_errno(OTEL_SEVERITY_WARN, r, "Telemetry not fully flushed: %m");
                if (status == OTELDEMO_EXIT_OK)
                        otel_log(OTEL_SEVERITY_INFO, "Stopped");
        }
        return status;
}
