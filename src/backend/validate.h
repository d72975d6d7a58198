/* SPDX-License-Identifier: Apache-2.0 */
/*
 * validate.h - checks of client input (JSON bodies, query parameters, headers) before it reaches SQL.
 * Every check fills a 400 shop_error naming
 * the field; the message never echoes more than a bounded prefix of the input.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shop.h"

#define VALIDATE_NAME_MIN_CHARS  1
#define VALIDATE_NAME_MAX_CHARS  100
#define VALIDATE_EMAIL_MIN_CHARS 3
#define VALIDATE_EMAIL_MAX_CHARS 254
#define VALIDATE_QUANTITY_MIN    1
#define VALIDATE_QUANTITY_MAX    1000

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF) without
 * control characters (C0, DEL, C1) or NUL; *ret_chars (may be NULL) gets the number of code points. */
bool validate_utf8_text(const char *s, size_t len, size_t *ret_chars);

/* body must be a JSON object. */
int validate_object(json_object *body, shop_error *err);
/* body[key] must be present and an integer in [min, max]. */
int validate_int_field(json_object *body, const char *key, int64_t min, int64_t max, int64_t *ret,
                       shop_error *err);
/* body[key] must be a string of min..max characters of clean UTF-8; *ret borrows from body. */
int validate_text_field(json_object *body, const char *key, size_t min_chars, size_t max_chars,
                        const char **ret, shop_error *err);
/* Like validate_text_field for "email", plus exactly one '@' with something on both sides. */
int validate_email_field(json_object *body, const char *key, const char **ret, shop_error *err);
/* Rejects any key of body not in allowed (NULL-terminated), so typos are not silently ignored. */
int validate_known_fields(json_object *body, const char *const *allowed, shop_error *err);
/* limit < 0 → default; 1..SHOP_LIMIT_MAX; offset >= 0. */
int validate_paging(int64_t *limit, int64_t offset, shop_error *err);
/* 1..SHOP_IDEMPOTENCY_KEY_MAX printable ASCII characters. */
int validate_idempotency_key(const char *key, shop_error *err);
/* Search text: at most SHOP_QUERY_MAX bytes of clean UTF-8. */
int validate_search_query(const char *q, shop_error *err);

/* "%<q with \, % and _ escaped by \>%" for LIKE ... ESCAPE '\'; malloc'ed into *ret. 0 or -ENOMEM. */
int validate_like_pattern(const char *q, char **ret);
