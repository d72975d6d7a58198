/* SPDX-License-Identifier: Apache-2.0 */
/* sd_notify(3) and sd_listen_fds(3) wrappers (see notify.h); the fallbacks keep the daemons working
 * on builds without libsystemd. */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "otel.h"

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#else
static int sd_notify(int unset_environment, const char *state)
{
        (void)unset_environment;
        (void)state;
        return 0;
}
static int sd_watchdog_enabled(int unset_environment, uint64_t *usec)
{
        (void)unset_environment;
        *usec = 0;
        return 0;
}
static int sd_listen_fds(int unset_environment)
{
        (void)unset_environment;
        return 0;
}
#define SD_LISTEN_FDS_START 3
#endif

int notify_ready(void)
{
        return sd_notify(0, "READY=1");
}

int notify_reloading(void)
{
        char msg[64];

        snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
                 (unsigned long long)(otel_mono_ns() / 1000ull));
        return sd_notify(0, msg);
}

int notify_stopping(void)
{
        return sd_notify(0, "STOPPING=1");
}

int notify_watchdog(void)
{
        return sd_notify(0, "WATCHDOG=1");
}

int notify_status(const char *fmt, ...)
{
        char msg[sizeof("STATUS=") + NOTIFY_STATUS_MAX];
        va_list ap;
        int n;

        n = snprintf(msg, sizeof(msg), "STATUS=");
        va_start(ap, fmt);
        (void)vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
        va_end(ap);
        /* A newline would start another assignment. */
        for (char *p = msg; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        return sd_notify(0, msg);
}

uint64_t notify_watchdog_interval_usec(void)
{
        uint64_t usec = 0;

        if (sd_watchdog_enabled(0, &usec) <= 0)
                return 0;
        return usec / 2;
}

int notify_listen_fd(int *ret_fd)
{
        int n = sd_listen_fds(1);

        *ret_fd = -1;
        if (n < 0)
                return n;
        if (n == 0)
                return 0;
        if (n > 1)
                return -EINVAL;
        *ret_fd = SD_LISTEN_FDS_START;
        return 1;
}
