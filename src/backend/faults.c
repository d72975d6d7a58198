/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault flags (like the upstream demo's feature flags): one process-wide copy, replaced whole by the
 * daemon on reload or PUT /admin/faults and read on every data-side call. A mutex keeps a reader from
 * seeing half of an update; the struct is small, so holding it is cheap.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "shop-error.h"
#include "shop-json.h"
#include "shop.h"

static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;
static shop_faults faults_current; /* all off */

void shop_faults_set(const shop_faults *f)
{
        pthread_mutex_lock(&faults_lock);
        faults_current = *f;
        pthread_mutex_unlock(&faults_lock);
}

void shop_faults_get(shop_faults *ret)
{
        pthread_mutex_lock(&faults_lock);
        *ret = faults_current;
        pthread_mutex_unlock(&faults_lock);
}

uint32_t shop_faults_db_slow_query_ms(void)
{
        shop_faults f;

        shop_faults_get(&f);
        return f.db_slow_query_ms;
}

static int field_u32(json_object *v, const char *key, uint32_t max, uint32_t *ret, shop_error *err)
{
        int64_t i;

        if (!json_object_is_type(v, json_type_int))
                return shop_error_set(err, -EINVAL, 400, "%s must be an integer", key);
        errno = 0;
        i = json_object_get_int64(v);
        if (errno != 0 || i < 0 || i > (int64_t)max)
                return shop_error_set(err, -EINVAL, 400, "%s must be between 0 and %u", key, max);
        *ret = (uint32_t)i;
        return 0;
}

int shop_faults_from_json(json_object *obj, shop_faults *inout, shop_error *err)
{
        shop_faults f = *inout;
        int r;

        if (!json_object_is_type(obj, json_type_object))
                return shop_error_set(err, -EINVAL, 400, "faults must be a JSON object");
        json_object_object_foreach(obj, key, v)
        {
                if (strcmp(key, "payment_failure_rate") == 0) {
                        double d;

                        if (!json_object_is_type(v, json_type_double) &&
                            !json_object_is_type(v, json_type_int))
                                return shop_error_set(err, -EINVAL, 400, "%s must be a number", key);
                        d = json_object_get_double(v);
                        if (!isfinite(d) || d < 0 || d > 1)
                                return shop_error_set(err, -EINVAL, 400, "%s must be between 0 and 1", key);
                        f.payment_failure_rate = d;
                } else if (strcmp(key, "payment_latency_ms") == 0) {
                        r = field_u32(v, key, SHOP_FAULT_LATENCY_MAX_MS, &f.payment_latency_ms, err);
                        if (r < 0)
                                return r;
                } else if (strcmp(key, "db_slow_query_ms") == 0) {
                        r = field_u32(v, key, SHOP_FAULT_LATENCY_MAX_MS, &f.db_slow_query_ms, err);
                        if (r < 0)
                                return r;
                } else if (strcmp(key, "payment_unreachable") == 0) {
                        if (!json_object_is_type(v, json_type_boolean))
                                return shop_error_set(err, -EINVAL, 400, "%s must be true or false", key);
                        f.payment_unreachable = json_object_get_boolean(v);
                } else if (strcmp(key, "product_failure_id") == 0) {
                        int64_t i;

                        if (!json_object_is_type(v, json_type_int))
                                return shop_error_set(err, -EINVAL, 400, "%s must be an integer", key);
                        errno = 0;
                        i = json_object_get_int64(v);
                        if (errno != 0 || i < 0)
                                return shop_error_set(err, -EINVAL, 400,
                                                      "%s must be 0 (off) or a product id", key);
                        f.product_failure_id = i;
                } else {
                        /* The key is shown truncated: it is client input. */
                        return shop_error_set(err, -EINVAL, 400, "unknown fault \"%.64s\"", key);
                }
        }
        *inout = f;
        return 0;
}

json_object *shop_faults_to_json(const shop_faults *f)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (shop_json_add(o, "payment_failure_rate", json_object_new_double(f->payment_failure_rate)) < 0 ||
            shop_json_add(o, "payment_latency_ms", json_object_new_int64(f->payment_latency_ms)) < 0 ||
            shop_json_add(o, "payment_unreachable", json_object_new_boolean(f->payment_unreachable)) < 0 ||
            shop_json_add(o, "db_slow_query_ms", json_object_new_int64(f->db_slow_query_ms)) < 0 ||
            shop_json_add(o, "product_failure_id", json_object_new_int64(f->product_failure_id)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}
