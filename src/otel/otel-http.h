/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP client instrumentation, the SDK's second public header: what every libcurl user of the project
 * shares (the SDK's OTLP transport, the frontend's proxy, the CLI). A CLIENT span per the HTTP client
 * semantic conventions (http.request.method, server.address, server.port, url.full,
 * http.response.status_code, error.type), server.address/server.port from a URL, and the one table
 * from a CURLcode to error.type, errno and retryability. Each caller keeps only its transport.
 */
#pragma once

#include <curl/curl.h>

#include "otel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTEL_HTTP_HOST_MAX         256 /* server.address with its NUL (a DNS name is at most 253) */
#define OTEL_HTTP_CLIENT_ATTRS_MAX 4   /* extra start attributes a caller may add */

/* Semantic-convention http.request.method: the method when it is one of RFC 9110's and PATCH, else
 * "_OTHER" (then http.request.method_original carries what was sent). Static strings. */
const char *otel_http_method_semconv(const char *method);

/* The server of an absolute http:// or https:// URL. */
typedef struct otel_http_server {
        char address[OTEL_HTTP_HOST_MAX]; /* host name, or IP literal without IPv6 brackets */
        int64_t port;                     /* the explicit port, else the scheme's default */
        bool path_is_root;                /* no path beyond "/", no query, no fragment */
} otel_http_server;

/* Parses url with libcurl's URL parser. -EINVAL for anything but an http(s) URL with a host that
 * fits, -ENOMEM. */
int otel_http_url_server(const char *url, otel_http_server *ret) OTEL_WUR;

/* url.full as the semantic conventions want it (docs/url/url.md, "Sensitive information"): userinfo
 * replaced by "REDACTED:REDACTED", and the values of the query keys AWSAccessKeyId, Signature, sig and
 * X-Goog-Signature by "REDACTED". Returns 1 with *ret the malloc'ed redacted URL, 0 with *ret NULL when
 * url has nothing to redact, -ENOMEM (then url must not be recorded). */
int otel_http_url_redact(const char *url, char **ret) OTEL_WUR;

/* What a failed transfer means, for every caller alike. */
typedef struct otel_http_curl_error {
        const char *error_type; /* error.type; NULL for CURLE_OK */
        int err;                /* negative errno: -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET,
                                 * -ENOMEM, -EIO (0 for CURLE_OK) */
        bool retryable;         /* refused, dropped or reset connections (the OTLP spec retries these) */
} otel_http_curl_error;

/* Never NULL; unknown codes map to {"_OTHER", -EIO, false}. */
const otel_http_curl_error *otel_http_curl_error_lookup(CURLcode cc);

/* A reply body collected through libcurl (CURLOPT_WRITEFUNCTION otel_http_body_write, CURLOPT_WRITEDATA
 * the struct): capped by buf.max; over it, or without memory, the transfer fails with
 * CURLE_WRITE_ERROR and the flag says why. buf.data is malloc'ed: free() may take it over. */
typedef struct otel_http_body {
        otel_buf buf;   /* the bytes so far; set buf.max before the transfer */
        bool too_large; /* the reply went over buf.max */
        bool oom;       /* an allocation failed */
} otel_http_body;

size_t otel_http_body_write(char *data, size_t size, size_t nmemb, void *userdata);

/* One HTTP client request as a CLIENT span (child of the current span), and optionally its
 * http.client.request.duration. Borrowed strings must outlive otel_http_client_end(). */
typedef struct otel_http_client_opts {
        otel_tracer *tracer;
        const char *span_name;          /* NULL: the method ("HTTP" for _OTHER), as the conventions ask */
        const char *method;             /* as sent */
        const char *url;                /* url.full */
        const otel_http_server *server; /* server.address, server.port */
        const otel_attr *attrs;         /* extra start attributes (url.template, user_agent.original) */
        size_t n_attrs;                 /* at most OTEL_HTTP_CLIENT_ATTRS_MAX */
        otel_instrument *duration;      /* histogram in seconds, or NULL */
} otel_http_client_opts;

typedef struct otel_http_client {
        otel_span *span;                /* the CLIENT span, ended by otel_http_client_end() */
        const char *method;             /* semantic-convention method */
        const otel_http_server *server; /* borrowed from the options */
        otel_instrument *duration;      /* or NULL */
        uint64_t start_mono_ns;         /* for the duration */
        const char *error_type;         /* after end: the error.type recorded, NULL when none */
        char status_text[24];           /* error.type storage for a status >= 400 */
} otel_http_client;

void otel_http_client_start(otel_http_client *ret, const otel_http_client_opts *opts);
/* Ends the request: cc is the transfer's result; status the HTTP status when cc is CURLE_OK (>= 400 is
 * an error on a client span). error_type and description, when not NULL, name a failure the caller
 * detected itself (a reply over its cap, no memory) and override what cc says. */
void otel_http_client_end(otel_http_client *c, CURLcode cc, long status, const char *error_type,
                          const char *description);

#ifdef __cplusplus
}
#endif
