/* SPDX-License-Identifier: Apache-2.0 */
/* The metrics signal's SDK. Being built for issue 3; until then the signal has no pipeline. */
#include "provider.h"

int otel_metrics_sdk_start(const otel_resource *res)
{
        (void)res;
        return 0;
}

int otel_metrics_sdk_flush(uint64_t deadline_ns)
{
        (void)deadline_ns;
        return 0;
}

int otel_metrics_sdk_stop(uint64_t deadline_ns)
{
        (void)deadline_ns;
        return 0;
}
