/* SPDX-License-Identifier: Apache-2.0 */
/* The daemons' main loop (see service.h). */
#include "service.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

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
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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
                        otel_log_errno(OTEL_SEVERITY_WARN, r, "Waiting for %s: %m", what);
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
