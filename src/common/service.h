/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The skeleton both daemons run: service_main() owns the command line (--help, --version, --config,
 * --check-config and a daemon's extra one-shot actions), the exit statuses (exit-status.h), loading the
 * configuration, telemetry start and stop, listening, READY=1, the main loop, the drain and the order of
 * shutdown; the daemon describes itself in a service_desc. The main loop: signals are blocked in every
 * thread and taken here with sigtimedwait(), SIGHUP reloads (RELOADING=1 … READY=1), SIGTERM/SIGINT end the
 * loop (STOPPING=1), and between signals the loop refreshes STATUS= and sends WATCHDOG=1 only after the
 * daemon's liveness probe (a real request through the server) succeeded.
 */
#pragma once

#include <stddef.h>

#include "exit-status.h"
#include "http-server.h"
#include "telemetry.h"

#define SERVICE_STATUS_INTERVAL_MS 5000u /* STATUS= refresh */
#define SERVICE_PROBE_TIMEOUT_MS   2000u /* one liveness probe */
#define SERVICE_FLUSH_TIMEOUT_MS   5000u /* bound on the final telemetry export at exit */
#define SERVICE_ACTIONS_MAX        4u    /* extra one-shot options of a daemon (--migrate) */

typedef struct service_ops {
        /* SIGHUP: re-read what can change at run time. 0, or a negative errno (old settings kept;
         * the callback has logged why). */
        int (*reload)(void *userdata);
        /* Liveness for the watchdog: 0 when the request path answers within timeout_ms. */
        int (*probe)(void *userdata, unsigned timeout_ms);
        /* Writes the STATUS= text (live figures). */
        void (*status)(void *userdata, char *buf, size_t size);
} service_ops;

/* A one-shot option of a daemon, run instead of serving once the configuration is loaded. */
typedef struct service_action {
        const char *option; /* long option without "--", e.g. "migrate" */
        const char *help;   /* its line in --help, after the option */
        /* Returns the exit status (OTELDEMO_EXIT_*); the log level of the configuration is in force. */
        int (*run)(void *userdata);
} service_action;

/* What a daemon tells service_main(). Callbacks get the userdata passed to service_main(). */
typedef struct service_desc {
        const char *name;                            /* program name, e.g. "oteldemo-backend" */
        const char *version;                         /* for --version and the "ready" line */
        const char *summary;                         /* --help: what the daemon is (ends with "\n") */
        const char *default_config;                  /* --config default */
        const char *config_help;                     /* --help: the configuration keys */
        const char *notes;                           /* --help: signals and endpoints (ends with "\n") */
        service_action actions[SERVICE_ACTIONS_MAX]; /* extra options, unused entries zeroed */
        /* Loads and validates the file at path into the daemon (which keeps path for reloads). On failure
         * a negative errno, one line in ret_error (CONFIG_ERROR_MAX bytes), and nothing to free. */
        int (*config_load)(void *userdata, const char *path, char *ret_error);
        /* The loaded [telemetry] section, for telemetry_start(). */
        const telemetry_config *(*telemetry)(void *userdata);
        /* After telemetry started: everything the daemon serves with, up to the HTTP server created with
         * its routes but not yet listening (*ret_http stays the daemon's, *ret_server is its [server]).
         * 0, or a negative errno (already logged). */
        int (*open)(void *userdata, http_server **ret_http, const http_server_config **ret_server);
        /* Optional, once listening and before READY=1: 0 when the daemon can serve; -ECANCELED when a
         * signal asked it to stop (exit 0); another negative errno (logged) when a dependency is not
         * usable (exit OTELDEMO_EXIT_UNAVAILABLE). */
        int (*wait_ready)(void *userdata);
        service_ops ops; /* SIGHUP, watchdog probe, STATUS= */
        /* Frees all the daemon holds, its configuration too. Called once after config_load succeeded,
         * whatever happened next (after the drain when it served), so it must accept a partial open. */
        void (*close)(void *userdata);
} service_desc;

/* The whole life of a daemon; returns the process exit status (OTELDEMO_EXIT_*): 0 after --help,
 * --version, a valid --check-config or a stop by SIGTERM/SIGINT; 2 for a bad command line; 78 for an
 * invalid configuration; 69 when wait_ready fails; an action's own status; 1 for any other failure. */
int service_main(int argc, char **argv, const service_desc *desc, void *userdata);

/* Blocks SIGTERM, SIGINT and SIGHUP (so that threads created later inherit the mask and the main loop
 * alone takes them) and ignores SIGPIPE. Call first in main(). */
int service_signals_block(void);
/* Before READY=1: calls check every interval_ms until it returns 0 (then 0), while SIGTERM/SIGINT end
 * the wait (-ECANCELED) and SIGHUP is ignored. The first failure is logged as "Waiting for <what>". */
int service_wait_for(int (*check)(void *userdata), void *userdata, unsigned interval_ms, const char *what);
/* Runs until SIGTERM or SIGINT; sends STOPPING=1 and returns the signal number. */
int service_run(const service_ops *ops, void *userdata);
