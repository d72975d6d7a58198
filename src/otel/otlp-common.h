/* SPDX-License-Identifier: Apache-2.0 */
/* Pieces of the OTLP encoding that every signal (traces, metrics, logs) and the tracez JSON view
 * share: json-c helpers that take ownership and turn every failure into -ENOMEM, the OTLP/JSON
 * mapping of AnyValue and KeyValue lists (protobuf JSON: 64-bit integers as strings, hex ids, NaN and
 * Infinity as strings), and the protoc-c message builders for the same messages, allocated from one
 * arena per request. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "attributes.h"
#include "otel.h"
#include "common.pb-c.h"
#include "resource.h"
#include "resource.pb-c.h"
#include "otel.h"

/* ---- OTLP/JSON (json-c) ----------------------------------------------------------------------- */

/* Adds val under key (a string literal, never added twice) taking ownership of val; -ENOMEM on any
 * failure, val NULL included. */
int otlp_json_put(json_object *obj, const char *key, json_object *val) OTEL_WUR;
/* The same for a key that is not a literal and may repeat: json-c copies it, the last value wins. */
int otlp_json_put_copy(json_object *obj, const char *key, json_object *val) OTEL_WUR;
/* Appends val to arr, same contract. */
int otlp_json_push(json_object *arr, json_object *val) OTEL_WUR;
/* 64-bit integers are strings in protobuf JSON (JavaScript numbers lose precision past 2^53). */
json_object *otlp_json_u64(uint64_t v);
json_object *otlp_json_i64(int64_t v);
/* Protobuf JSON writes the non-finite doubles as the strings "NaN", "Infinity", "-Infinity". */
json_object *otlp_json_double(double d);
/* An id (trace: 16 bytes, span: 8) as lowercase hex. */
json_object *otlp_json_hex(const uint8_t *id, size_t n);
/* An AnyValue: {"stringValue": …}, … {"arrayValue": {"values": […]}}; NULL without memory. */
json_object *otlp_json_any_value(const otel_attr *a);
/* field: [{"key": …, "value": {…}}, …], left out when n is 0. */
int otlp_json_put_attrs(json_object *obj, const char *field, const otel_attr *items, size_t n) OTEL_WUR;
/* A Resource object: attributes and droppedAttributesCount ({} for NULL); NULL without memory. */
json_object *otlp_json_resource(const otel_resource *res);
/* Appends root as compact JSON to out. */
int otlp_json_append(json_object *root, otel_buf *out) OTEL_WUR;

/* ---- protobuf (protoc-c messages) ------------------------------------------------------------- */

/* Every message of one request lives in one arena, released at once. */
typedef struct otlp_pb_arena {
        otel_arena arena; /* the messages */
        bool oom;         /* an allocation failed: the request is incomplete */
} otlp_pb_arena;

/* Zeroed memory from the arena; NULL (and oom set) without memory. */
void *otlp_pb_alloc(otlp_pb_arena *c, size_t size);
/* A KeyValue list for attrs; NULL without memory (also for n == 0: check c->oom). */
Opentelemetry__Proto__Common__V1__KeyValue **otlp_pb_attrs(otlp_pb_arena *c, const otel_attr *attrs,
                                                           size_t n);
/* An AnyValue for a; NULL without memory. */
Opentelemetry__Proto__Common__V1__AnyValue *otlp_pb_any_value(otlp_pb_arena *c, const otel_attr *a);
/* A Resource message for res (an empty one for NULL); NULL without memory. */
Opentelemetry__Proto__Resource__V1__Resource *otlp_pb_resource(otlp_pb_arena *c, const otel_resource *res);
