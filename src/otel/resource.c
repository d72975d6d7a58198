/* SPDX-License-Identifier: Apache-2.0 */
/* Resource detection and merging (SDK spec "Resource"): SDK attributes and detected host/process
 * facts first, then the application's options, then OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME;
 * a later source overrides an earlier one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "diag.h"
#include "env.h"
#include "propagation.h"
#include "random.h"
#include "resource.h"

#define OTEL_RESOURCE_VALUE_MAX 4096 /* longest OTEL_RESOURCE_ATTRIBUTES value we accept */

static int resource_set(otel_resource *r, const otel_attr *a)
{
        return otel_attr_list_set(&r->attrs, &r->arena, a, NULL);
}

static int resource_set_str(otel_resource *r, const char *key, const char *value)
{
        return resource_set(r, &OTEL_ATTR_STR(key, value));
}

/* OTEL_RESOURCE_ATTRIBUTES: key1=value1,key2=value2 with percent-encoded values (W3C Baggage format
 * without properties). The spec says to discard the whole variable on a parse error. */
static int resource_from_env(otel_resource *r)
{
        const char *v = otel_env_get("OTEL_RESOURCE_ATTRIBUTES");
        char key[256], val[OTEL_RESOURCE_VALUE_MAX + 1];
        otel_attr parsed[64];
        char *store;
        size_t len, n = 0, used = 0;
        int ret = 0;

        if (!v)
                return 0;
        len = strlen(v);
        if (len > OTEL_RESOURCE_VALUE_MAX) {
                otel_diag(OTEL_DIAG_WARN, "OTEL_RESOURCE_ATTRIBUTES is longer than %d bytes, ignoring it",
                          OTEL_RESOURCE_VALUE_MAX);
                return 0;
        }
        /* Parse everything first into a scratch copy; apply only when all of it is valid. */
        store = malloc(2 * len + 2);
        if (!store)
                return -ENOMEM;
        for (const char *p = v;;) {
                const char *comma = strchr(p, ','), *m = p, *eq, *val_s;
                size_t mlen = comma ? (size_t)(comma - p) : strlen(p), klen, vlen;

                otel_propagation_trim_ows(&m, &mlen);
                if (mlen > 0) {
                        eq = memchr(m, '=', mlen);
                        if (!eq)
                                goto invalid;
                        klen = (size_t)(eq - m);
                        val_s = eq + 1;
                        vlen = mlen - klen - 1;
                        otel_propagation_trim_ows(&m, &klen);
                        otel_propagation_trim_ows(&val_s, &vlen);
                        if (klen == 0 || klen >= sizeof(key) || n == sizeof(parsed) / sizeof(parsed[0]))
                                goto invalid;
                        memcpy(key, m, klen);
                        key[klen] = 0;
                        /* A "%00" ends the value early: strlen() below stops there. */
                        if (otel_percent_decode(val_s, vlen, val, &vlen) < 0)
                                goto invalid;
                        memcpy(store + used, key, klen + 1);
                        parsed[n].key = store + used;
                        used += klen + 1;
                        memcpy(store + used, val, strlen(val) + 1);
                        parsed[n].type = OTEL_ATTR_STRING;
                        parsed[n].v.s = store + used;
                        used += strlen(val) + 1;
                        n++;
                }
                if (!comma)
                        break;
                p = comma + 1;
        }
        for (size_t i = 0; i < n && ret >= 0; i++)
                ret = resource_set(r, &parsed[i]);
        free(store);
        return ret;
invalid:
        otel_diag(OTEL_DIAG_WARN,
                  "invalid OTEL_RESOURCE_ATTRIBUTES=\"%s\" (expected key=value,… with "
                  "percent-encoded values), ignoring it",
                  v);
        free(store);
        return 0;
}

static int resource_detect(otel_resource *r)
{
        char host[256], iid[OTEL_TRACE_ID_HEX + 1];
        uint8_t id[OTEL_TRACE_ID_SIZE];
        int r1;

        r1 = resource_set_str(r, "telemetry.sdk.name", OTEL_SDK_NAME);
        if (r1 >= 0)
                r1 = resource_set_str(r, "telemetry.sdk.language", OTEL_SDK_LANGUAGE);
        if (r1 >= 0)
                r1 = resource_set_str(r, "telemetry.sdk.version", OTEL_SDK_VERSION);
        if (r1 >= 0)
                r1 = resource_set_str(r, "os.type", "linux");
        if (r1 >= 0 && gethostname(host, sizeof(host)) == 0) {
                host[sizeof(host) - 1] = 0;
                r1 = resource_set_str(r, "host.name", host);
        }
        if (r1 >= 0)
                r1 = resource_set(r, &OTEL_ATTR_I64("process.pid", (int64_t)getpid()));
        if (r1 >= 0) {
                /* service.instance.id: a random UUID-sized id per process start. */
                otel_random_trace_id(id);
                otel_trace_id_to_hex(id, iid);
                r1 = resource_set_str(r, "service.instance.id", iid);
        }
        return r1;
}

int otel_resource_new(const otel_sdk_options *opts, otel_resource **ret)
{
        otel_resource *r = calloc(1, sizeof(*r));
        const char *svc;
        int e;

        if (!r)
                return -ENOMEM;
        otel_arena_init(&r->arena, NULL, 0);
        otel_attr_list_init(&r->attrs, NULL, 0);
        if (opts && opts->service_name)
                e = resource_set_str(r, "service.name", opts->service_name);
        else {
                /* Spec default: "unknown_service:" followed by the executable name. */
                char def[128];
                snprintf(def, sizeof(def), "unknown_service:%s", program_invocation_short_name);
                e = resource_set_str(r, "service.name", def);
        }
        if (e >= 0)
                e = resource_detect(r);
        if (e >= 0 && opts && opts->service_version)
                e = resource_set_str(r, "service.version", opts->service_version);
        for (size_t i = 0; e >= 0 && opts && i < opts->n_resource_attrs; i++)
                e = resource_set(r, &opts->resource_attrs[i]);
        if (e >= 0)
                e = resource_from_env(r);
        svc = otel_env_get("OTEL_SERVICE_NAME");
        if (e >= 0 && svc)
                e = resource_set_str(r, "service.name", svc);
        if (e < 0) {
                otel_resource_free(r);
                return e;
        }
        *ret = r;
        return 0;
}

void otel_resource_free(otel_resource *r)
{
        if (!r)
                return;
        otel_arena_release(&r->arena);
        free(r);
}

const char *otel_resource_service_name(const otel_resource *r)
{
        const otel_attr *a = otel_attr_list_find(&r->attrs, "service.name");
        return a && a->type == OTEL_ATTR_STRING ? a->v.s : "unknown_service";
}
