/* SPDX-License-Identifier: Apache-2.0 */
/* Reading OTEL_* environment variables per the spec's "Environment Variable Specification": empty
 * means unset; an invalid value is warned about once (naming the variable) and the default is used. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* NULL when unset or empty. */
const char *otel_env_get(const char *name);
bool otel_env_bool(const char *name, bool def);
/* Non-negative integer within [min, max]; otherwise warns and returns def. */
int64_t otel_env_int(const char *name, int64_t def, int64_t min, int64_t max);
/* Double within [min, max]; otherwise warns and returns def. */
double otel_env_double(const char *name, double def, double min, double max);
/* Index of the (case-insensitive) value in choices[], or def with a warning. */
int otel_env_enum(const char *name, const char *const *choices, int def);
