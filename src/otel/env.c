/* SPDX-License-Identifier: Apache-2.0 */
/* OTEL_* environment variables: empty means unset, invalid means "warn and use the default". */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "diag.h"
#include "env.h"

const char *otel_env_get(const char *name)
{
        const char *v = getenv(name);
        return v && *v ? v : NULL;
}

bool otel_env_bool(const char *name, bool def)
{
        const char *v = otel_env_get(name);

        if (!v)
                return def;
        /* The spec: only a case-insensitive "true" is true; anything but "false" earns a warning. */
        if (strcasecmp(v, "true") == 0)
                return true;
        if (strcasecmp(v, "false") != 0)
                otel_diag(OTEL_DIAG_WARN, "invalid %s=\"%s\" (expected true or false), using false", name,
                          v);
        return false;
}

int64_t otel_env_int(const char *name, int64_t def, int64_t min, int64_t max)
{
        const char *v = otel_env_get(name);
        char *end;
        long long n;

        if (!v)
                return def;
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < min || n > max) {
                otel_diag(OTEL_DIAG_WARN,
                          "invalid %s=\"%s\" (expected an integer from %lld to %lld), using %lld", name, v,
                          (long long)min, (long long)max, (long long)def);
                return def;
        }
        return n;
}

double otel_env_double(const char *name, double def, double min, double max)
{
        const char *v = otel_env_get(name);
        char *end;
        double d;

        if (!v)
                return def;
        errno = 0;
        d = strtod(v, &end);
        if (errno || end == v || *end || isnan(d) || d < min || d > max) {
                otel_diag(OTEL_DIAG_WARN, "invalid %s=\"%s\" (expected a number from %g to %g), using %g",
                          name, v, min, max, def);
                return def;
        }
        return d;
}

int otel_env_enum(const char *name, const char *const *choices, int def)
{
        const char *v = otel_env_get(name);

        if (!v)
                return def;
        for (int i = 0; choices[i]; i++)
                if (strcasecmp(v, choices[i]) == 0)
                        return i;
        otel_diag(OTEL_DIAG_WARN, "invalid %s=\"%s\", using \"%s\"", name, v, choices[def]);
        return def;
}
