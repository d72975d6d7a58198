/* SPDX-License-Identifier: Apache-2.0 */
/* What the three OTLP/HTTP exporters (traces, metrics, logs) share around their encoders: the
 * transport and the reused request body, rate-limited diagnostics, reading the Export*ServiceResponse
 * for a partial success (spec "OTLP/HTTP Response", "Partial Success"), and the console exporters'
 * one-line-per-item output. Each exporter keeps its own counting. */
#pragma once

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>

#include "otel.h"
#include "otlp-http.h"

/* What a receiver said in an Export*PartialSuccess. */
typedef struct otlp_partial {
        int64_t rejected;    /* rejected_spans / _data_points / _log_records; 0 when all were accepted */
        char *error_message; /* heap, NULL when none */
} otlp_partial;

/* One signal's part of the shared exporter. */
typedef struct otlp_signal {
        const char *env_name;            /* "TRACES": OTEL_EXPORTER_OTLP_TRACES_* */
        const char *path;                /* "/v1/traces" */
        const char *name;                /* "traces": in diagnostics */
        const char *item_name;           /* "spans": in diagnostics */
        const char *json_rejected_field; /* "rejectedSpans": the count in OTLP/JSON partialSuccess */
        /* The protoc-c descriptor of the signal's Export*ServiceResponse. */
        const ProtobufCMessageDescriptor *response_descriptor;
} otlp_signal;

/* The shared state of one OTLP/HTTP exporter; used by one thread at a time. */
typedef struct otlp_exporter {
        const otlp_signal *signal;        /* static */
        otlp_http *http;                  /* transport, owned */
        otlp_protocol protocol;           /* encoding of requests */
        otel_buf body;                    /* encoded request, reused between batches */
        otlp_log_limiter partial_limiter; /* partial-success warnings */
        otlp_log_limiter encode_limiter;  /* encoder failures */
} otlp_exporter;

/* Configures the transport from OTEL_EXPORTER_OTLP_[<signal>_]*; request_counter as in
 * otlp_http_config (NULL for none). */
int otlp_export_init(otlp_exporter *x, const otlp_signal *signal,
                     atomic_uint_fast64_t *request_counter) OTEL_WUR;
/* Accepts a zeroed or initialised x. */
void otlp_export_done(otlp_exporter *x);

/* Logs (rate-limited) that n items could not be encoded: error r. */
void otlp_export_encode_failed(otlp_exporter *x, size_t n, int r);
/* Sends x->body, holding n items. Returns the transport's result (which logged a failure) and, after a
 * 2xx, in *ret_rejected how many items the receiver rejected (a partial success is logged here). */
int otlp_export_send(otlp_exporter *x, size_t n, uint64_t deadline_ns, otlp_http_result *ret_res,
                     size_t *ret_rejected) OTEL_WUR;
/* The step after an encoder wrote x->body for n items and returned encoded: when encoded < 0 logs the
 * failure (otlp_export_encode_failed) and returns encoded with *ret_res zeroed; otherwise
 * otlp_export_send. Either way *ret_rejected is set. */
int otlp_export_encoded_send(otlp_exporter *x, size_t n, int encoded, uint64_t deadline_ns,
                             otlp_http_result *ret_res, size_t *ret_rejected) OTEL_WUR;

/* Encodes one item as a single-line OTLP/JSON object. */
typedef int (*otlp_line_encoder)(const void *ctx, const void *item, otel_buf *out);
/* Console exporters: one line per item on out, line being a reused buffer. 0, or the last error of an
 * item that could not be encoded or written (-EIO); the other items are written anyway. */
int otlp_console_write(FILE *out, otel_buf *line, const void *const *items, size_t n,
                       otlp_line_encoder encode, const void *ctx);
