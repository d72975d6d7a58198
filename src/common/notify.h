/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd glue for Type=notify services: readiness, reload and stop notifications, STATUS= lines, the
 * watchdog interval and socket activation. Without systemd (no $NOTIFY_SOCKET, no $LISTEN_FDS, or
 * built with -Dsystemd=false) every call is a harmless no-op, so the daemons run the same by hand.
 */
#pragma once

#include <stdint.h>

#define NOTIFY_STATUS_MAX 256u /* one STATUS= line */

int notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC= (systemd 253+ uses it to match the READY=1 that follows). */
int notify_reloading(void);
int notify_stopping(void);
int notify_watchdog(void);
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* How often to send WATCHDOG=1: half of $WATCHDOG_USEC (for this process), 0 when not enabled. */
uint64_t notify_watchdog_interval_usec(void);
/* The socket passed by systemd (Sockets= / .socket unit): sets *ret_fd and returns 1; returns 0 and
 * sets -1 when none; -EINVAL when more than one is passed (the daemons listen on one). */
int notify_listen_fd(int *ret_fd);
