/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operator commands: fault flags (GET/PUT /admin/faults with the bearer token) and health
 * (/healthz and /readyz of the server at --url; a frontend's /readyz in turn checks its backend).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-args.h"
#include "commands.h"
#include "output.h"
#include "usage.h"

#define FAULTS_LATENCY_MAX_MS 60000 /* the API's bound for added latencies */

typedef enum fault_type {
        FAULT_RATE,    /* 0..1 */
        FAULT_MS,      /* 0..FAULTS_LATENCY_MAX_MS */
        FAULT_BOOL,    /* true/false */
        FAULT_ID_OR_0, /* a product id, 0 = off */
} fault_type;

static const struct {
        const char *key;
        fault_type type;
} fault_keys[] = {
        {"payment_failure_rate", FAULT_RATE},  {"payment_latency_ms", FAULT_MS},
        {"payment_unreachable", FAULT_BOOL},   {"db_slow_query_ms", FAULT_MS},
        {"product_failure_id", FAULT_ID_OR_0},
};

#define N_FAULT_KEYS (sizeof(fault_keys) / sizeof(fault_keys[0]))

static const char faults_help[] =
        "Usage: oteldemo [GLOBAL OPTIONS] faults COMMAND\n"
        "\n"
        "  faults get                            show the fault flags (GET /admin/faults)\n"
        "  faults set KEY=VALUE...               change some of them (PUT /admin/faults)\n"
        "\n"
        "Keys: payment_failure_rate=0..1, payment_latency_ms=0..60000, payment_unreachable=true|false,\n"
        "      db_slow_query_ms=0..60000, product_failure_id=ID (0 = off).\n"
        "Fault flags live in the backend's admin endpoint: --admin-url (default $OTELDEMO_ADMIN_URL, else\n"
        "--url when given, else " CLI_DEFAULT_ADMIN_URL "). The admin token comes from --token,\n"
        "$OTELDEMO_TOKEN, --token-file or $OTELDEMO_TOKEN_FILE (scripts/demo writes one and prints it).\n";

static const output_column fault_cols[] = {
        {"key", "FAULT", OUTPUT_TEXT},
        {"value", "VALUE", OUTPUT_TEXT},
};

/* Faults as a two-column table, in the order the API sent them. */
static void print_faults(const cli_globals *g, json_object *reply)
{
        json_object *rows;

        if (g->output == CLI_OUTPUT_JSON || !json_object_is_type(reply, json_type_object)) {
                output_json(stdout, reply);
                return;
        }
        rows = json_object_new_array();
        if (!rows) {
                output_json(stdout, reply);
                return;
        }
        json_object_object_foreach(reply, key, val)
        {
                json_object *row = json_object_new_object();

                if (!row || json_object_array_add(rows, row) < 0) {
                        json_object_put(row);
                        break;
                }
                (void)json_object_object_add(row, "key", json_object_new_string(key));
                (void)json_object_object_add(row, "value", json_object_get(val));
        }
        (void)output_table(stdout, rows, fault_cols, sizeof(fault_cols) / sizeof(fault_cols[0]));
        json_object_put(rows);
}

static int faults_parse_help(const char *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c;

        optind = 0;
        /* '+': stop at the first KEY=VALUE so that values are never taken for options. */
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1)
                switch (c) {
                case 'h':
                        fputs(faults_help, stdout);
                        return CLI_HELP_SHOWN;
                default:
                        return cli_option_error(cmd, c, argv);
                }
        return OTELDEMO_EXIT_OK;
}

static int faults_get(const cli_globals *g, int argc, char **argv)
{
        json_object *reply;
        int code;

        code = faults_parse_help("faults get", argc, argv);
        if (code != OTELDEMO_EXIT_OK)
                return code == CLI_HELP_SHOWN ? OTELDEMO_EXIT_OK : code;
        if (optind < argc)
                return cli_usage_error("faults get", "unexpected argument '%s'", argv[optind]);
        code = cli_api_call(
                g, "faults get",
                &(http_client_request){
                        .method = "GET", .path = "/admin/faults", .route = "/admin/faults", .auth = true},
                &reply);
        if (code == OTELDEMO_EXIT_OK && reply)
                print_faults(g, reply);
        json_object_put(reply);
        return code;
}

/* Strict decimal in [0, 1]: "0", "1", "0.25" (no exponent, sign or blanks). */
static int parse_rate_value(const char *s, double *ret)
{
        char *end;
        double v;

        if (!(*s >= '0' && *s <= '9'))
                return -EINVAL;
        if (strspn(s, "0123456789.") != strlen(s))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || !isfinite(v))
                return -EINVAL;
        if (v < 0.0 || v > 1.0)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* KEY=VALUE → a typed JSON member of obj; a usage error line names what is wrong. */
static int fault_assignment(json_object *obj, const char *arg)
{
        const char *eq = strchr(arg, '='), *value;
        json_object *v = NULL;
        size_t i, klen;

        if (!eq || eq == arg)
                return cli_usage_error("faults set", "expected KEY=VALUE, got '%s'", arg);
        klen = (size_t)(eq - arg);
        value = eq + 1;
        for (i = 0; i < N_FAULT_KEYS; i++)
                if (strlen(fault_keys[i].key) == klen && strncmp(arg, fault_keys[i].key, klen) == 0)
                        break;
        if (i == N_FAULT_KEYS)
                return cli_usage_error("faults set", "unknown fault '%.*s' (see 'oteldemo faults --help')",
                                       (int)klen, arg);
        switch (fault_keys[i].type) {
        case FAULT_RATE: {
                double d;

                if (parse_rate_value(value, &d) < 0)
                        return cli_usage_error("faults set", "invalid %s '%s' (expected 0..1)",
                                               fault_keys[i].key, value);
                v = json_object_new_double(d);
                break;
        }
        case FAULT_MS: {
                uint64_t ms;

                if (cli_parse_uint(value, 0, FAULTS_LATENCY_MAX_MS, &ms) < 0)
                        return cli_usage_error("faults set", "invalid %s '%s' (expected 0..%d)",
                                               fault_keys[i].key, value, FAULTS_LATENCY_MAX_MS);
                v = json_object_new_int64((int64_t)ms);
                break;
        }
        case FAULT_BOOL:
                if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
                        v = json_object_new_boolean(1);
                else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
                        v = json_object_new_boolean(0);
                else
                        return cli_usage_error("faults set", "invalid %s '%s' (expected true or false)",
                                               fault_keys[i].key, value);
                break;
        case FAULT_ID_OR_0: {
                uint64_t id;

                if (cli_parse_uint(value, 0, INT64_MAX, &id) < 0)
                        return cli_usage_error("faults set",
                                               "invalid %s '%s' (expected a product id, 0 = off)",
                                               fault_keys[i].key, value);
                v = json_object_new_int64((int64_t)id);
                break;
        }
        }
        if (!v || json_object_object_add(obj, fault_keys[i].key, v) < 0) {
                json_object_put(v);
                fprintf(stderr, "%s faults set: out of memory\n", CLI_PROGRAM_NAME);
                return OTELDEMO_EXIT_FAILURE;
        }
        return OTELDEMO_EXIT_OK;
}

static int faults_set(const cli_globals *g, int argc, char **argv)
{
        json_object *body, *reply = NULL;
        int code;

        code = faults_parse_help("faults set", argc, argv);
        if (code != OTELDEMO_EXIT_OK)
                return code == CLI_HELP_SHOWN ? OTELDEMO_EXIT_OK : code;
        if (optind >= argc)
                return cli_usage_error("faults set", "expected at least one KEY=VALUE");
        if (!g->token)
                return cli_usage_error("faults set", "the admin token is required (--token, OTELDEMO_TOKEN, "
                                                     "--token-file or OTELDEMO_TOKEN_FILE)");
        body = json_object_new_object();
        if (!body) {
                fprintf(stderr, "%s faults set: out of memory\n", CLI_PROGRAM_NAME);
                return OTELDEMO_EXIT_FAILURE;
        }
        for (int i = optind; i < argc; i++) {
                code = fault_assignment(body, argv[i]);
                if (code != OTELDEMO_EXIT_OK)
                        goto out;
        }
        code = cli_api_call(g, "faults set",
                            &(http_client_request){.method = "PUT",
                                                   .path = "/admin/faults",
                                                   .route = "/admin/faults",
                                                   .json_body = json_object_to_json_string_ext(
                                                           body, JSON_C_TO_STRING_PLAIN),
                                                   .auth = true},
                            &reply);
        if (code == OTELDEMO_EXIT_OK && reply)
                print_faults(g, reply);
out:
        json_object_put(reply);
        json_object_put(body);
        return code;
}

int cmd_faults(const cli_globals *g, int argc, char **argv)
{
        static const cli_subcommand subs[] = {
                {"get", faults_get},
                {"set", faults_set},
        };

        cli_globals admin = *g;

        admin.url = g->admin_url;
        return cli_dispatch(&admin, "faults", faults_help, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}

/* ---- health ----------------------------------------------------------------------------------- */

static const char health_help[] =
        "Usage: oteldemo [GLOBAL OPTIONS] health\n"
        "\n"
        "Checks GET /healthz (alive) and GET /readyz (dependencies answer) of the server at --url.\n"
        "Exit status 0 only when both answer 200; 1 when one does not; 69 when the server cannot be "
        "reached.\n";

typedef struct health_probe {
        const char *path;                   /* "/healthz" */
        long status;                        /* HTTP status, 0 when unreachable */
        char detail[HTTP_CLIENT_ERROR_MAX]; /* the reply's first line, or the transport error */
        char trace_id[OTEL_TRACE_ID_HEX + 1];
        int r; /* http_client_do() result */
} health_probe;

static void health_probe_run(http_client *client, health_probe *p)
{
        http_client_response resp;

        p->r = http_client_do(
                client, &(http_client_request){.method = "GET", .path = p->path, .route = p->path}, &resp);
        p->status = resp.status;
        memcpy(p->trace_id, resp.trace_id, sizeof(p->trace_id));
        if (p->r < 0)
                (void)snprintf(p->detail, sizeof(p->detail), "%s",
                               resp.error[0] ? resp.error : strerror(-p->r));
        else if (resp.body)
                (void)snprintf(p->detail, sizeof(p->detail), "%.*s", (int)strcspn(resp.body, "\r\n"),
                               resp.body);
        http_client_response_done(&resp);
}

static json_object *health_probe_json(const health_probe *p)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        (void)json_object_object_add(o, "status", json_object_new_int64(p->status));
        (void)json_object_object_add(o, "ok", json_object_new_boolean(p->status == 200));
        (void)json_object_object_add(o, "detail", json_object_new_string(p->detail));
        (void)json_object_object_add(o, "trace_id", json_object_new_string(p->trace_id));
        return o;
}

int cmd_health(const cli_globals *g, int argc, char **argv)
{
        health_probe probes[] = {{.path = "/healthz"}, {.path = "/readyz"}};
        const size_t n = sizeof(probes) / sizeof(probes[0]);
        http_client *client;
        bool all_ok = true, unreachable = false;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h",
                                (const struct option[]){{"help", no_argument, NULL, 'h'}, {}}, NULL)) != -1)
                switch (c) {
                case 'h':
                        fputs(health_help, stdout);
                        return OTELDEMO_EXIT_OK;
                default:
                        return cli_option_error("health", c, argv);
                }
        if (optind < argc)
                return cli_usage_error("health", "unexpected argument '%s'", argv[optind]);
        r = http_client_new(g->url, g->timeout_ms, NULL, NULL, &g->tls, &client);
        if (r < 0)
                return cli_usage_error(NULL, "invalid URL '%s' (expected http://HOST[:PORT])", g->url);
        for (size_t i = 0; i < n; i++) {
                health_probe_run(client, &probes[i]);
                if (g->verbose && probes[i].trace_id[0])
                        fprintf(stderr, "%s trace_id %s\n", probes[i].path, probes[i].trace_id);
                all_ok = all_ok && probes[i].status == 200;
                unreachable = unreachable || probes[i].r < 0;
        }
        http_client_free(client);

        if (g->output == CLI_OUTPUT_JSON) {
                json_object *o = json_object_new_object();

                if (o) {
                        for (size_t i = 0; i < n; i++)
                                (void)json_object_object_add(o, probes[i].path + 1,
                                                             health_probe_json(&probes[i]));
                        (void)json_object_object_add(o, "url", json_object_new_string(g->url));
                        (void)json_object_object_add(o, "ready", json_object_new_boolean(all_ok));
                        output_json(stdout, o);
                        json_object_put(o);
                }
        } else {
                printf("%-8s  %-6s  %s\n", "CHECK", "STATUS", "DETAIL");
                for (size_t i = 0; i < n; i++) {
                        char status[16];

                        if (probes[i].r < 0)
                                (void)snprintf(status, sizeof(status), "-");
                        else
                                (void)snprintf(status, sizeof(status), "%ld", probes[i].status);
                        printf("%-8s  %-6s  %s\n", probes[i].path + 1, status, probes[i].detail);
                }
        }
        if (unreachable) {
                fprintf(stderr, "%s health: cannot reach %s\n", CLI_PROGRAM_NAME, g->url);
                return OTELDEMO_EXIT_UNAVAILABLE;
        }
        if (!all_ok) {
                fprintf(stderr, "%s health: %s is not ready\n", CLI_PROGRAM_NAME, g->url);
                return OTELDEMO_EXIT_FAILURE;
        }
        return OTELDEMO_EXIT_OK;
}
