/* SPDX-License-Identifier: Apache-2.0 */
/* The global tracer provider: what otel_sdk_init() built from the environment and what span.c reads
 * on every span (sampler, limits, processors). Written only by init/shutdown. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "attributes.h"
#include "processor.h"
#include "resource.h"
#include "sampler.h"

#define OTEL_PROVIDER_MAX_PROCESSORS 5 /* one per OTEL_TRACES_EXPORTER entry (4), and tracez */
#define OTEL_DEFAULT_COUNT_LIMIT     128

typedef struct otel_provider {
        atomic_bool active;                 /* spans are recorded and handed to processors */
        atomic_uint in_flight;              /* on_end calls under way (shutdown waits for 0) */
        otel_resource *resource;            /* owned */
        otel_resource *abandoned_resource;  /* kept for an exporter thread that outlived shutdown */
        _Atomic uint64_t sampler;           /* otel_sampler_pack() of the sampler in force: from
                                             * OTEL_TRACES_SAMPLER[_ARG], swapped by otel_sdk_set_sampler() */
        otel_attr_limits span_attr_limits;  /* OTEL_SPAN_ATTRIBUTE_* / OTEL_ATTRIBUTE_* */
        otel_attr_limits event_attr_limits; /* OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT */
        otel_attr_limits link_attr_limits;  /* OTEL_LINK_ATTRIBUTE_COUNT_LIMIT */
        uint32_t event_count_limit;         /* OTEL_SPAN_EVENT_COUNT_LIMIT */
        uint32_t link_count_limit;          /* OTEL_SPAN_LINK_COUNT_LIMIT */
        otel_span_processor *processors[OTEL_PROVIDER_MAX_PROCESSORS]; /* owned */
        atomic_uint n_processors;     /* set before `active`, cleared after it */
        pthread_mutex_t tracers_lock; /* guards tracers */
        otel_tracer *tracers;         /* owned list */
} otel_provider;

extern otel_provider otel_provider_global;

/* The metrics and logs signals plug into otel_sdk_init()/force_flush()/shutdown() here; they borrow
 * the provider's resource, which outlives them. Deadlines are CLOCK_MONOTONIC ns. */
int otel_metrics_sdk_start(const otel_resource *res);
int otel_metrics_sdk_flush(uint64_t deadline_ns);
int otel_metrics_sdk_stop(uint64_t deadline_ns);
int otel_logs_sdk_start(const otel_resource *res);
int otel_logs_sdk_flush(uint64_t deadline_ns);
int otel_logs_sdk_stop(uint64_t deadline_ns);

/* Reads the limit variables (spec "Attribute Limits", "Span Limits"). */
void otel_provider_limits_from_env(otel_provider *p);
