/* SPDX-License-Identifier: Apache-2.0 */
/* W3C propagation internals shared by tracecontext.c, baggage.c and propagation.c, and reached by the
 * unit tests and the fuzzer: the OTEL_PROPAGATORS set and read-only views of parsed lists. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "otel.h"

/* The propagators OTEL_PROPAGATORS can select. */
typedef enum otel_propagator {
        OTEL_PROPAGATOR_TRACECONTEXT = 1u << 0,
        OTEL_PROPAGATOR_BAGGAGE = 1u << 1,
} otel_propagator;

#define OTEL_PROPAGATORS_DEFAULT (OTEL_PROPAGATOR_TRACECONTEXT | OTEL_PROPAGATOR_BAGGAGE)

/* Reads OTEL_PROPAGATORS (default "tracecontext,baggage"); unknown names are warned about and ignored.
 * Called by otel_sdk_init(); until then the default set is active. */
void otel_propagation_configure(void);
/* The active set (OR of otel_propagator bits). */
unsigned otel_propagation_active(void);

/* Removes spaces and tabs (HTTP OWS) from both ends of [*s, *s + *len). */
void otel_propagation_trim_ows(const char **s, size_t *len);

/* Percent-decodes s[0..n) (RFC 3986 section 2.1, either hex case) into out, which has room for n + 1
 * bytes, and NUL-terminates it. *ret_len gets the decoded length, which counts an encoded NUL ("%00")
 * that strlen() would not. -EINVAL for a '%' not followed by two hex digits. The baggage value format,
 * shared by W3C Baggage, OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS (baggage.c). */
int otel_percent_decode(const char *s, size_t n, char *out, size_t *ret_len) OTEL_WUR;

/* Members of a tracestate in header order (after truncation). */
size_t otel_tracestate_count(const otel_tracestate *ts);
bool otel_tracestate_member(const otel_tracestate *ts, size_t i, const char **ret_key,
                            const char **ret_value);
