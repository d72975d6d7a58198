/* SPDX-License-Identifier: Apache-2.0 */
/* Products: list with paging and name search, get by id (with the product_failure_id fault). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-pool.h"
#include "otel.h"
#include "shop-error.h"
#include "shop-json.h"
#include "shop-query.h"
#include "shop.h"
#include "validate.h"

static const db_stmt STMT_PRODUCTS_LIST = {
        .name = "products_list",
        /* $3 NULL = no filter; otherwise an escaped LIKE pattern, matched case-insensitively. */
        .sql = "WITH f AS (SELECT * FROM products"
               " WHERE $3::text IS NULL OR lower(name) LIKE lower($3::text) ESCAPE '\\')"
               " SELECT t.total, p.id, p.sku, p.name, p.description, p.price_cents, p.currency, p.stock"
               " FROM (SELECT count(*) AS total FROM f) t"
               " LEFT JOIN LATERAL (SELECT * FROM f ORDER BY id LIMIT $1 OFFSET $2) p ON true ORDER BY p.id",
        .operation = "SELECT",
        .collection = "products",
        .n_params = 3,
};

static const db_stmt STMT_PRODUCT_GET = {
        .name = "product_get",
        .sql = "SELECT id, sku, name, description, price_cents, currency, stock FROM products WHERE id = $1",
        .operation = "SELECT",
        .collection = "products",
        .n_params = 1,
};

/* {id, sku, name, description, price_cents, currency, stock} from columns col.. of row. */
static json_object *product_json(const PGresult *res, int row, int col)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (shop_json_add(o, "id", json_object_new_int64(db_value_i64(res, row, col))) < 0 ||
            shop_json_add(o, "sku", json_object_new_string(PQgetvalue(res, row, col + 1))) < 0 ||
            shop_json_add(o, "name", json_object_new_string(PQgetvalue(res, row, col + 2))) < 0 ||
            shop_json_add(o, "description", json_object_new_string(PQgetvalue(res, row, col + 3))) < 0 ||
            shop_json_add(o, "price_cents", json_object_new_int64(db_value_i64(res, row, col + 4))) < 0 ||
            shop_json_add(o, "currency", json_object_new_string(PQgetvalue(res, row, col + 5))) < 0 ||
            shop_json_add(o, "stock", json_object_new_int64(db_value_i64(res, row, col + 6))) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int shop_products_list(db_pool *pool, int64_t limit, int64_t offset, const char *query, json_object **ret,
                       shop_error *err)
{
        _cleanup_free_ char *pattern = NULL;
        int r;

        r = validate_paging(&limit, offset, err);
        if (r < 0)
                return r;
        if (query && *query) {
                r = validate_search_query(query, err);
                if (r < 0)
                        return r;
                r = validate_like_pattern(query, &pattern);
                if (r < 0)
                        return db_error(r, err);
        }
        return shop_list(pool, &STMT_PRODUCTS_LIST, pattern, product_json, limit, offset, ret, err);
}

int shop_product_get(db_pool *pool, int64_t id, json_object **ret, shop_error *err)
{
        PGresult *res = NULL;
        shop_faults f;
        int r;

        if (id <= 0)
                return shop_error_set(err, -EINVAL, 400, "product id must be a positive integer");
        shop_faults_get(&f);
        if (f.product_failure_id != 0 && f.product_failure_id == id) {
                otel_span *span = otel_context_span();

                /* Like the upstream demo's productCatalogFailure flag: a visible, traceable failure. */
                if (span)
                        otel_span_record_exception(span, "ProductCatalogFailure",
                                                   "product_failure_id fault is set", NULL);
                otel_log(OTEL_SEVERITY_ERROR, "Product %" PRId64 " failed (product_failure_id fault)", id);
                return shop_error_set(err, -EIO, 500, "product catalogue failure for product %" PRId64, id);
        }
        r = shop_get_by_id(pool, &STMT_PRODUCT_GET, "product", id, &res, err);
        if (r < 0)
                return r;
        return shop_row_json(res, product_json, ret, err);
}
