/* SPDX-License-Identifier: Apache-2.0 */
/* Building the data side's JSON replies (see shop-json.h). */
#include "shop-json.h"

#include <errno.h>

int shop_json_add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}
