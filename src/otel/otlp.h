/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP encoders for the trace signal: an ExportTraceServiceRequest as protobuf (protoc-c generated
 * code from src/proto) or as OTLP/JSON (json-c, per the OTLP JSON mapping: hex ids, enum integers,
 * 64-bit integers as strings, lowerCamelCase names). Spans are grouped by instrumentation scope. */
#pragma once

#include <stddef.h>

#include "otel.h"
#include "otel.h"
#include "resource.h"

int otlp_traces_encode_proto(const otel_resource *res, otel_span *const *spans, size_t n,
                             otel_buf *out) OTEL_WUR;
int otlp_traces_encode_json(const otel_resource *res, otel_span *const *spans, size_t n,
                            otel_buf *out) OTEL_WUR;
/* One span as a single-line OTLP/JSON object (console exporter). */
int otlp_span_encode_json(const otel_resource *res, const otel_span *span, otel_buf *out) OTEL_WUR;
