/* SPDX-License-Identifier: Apache-2.0 */
/* Fast per-thread pseudo-random ids: xoshiro256** seeded from getrandom(2) once per thread (and
 * after fork); ids are never all-zero, as W3C Trace Context requires. */
#pragma once

#include <stdint.h>

#include "otel.h"

uint64_t otel_random_u64(void);
void otel_random_trace_id(uint8_t ret[OTEL_TRACE_ID_SIZE]);
void otel_random_span_id(uint8_t ret[OTEL_SPAN_ID_SIZE]);
/* Uniform in [0, 1). */
double otel_random_unit(void);
