/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The routing table of the HTTP server: method + path pattern → handler. Patterns are parsed once into
 * segments: literals ("users"), parameters ("{id}") and a final wildcard ("*", any rest of the path,
 * for the frontend's proxy and static files). A lookup walks the segments of the request path; when
 * several routes match, the most specific wins (literal over parameter over wildcard, segment by
 * segment), so the order of registration does not matter.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "otel.h"

#define HTTP_ROUTER_MAX_SEGMENTS 16   /* path segments in a pattern or a matched path */
#define HTTP_ROUTER_MAX_PARAMS   4    /* {name} segments per pattern */
#define HTTP_ROUTER_MAX_PATH     2048 /* longest request path matched (longer → 404) */
#define HTTP_ROUTER_ALLOW_MAX    64   /* "GET, POST, PUT, DELETE, PATCH" fits */

typedef struct http_router http_router;
typedef struct http_request http_request;

/* A route handler. Must reply (http_reply_*, http-server.h) before returning; if it does not, the client
 * gets 500. */
typedef void (*http_handler_fn)(http_request *req, void *userdata);

/* The result of a successful lookup. Strings point into the match itself or the router; rest points
 * into the looked-up path. */
typedef struct http_route_match {
        const char *pattern;     /* the route template, e.g. "/api/users/{id}" */
        http_handler_fn handler; /* as registered */
        void *userdata;          /* as registered */
        size_t n_params;
        const char *param_names[HTTP_ROUTER_MAX_PARAMS];
        const char *param_values[HTTP_ROUTER_MAX_PARAMS]; /* the matched segments (NUL-terminated) */
        const char *rest;                   /* what "*" matched, without the leading '/' ("" when
                                               nothing), or NULL without a wildcard */
        char buf[HTTP_ROUTER_MAX_PATH + 1]; /* the split copy of the path the values point into */
} http_route_match;

int http_router_new(http_router **ret) OTEL_WUR;
void http_router_free(http_router *r);

/* method: "GET", "POST"…; pattern: starts with '/', segments separated by '/', "{name}" parameters,
 * optionally a last segment "*". Returns -EINVAL for a malformed pattern, -EEXIST when the same method
 * and pattern are already routed, -E2BIG over the caps, -ENOMEM. */
int http_router_add(http_router *r, const char *method, const char *pattern, http_handler_fn handler,
                    void *userdata) OTEL_WUR;

/* Looks up path (already percent-decoded, without the query). Returns 0 and fills *ret; -ENOENT when
 * no route has this path (404); -EOPNOTSUPP when routes have this path but not this method (405), with
 * ret_allow set to the "Allow" header value (HTTP_ROUTER_ALLOW_MAX bytes). HEAD is answered by GET
 * routes. */
int http_router_lookup(const http_router *r, const char *method, const char *path, http_route_match *ret,
                       char *ret_allow);

/* Checks the path of a raw request target (up to '?' or '#') as libmicrohttpd will percent-decode it
 * ("%XX" with two hex digits is one byte; anything else stays as it is). Returns 0 when the decoded
 * path has no control byte, -EILSEQ when it has one (< 0x20 or 0x7f: "%00" would otherwise cut the
 * C string libmicrohttpd hands over, "/index.html%00.png" naming "/index.html"), so the request is a
 * 400. ret_len (may be NULL) gets the decoded length. */
int http_path_check(const char *target, size_t *ret_len);

/* The value of parameter name in a match, or NULL. */
const char *http_route_match_param(const http_route_match *m, const char *name);
