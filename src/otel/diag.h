/* SPDX-License-Identifier: Apache-2.0 */
/* The SDK's own diagnostics (spec: "self-diagnostics"): otel_diag() raises one, filtered by
 * OTEL_LOG_LEVEL, and hands it to the application's handler (otel.h: otel_diag_set_handler()) or
 * writes it as one line to stderr. */
#pragma once

#include <stdbool.h>

#include "otel.h"

void otel_diag(otel_diag_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True on a thread that is inside the application's diagnostic handler (logs.c keeps such lines out
 * of the OTLP pipeline). */
bool otel_diag_in_handler(void);
