/* SPDX-License-Identifier: Apache-2.0 */
/* Live status line of the load generator (see progress.h). */
#include "progress.h"
#include "schedule.h"

#define PROGRESS_ERASE_EOL "\033[K" /* ECMA-48 EL: erase what a longer previous line left */

void progress_format(const progress_snapshot *s, char *ret, size_t size)
{
        (void)snprintf(ret, size,
                       "elapsed %.1fs  requests %llu  rate %.1f/s (target %.1f/s)  errors %llu  p50 %.2fms  "
                       "p99 %.2fms",
                       (double)s->elapsed_ns / 1e9, (unsigned long long)s->done,
                       schedule_rate(s->done, s->elapsed_ns), s->target_rate, (unsigned long long)s->errors,
                       (double)s->p50_us / 1000.0, (double)s->p99_us / 1000.0);
}

void progress_print(FILE *f, bool tty, const progress_snapshot *s)
{
        char line[PROGRESS_LINE_MAX];

        progress_format(s, line, sizeof(line));
        if (tty)
                fprintf(f, "\r%s" PROGRESS_ERASE_EOL, line);
        else
                fprintf(f, "%s\n", line);
        fflush(f);
}

void progress_finish(FILE *f, bool tty)
{
        if (tty) {
                fputc('\n', f);
                fflush(f);
        }
}
