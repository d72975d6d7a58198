/* SPDX-License-Identifier: Apache-2.0 */
/* SDK self-diagnostics: one line per message on stderr, filtered by OTEL_LOG_LEVEL. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "diag.h"

static const char *const diag_names[_OTEL_DIAG_LEVEL_MAX] = {"error", "warn", "info", "debug"};
static atomic_int diag_level = -1; /* -1 until first use reads OTEL_LOG_LEVEL */

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

void otel_diag(otel_diag_level level, const char *fmt, ...)
{
        int cur = atomic_load_explicit(&diag_level, memory_order_relaxed);
        char line[1024];
        va_list ap;

        if (cur < 0) {
                cur = (int)diag_level_from_env();
                atomic_store(&diag_level, cur);
        }
        if ((int)level > cur)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        /* One write per message, so that lines from several threads do not interleave. */
        fprintf(stderr, "otel: %s: %s\n", level == OTEL_DIAG_WARN ? "warning" : diag_names[level], line);
}
