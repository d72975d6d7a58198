/* SPDX-License-Identifier: Apache-2.0 */
/* The data side's API-level failures (see shop-error.h). */
#include "shop-error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

int shop_error_set(shop_error *err, int r, int status, const char *fmt, ...)
{
        va_list ap;

        if (err) {
                err->status = status;
                va_start(ap, fmt);
                vsnprintf(err->message, sizeof(err->message), fmt, ap);
                va_end(ap);
        }
        return r;
}

int db_error(int r, shop_error *err)
{
        switch (r) {
        case -EAGAIN:
                return shop_error_set(err, r, 503, "database unavailable");
        case -ETIMEDOUT:
                return shop_error_set(err, r, 504, "database timeout");
        case -ENOMEM:
                return shop_error_set(err, r, 500, "out of memory");
        default:
                return shop_error_set(err, r, 500, "database error");
        }
}
