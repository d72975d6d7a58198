/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP/HTTP transport for one signal, shared by the trace (and later metric and log) exporters:
 * configuration from OTEL_EXPORTER_OTLP_[SIGNAL_]* (spec "OTLP Exporter Configuration"), one keep-alive
 * libcurl handle, gzip, and the retry policy of the OTLP spec ("OTLP/HTTP Response", "Retryable Response
 * Codes") bounded by the export deadline. A handle is used by one thread at a time. */
#pragma once

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "otel.h"

#define OTLP_HTTP_DEFAULT_ENDPOINT   "http://localhost:4318"
#define OTLP_HTTP_DEFAULT_TIMEOUT_MS 10000
#define OTLP_HTTP_MAX_TIMEOUT_MS     (24ll * 3600 * 1000) /* a day: anything longer is a typo */
/* Exponential backoff with full jitter: the n-th retry waits uniform [0, min(MAX, INITIAL * 2^(n-1))].
 * 1 s first (a collector restarting needs about that), capped at 5 s so that a default 10 s export
 * timeout still leaves room for several attempts. */
#define OTLP_HTTP_BACKOFF_INITIAL_MS 1000
#define OTLP_HTTP_BACKOFF_MAX_MS     5000
#define OTLP_HTTP_MAX_HEADERS        64         /* entries of *_HEADERS we keep */
#define OTLP_HTTP_MAX_HEADERS_LEN    8192       /* longest *_HEADERS value we read */
#define OTLP_HTTP_MAX_RESPONSE_BYTES (1u << 20) /* response body kept; the rest is discarded */
#define OTLP_HTTP_LOG_BODY_MAX       256        /* characters of an error body put in a log line */
#define OTLP_HTTP_LOG_INTERVAL_NS    (60ull * 1000000000ull) /* repeated identical failures: once a minute */
#define OTLP_HTTP_MAX_RETRY_AFTER_S  (24ll * 3600)           /* Retry-After values are clamped to this */
/* An endpoint where nothing ever answered (no Collector): said once per process, then at most hourly. */
#define OTLP_HTTP_UNREACHABLE_LOG_NS (3600ull * 1000000000ull)

typedef enum otlp_protocol {
        OTLP_PROTOCOL_HTTP_PROTOBUF, /* application/x-protobuf (default) */
        OTLP_PROTOCOL_HTTP_JSON,     /* application/json, OTLP/JSON mapping */
        _OTLP_PROTOCOL_MAX,
        _OTLP_PROTOCOL_INVALID = -EINVAL,
} otlp_protocol;

typedef enum otlp_compression {
        OTLP_COMPRESSION_NONE,
        OTLP_COMPRESSION_GZIP,
        _OTLP_COMPRESSION_MAX,
        _OTLP_COMPRESSION_INVALID = -EINVAL,
} otlp_compression;

/* Everything the transport needs; owned strings on the heap, released by otlp_http_config_done(). */
typedef struct otlp_http_config {
        char *signal;                 /* lowercase signal name for log lines ("traces") */
        char *url;                    /* full URL including the signal path */
        otlp_protocol protocol;       /* *_PROTOCOL */
        otlp_compression compression; /* *_COMPRESSION */
        uint64_t timeout_ms;          /* *_TIMEOUT: bound of one export, retries included */
        char **headers;               /* *_HEADERS as "Name: value" lines (curl's form) */
        size_t n_headers;
        char *certificate;                     /* *_CERTIFICATE: CA bundle to verify the server, or NULL */
        char *client_key;                      /* *_CLIENT_KEY: PEM private key for mTLS, or NULL */
        char *client_certificate;              /* *_CLIENT_CERTIFICATE: PEM certificate for mTLS, or NULL */
        atomic_uint_fast64_t *request_counter; /* bumped once per HTTP request (stats.h), or NULL */
} otlp_http_config;

/* Reads OTEL_EXPORTER_OTLP_<SIGNAL>_* (which win, each variable on its own) and OTEL_EXPORTER_OTLP_*
 * (*_INSECURE is for gRPC: only warned about when true); signal is "TRACES",
 * "METRICS" or "LOGS", signal_path "/v1/traces" etc. Invalid values are warned about (naming the
 * variable) and replaced by defaults, so only -ENOMEM fails. */
int otlp_http_config_from_env(const char *signal, const char *signal_path, otlp_http_config *ret) OTEL_WUR;
void otlp_http_config_done(otlp_http_config *cfg);

/* ---- pure pieces (unit-tested) ---------------------------------------------------------------- */

/* The spec's endpoint rules: a signal-specific endpoint is used as is; otherwise the generic one (or
 * the default) gets signal_path appended, without doubling a trailing '/'. Either may be NULL.
 * Returns -EINVAL when the chosen endpoint is not an http:// or https:// URL. */
int otlp_http_endpoint_resolve(const char *signal_endpoint, const char *generic_endpoint,
                               const char *signal_path, char **ret_url) OTEL_WUR;
/* Appends the entries of a *_HEADERS value (`k=v,k2=v2`, values percent-decoded) to cfg->headers.
 * Invalid entries are warned about (naming var) and skipped. Returns the number of entries added or
 * -ENOMEM. */
int otlp_http_headers_parse(const char *var, const char *value, otlp_http_config *cfg) OTEL_WUR;
/* Retry-After (RFC 9110 section 10.2.3): delta-seconds or an HTTP-date, relative to now. Returns 0 and
 * the delay (0 for a date in the past), or -EINVAL. */
int otlp_http_retry_after_parse(const char *value, time_t now, uint64_t *ret_delay_ns) OTEL_WUR;
/* Wait before the retry-th retry (1-based) given a uniform random unit in [0, 1). */
uint64_t otlp_http_backoff_ns(unsigned retry, double unit);
/* 429, 502, 503, 504: the codes OTLP/HTTP says to retry. */
bool otlp_http_status_is_retryable(long status);

/* ---- the transport ---------------------------------------------------------------------------- */

typedef struct otlp_http otlp_http;

/* What one otlp_http_send() saw; body and content_type are borrowed from the handle until the next
 * send or otlp_http_free(). */
typedef struct otlp_http_result {
        long status;         /* HTTP status of the last attempt, 0 if none was received */
        unsigned attempts;   /* requests sent, retries included */
        const uint8_t *body; /* response body of the last attempt (at most MAX_RESPONSE_BYTES) */
        size_t body_len;
        const char *content_type; /* of the response, or NULL */
} otlp_http_result;

/* Takes ownership of cfg's contents (also on failure; cfg is zeroed). */
int otlp_http_new(otlp_http_config *cfg, otlp_http **ret) OTEL_WUR;
void otlp_http_free(otlp_http *h);
const otlp_http_config *otlp_http_get_config(const otlp_http *h);

/* POSTs body (compressed if configured), retrying as the spec allows until deadline_ns
 * (CLOCK_MONOTONIC; further bounded by the configured timeout). Returns 0 on a 2xx answer; otherwise
 * logs the failure (rate-limited: the first, then once a minute with a count; an endpoint nobody
 * listens at: once per process, then hourly) and returns -ETIMEDOUT
 * (a retryable failure with no time left to retry, or the deadline passed), -EPROTO (an HTTP status
 * that must not be retried), -EIO (a transport error that must not be retried, or a connection to an
 * endpoint that never answered, tried once), or -ENOMEM. */
int otlp_http_send(otlp_http *h, const void *body, size_t len, uint64_t deadline_ns,
                   otlp_http_result *ret) OTEL_WUR;

/* A rate limiter for repeated identical diagnostics (also used by the exporters for partial success):
 * returns true when a message with this key should be logged now, and the number of identical ones
 * suppressed since the last that was logged. */
typedef struct otlp_log_limiter {
        bool armed;              /* something was logged already */
        uint64_t key;            /* hash of the last message kind */
        uint64_t last_logged_ns; /* CLOCK_MONOTONIC of the last logged one */
        uint64_t suppressed;     /* identical ones not logged since */
} otlp_log_limiter;

bool otlp_log_limiter_allow(otlp_log_limiter *l, uint64_t key, uint64_t now_ns, uint64_t *ret_suppressed);
uint64_t otlp_log_key(const char *s, uint64_t seed);
