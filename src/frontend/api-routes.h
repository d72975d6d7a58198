/* SPDX-License-Identifier: Apache-2.0 */
/* The shop API routes the frontend forwards to the backend, registered one by one so that the
 * frontend's SERVER spans are named "{method} {route}" with the real http.route (semantic conventions)
 * instead of the catch-all "/api/{any}"; other API paths still go through the catch-all. */
#pragma once

#include "http-server.h"

/* Registers every route with handler (the proxy), and the catch-all for the other API paths. */
int api_routes_register(http_server *s, http_handler_fn handler, void *userdata) OTEL_WUR;
