/* SPDX-License-Identifier: Apache-2.0 */
/* SDK self-diagnostics: one message per call, filtered by OTEL_LOG_LEVEL, to the application's
 * handler or as one line on stderr. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "diag.h"

#define OTEL_DIAG_LINE_MAX 1024 /* longer messages are cut */

static const char *const diag_names[_OTEL_DIAG_LEVEL_MAX] = {"error", "warn", "info", "debug"};
static atomic_int diag_level = -1;                /* -1 until first use reads OTEL_LOG_LEVEL */
static otel_diag_handler_fn _Atomic diag_handler; /* NULL = stderr */
static void *_Atomic diag_userdata;               /* passed to diag_handler */
static _Thread_local bool diag_in_handler;        /* this thread runs diag_handler */

static otel_diag_level diag_level_from_env(void)
{
        const char *v = getenv("OTEL_LOG_LEVEL");

        if (!v || !*v)
                return OTEL_DIAG_INFO;
        for (int i = 0; i < _OTEL_DIAG_LEVEL_MAX; i++)
                if (strcasecmp(v, diag_names[i]) == 0)
                        return (otel_diag_level)i;
        if (strcasecmp(v, "warning") == 0)
                return OTEL_DIAG_WARN;
        fprintf(stderr, "otel: warning: invalid OTEL_LOG_LEVEL=\"%s\", using \"info\"\n", v);
        return OTEL_DIAG_INFO;
}

void otel_diag_set_level(otel_diag_level level)
{
        atomic_store(&diag_level, (int)level);
}

void otel_diag_set_handler(otel_diag_handler_fn fn, void *userdata)
{
        atomic_store(&diag_userdata, userdata);
        atomic_store(&diag_handler, fn);
}

bool otel_diag_in_handler(void)
{
        return diag_in_handler;
}

void otel_diag(otel_diag_level level, const char *fmt, ...)
{
        int cur = atomic_load_explicit(&diag_level, memory_order_relaxed);
        otel_diag_handler_fn fn;
        char line[OTEL_DIAG_LINE_MAX];
        va_list ap;

        if (cur < 0) {
                cur = (int)diag_level_from_env();
                atomic_store(&diag_level, cur);
        }
        if ((int)level < 0 || (int)level > cur)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        fn = atomic_load(&diag_handler);
        /* A diagnostic raised while the handler runs (its own logging failed) goes to stderr. */
        if (fn && !diag_in_handler) {
                diag_in_handler = true;
                fn(level, line, atomic_load(&diag_userdata));
                diag_in_handler = false;
                return;
        }
        /* One write per message, so that lines from several threads do not interleave. */
        fprintf(stderr, "otel: %s: %s\n", level == OTEL_DIAG_WARN ? "warning" : diag_names[level], line);
}
