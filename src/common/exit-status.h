/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The exit statuses of every oteldemo program: oteldemo(1), oteldemo-backend and oteldemo-frontend. One
 * table, with the sysexits.h numbers where one fits, so that a script or a systemd unit
 * (RestartPreventExitStatus=) reads them the same way for all three. Header only: the CLI does not link
 * src/common.
 */
#pragma once

typedef enum oteldemo_exit {
        OTELDEMO_EXIT_OK = 0,           /* did what was asked (a daemon: stopped by SIGTERM/SIGINT) */
        OTELDEMO_EXIT_FAILURE = 1,      /* failed: the API answered with an error, a daemon cannot serve */
        OTELDEMO_EXIT_USAGE = 2,        /* bad command line */
        OTELDEMO_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: a service it needs does not answer or is not
                                         * usable (the CLI's server, the backend's database) */
        OTELDEMO_EXIT_CONFIG = 78,      /* EX_CONFIG: the configuration file is invalid */
} oteldemo_exit;
