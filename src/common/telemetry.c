/* SPDX-License-Identifier: Apache-2.0 */
/* The shared [telemetry] section (see telemetry.h): parsing, SDK start and the SIGHUP changes. */
#include "telemetry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h" /* OTELDEMO_VERSION (generated) */

/* The SDK's own default when neither the file nor the environment names a sampler. */
#define TELEMETRY_DEFAULT_SAMPLER "parentbased_always_on"

/* Whether the operator's environment named the sampler at start: then the file never decides it, not
 * even at a reload. Process-wide like the SDK it describes. */
static bool telemetry_sampler_from_env;
static bool telemetry_sampler_arg_from_env;

int telemetry_config_load(config_file *cfg, const char *default_service_name, telemetry_config *ret)
{
        telemetry_config t = {0};
        const char *name, *level, *sampler, *arg;
        int r;

        if ((r = config_get_string(cfg, "telemetry", "service_name", default_service_name, &name)) < 0 ||
            (r = config_get_string(cfg, "telemetry", "log_level", "info", &level)) < 0 ||
            (r = config_get_string(cfg, "telemetry", "sampler", NULL, &sampler)) < 0 ||
            (r = config_get_string(cfg, "telemetry", "sampler_arg", NULL, &arg)) < 0)
                return r;
        if (name[0] == '\0')
                return config_reject(cfg, "telemetry", "service_name", "must not be empty");
        if (otel_severity_from_string(level, &t.log_level) < 0)
                return config_reject(cfg, "telemetry", "log_level",
                                     "expected trace, debug, info, warn, error or fatal, got '%s'", level);
        if ((r = config_strdup(name, &t.service_name)) < 0 || (r = config_strdup(sampler, &t.sampler)) < 0 ||
            (r = config_strdup(arg, &t.sampler_arg)) < 0) {
                telemetry_config_free(&t);
                return r;
        }
        *ret = t;
        return 0;
}

void telemetry_config_free(telemetry_config *t)
{
        free(t->service_name);
        free(t->sampler);
        free(t->sampler_arg);
        *t = (telemetry_config){0};
}

/* The SDK's warnings become the daemon's own log lines (journald fields, level filter, one format);
 * the SDK keeps them out of the OTLP logs pipeline itself. */
static void telemetry_diag(otel_diag_level level, const char *message, void *userdata)
{
        static const otel_severity severities[_OTEL_DIAG_LEVEL_MAX] = {
                [OTEL_DIAG_ERROR] = OTEL_SEVERITY_ERROR,
                [OTEL_DIAG_WARN] = OTEL_SEVERITY_WARN,
                [OTEL_DIAG_INFO] = OTEL_SEVERITY_INFO,
                [OTEL_DIAG_DEBUG] = OTEL_SEVERITY_DEBUG,
        };

        (void)userdata;
        if ((int)level < 0 || level >= _OTEL_DIAG_LEVEL_MAX)
                level = OTEL_DIAG_WARN;
        otel_log(severities[level], "OpenTelemetry SDK: %s", message);
}

int telemetry_start(const telemetry_config *t)
{
        telemetry_sampler_from_env = getenv("OTEL_TRACES_SAMPLER") != NULL;
        telemetry_sampler_arg_from_env = getenv("OTEL_TRACES_SAMPLER_ARG") != NULL;
        /* The config supplies defaults; OTEL_* variables set by the operator win (overwrite = 0). */
        if ((t->sampler && setenv("OTEL_TRACES_SAMPLER", t->sampler, 0) < 0) ||
            (t->sampler_arg && setenv("OTEL_TRACES_SAMPLER_ARG", t->sampler_arg, 0) < 0))
                return -errno;
        otel_log_set_level(t->log_level);
        otel_diag_set_handler(telemetry_diag, NULL);
        return otel_sdk_init(
                &(otel_sdk_options){.service_name = t->service_name, .service_version = OTELDEMO_VERSION});
}

static bool telemetry_same(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

static void telemetry_swap(char **a, char **b)
{
        char *t = *a;

        *a = *b;
        *b = t;
}

void telemetry_reload(telemetry_config *current, telemetry_config *fresh)
{
        const char *name, *arg;
        int r;

        otel_log_set_level(fresh->log_level);
        current->log_level = fresh->log_level;

        if (telemetry_sampler_from_env || (telemetry_same(current->sampler, fresh->sampler) &&
                                           telemetry_same(current->sampler_arg, fresh->sampler_arg)))
                return;
        name = fresh->sampler ?: TELEMETRY_DEFAULT_SAMPLER;
        arg = telemetry_sampler_arg_from_env ? getenv("OTEL_TRACES_SAMPLER_ARG") : fresh->sampler_arg;
        r = otel_sdk_set_sampler(name, arg);
        if (r < 0) {
                otel_log(OTEL_SEVERITY_WARN,
                         "[telemetry] sampler %s%s%s is invalid, keeping the previous one", name,
                         arg ? " with argument " : "", arg ?: "");
                return;
        }
        otel_log(OTEL_SEVERITY_INFO, "[telemetry] sampler is now %s%s%s", name, arg ? " with argument " : "",
                 arg ?: "");
        telemetry_swap(&current->sampler, &fresh->sampler);
        telemetry_swap(&current->sampler_arg, &fresh->sampler_arg);
}
