/* SPDX-License-Identifier: Apache-2.0 */
/* shop-json.h - the one JSON-building helper of the data side's replies (shapes: shop.h). */
#pragma once

#include <json-c/json.h>

/* Adds v (owned; NULL means an allocation failed) to object o. 0 or -ENOMEM (v is freed). */
int shop_json_add(json_object *o, const char *key, json_object *v);
