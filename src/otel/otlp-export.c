/* SPDX-License-Identifier: Apache-2.0 */
/* The glue every OTLP/HTTP exporter runs around its encoder: send the encoded request, read the
 * response for a partial success, log what the user should see once in a while. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "diag.h"
#include "otlp-export.h"

int otlp_export_init(otlp_exporter *x, const otlp_signal *signal, atomic_uint_fast64_t *request_counter)
{
        otlp_http_config cfg;
        int r;

        *x = (otlp_exporter){.signal = signal};
        r = otlp_http_config_from_env(signal->env_name, signal->path, &cfg);
        if (r < 0)
                return r;
        cfg.request_counter = request_counter;
        x->protocol = cfg.protocol;
        return otlp_http_new(&cfg, &x->http);
}

void otlp_export_done(otlp_exporter *x)
{
        otlp_http_free(x->http);
        x->http = NULL;
        otel_buf_free(&x->body);
}

void otlp_export_encode_failed(otlp_exporter *x, size_t n, int r)
{
        uint64_t suppressed;

        if (otlp_log_limiter_allow(&x->encode_limiter, (uint64_t)-r, otel_mono_ns(), &suppressed))
                otel_diag(OTEL_DIAG_WARN, "OTLP %s export: cannot encode %zu %s: %s", x->signal->name, n,
                          x->signal->item_name, strerror(-r));
}

/* The three Export*ServiceResponse messages have one shape (the OTLP <signal>_service.proto files):
 * partial_success = 1, holding rejected_<items> = 1 (int64) and error_message = 2. One reader serves all
 * of them through the protoc-c descriptors. */
#define OTLP_RESPONSE_PARTIAL_SUCCESS_FIELD 1
#define OTLP_PARTIAL_REJECTED_FIELD         1
#define OTLP_PARTIAL_ERROR_MESSAGE_FIELD    2

/* Where field number of message m lives, when m has it with this (singular) type; else NULL. */
static const void *proto_field(const ProtobufCMessage *m, unsigned number, ProtobufCType type)
{
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(m->descriptor, number);

        if (!f || f->type != type || f->label == PROTOBUF_C_LABEL_REPEATED)
                return NULL;
        return (const char *)m + f->offset;
}

static int partial_from_proto(const ProtobufCMessageDescriptor *desc, const uint8_t *body, size_t len,
                              otlp_partial *ret)
{
        ProtobufCMessage *resp = protobuf_c_message_unpack(desc, NULL, len, body);
        ProtobufCMessage *const *ps;
        const int64_t *rejected;
        char *const *message;
        int r = 0;

        if (!resp)
                return -EBADMSG;
        ps = proto_field(resp, OTLP_RESPONSE_PARTIAL_SUCCESS_FIELD, PROTOBUF_C_TYPE_MESSAGE);
        if (ps && *ps) {
                rejected = proto_field(*ps, OTLP_PARTIAL_REJECTED_FIELD, PROTOBUF_C_TYPE_INT64);
                message = proto_field(*ps, OTLP_PARTIAL_ERROR_MESSAGE_FIELD, PROTOBUF_C_TYPE_STRING);
                if (rejected)
                        ret->rejected = *rejected;
                if (message && *message && (*message)[0]) {
                        ret->error_message = strdup(*message);
                        if (!ret->error_message)
                                r = -ENOMEM;
                }
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        return r;
}

/* OTLP/JSON: int64 may come as a string (the protobuf JSON mapping) or as a number. */
static int partial_from_json(const uint8_t *body, size_t len, const char *rejected_field, otlp_partial *ret)
{
        json_tokener *tok = json_tokener_new();
        json_object *root, *ps, *v;
        int r = 0;

        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, (const char *)body, (int)len);
        json_tokener_free(tok);
        if (!root || !json_object_is_type(root, json_type_object)) {
                json_object_put(root);
                return -EBADMSG;
        }
        if (json_object_object_get_ex(root, "partialSuccess", &ps) &&
            json_object_is_type(ps, json_type_object)) {
                if (json_object_object_get_ex(ps, rejected_field, &v)) {
                        errno = 0;
                        ret->rejected = json_object_get_int64(v);
                        if (errno)
                                r = -EBADMSG;
                }
                if (json_object_object_get_ex(ps, "errorMessage", &v) &&
                    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0) {
                        ret->error_message = strdup(json_object_get_string(v));
                        if (!ret->error_message)
                                r = -ENOMEM;
                }
        }
        json_object_put(root);
        return r;
}

static bool content_type_is_json(const char *ct, otlp_protocol protocol)
{
        if (ct && strncasecmp(ct, "application/json", 16) == 0)
                return true;
        if (ct && strncasecmp(ct, "application/x-protobuf", 22) == 0)
                return false;
        return protocol == OTLP_PROTOCOL_HTTP_JSON;
}

/* Reads the 2xx response; returns how many of n items the receiver rejected. */
static size_t export_read_response(otlp_exporter *x, const otlp_http_result *res, size_t n)
{
        const otlp_signal *sig = x->signal;
        otlp_partial p = {0};
        uint64_t suppressed = 0;
        char more[80] = "";
        size_t rejected;
        int r;

        /* An empty body is an empty message: full success. */
        if (!res->body || res->body_len == 0)
                return 0;
        r = content_type_is_json(res->content_type, x->protocol)
                    ? partial_from_json(res->body, res->body_len, sig->json_rejected_field, &p)
                    : partial_from_proto(sig->response_descriptor, res->body, res->body_len, &p);
        if (r < 0) {
                /* The receiver accepted the request; an unreadable answer does not unsend it. */
                otel_diag(OTEL_DIAG_DEBUG, "OTLP %s export: cannot read the response (%s)", sig->name,
                          strerror(-r));
                free(p.error_message);
                return 0;
        }
        rejected = p.rejected <= 0 ? 0 : (uint64_t)p.rejected > n ? n : (size_t)p.rejected;
        /* Spec: a partial success with rejected items or a message is something the user should see. */
        if ((rejected || p.error_message) &&
            otlp_log_limiter_allow(&x->partial_limiter, otlp_log_key(p.error_message, rejected > 0),
                                   otel_mono_ns(), &suppressed)) {
                if (suppressed)
                        snprintf(more, sizeof(more), " (%" PRIu64 " more like it in the last minute)",
                                 suppressed);
                otel_diag(OTEL_DIAG_WARN, "OTLP %s export: the receiver rejected %zu of %zu %s: %s%s",
                          sig->name, rejected, n, sig->item_name,
                          p.error_message ? p.error_message : "(no message)", more);
        }
        free(p.error_message);
        return rejected;
}

int otlp_export_send(otlp_exporter *x, size_t n, uint64_t deadline_ns, otlp_http_result *ret_res,
                     size_t *ret_rejected)
{
        int r;

        *ret_rejected = 0;
        r = otlp_http_send(x->http, x->body.data, x->body.len, deadline_ns, ret_res);
        if (r >= 0)
                *ret_rejected = export_read_response(x, ret_res, n);
        return r;
}

int otlp_export_encoded_send(otlp_exporter *x, size_t n, int encoded, uint64_t deadline_ns,
                             otlp_http_result *ret_res, size_t *ret_rejected)
{
        if (encoded < 0) {
                *ret_rejected = 0;
                *ret_res = (otlp_http_result){0};
                otlp_export_encode_failed(x, n, encoded);
                return encoded;
        }
        return otlp_export_send(x, n, deadline_ns, ret_res, ret_rejected);
}

int otlp_console_write(FILE *out, otel_buf *line, const void *const *items, size_t n,
                       otlp_line_encoder encode, const void *ctx)
{
        int ret = 0;

        for (size_t i = 0; i < n; i++) {
                int r;

                otel_buf_reset(line);
                r = encode(ctx, items[i], line);
                if (r >= 0)
                        r = otel_buf_append(line, "\n", 1);
                if (r < 0) {
                        ret = r;
                        continue;
                }
                /* One fwrite per line keeps lines whole when other threads write to the stream. */
                if (fwrite(line->data, 1, line->len, out) != line->len)
                        ret = -EIO;
        }
        fflush(out);
        return ret;
}
