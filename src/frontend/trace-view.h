/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The data behind the shop's tracez pages, so that a trace is readable with no tracing backend
 * installed: GET /debug/trace/{trace_id} assembles the spans of one trace that tracez kept in this
 * process and in the backend (asked for the same trace id over HTTP), for the #/trace waterfall;
 * GET /debug/backend/tracez relays the backend's tracez JSON (?name=, ?bucket=) for the #/tracez page.
 */
#pragma once

#include "http-server.h"
#include "proxy.h"

#define TRACE_VIEW_BODY_MAX (4u * 1024u * 1024u) /* the backend's tracez JSON we accept */

/* Registers both routes; backend (the [backend] section) must outlive the server. */
int trace_view_register(http_server *s, const proxy_config *backend) OTEL_WUR;
