/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo-backend's HTTP API: the routing table of issue 4 mapped onto the shop_* operations and the
 * admin endpoint (admin.h). Handlers validate what comes from the URL (ids > 0, limit 1..200,
 * offset >= 0) and leave JSON bodies to the data side.
 */
#pragma once

#include "backend-app.h"
#include "http-server.h"

#define BACKEND_READY_PING_MS 500u /* /readyz must answer well within a second when PostgreSQL is gone */

int backend_routes_register(http_server *s, backend_app *app) OTEL_WUR;
/* http_ready_fn: the database answers a round trip. */
int backend_ready(void *userdata, char *ret_reason, size_t size);
