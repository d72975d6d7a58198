/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the backend's JSON request bodies: the input is parsed the way
 * http_request_json() does (strict json-c, HTTP_JSON_MAX_DEPTH; a refusal is described by
 * json_error_describe(), which must give one non-empty line naming a byte inside the text), then handed to
 * the parsers of the bodies of POST /api/users and POST /api/orders (src/backend/shop-request.c, the
 * functions the routes call) and of PUT /admin/faults (shop_faults_from_json). Invariants: a rejection is a
 * 4xx with a message; an accepted value is inside its declared range (order lines sorted, no product twice);
 * accepted faults survive to_json → from_json unchanged.
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-error.h"
#include "shop-error.h"
#include "shop-request.h"
#include "shop.h"
#include "validate.h"

#define FUZZ_JSON_MAX_DEPTH 32 /* HTTP_JSON_MAX_DEPTH of http-server.h */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-json-body: %s\n", what);
                abort();
        }
}

static void check_rejection(int r, const shop_error *err)
{
        if (r >= 0)
                return;
        check(r != -ENOMEM, "out of memory");
        check(err->status >= 400 && err->status < 500, "rejection is not a 4xx");
        check(err->message[0] != '\0', "rejection without a message");
}

static void fuzz_user(json_object *body)
{
        shop_user_request user;
        shop_error err = {0};
        int r;

        r = shop_user_request_parse(body, &user, &err);
        check_rejection(r, &err);
        if (r < 0)
                return;
        check(validate_utf8_text(user.name, strlen(user.name), NULL), "accepted name is not clean UTF-8");
        check(validate_utf8_text(user.email, strlen(user.email), NULL) && strchr(user.email, '@'),
              "accepted email");
}

static void fuzz_order(json_object *body)
{
        shop_order_request order;
        shop_error err = {0};
        int r;

        r = shop_order_request_parse(body, &order, &err);
        check_rejection(r, &err);
        if (r < 0)
                return;
        check(order.user_id >= 1, "accepted user_id < 1");
        check(order.n_lines >= 1 && order.n_lines <= SHOP_ORDER_ITEMS_MAX, "accepted line count");
        for (size_t i = 0; i < order.n_lines; i++) {
                const shop_order_line *l = &order.lines[i];

                check(l->product_id >= 1 && l->quantity >= VALIDATE_QUANTITY_MIN &&
                              l->quantity <= VALIDATE_QUANTITY_MAX,
                      "accepted order line out of range");
                check(i == 0 || l->product_id > order.lines[i - 1].product_id,
                      "accepted lines not sorted or repeated");
        }
}

static void fuzz_faults(json_object *body)
{
        shop_faults f = {0}, g = {0};
        shop_error err = {0};
        json_object *again;
        int r;

        r = shop_faults_from_json(body, &f, &err);
        check_rejection(r, &err);
        if (r < 0)
                return;
        check(f.payment_failure_rate >= 0.0 && f.payment_failure_rate <= 1.0, "payment_failure_rate range");
        check(f.payment_latency_ms <= 60000, "payment_latency_ms range");
        again = shop_faults_to_json(&f);
        check(again != NULL, "faults to JSON");
        r = shop_faults_from_json(again, &g, &err);
        check(r >= 0, "faults written as JSON are refused");
        check(f.payment_failure_rate == g.payment_failure_rate &&
                      f.payment_latency_ms == g.payment_latency_ms &&
                      f.payment_unreachable == g.payment_unreachable &&
                      f.db_slow_query_ms == g.db_slow_query_ms &&
                      f.product_failure_id == g.product_failure_id,
              "faults round trip");
        json_object_put(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        enum json_tokener_error jerr;
        char why[JSON_ERROR_MAX];
        json_tokener *tok;
        json_object *body;
        size_t offset;

        /* http_request_json() refuses an empty body, a NUL byte and data after the value itself. */
        if (size == 0 || size > INT32_MAX || memchr(data, '\0', size))
                return 0;
        tok = json_tokener_new_ex(FUZZ_JSON_MAX_DEPTH);
        if (!tok)
                abort();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        body = json_tokener_parse_ex(tok, (const char *)data, (int)size);
        jerr = json_tokener_get_error(tok);
        offset = json_tokener_get_parse_end(tok);
        check(offset <= size, "parse end past the text");
        if (!body || jerr != json_tokener_success || offset < size) {
                json_error_describe(jerr == json_tokener_success && !body ? json_tokener_continue : jerr,
                                    (const char *)data, size, offset, why);
                check(why[0] != '\0' && strlen(why) < JSON_ERROR_MAX && !strchr(why, '\n'),
                      "error description");
        }
        if (body && jerr == json_tokener_success) {
                fuzz_user(body);
                fuzz_order(body);
                fuzz_faults(body);
        }
        json_object_put(body);
        json_tokener_free(tok);
        return 0;
}
