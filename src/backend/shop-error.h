/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shop-error.h - filling a shop_error (HTTP status + client-safe message, shop.h) where a domain
 * operation fails; the HTTP side turns it into {"error": message, "trace_id": ...}.
 */
#pragma once

#include "shop.h"

/* Fills err with status and a printf-style message. Returns r (a negative errno). */
int shop_error_set(shop_error *err, int r, int status, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Fills err for a db_exec failure that the caller has no more specific meaning for: -EAGAIN 503,
 * -ETIMEDOUT 504, anything else 500. Returns r. */
int db_error(int r, shop_error *err);
