/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shop commands: users, products and orders, plus the one helper every command uses to make its
 * API call and turn the outcome into an exit code and an error line.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli-args.h"
#include "commands.h"
#include "output.h"
#include "usage.h"

#define CLI_PATH_MAX       512 /* path and query we build */
#define CLI_LIST_LIMIT_MAX 200 /* the API's own maximum page */

static const output_column user_cols[] = {
        {"id", "ID", OUTPUT_TEXT},
        {"name", "NAME", OUTPUT_TEXT},
        {"email", "EMAIL", OUTPUT_TEXT},
        {"created_at", "CREATED", OUTPUT_TEXT},
};

static const output_column product_cols[] = {
        {"id", "ID", OUTPUT_TEXT},       {"sku", "SKU", OUTPUT_TEXT},
        {"name", "NAME", OUTPUT_TEXT},   {"price_cents", "PRICE", OUTPUT_MONEY},
        {"stock", "STOCK", OUTPUT_TEXT},
};

static const output_column product_record_cols[] = {
        {"id", "ID", OUTPUT_TEXT},
        {"sku", "SKU", OUTPUT_TEXT},
        {"name", "NAME", OUTPUT_TEXT},
        {"description", "DESCRIPTION", OUTPUT_TEXT},
        {"price_cents", "PRICE", OUTPUT_MONEY},
        {"stock", "STOCK", OUTPUT_TEXT},
};

static const output_column order_cols[] = {
        {"id", "ID", OUTPUT_TEXT},         {"user_id", "USER", OUTPUT_TEXT},
        {"status", "STATUS", OUTPUT_TEXT}, {"total_cents", "TOTAL", OUTPUT_MONEY},
        {"items", "ITEMS", OUTPUT_COUNT},  {"created_at", "CREATED", OUTPUT_TEXT},
};

static const output_column order_item_cols[] = {
        {"product_id", "PRODUCT", OUTPUT_TEXT},
        {"quantity", "QUANTITY", OUTPUT_TEXT},
        {"unit_price_cents", "UNIT PRICE", OUTPUT_MONEY},
};

#define N_COLS(a) (sizeof(a) / sizeof((a)[0]))

int cli_dispatch(const cli_globals *g, const char *group, const char *help, const cli_subcommand *subs,
                 size_t n_subs, int argc, char **argv)
{
        if (argc < 2)
                return cli_usage_error(group, "missing subcommand (see '%s %s --help')", CLI_PROGRAM_NAME,
                                       group);
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                fputs(help, stdout);
                return OTELDEMO_EXIT_OK;
        }
        for (size_t i = 0; i < n_subs; i++)
                if (strcmp(argv[1], subs[i].name) == 0)
                        return subs[i].run(g, argc - 1, argv + 1);
        return cli_usage_error(group, "unknown subcommand '%s' (see '%s %s --help')", argv[1],
                               CLI_PROGRAM_NAME, group);
}

int cli_positional_id(const char *cmd, int argc, char **argv, int64_t *ret)
{
        if (optind >= argc)
                return cli_usage_error(cmd, "missing ID");
        if (optind + 1 < argc)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
        if (cli_parse_id(argv[optind], ret) < 0)
                return cli_usage_error(cmd, "invalid ID '%s' (expected a whole number > 0)", argv[optind]);
        return OTELDEMO_EXIT_OK;
}

static int no_positional(const char *cmd, int argc, char **argv)
{
        if (optind < argc)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        return OTELDEMO_EXIT_OK;
}

static json_object *parse_json(const char *body, size_t len)
{
        json_tokener *tok = json_tokener_new();
        json_object *obj;

        if (!tok)
                return NULL;
        obj = json_tokener_parse_ex(tok, body, (int)len);
        if (json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(obj);
                obj = NULL;
        }
        json_tokener_free(tok);
        return obj;
}

/* The API's {"error": …} message, or the first line of a non-JSON body, or the status alone. */
static void print_api_error(const char *cmd, const http_client_response *resp)
{
        json_object *err = resp->body ? parse_json(resp->body, resp->body_len) : NULL, *msg = NULL,
                    *tid = NULL;
        const char *trace_id = resp->trace_id;

        if (err && json_object_is_type(err, json_type_object)) {
                (void)json_object_object_get_ex(err, "error", &msg);
                (void)json_object_object_get_ex(err, "trace_id", &tid);
                /* The server's trace id is the one to search for; it is ours unless a proxy restarted it. */
                if (tid && json_object_is_type(tid, json_type_string))
                        trace_id = json_object_get_string(tid);
        }
        if (msg)
                fprintf(stderr, "%s %s: HTTP %ld: %s", CLI_PROGRAM_NAME, cmd, resp->status,
                        json_object_get_string(msg));
        else if (resp->body && resp->body_len > 0)
                fprintf(stderr, "%s %s: HTTP %ld: %.*s", CLI_PROGRAM_NAME, cmd, resp->status,
                        (int)strcspn(resp->body, "\r\n"), resp->body);
        else
                fprintf(stderr, "%s %s: HTTP %ld", CLI_PROGRAM_NAME, cmd, resp->status);
        if (trace_id && *trace_id)
                fprintf(stderr, " (trace_id %s)", trace_id);
        fputc('\n', stderr);
        json_object_put(err);
}

int cli_api_call(const cli_globals *g, const char *cmd, const http_client_request *req,
                 json_object **ret_json)
{
        http_client_response resp;
        http_client *client;
        int r, code;

        *ret_json = NULL;
        r = http_client_new(g->url, g->timeout_ms, g->token, g->write_token, &g->tls, &client);
        if (r == -ENOMEM) {
                fprintf(stderr, "%s %s: out of memory\n", CLI_PROGRAM_NAME, cmd);
                return OTELDEMO_EXIT_FAILURE;
        }
        if (r < 0)
                return cli_usage_error(NULL, "invalid URL '%s' (expected http://HOST[:PORT])", g->url);
        if (g->verbose)
                fprintf(stderr, "> %s %s%s\n", req->method, g->url, req->path);
        r = http_client_do(client, req, &resp);
        if (g->verbose && resp.trace_id[0])
                fprintf(stderr, "trace_id %s\n", resp.trace_id);
        if (r < 0) {
                fprintf(stderr, "%s %s: cannot reach %s: %s", CLI_PROGRAM_NAME, cmd, g->url,
                        resp.error[0] ? resp.error : strerror(-r));
                if (resp.trace_id[0])
                        fprintf(stderr, " (trace_id %s)", resp.trace_id);
                fputc('\n', stderr);
                code = r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EIO ? OTELDEMO_EXIT_UNAVAILABLE
                                                                          : OTELDEMO_EXIT_FAILURE;
                goto out;
        }
        if (g->verbose)
                fprintf(stderr, "< HTTP %ld\n", resp.status);
        if (resp.status < 200 || resp.status >= 300) {
                print_api_error(cmd, &resp);
                code = OTELDEMO_EXIT_FAILURE;
                goto out;
        }
        if (resp.body_len > 0) {
                *ret_json = parse_json(resp.body, resp.body_len);
                if (!*ret_json) {
                        fprintf(stderr, "%s %s: the reply is not valid JSON (trace_id %s)\n",
                                CLI_PROGRAM_NAME, cmd, resp.trace_id);
                        code = OTELDEMO_EXIT_FAILURE;
                        goto out;
                }
        }
        code = OTELDEMO_EXIT_OK;
out:
        http_client_response_done(&resp);
        http_client_free(client);
        return code;
}

/* A list reply: {"items": [...], "total": N, …} (or a bare array); prints a table or the JSON. */
static void print_list(const cli_globals *g, json_object *reply, const output_column *cols, size_t n_cols)
{
        json_object *items = reply, *total = NULL;

        if (g->output == CLI_OUTPUT_JSON) {
                output_json(stdout, reply);
                return;
        }
        if (json_object_is_type(reply, json_type_object)) {
                (void)json_object_object_get_ex(reply, "items", &items);
                (void)json_object_object_get_ex(reply, "total", &total);
        }
        if (!items || output_table(stdout, items, cols, n_cols) < 0) {
                output_json(stdout, reply);
                return;
        }
        if (total)
                printf("(%zu of %" PRId64 ")\n", json_object_array_length(items),
                       json_object_get_int64(total));
}

static void print_record(const cli_globals *g, json_object *reply, const output_column *cols, size_t n_cols)
{
        if (g->output == CLI_OUTPUT_JSON || output_record(stdout, reply, cols, n_cols) < 0)
                output_json(stdout, reply);
}

static void print_order(const cli_globals *g, json_object *order)
{
        json_object *items = NULL;

        print_record(g, order, order_cols, N_COLS(order_cols));
        if (g->output == CLI_OUTPUT_JSON)
                return;
        if (json_object_object_get_ex(order, "items", &items) &&
            json_object_is_type(items, json_type_array)) {
                fputc('\n', stdout);
                (void)output_table(stdout, items, order_item_cols, N_COLS(order_item_cols));
        }
}

typedef void (*print_fn)(const cli_globals *g, json_object *reply, const output_column *cols, size_t n_cols);

/* Runs one call and prints its reply with print (NULL: nothing to print). */
static int call_and_print(const cli_globals *g, const char *cmd, const http_client_request *req,
                          print_fn print, const output_column *cols, size_t n_cols)
{
        json_object *reply;
        int code;

        code = cli_api_call(g, cmd, req, &reply);
        if (code == OTELDEMO_EXIT_OK && reply && print)
                print(g, reply, cols, n_cols);
        json_object_put(reply);
        return code;
}

static const struct option help_only[] = {
        {"help", no_argument, NULL, 'h'},
        {},
};

/* Options of "X get ID": only --help. Returns OTELDEMO_EXIT_OK with *ret_id, CLI_HELP_SHOWN, or a usage
 * error. */
static int parse_get_args(const char *cmd, const char *help, int argc, char **argv, int64_t *ret_id)
{
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", help_only, NULL)) != -1)
                switch (c) {
                case 'h':
                        fputs(help, stdout);
                        return CLI_HELP_SHOWN;
                default:
                        return cli_option_error(cmd, c, argv);
                }
        return cli_positional_id(cmd, argc, argv, ret_id);
}

/* "X get ID": GET route with {id} replaced by ID, the reply printed with print. */
static int get_by_id(const cli_globals *g, const char *cmd, const char *help, int argc, char **argv,
                     const char *route, print_fn print, const output_column *cols, size_t n_cols)
{
        const char *hole = strstr(route, "{id}");
        char path[CLI_PATH_MAX];
        int64_t id;
        int code;

        code = parse_get_args(cmd, help, argc, argv, &id);
        if (code != OTELDEMO_EXIT_OK)
                return code == CLI_HELP_SHOWN ? OTELDEMO_EXIT_OK : code;
        (void)snprintf(path, sizeof(path), "%.*s%" PRId64 "%s", (int)(hole - route), route, id,
                       hole + strlen("{id}"));
        return call_and_print(g, cmd, &(http_client_request){.method = "GET", .path = path, .route = route},
                              print, cols, n_cols);
}

/* --limit N (1..CLI_LIST_LIMIT_MAX) or --offset N (>= 0) of a list command: OTELDEMO_EXIT_OK or a usage
 * error. */
static int paging_option(const char *cmd, int c, const char *arg, uint64_t *limit, uint64_t *offset)
{
        if (c == 'l' && cli_parse_uint(arg, 1, CLI_LIST_LIMIT_MAX, limit) < 0)
                return cli_usage_error(cmd, "invalid --limit '%s' (expected 1..%d)", arg,
                                       CLI_LIST_LIMIT_MAX);
        if (c == 'o' && cli_parse_uint(arg, 0, INT64_MAX, offset) < 0)
                return cli_usage_error(cmd, "invalid --offset '%s' (expected a number >= 0)", arg);
        return OTELDEMO_EXIT_OK;
}

/* --user ID: OTELDEMO_EXIT_OK or a usage error. */
static int user_option(const char *cmd, const char *arg, int64_t *ret)
{
        if (cli_parse_id(arg, ret) < 0)
                return cli_usage_error(cmd, "invalid --user '%s' (expected an id > 0)", arg);
        return OTELDEMO_EXIT_OK;
}

/* ---- users ------------------------------------------------------------------------------------ */

static const char users_help[] =
        "Usage: oteldemo [GLOBAL OPTIONS] users COMMAND\n"
        "\n"
        "  users list [--limit N] [--offset N]   list users (GET /api/users)\n"
        "  users get ID                          show one user (GET /api/users/ID)\n"
        "  users create --name NAME --email EMAIL\n"
        "                                        create a user (POST /api/users)\n";

static int users_list(const cli_globals *g, int argc, char **argv)
{
        static const struct option opts[] = {
                {"limit", required_argument, NULL, 'l'},
                {"offset", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *cmd = "users list";
        uint64_t limit = 0, offset = 0;
        bool have_limit = false;
        char path[CLI_PATH_MAX];
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
                switch (c) {
                case 'l':
                case 'o':
                        if (paging_option(cmd, c, optarg, &limit, &offset) != OTELDEMO_EXIT_OK)
                                return OTELDEMO_EXIT_USAGE;
                        have_limit |= c == 'l';
                        break;
                case 'h':
                        fputs(users_help, stdout);
                        return OTELDEMO_EXIT_OK;
                default:
                        return cli_option_error(cmd, c, argv);
                }
        if (no_positional(cmd, argc, argv) != OTELDEMO_EXIT_OK)
                return OTELDEMO_EXIT_USAGE;
        if (have_limit)
                (void)snprintf(path, sizeof(path), "/api/users?limit=%" PRIu64 "&offset=%" PRIu64, limit,
                               offset);
        else
                (void)snprintf(path, sizeof(path), "/api/users?offset=%" PRIu64, offset);
        return call_and_print(g, cmd,
                              &(http_client_request){.method = "GET", .path = path, .route = "/api/users"},
                              print_list, user_cols, N_COLS(user_cols));
}

static int users_get(const cli_globals *g, int argc, char **argv)
{
        return get_by_id(g, "users get", users_help, argc, argv, "/api/users/{id}", print_record, user_cols,
                         N_COLS(user_cols));
}

static int users_create(const cli_globals *g, int argc, char **argv)
{
        static const struct option opts[] = {
                {"name", required_argument, NULL, 'n'},
                {"email", required_argument, NULL, 'e'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *cmd = "users create", *name = NULL, *email = NULL;
        json_object *body;
        int c, code;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
                switch (c) {
                case 'n':
                        name = optarg;
                        break;
                case 'e':
                        email = optarg;
                        break;
                case 'h':
                        fputs(users_help, stdout);
                        return OTELDEMO_EXIT_OK;
                default:
                        return cli_option_error(cmd, c, argv);
                }
        if (no_positional(cmd, argc, argv) != OTELDEMO_EXIT_OK)
                return OTELDEMO_EXIT_USAGE;
        /* Only presence is checked here; lengths and the address syntax are the API's rules (400). */
        if (!name || !*name)
                return cli_usage_error(cmd, "--name is required");
        if (!email || !*email)
                return cli_usage_error(cmd, "--email is required");
        if (!strchr(email, '@'))
                return cli_usage_error(cmd, "invalid --email '%s' (expected NAME@DOMAIN)", email);
        body = json_object_new_object();
        if (!body || json_object_object_add(body, "name", json_object_new_string(name)) < 0 ||
            json_object_object_add(body, "email", json_object_new_string(email)) < 0) {
                json_object_put(body);
                fprintf(stderr, "%s %s: out of memory\n", CLI_PROGRAM_NAME, cmd);
                return OTELDEMO_EXIT_FAILURE;
        }
        code = call_and_print(g, cmd,
                              &(http_client_request){.method = "POST",
                                                     .path = "/api/users",
                                                     .route = "/api/users",
                                                     .json_body = json_object_to_json_string_ext(
                                                             body, JSON_C_TO_STRING_PLAIN)},
                              print_record, user_cols, N_COLS(user_cols));
        json_object_put(body);
        return code;
}

int cmd_users(const cli_globals *g, int argc, char **argv)
{
        static const cli_subcommand subs[] = {
                {"list", users_list},
                {"get", users_get},
                {"create", users_create},
        };

        return cli_dispatch(g, "users", users_help, subs, N_COLS(subs), argc, argv);
}

/* ---- products --------------------------------------------------------------------------------- */

static const char products_help[] =
        "Usage: oteldemo [GLOBAL OPTIONS] products COMMAND\n"
        "\n"
        "  products list [--query Q] [--limit N] [--offset N]\n"
        "                                        list or search the catalogue (GET /api/products)\n"
        "  products get ID                       show one product (GET /api/products/ID)\n";

static int products_list(const cli_globals *g, int argc, char **argv)
{
        static const struct option opts[] = {
                {"query", required_argument, NULL, 'q'},
                {"limit", required_argument, NULL, 'l'},
                {"offset", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *cmd = "products list", *query = NULL;
        uint64_t limit = 0, offset = 0;
        char path[CLI_PATH_MAX], *escaped = NULL;
        size_t len;
        int c, code;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
                switch (c) {
                case 'q':
                        query = optarg;
                        break;
                case 'l':
                case 'o':
                        if (paging_option(cmd, c, optarg, &limit, &offset) != OTELDEMO_EXIT_OK)
                                return OTELDEMO_EXIT_USAGE;
                        break;
                case 'h':
                        fputs(products_help, stdout);
                        return OTELDEMO_EXIT_OK;
                default:
                        return cli_option_error(cmd, c, argv);
                }
        if (no_positional(cmd, argc, argv) != OTELDEMO_EXIT_OK)
                return OTELDEMO_EXIT_USAGE;
        len = (size_t)snprintf(path, sizeof(path), "/api/products?offset=%" PRIu64, offset);
        if (limit)
                len += (size_t)snprintf(path + len, sizeof(path) - len, "&limit=%" PRIu64, limit);
        if (query) {
                escaped = curl_easy_escape(NULL, query, 0);
                if (!escaped) {
                        fprintf(stderr, "%s %s: out of memory\n", CLI_PROGRAM_NAME, cmd);
                        return OTELDEMO_EXIT_FAILURE;
                }
                if (strlen(escaped) + len + sizeof("&q=") > sizeof(path)) {
                        curl_free(escaped);
                        return cli_usage_error(cmd, "--query is too long");
                }
                (void)snprintf(path + len, sizeof(path) - len, "&q=%s", escaped);
                curl_free(escaped);
        }
        code = call_and_print(
                g, cmd, &(http_client_request){.method = "GET", .path = path, .route = "/api/products"},
                print_list, product_cols, N_COLS(product_cols));
        return code;
}

static int products_get(const cli_globals *g, int argc, char **argv)
{
        return get_by_id(g, "products get", products_help, argc, argv, "/api/products/{id}", print_record,
                         product_record_cols, N_COLS(product_record_cols));
}

int cmd_products(const cli_globals *g, int argc, char **argv)
{
        static const cli_subcommand subs[] = {
                {"list", products_list},
                {"get", products_get},
        };

        return cli_dispatch(g, "products", products_help, subs, N_COLS(subs), argc, argv);
}

/* ---- orders ----------------------------------------------------------------------------------- */

static const char orders_help[] =
        "Usage: oteldemo [GLOBAL OPTIONS] orders COMMAND\n"
        "\n"
        "  orders create --user ID --product ID --quantity N [--idempotency-key KEY]\n"
        "                                        place an order (POST /api/orders); N is 1..1000;\n"
        "                                        repeating KEY returns the first order, never a second\n"
        "  orders get ID                         show one order (GET /api/orders/ID)\n"
        "  orders list --user ID                 a user's orders (GET /api/users/ID/orders)\n";

static void print_order_reply(const cli_globals *g, json_object *reply, const output_column *cols, size_t n)
{
        (void)cols;
        (void)n;
        print_order(g, reply);
}

#define CLI_IDEMPOTENCY_KEY_MAX 200 /* the header value; longer keys are a mistake */

static int orders_create(const cli_globals *g, int argc, char **argv)
{
        static const struct option opts[] = {
                {"user", required_argument, NULL, 'u'},
                {"product", required_argument, NULL, 'p'},
                {"quantity", required_argument, NULL, 'q'},
                {"idempotency-key", required_argument, NULL, 'k'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *cmd = "orders create", *key = NULL;
        int64_t user = 0, product = 0;
        uint64_t quantity = 0;
        char body[CLI_PATH_MAX];
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
                switch (c) {
                case 'u':
                        if (user_option(cmd, optarg, &user) != OTELDEMO_EXIT_OK)
                                return OTELDEMO_EXIT_USAGE;
                        break;
                case 'p':
                        if (cli_parse_id(optarg, &product) < 0)
                                return cli_usage_error(cmd, "invalid --product '%s' (expected an id > 0)",
                                                       optarg);
                        break;
                case 'q':
                        if (cli_parse_uint(optarg, CLI_QUANTITY_MIN, CLI_QUANTITY_MAX, &quantity) < 0)
                                return cli_usage_error(cmd, "invalid --quantity '%s' (expected %d..%d)",
                                                       optarg, CLI_QUANTITY_MIN, CLI_QUANTITY_MAX);
                        break;
                case 'k':
                        key = optarg;
                        if (!*key || strlen(key) > CLI_IDEMPOTENCY_KEY_MAX || strpbrk(key, "\r\n"))
                                return cli_usage_error(
                                        cmd, "invalid --idempotency-key (1..%d characters, one line)",
                                        CLI_IDEMPOTENCY_KEY_MAX);
                        break;
                case 'h':
                        fputs(orders_help, stdout);
                        return OTELDEMO_EXIT_OK;
                default:
                        return cli_option_error(cmd, c, argv);
                }
        if (no_positional(cmd, argc, argv) != OTELDEMO_EXIT_OK)
                return OTELDEMO_EXIT_USAGE;
        if (user == 0)
                return cli_usage_error(cmd, "--user is required");
        if (product == 0)
                return cli_usage_error(cmd, "--product is required");
        if (quantity == 0)
                return cli_usage_error(cmd, "--quantity is required");
        (void)snprintf(body, sizeof(body),
                       "{\"user_id\":%" PRId64 ",\"product_id\":%" PRId64 ",\"quantity\":%" PRIu64 "}", user,
                       product, quantity);
        return call_and_print(g, cmd,
                              &(http_client_request){.method = "POST",
                                                     .path = "/api/orders",
                                                     .route = "/api/orders",
                                                     .json_body = body,
                                                     .idempotency_key = key},
                              print_order_reply, NULL, 0);
}

static int orders_get(const cli_globals *g, int argc, char **argv)
{
        return get_by_id(g, "orders get", orders_help, argc, argv, "/api/orders/{id}", print_order_reply,
                         NULL, 0);
}

static int orders_list(const cli_globals *g, int argc, char **argv)
{
        static const struct option opts[] = {
                {"user", required_argument, NULL, 'u'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *cmd = "orders list";
        char path[CLI_PATH_MAX];
        int64_t user = 0;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
                switch (c) {
                case 'u':
                        if (user_option(cmd, optarg, &user) != OTELDEMO_EXIT_OK)
                                return OTELDEMO_EXIT_USAGE;
                        break;
                case 'h':
                        fputs(orders_help, stdout);
                        return OTELDEMO_EXIT_OK;
                default:
                        return cli_option_error(cmd, c, argv);
                }
        if (no_positional(cmd, argc, argv) != OTELDEMO_EXIT_OK)
                return OTELDEMO_EXIT_USAGE;
        if (user == 0)
                return cli_usage_error(cmd, "--user is required");
        (void)snprintf(path, sizeof(path), "/api/users/%" PRId64 "/orders", user);
        return call_and_print(
                g, cmd,
                &(http_client_request){.method = "GET", .path = path, .route = "/api/users/{id}/orders"},
                print_list, order_cols, N_COLS(order_cols));
}

int cmd_orders(const cli_globals *g, int argc, char **argv)
{
        static const cli_subcommand subs[] = {
                {"create", orders_create},
                {"get", orders_get},
                {"list", orders_list},
        };

        return cli_dispatch(g, "orders", orders_help, subs, N_COLS(subs), argc, argv);
}
