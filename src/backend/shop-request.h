/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shop-request.h - the JSON request bodies of POST /api/users and POST /api/orders, parsed and validated
 * into plain structs before any SQL runs. No database, no telemetry: tests/fuzz/fuzz-json-body.c calls
 * these very functions.
 */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "shop.h"

/* Lines of one order; bounds the arrays passed to the server. */
#define SHOP_ORDER_ITEMS_MAX    50
#define SHOP_ORDER_CURRENCY_LEN 3

/* {"name", "email"}: both borrow from the body, which must outlive the struct. */
typedef struct shop_user_request {
        const char *name;  /* VALIDATE_NAME_MIN_CHARS..MAX characters of clean UTF-8 */
        const char *email; /* clean UTF-8 with one '@' inside */
} shop_user_request;

typedef struct shop_order_line {
        int64_t product_id; /* > 0, unique within the order */
        int64_t quantity;   /* VALIDATE_QUANTITY_MIN..MAX */
        int64_t unit_price; /* cents, read under the row lock (not from the body) */
} shop_order_line;

/* {"user_id", "items": [{"product_id", "quantity"}, ...]} or {"user_id", "product_id", "quantity"}. */
typedef struct shop_order_request {
        int64_t user_id;                             /* > 0 */
        shop_order_line lines[SHOP_ORDER_ITEMS_MAX]; /* sorted by product_id */
        size_t n_lines;                              /* 1..SHOP_ORDER_ITEMS_MAX */
        char currency[SHOP_ORDER_CURRENCY_LEN + 1];  /* of the products, all equal (not from the body) */
        int64_t total_cents;                         /* sum of quantity * unit_price (not from the body) */
} shop_order_request;

/* 0, or a 400 in err naming the field; unknown fields are refused. */
int shop_user_request_parse(json_object *body, shop_user_request *ret, shop_error *err);
/* 0, or a 400 in err naming the field; fills user_id and the lines (product_id, quantity). */
int shop_order_request_parse(json_object *body, shop_order_request *ret, shop_error *err);
