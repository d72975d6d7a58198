/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo: the command-line client and load generator of the demo shop. Reads the global options,
 * starts the OpenTelemetry SDK (each command is a traced CLIENT call), runs one command, and shuts the
 * SDK down within a bounded time so that a missing collector never holds the shell up.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli-args.h"
#include "commands.h"
#include "config.h"
#include "otel.h"
#include "tls-files.h"
#include "usage.h"

static const struct {
        const char *name;
        int (*run)(const cli_globals *g, int argc, char **argv);
} commands[] = {
        {"users", cmd_users},   {"products", cmd_products}, {"orders", cmd_orders},
        {"faults", cmd_faults}, {"health", cmd_health},     {"load", cmd_load},
};

static const char main_help[] =
        "Usage: oteldemo [GLOBAL OPTIONS] COMMAND [ARGS] [GLOBAL OPTIONS]\n"
        "\n"
        "Commands:\n"
        "  users list|get ID|create --name N --email E\n"
        "  products list [--query Q] [--limit N]|get ID\n"
        "  orders create --user ID --product ID --quantity N [--idempotency-key K]|get ID|list --user ID\n"
        "  faults get|set KEY=VALUE...\n"
        "  health\n"
        "  load [--rate R/s] [--duration D] [--concurrency C] [--mix browse=70,order=20,user=10] [--seed "
        "S]\n"
        "\n"
        "Global options:\n"
        "  --url URL              server to talk to (default $OTELDEMO_URL, else " CLI_DEFAULT_URL ")\n"
        "  --output table|json    output format (default table)\n"
        "  --timeout S            per-request timeout, e.g. 10 or 500ms (default 10s)\n"
        "  --token TOKEN          admin token for 'faults' (default $OTELDEMO_TOKEN)\n"
        "  --token-file PATH      read the admin token from a file only its owner can read\n"
        "                         (default $OTELDEMO_TOKEN_FILE; scripts/demo writes one)\n"
        "  --write-token-file PATH  read the write token (POST /api/users, /api/orders, 'load') from\n"
        "                         a file only its owner can read (default $OTELDEMO_WRITE_TOKEN_FILE)\n"
        "  --admin-url URL        the backend for 'faults' (default $OTELDEMO_ADMIN_URL, else --url\n"
        "                         when given, else " CLI_DEFAULT_ADMIN_URL ")\n"
        "  --cacert FILE          PEM CA certificates that verify an https:// server, instead of the\n"
        "                         system's (default $OTELDEMO_CA_FILE)\n"
        "  --cert FILE, --key FILE\n"
        "                         client certificate and its key (0600) for mutual TLS\n"
        "                         (default $OTELDEMO_CERT_FILE, $OTELDEMO_KEY_FILE)\n"
        "  --verbose, -v          print requests and their trace ids on stderr\n"
        "  --version, --help\n"
        "\n"
        "'oteldemo COMMAND --help' describes a command. Exit status: 0 ok, 1 the request failed,\n"
        "2 usage error, 69 cannot connect. Tracing follows the OTEL_* environment variables.\n";

static const char *env_or_null(const char *name)
{
        const char *v = getenv(name);

        return v && *v ? v : NULL;
}

/* A token file into buf: OTELDEMO_EXIT_OK, or the usage error naming what is wrong with it. */
static int read_token_file(const char *path, char *buf, size_t size)
{
        int r = cli_read_token_file(path, buf, size);

        if (r == -EPERM)
                return cli_usage_error(NULL, "token file %s may be read by others (chmod 600 it)", path);
        if (r == -EBADMSG)
                return cli_usage_error(NULL, "token file %s must hold one line, the token", path);
        if (r < 0)
                return cli_usage_error(NULL, "cannot read token file %s: %s", path, strerror(-r));
        return OTELDEMO_EXIT_OK;
}

/* Global options, up to the command name. Returns OTELDEMO_EXIT_OK, CLI_HELP_SHOWN or a usage error. */
static int parse_globals(int argc, char **argv, cli_globals *g)
{
        static const struct option opts[] = {
                {"url", required_argument, NULL, 'u'},
                {"output", required_argument, NULL, 'o'},
                {"timeout", required_argument, NULL, 't'},
                {"token", required_argument, NULL, 'k'},
                {"token-file", required_argument, NULL, 'f'},
                {"admin-url", required_argument, NULL, 'a'},
                {"cacert", required_argument, NULL, 'C'},
                {"cert", required_argument, NULL, 'c'},
                {"key", required_argument, NULL, 'K'},
                {"write-token-file", required_argument, NULL, 'w'},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {},
        };
        const char *token_file = getenv("OTELDEMO_TOKEN_FILE");
        /* Where each TLS file came from, for the error that names it. */
        const char *tls_src[3] = {"$OTELDEMO_CA_FILE", "$OTELDEMO_CERT_FILE", "$OTELDEMO_KEY_FILE"};
        const char *write_token_file = getenv("OTELDEMO_WRITE_TOKEN_FILE");
        bool url_given = false;
        uint64_t ns;
        int c, r, code;

        *g = (cli_globals){
                .url = getenv("OTELDEMO_URL"),
                .output = CLI_OUTPUT_TABLE,
                .timeout_ms = CLI_DEFAULT_TIMEOUT,
                .token = getenv("OTELDEMO_TOKEN"),
        };
        if (!g->url || !*g->url)
                g->url = CLI_DEFAULT_URL;
        if (g->token && !*g->token)
                g->token = NULL;
        g->admin_url = env_or_null("OTELDEMO_ADMIN_URL");
        g->tls = (cli_tls_files){
                .ca_file = env_or_null("OTELDEMO_CA_FILE"),
                .cert_file = env_or_null("OTELDEMO_CERT_FILE"),
                .key_file = env_or_null("OTELDEMO_KEY_FILE"),
        };
        /* '+': options after the command name belong to the command. */
        while ((c = getopt_long(argc, argv, "+:hv", opts, NULL)) != -1)
                switch (c) {
                case 'o':
                        if (cli_parse_output(optarg, &g->output) < 0)
                                return cli_usage_error(
                                        NULL, "invalid --output '%s' (expected table or json)", optarg);
                        break;
                case 't':
                        if (cli_parse_duration_ns(optarg, &ns) < 0 || ns < UINT64_C(1000000))
                                return cli_usage_error(
                                        NULL,
                                        "invalid --timeout '%s' (expected e.g. 10, 2.5s or 500ms, "
                                        "at least 1ms)",
                                        optarg);
                        g->timeout_ms = ns / UINT64_C(1000000);
                        break;
                case 'k':
                        g->token = optarg;
                        break;
                case 'f':
                        token_file = optarg;
                        break;
                case 'w':
                        write_token_file = optarg;
                        break;
                case 'a':
                        g->admin_url = optarg;
                        break;
                case 'C':
                        g->tls.ca_file = optarg;
                        tls_src[0] = "--cacert";
                        break;
                case 'c':
                        g->tls.cert_file = optarg;
                        tls_src[1] = "--cert";
                        break;
                case 'K':
                        g->tls.key_file = optarg;
                        tls_src[2] = "--key";
                        break;
                case 'u':
                        g->url = optarg;
                        url_given = true;
                        break;
                case 'v':
                        g->verbose = true;
                        break;
                case 'h':
                        fputs(main_help, stdout);
                        return CLI_HELP_SHOWN;
                case 'V':
                        printf("%s %s\n", CLI_PROGRAM_NAME, OTELDEMO_VERSION);
                        return CLI_HELP_SHOWN;
                default:
                        return cli_option_error(NULL, c, argv);
                }
        if (strncmp(g->url, "http://", 7) != 0 && strncmp(g->url, "https://", 8) != 0)
                return cli_usage_error(NULL, "invalid --url '%s' (expected http://HOST[:PORT])", g->url);
        if (!g->admin_url)
                g->admin_url = url_given || getenv("OTELDEMO_URL") ? g->url : CLI_DEFAULT_ADMIN_URL;
        code = cli_tls_files_check(&g->tls, tls_src);
        if (code != OTELDEMO_EXIT_OK)
                return code;
        /* An explicit --token wins over a file, as the command line wins over the environment. */
        if (!g->token && token_file && *token_file) {
                r = read_token_file(token_file, g->token_buf, sizeof(g->token_buf));
                if (r != OTELDEMO_EXIT_OK)
                        return r;
                g->token = g->token_buf;
        }
        if (write_token_file && *write_token_file) {
                r = read_token_file(write_token_file, g->write_token_buf, sizeof(g->write_token_buf));
                if (r != OTELDEMO_EXIT_OK)
                        return r;
                g->write_token = g->write_token_buf;
        }
        return OTELDEMO_EXIT_OK;
}

int main(int argc, char **argv)
{
        const otel_sdk_options otel_opts = {.service_name = CLI_SERVICE_NAME,
                                            .service_version = OTELDEMO_VERSION};
        const char *missing = NULL;
        cli_globals g;
        size_t i;
        int code, r;

        /* Global options may also follow the command ("oteldemo load ... --output json"). */
        r = cli_hoist_global_options(argc, argv, &missing);
        if (r == -EINVAL)
                return cli_usage_error(NULL, "option '%s' needs a value", missing);
        if (r < 0) {
                fprintf(stderr, "%s: out of memory\n", CLI_PROGRAM_NAME);
                return OTELDEMO_EXIT_FAILURE;
        }
        code = parse_globals(argc, argv, &g);
        if (code != OTELDEMO_EXIT_OK)
                return code == CLI_HELP_SHOWN ? OTELDEMO_EXIT_OK : code;
        if (optind >= argc)
                return cli_usage_error(NULL, "missing command (see 'oteldemo --help')");
        for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(argv[optind], commands[i].name) == 0)
                        break;
        if (i == sizeof(commands) / sizeof(commands[0]))
                return cli_usage_error(NULL, "unknown command '%s' (see 'oteldemo --help')", argv[optind]);

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "%s: cannot initialise libcurl\n", CLI_PROGRAM_NAME);
                return OTELDEMO_EXIT_FAILURE;
        }
        /* The CLI records spans only; unless asked for, do not start the metrics and logs pipelines. A
         * short-lived command exports its spans only where a receiver was named (an endpoint, or an
         * exporter chosen explicitly): the default localhost:4318 would mostly mean a warning at exit. */
        (void)setenv("OTEL_METRICS_EXPORTER", "none", 0);
        (void)setenv("OTEL_LOGS_EXPORTER", "none", 0);
        if (!getenv("OTEL_EXPORTER_OTLP_ENDPOINT") && !getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
                (void)setenv("OTEL_TRACES_EXPORTER", "none", 0);
        r = otel_sdk_init(&otel_opts);
        if (r < 0)
                fprintf(stderr, "%s: tracing disabled: %s\n", CLI_PROGRAM_NAME, strerror(-r));

        code = commands[i].run(&g, argc - optind, argv + optind);

        (void)otel_sdk_shutdown(CLI_OTEL_SHUTDOWN_TIMEOUT_MS);
        curl_global_cleanup();
        return code;
}
