/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The oteldemo commands. Each takes the global options and its own argv (argv[0] is the command name)
 * and returns the process exit code (CLI_EXIT_*).
 */
#pragma once

#include <json-c/json.h>

#include "cli.h"
#include "http-client.h"

int cmd_users(const cli_globals *g, int argc, char **argv);
int cmd_products(const cli_globals *g, int argc, char **argv);
int cmd_orders(const cli_globals *g, int argc, char **argv);
int cmd_faults(const cli_globals *g, int argc, char **argv);
int cmd_health(const cli_globals *g, int argc, char **argv);
int cmd_load(const cli_globals *g, int argc, char **argv);

/* One API call as a command does it: sends req, and on success returns OTELDEMO_EXIT_OK with the parsed
 * JSON reply in *ret_json (NULL for an empty body; the caller puts it). Otherwise prints one line on
 * stderr — the API's error message and trace id, or why no reply came — and returns OTELDEMO_EXIT_FAILURE
 * or OTELDEMO_EXIT_UNAVAILABLE. With --verbose, the request line and its trace id go to stderr too. */
int cli_api_call(const cli_globals *g, const char *cmd, const http_client_request *req,
                 json_object **ret_json);

/* "GROUP SUBCOMMAND …": runs the subcommand named by argv[1] with argv + 1, or prints help. */
typedef struct cli_subcommand {
        const char *name;
        int (*run)(const cli_globals *g, int argc, char **argv);
} cli_subcommand;
int cli_dispatch(const cli_globals *g, const char *group, const char *help, const cli_subcommand *subs,
                 size_t n_subs, int argc, char **argv);

/* What an option parser returns after printing --help (the command then exits 0). */
#define CLI_HELP_SHOWN (-1)

/* Parses a positional ID argument for cmd (argv[optind]); exactly one must be present. */
int cli_positional_id(const char *cmd, int argc, char **argv, int64_t *ret);
