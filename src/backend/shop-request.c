/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsing of the shop's JSON request bodies (users and orders) into structs: field by field with the
 * checks of validate.c, so that the SQL side only ever sees values inside their declared ranges.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "shop-error.h"
#include "shop-request.h"
#include "validate.h"

int shop_user_request_parse(json_object *body, shop_user_request *ret, shop_error *err)
{
        static const char *const fields[] = {"name", "email", NULL};
        int r;

        r = validate_object(body, err);
        if (r >= 0)
                r = validate_known_fields(body, fields, err);
        if (r >= 0)
                r = validate_text_field(body, "name", VALIDATE_NAME_MIN_CHARS, VALIDATE_NAME_MAX_CHARS,
                                        &ret->name, err);
        if (r >= 0)
                r = validate_email_field(body, "email", &ret->email, err);
        return r;
}

static int line_compare(const void *a, const void *b)
{
        const shop_order_line *x = a, *y = b;

        return (x->product_id > y->product_id) - (x->product_id < y->product_id);
}

/* A line is an items[] entry, or the body itself in the single-product form (whose fields the caller
 * checks, so check_fields is false). */
static int parse_line(json_object *obj, bool check_fields, shop_order_line *ret, shop_error *err)
{
        static const char *const fields[] = {"product_id", "quantity", NULL};
        int r;

        r = validate_object(obj, err);
        if (r >= 0 && check_fields)
                r = validate_known_fields(obj, fields, err);
        if (r >= 0)
                r = validate_int_field(obj, "product_id", 1, INT64_MAX, &ret->product_id, err);
        if (r >= 0)
                r = validate_int_field(obj, "quantity", VALIDATE_QUANTITY_MIN, VALIDATE_QUANTITY_MAX,
                                       &ret->quantity, err);
        return r;
}

int shop_order_request_parse(json_object *body, shop_order_request *ret, shop_error *err)
{
        static const char *const single[] = {"user_id", "product_id", "quantity", NULL};
        static const char *const multi[] = {"user_id", "items", NULL};
        json_object *items;
        int r;

        r = validate_object(body, err);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(body, "items", &items)) {
                size_t n;

                r = validate_known_fields(body, multi, err);
                if (r < 0)
                        return r;
                if (!json_object_is_type(items, json_type_array))
                        return shop_error_set(err, -EINVAL, 400, "items must be an array");
                n = json_object_array_length(items);
                if (n < 1 || n > SHOP_ORDER_ITEMS_MAX)
                        return shop_error_set(err, -EINVAL, 400, "items must hold 1 to %d entries",
                                              SHOP_ORDER_ITEMS_MAX);
                for (size_t i = 0; i < n; i++) {
                        r = parse_line(json_object_array_get_idx(items, i), true, &ret->lines[i], err);
                        if (r < 0)
                                return r;
                }
                ret->n_lines = n;
        } else {
                r = validate_known_fields(body, single, err);
                if (r >= 0)
                        r = parse_line(body, false, &ret->lines[0], err);
                if (r < 0)
                        return r;
                ret->n_lines = 1;
        }
        r = validate_int_field(body, "user_id", 1, INT64_MAX, &ret->user_id, err);
        if (r < 0)
                return r;
        qsort(ret->lines, ret->n_lines, sizeof(ret->lines[0]), line_compare);
        for (size_t i = 1; i < ret->n_lines; i++)
                if (ret->lines[i].product_id == ret->lines[i - 1].product_id)
                        return shop_error_set(err, -EINVAL, 400, "product %" PRId64 " is listed twice",
                                              ret->lines[i].product_id);
        return 0;
}
