/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's usage errors: one line on stderr naming the program, the command and what is wrong, and the
 * exit status OTELDEMO_EXIT_USAGE, so that every parser ends with `return cli_usage_error(...)`.
 */
#pragma once

/* Prints "oteldemo[ CMD]: message" and returns OTELDEMO_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A getopt error (c is ':' for a missing value, else '?') for the option at argv[optind - 1]: one
 * usage line naming it; returns OTELDEMO_EXIT_USAGE. */
int cli_option_error(const char *cmd, int c, char **argv);
