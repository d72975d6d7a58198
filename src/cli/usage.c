/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's usage errors (see usage.h). */
#include "usage.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s%s%s: ", CLI_PROGRAM_NAME, cmd ? " " : "", cmd ? cmd : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return OTELDEMO_EXIT_USAGE;
}

int cli_option_error(const char *cmd, int c, char **argv)
{
        if (c == ':')
                return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}
