/* SPDX-License-Identifier: Apache-2.0 */
/* The built-in samplers of the SDK spec (AlwaysOn, AlwaysOff, TraceIdRatioBased, ParentBased with its
 * default delegates), chosen by OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG. A value type: the
 * decision is a pure function of the parent context and the trace id, cheap enough for every span. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "otel.h"

typedef enum otel_sampler_kind {
        OTEL_SAMPLER_ALWAYS_ON,
        OTEL_SAMPLER_ALWAYS_OFF,
        OTEL_SAMPLER_TRACEIDRATIO,
        OTEL_SAMPLER_PARENTBASED_ALWAYS_ON,
        OTEL_SAMPLER_PARENTBASED_ALWAYS_OFF,
        OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO,
        _OTEL_SAMPLER_KIND_MAX,
        _OTEL_SAMPLER_KIND_INVALID = -EINVAL,
} otel_sampler_kind;

typedef struct otel_sampler {
        otel_sampler_kind kind;
        double ratio;       /* TraceIdRatioBased probability in [0, 1] */
        uint64_t threshold; /* sample when the trace id's low 56 bits are >= this */
} otel_sampler;

/* Names as in OTEL_TRACES_SAMPLER ("always_on", "parentbased_traceidratio", …). */
const char *otel_sampler_kind_to_string(otel_sampler_kind k);
void otel_sampler_init(otel_sampler *s, otel_sampler_kind kind, double ratio);
/* Spec default parentbased_always_on; invalid values warned about and replaced by defaults. */
void otel_sampler_from_env(otel_sampler *ret);
/* The sampler from a name as in OTEL_TRACES_SAMPLER and an argument as in OTEL_TRACES_SAMPLER_ARG
 * (NULL = 1.0; ignored by samplers without a ratio). -EINVAL for an unknown name or a ratio that is
 * not a number in [0, 1]. */
int otel_sampler_parse(const char *name, const char *arg, otel_sampler *ret) OTEL_WUR;

/* A sampler packed into one word (kind in the top bits, threshold below), so that the running
 * provider can swap it atomically while spans start on other threads. */
uint64_t otel_sampler_pack(const otel_sampler *s);
void otel_sampler_unpack(uint64_t word, otel_sampler *ret);

/* parent: the parent's context, or NULL for a root span. Returns true to record and sample. */
bool otel_sampler_should_sample(const otel_sampler *s, const otel_span_context *parent,
                                const uint8_t trace_id[OTEL_TRACE_ID_SIZE]);
