/* SPDX-License-Identifier: Apache-2.0 */
/* The global tracer provider (SDK spec "Tracer Provider"): built by otel_sdk_init() from the
 * environment (OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, samplers, limits, resource), torn down by
 * otel_sdk_shutdown(). Tracers are per instrumentation scope and live until shutdown. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "diag.h"
#include "env.h"
#include "propagation.h"
#include "provider.h"
#include "span.h"
#include "stats.h"
#include "tracez.h"

#define OTEL_EXPORTER_LIST_MAX 256 /* longest OTEL_TRACES_EXPORTER value we read */

otel_provider otel_provider_global = {.tracers_lock = PTHREAD_MUTEX_INITIALIZER};

/* Handed out when the SDK is disabled or not initialised: every span is non-recording. */
static otel_tracer tracer_noop = {.scope_name = (char *)"noop", .noop = true};

static uint32_t limit_from_env(const char *name, const char *general, uint32_t def)
{
        if (otel_env_get(name))
                return (uint32_t)otel_env_int(name, def, 0, UINT32_MAX - 1);
        if (general && otel_env_get(general))
                return (uint32_t)otel_env_int(general, def, 0, UINT32_MAX - 1);
        return def;
}

void otel_provider_limits_from_env(otel_provider *p)
{
        uint32_t value_len = limit_from_env("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                                            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", OTEL_ATTR_UNLIMITED);

        p->span_attr_limits = (otel_attr_limits){
                .count = limit_from_env("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
                                        OTEL_DEFAULT_COUNT_LIMIT),
                .value_length = value_len,
        };
        p->event_attr_limits = (otel_attr_limits){
                .count = limit_from_env("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
                                        OTEL_DEFAULT_COUNT_LIMIT),
                .value_length = value_len,
        };
        p->link_attr_limits = (otel_attr_limits){
                .count = limit_from_env("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
                                        OTEL_DEFAULT_COUNT_LIMIT),
                .value_length = value_len,
        };
        p->event_count_limit = limit_from_env("OTEL_SPAN_EVENT_COUNT_LIMIT", NULL, OTEL_DEFAULT_COUNT_LIMIT);
        p->link_count_limit = limit_from_env("OTEL_SPAN_LINK_COUNT_LIMIT", NULL, OTEL_DEFAULT_COUNT_LIMIT);
}

static int provider_add_processor(otel_provider *p, otel_span_processor *proc)
{
        if (p->n_processors == OTEL_PROVIDER_MAX_PROCESSORS) {
                proc->shutdown(proc, otel_mono_ns());
                return -E2BIG;
        }
        p->processors[p->n_processors++] = proc;
        return 0;
}

static int provider_add_exporter(otel_provider *p, const char *name, size_t len)
{
        otel_span_exporter *exp = NULL;
        otel_span_processor *proc = NULL;
        otel_batch_config bc;
        int r;

        if (len == 4 && strncasecmp(name, "none", 4) == 0)
                return 0;
        if (len == 4 && strncasecmp(name, "otlp", 4) == 0) {
                r = otel_otlp_span_exporter_new(p->resource, &exp);
                if (r < 0)
                        return r;
                otel_batch_config_from_env(&bc);
                r = otel_batch_processor_new(&bc, exp, &proc);
        } else if (len == 7 && strncasecmp(name, "console", 7) == 0) {
                r = otel_console_span_exporter_new(p->resource, stderr, &exp);
                if (r < 0)
                        return r;
                r = otel_simple_processor_new(exp, &proc);
        } else {
                otel_diag(OTEL_DIAG_WARN,
                          "invalid OTEL_TRACES_EXPORTER entry \"%.*s\" (expected otlp, console "
                          "or none), ignoring it",
                          (int)len, name);
                return 0;
        }
        if (r < 0)
                return r;
        return provider_add_processor(p, proc);
}

/* OTEL_TRACES_EXPORTER: comma-separated; default "otlp". */
static int provider_add_exporters(otel_provider *p)
{
        const char *v = otel_env_get("OTEL_TRACES_EXPORTER");
        int r;

        if (!v)
                return provider_add_exporter(p, "otlp", 4);
        if (strlen(v) > OTEL_EXPORTER_LIST_MAX) {
                otel_diag(OTEL_DIAG_WARN, "OTEL_TRACES_EXPORTER is too long, using \"otlp\"");
                return provider_add_exporter(p, "otlp", 4);
        }
        for (const char *s = v;;) {
                const char *comma = strchr(s, ',');
                size_t len = comma ? (size_t)(comma - s) : strlen(s);

                while (len && (*s == ' ' || *s == '\t')) {
                        s++;
                        len--;
                }
                while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                        len--;
                if (len) {
                        r = provider_add_exporter(p, s, len);
                        if (r < 0)
                                return r;
                }
                if (!comma)
                        return 0;
                s = comma + 1;
        }
}

/* The tracez store (/debug/tracez) sees every ended span, whatever the exporters. */
static int provider_add_tracez(otel_provider *p)
{
        otel_span_processor *proc;
        int r = otel_tracez_processor_new(&proc);

        return r < 0 ? r : provider_add_processor(p, proc);
}

static void provider_free_tracers(otel_provider *p)
{
        pthread_mutex_lock(&p->tracers_lock);
        while (p->tracers) {
                otel_tracer *t = p->tracers;
                p->tracers = t->next;
                free(t->scope_name);
                free(t->scope_version);
                free(t);
        }
        pthread_mutex_unlock(&p->tracers_lock);
}

static int provider_stop(otel_provider *p, uint64_t deadline)
{
        int ret = 0, r;

        /* Logs first (they may still be written while metrics and traces flush), then metrics. */
        r = otel_logs_sdk_stop(deadline);
        if (r < 0)
                ret = r;
        r = otel_metrics_sdk_stop(deadline);
        if (r < 0 && ret == 0)
                ret = r;
        atomic_store(&p->active, false);
        /* Spans that were already inside on_end finish before the processors go away. */
        while (atomic_load(&p->in_flight) > 0)
                sched_yield();
        for (unsigned i = 0; i < p->n_processors; i++) {
                r = p->processors[i]->shutdown(p->processors[i], deadline);
                if (r < 0 && ret == 0)
                        ret = r;
                p->processors[i] = NULL;
        }
        p->n_processors = 0;
        provider_free_tracers(p);
        if (ret == -ETIMEDOUT) {
                /* An exporter thread that missed the deadline may still read the resource and the
                 * tracers of its spans: keep the resource (reachable, not leaked) rather than free it
                 * under that thread. */
                p->abandoned_resource = p->resource;
        } else
                otel_resource_free(p->resource);
        p->resource = NULL;
        return ret;
}

int otel_sdk_init(const otel_sdk_options *opts)
{
        otel_provider *p = &otel_provider_global;
        otel_sampler sampler;
        int r;

        if (atomic_load(&p->active))
                return -EALREADY;
        otel_propagation_configure();
        if (otel_env_bool("OTEL_SDK_DISABLED", false))
                return 0;
        r = otel_resource_new(opts, &p->resource);
        if (r < 0)
                return r;
        otel_sampler_from_env(&sampler);
        atomic_store(&p->sampler, otel_sampler_pack(&sampler));
        otel_provider_limits_from_env(p);
        r = provider_add_exporters(p);
        if (r >= 0)
                r = provider_add_tracez(p);
        if (r >= 0)
                r = otel_metrics_sdk_start(p->resource);
        if (r >= 0)
                r = otel_logs_sdk_start(p->resource);
        if (r < 0) {
                (void)provider_stop(p, otel_mono_ns());
                return r;
        }
        atomic_store(&p->active, true);
        return 0;
}

int otel_sdk_set_sampler(const char *name, const char *arg)
{
        otel_sampler s;
        int r = otel_sampler_parse(name, arg, &s);

        if (r < 0)
                return r;
        /* Spans that start from now on use it; a span's decision never changes after its start. */
        atomic_store(&otel_provider_global.sampler, otel_sampler_pack(&s));
        return 0;
}

bool otel_sdk_enabled(void)
{
        return atomic_load(&otel_provider_global.active);
}

int otel_sdk_force_flush(uint64_t timeout_ms)
{
        otel_provider *p = &otel_provider_global;
        uint64_t deadline = otel_mono_ns() + timeout_ms * OTEL_NSEC_PER_MSEC;
        int ret = 0, r;

        if (!atomic_load(&p->active))
                return 0;
        for (unsigned i = 0; i < p->n_processors; i++) {
                r = p->processors[i]->force_flush(p->processors[i], deadline);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        r = otel_metrics_sdk_flush(deadline);
        if (r < 0 && ret == 0)
                ret = r;
        r = otel_logs_sdk_flush(deadline);
        if (r < 0 && ret == 0)
                ret = r;
        return ret;
}

int otel_sdk_shutdown(uint64_t timeout_ms)
{
        otel_provider *p = &otel_provider_global;

        if (!atomic_load(&p->active))
                return 0;
        return provider_stop(p, otel_mono_ns() + timeout_ms * OTEL_NSEC_PER_MSEC);
}

otel_tracer *otel_tracer_get(const char *scope_name, const char *scope_version)
{
        otel_provider *p = &otel_provider_global;
        otel_tracer *t;

        if (!atomic_load(&p->active))
                return &tracer_noop;
        if (!scope_name || !*scope_name) {
                /* Spec: an invalid name still yields a working tracer (and a warning). */
                otel_diag(OTEL_DIAG_WARN, "tracer requested with an empty scope name");
                scope_name = "";
        }
        pthread_mutex_lock(&p->tracers_lock);
        for (t = p->tracers; t; t = t->next)
                if (strcmp(t->scope_name, scope_name) == 0 &&
                    ((!t->scope_version && !scope_version) ||
                     (t->scope_version && scope_version && strcmp(t->scope_version, scope_version) == 0)))
                        goto out;
        t = calloc(1, sizeof(*t));
        if (t) {
                t->scope_name = strdup(scope_name);
                t->scope_version = scope_version ? strdup(scope_version) : NULL;
                if (!t->scope_name || (scope_version && !t->scope_version)) {
                        free(t->scope_name);
                        free(t->scope_version);
                        free(t);
                        t = NULL;
                } else {
                        t->next = p->tracers;
                        p->tracers = t;
                }
        }
out:
        pthread_mutex_unlock(&p->tracers_lock);
        return t ? t : &tracer_noop;
}

void otel_trace_stats_get(otel_trace_stats *ret)
{
        otel_trace_counters *c = &otel_trace_counters_global;

        *ret = (otel_trace_stats){
                .spans_started = atomic_load_explicit(&c->spans_started, memory_order_relaxed),
                .spans_ended = atomic_load_explicit(&c->spans_ended, memory_order_relaxed),
                .spans_queued = atomic_load_explicit(&c->spans_queued, memory_order_relaxed),
                .spans_dropped_queue_full =
                        atomic_load_explicit(&c->spans_dropped_queue_full, memory_order_relaxed),
                .spans_exported = atomic_load_explicit(&c->spans_exported, memory_order_relaxed),
                .spans_export_failed = atomic_load_explicit(&c->spans_export_failed, memory_order_relaxed),
                .export_requests = atomic_load_explicit(&c->export_requests, memory_order_relaxed),
        };
}

uint64_t otel_time_now_ns(void)
{
        return otel_clock_ns(CLOCK_REALTIME);
}
