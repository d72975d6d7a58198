/* SPDX-License-Identifier: Apache-2.0 */
/* The implicit context: current span and baggage of this thread. Requests in our daemons run on one
 * thread from start to end, so a thread-local pair is the whole context. */
#include "otel.h"
#include "span.h"

typedef struct context_state {
        otel_span *span;       /* reference held by the context, may be NULL */
        otel_baggage *baggage; /* reference held by the context, may be NULL */
} context_state;

static _Thread_local context_state current;

otel_context_token otel_context_attach(otel_span *span, otel_baggage *baggage)
{
        otel_context_token token = {.prev_span = current.span, .prev_baggage = current.baggage};

        /* NULL keeps what is current: a child span keeps the request's baggage. The token's references
         * move back on detach, so the kept one gets a reference of its own here. */
        current.span = otel_span_ref(span ? span : current.span);
        current.baggage = otel_baggage_ref(baggage ? baggage : current.baggage);
        return token;
}

void otel_context_detach(otel_context_token token)
{
        otel_span_unref(current.span);
        otel_baggage_unref(current.baggage);
        current.span = token.prev_span;
        current.baggage = token.prev_baggage;
}

otel_span *otel_context_span(void)
{
        return current.span;
}

otel_baggage *otel_context_baggage(void)
{
        return current.baggage;
}

const otel_span_context *otel_context_span_context(void)
{
        return current.span ? &current.span->context : NULL;
}
