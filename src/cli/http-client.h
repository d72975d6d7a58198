/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's HTTP client: one libcurl easy handle (kept-alive connection) per client, one client per
 * thread. Every request is a CLIENT span (HTTP client semantic conventions) whose context is injected
 * as traceparent with the SDK's configured propagators; with no current span it is the root of a new
 * trace, which is what every oteldemo command is.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "otel.h"

#define HTTP_CLIENT_BODY_MAX   (16u * 1024u * 1024u) /* a reply larger than this is an error */
#define HTTP_CLIENT_USER_AGENT "oteldemo-cli/" OTELDEMO_VERSION
#define HTTP_CLIENT_URL_MAX    2048 /* base URL + path */
#define HTTP_CLIENT_ERROR_MAX  256  /* transport error text */

typedef struct http_client http_client;

typedef struct http_client_request {
        const char *method;          /* "GET", "POST", "PUT" */
        const char *path;            /* path and query, appended to the base URL */
        const char *route;           /* low-cardinality template for the span name ("/api/users/{id}") */
        const char *json_body;       /* request body (Content-Type: application/json), or NULL */
        const char *idempotency_key; /* Idempotency-Key header, or NULL */
        bool auth;                   /* send the admin token (else the write token, on all but GET) */
} http_client_request;

typedef struct http_client_response {
        long status; /* HTTP status; 0 when no reply */
        char *body;  /* NUL-terminated reply body (malloc'ed), or NULL */
        size_t body_len;
        char trace_id[OTEL_TRACE_ID_HEX + 1]; /* of the request's CLIENT span; "" when tracing is off */
        char error[HTTP_CLIENT_ERROR_MAX];    /* transport error text, "" when a reply came */
} http_client_response;

/* base_url: "http://host:port" or "https://host:port" (a trailing '/' is dropped); token (the admin's,
 * for requests marked auth) and write_token (for the others but GET) may be NULL; tls (NULL: none) names
 * a CA file that replaces the system's and a client certificate, used for an https:// base URL; its
 * strings must outlive the client. */
int http_client_new(const char *base_url, uint64_t timeout_ms, const char *token, const char *write_token,
                    const cli_tls_files *tls, http_client **ret);
void http_client_free(http_client *c);

/* Sends req. Returns 0 when a reply came (whatever its status), -ECONNREFUSED when nothing listens or
 * the host is unknown, -ETIMEDOUT, -EIO for other transport failures, -ENOMEM, -E2BIG (reply too
 * large). ret is filled in every case (trace_id, error); release it with http_client_response_done(). */
int http_client_do(http_client *c, const http_client_request *req, http_client_response *ret);
void http_client_response_done(http_client_response *resp);
