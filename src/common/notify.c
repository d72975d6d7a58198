/* SPDX-License-Identifier: Apache-2.0 */
/* sd_notify(3) and sd_listen_fds(3) wrappers (see notify.h); the fallbacks keep the daemons working
 * on builds without libsystemd. */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

/*
 * sd_notify(3) blocks while the manager's datagram queue is full (net.unix.max_dgram_qlen, often
 * only 10), for as long as nobody reads it. The main loop sends from the thread that takes SIGTERM, so
 * such a send must be bounded: periodic messages (WATCHDOG=1, STATUS=) are dropped when the queue is
 * full (the next one follows; a manager that reads none restarts us through the watchdog anyway), state
 * changes wait at most NOTIFY_STATE_TIMEOUT_MS. Hence our own send for path and abstract sockets;
 * other $NOTIFY_SOCKET kinds go through libsystemd.
 */
#define NOTIFY_STATE_TIMEOUT_MS 1000u

static int notify_send(const char *msg, unsigned timeout_ms)
{
#if HAVE_LIBSYSTEMD
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct timeval tv = {.tv_sec = timeout_ms / 1000u, .tv_usec = (timeout_ms % 1000u) * 1000u};
        size_t len;
        ssize_t n;
        int fd, r;

        if (!path || !path[0])
                return 0;
        if (path[0] != '/' && path[0] != '@')
                return sd_notify(0, msg);
        len = strlen(path);
        if (len >= sizeof(sa.sun_path))
                return -EINVAL;
        memcpy(sa.sun_path, path, len);
        if (path[0] == '@')
                sa.sun_path[0] = '\0'; /* abstract namespace */
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (timeout_ms > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | (timeout_ms > 0 ? 0 : MSG_DONTWAIT),
                   (const struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
        r = n < 0 ? -errno : 1;
        close(fd);
        return r;
#else
        (void)timeout_ms;
        return sd_notify(0, msg);
#endif
}

int notify_ready(void)
{
        return notify_send("READY=1", NOTIFY_STATE_TIMEOUT_MS);
}

int notify_reloading(void)
{
        char msg[64];

        snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
                 (unsigned long long)(otel_mono_ns() / 1000ull));
        return notify_send(msg, NOTIFY_STATE_TIMEOUT_MS);
}

int notify_stopping(void)
{
        return notify_send("STOPPING=1", NOTIFY_STATE_TIMEOUT_MS);
}

int notify_watchdog(void)
{
        return notify_send("WATCHDOG=1", 0);
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
        return notify_send(msg, 0);
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
