/* SPDX-License-Identifier: Apache-2.0 */
/* The SDK's own diagnostics (spec: "self-diagnostics"): warnings about bad OTEL_* values and failed
 * exports. Level from OTEL_LOG_LEVEL (error, warn, info, debug; default info). Written as one line
 * to stderr unless the application installs a hook. */
#pragma once

typedef enum otel_diag_level {
        OTEL_DIAG_ERROR,
        OTEL_DIAG_WARN,
        OTEL_DIAG_INFO,
        OTEL_DIAG_DEBUG,
        _OTEL_DIAG_LEVEL_MAX,
} otel_diag_level;

void otel_diag(otel_diag_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void otel_diag_set_level(otel_diag_level level);
