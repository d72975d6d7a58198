/* SPDX-License-Identifier: Apache-2.0 */
/* The SDK's Resource: service.*, host.name, process.pid, os.type, telemetry.sdk.*, merged with
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (which win, as the spec says). */
#pragma once

#include "arena.h"
#include "attributes.h"
#include "otel.h"

typedef struct otel_resource {
        otel_attr_list attrs; /* items in arena */
        otel_arena arena;     /* heap blocks only */
} otel_resource;

int otel_resource_new(const otel_sdk_options *opts, otel_resource **ret) OTEL_WUR;
void otel_resource_free(otel_resource *r);
/* The value of service.name (never NULL once built). */
const char *otel_resource_service_name(const otel_resource *r);
