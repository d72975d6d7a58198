/* SPDX-License-Identifier: Apache-2.0 */
/* Samplers. TraceIdRatioBased compares the trace id's 56 least significant bits, the randomness
 * that W3C Trace Context Level 2 guarantees, with a threshold of (1 - ratio) * 2^56, so that every
 * service holding the same ratio makes the same decision for a trace. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "env.h"
#include "sampler.h"

#define OTEL_SAMPLER_RANDOM_BITS 56
#define OTEL_SAMPLER_KIND_SHIFT  60 /* the threshold needs 57 bits (it may be exactly 2^56) */
#define OTEL_SAMPLER_RATIO_SPAN  ((double)(1ull << OTEL_SAMPLER_RANDOM_BITS))

static const char *const sampler_names[_OTEL_SAMPLER_KIND_MAX + 1] = {
        [OTEL_SAMPLER_ALWAYS_ON] = "always_on",
        [OTEL_SAMPLER_ALWAYS_OFF] = "always_off",
        [OTEL_SAMPLER_TRACEIDRATIO] = "traceidratio",
        [OTEL_SAMPLER_PARENTBASED_ALWAYS_ON] = "parentbased_always_on",
        [OTEL_SAMPLER_PARENTBASED_ALWAYS_OFF] = "parentbased_always_off",
        [OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO] = "parentbased_traceidratio",
        [_OTEL_SAMPLER_KIND_MAX] = NULL,
};

const char *otel_sampler_kind_to_string(otel_sampler_kind k)
{
        return (unsigned)k < _OTEL_SAMPLER_KIND_MAX ? sampler_names[k] : NULL;
}

void otel_sampler_init(otel_sampler *s, otel_sampler_kind kind, double ratio)
{
        const double span = OTEL_SAMPLER_RATIO_SPAN;

        if (!(ratio >= 0.0))
                ratio = 0.0;
        if (ratio > 1.0)
                ratio = 1.0;
        *s = (otel_sampler){.kind = kind, .ratio = ratio};
        s->threshold = (uint64_t)llround((1.0 - ratio) * span);
}

void otel_sampler_from_env(otel_sampler *ret)
{
        otel_sampler_kind kind =
                otel_env_enum("OTEL_TRACES_SAMPLER", sampler_names, OTEL_SAMPLER_PARENTBASED_ALWAYS_ON);
        double ratio = 1.0;

        if (kind == OTEL_SAMPLER_TRACEIDRATIO || kind == OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO)
                ratio = otel_env_double("OTEL_TRACES_SAMPLER_ARG", 1.0, 0.0, 1.0);
        otel_sampler_init(ret, kind, ratio);
}

int otel_sampler_parse(const char *name, const char *arg, otel_sampler *ret)
{
        double ratio = 1.0;
        char *end;

        if (!name)
                return -EINVAL;
        for (int k = 0; k < _OTEL_SAMPLER_KIND_MAX; k++) {
                if (strcasecmp(name, sampler_names[k]) != 0)
                        continue;
                if (arg && *arg) {
                        errno = 0;
                        ratio = strtod(arg, &end);
                        if (errno || end == arg || *end || !(ratio >= 0.0 && ratio <= 1.0))
                                return -EINVAL;
                }
                otel_sampler_init(ret, (otel_sampler_kind)k, ratio);
                return 0;
        }
        return -EINVAL;
}

uint64_t otel_sampler_pack(const otel_sampler *s)
{
        return (uint64_t)s->kind << OTEL_SAMPLER_KIND_SHIFT | s->threshold;
}

void otel_sampler_unpack(uint64_t word, otel_sampler *ret)
{
        ret->kind = (otel_sampler_kind)(word >> OTEL_SAMPLER_KIND_SHIFT);
        ret->threshold = word & ((1ull << OTEL_SAMPLER_KIND_SHIFT) - 1);
        ret->ratio = 1.0 - (double)ret->threshold / OTEL_SAMPLER_RATIO_SPAN;
}

static bool sampler_ratio(const otel_sampler *s, const uint8_t trace_id[OTEL_TRACE_ID_SIZE])
{
        uint64_t r = 0;

        for (int i = 16 - OTEL_SAMPLER_RANDOM_BITS / 8; i < 16; i++)
                r = (r << 8) | trace_id[i];
        return r >= s->threshold;
}

bool otel_sampler_should_sample(const otel_sampler *s, const otel_span_context *parent,
                                const uint8_t trace_id[OTEL_TRACE_ID_SIZE])
{
        switch (s->kind) {
        case OTEL_SAMPLER_ALWAYS_ON:
                return true;
        case OTEL_SAMPLER_ALWAYS_OFF:
                return false;
        case OTEL_SAMPLER_TRACEIDRATIO:
                return sampler_ratio(s, trace_id);
        default:
                break;
        }
        /* ParentBased: a parent decides (remote or local, with the spec's default delegates). */
        if (parent && otel_span_context_is_valid(parent))
                return parent->trace_flags & OTEL_TRACE_FLAG_SAMPLED;
        switch (s->kind) {
        case OTEL_SAMPLER_PARENTBASED_ALWAYS_ON:
                return true;
        case OTEL_SAMPLER_PARENTBASED_ALWAYS_OFF:
                return false;
        case OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO:
                return sampler_ratio(s, trace_id);
        default:
                return false;
        }
}
