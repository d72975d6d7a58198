/* SPDX-License-Identifier: Apache-2.0 */
/* Test support: the SDK started with every exporter off and without its self-telemetry instruments,
 * so a collection holds only the instruments the test created (golden outputs stay stable). */
#pragma once

#include <stdlib.h>

#include "metrics.h"
#include "otel.h"

static int metrics_fixture_init(const char *service_name)
{
        setenv("OTEL_TRACES_EXPORTER", "none", 1);
        setenv("OTEL_METRICS_EXPORTER", "none", 1);
        setenv("OTEL_LOGS_EXPORTER", "none", 1);
        otel_metrics_self_telemetry_set_enabled(false);
        return otel_sdk_init(&(otel_sdk_options){.service_name = service_name}) == 0 ? 0 : -1;
}
