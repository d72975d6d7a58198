/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a handler sees of a request (method, path, headers, query, route parameters, body) and how it
 * answers. Parsers of client input reply 400/415 themselves, so that every handler reports bad input
 * the same way: {"error": "...", "trace_id": "..."}.
 */
#include "http-private.h"
#include "json-error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_ERROR_MESSAGE_MAX 512u
#define HTTP_INT_DIGITS_MAX    19u /* INT64_MAX has 19 digits */

const char *http_request_method(const http_request *req)
{
        return req->method;
}

const char *http_request_path(const http_request *req)
{
        return req->url;
}

const char *http_request_header(const http_request *req, const char *name)
{
        return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

typedef struct http_header_visit {
        void (*fn)(void *userdata, const char *name, const char *value);
        void *userdata;
} http_header_visit;

static enum MHD_Result http_header_visit_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                             const char *value)
{
        http_header_visit *v = cls;

        (void)kind;
        v->fn(v->userdata, key, value ? value : "");
        return MHD_YES;
}

void http_request_foreach_header(const http_request *req,
                                 void (*fn)(void *userdata, const char *name, const char *value),
                                 void *userdata)
{
        http_header_visit v = {.fn = fn, .userdata = userdata};

        MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_header_visit_one, &v);
}

const char *http_request_query(const http_request *req, const char *name)
{
        const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);

        if (v)
                return v;
        /* Present without '=': libmicrohttpd stores a NULL value; report it as "". */
        return MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), NULL,
                                             NULL) == MHD_YES
                       ? ""
                       : NULL;
}

const char *http_request_query_string(const http_request *req)
{
        const char *q = req->raw_uri ? strchr(req->raw_uri, '?') : NULL;

        return q ? q + 1 : "";
}

const char *http_request_param(const http_request *req, const char *name)
{
        return req->route_result == 0 ? http_route_match_param(&req->match, name) : NULL;
}

const char *http_request_rest(const http_request *req)
{
        return req->route_result == 0 ? req->match.rest : NULL;
}

const char *http_request_body(const http_request *req, size_t *ret_len)
{
        *ret_len = req->body_len;
        return req->body ? req->body : "";
}

otel_span *http_request_span(const http_request *req)
{
        return req->span;
}

void http_request_trace_id(const http_request *req, char ret_hex[OTEL_TRACE_ID_HEX + 1])
{
        otel_trace_id_to_hex(otel_span_get_context(req->span)->trace_id, ret_hex);
}

/* Strict decimal: digits only, no sign, no leading zero, at most 19 digits, within min..max. */
static int http_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret)
{
        size_t len = strlen(s);
        int64_t v = 0;
        bool negative = s[0] == '-';

        if (negative) {
                s++;
                len--;
        }
        if (len == 0 || len > HTTP_INT_DIGITS_MAX || (s[0] == '0' && len > 1))
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (v > (INT64_MAX - (s[i] - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (s[i] - '0');
        }
        if (negative)
                v = -v;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int http_request_param_id(http_request *req, const char *name, int64_t *ret)
{
        const char *v = http_request_param(req, name);

        if (!v || http_parse_int(v, 1, INT64_MAX, ret) < 0) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "%s must be a positive integer", name);
                return -EINVAL;
        }
        return 0;
}

int http_request_query_int(http_request *req, const char *name, int64_t min, int64_t max, int64_t def,
                           int64_t *ret)
{
        const char *v = http_request_query(req, name);

        if (!v) {
                *ret = def;
                return 0;
        }
        if (http_parse_int(v, min, max, ret) < 0) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST,
                                 "query parameter %s must be an integer in %lld..%lld", name, (long long)min,
                                 (long long)max);
                return -EINVAL;
        }
        return 0;
}

/* "application/json", optionally followed by parameters (charset). */
static bool http_content_type_is_json(const char *ct)
{
        static const char json[] = "application/json";
        size_t n = sizeof(json) - 1;

        if (!ct || strncasecmp(ct, json, n) != 0)
                return false;
        return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

int http_request_json(http_request *req, json_object **ret)
{
        json_tokener *tok;
        json_object *obj;
        enum json_tokener_error jerr;
        char why[JSON_ERROR_MAX];
        const char *nul;
        size_t offset;

        if (!http_content_type_is_json(http_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
                http_reply_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 "Content-Type must be application/json");
                return -EPROTO;
        }
        if (req->body_len == 0) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "request body is empty");
                return -EINVAL;
        }
        /* json-c would stop at a NUL and accept a prefix; a body with one is not JSON text. */
        nul = memchr(req->body, '\0', req->body_len);
        if (nul) {
                http_reply_error(req, MHD_HTTP_BAD_REQUEST,
                                 "request body is not valid JSON: a NUL byte at byte %zu",
                                 (size_t)(nul - req->body));
                return -EINVAL;
        }
        tok = json_tokener_new_ex(HTTP_JSON_MAX_DEPTH);
        if (!tok) {
                http_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
                return -ENOMEM;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        obj = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
        jerr = json_tokener_get_error(tok);
        offset = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!obj || jerr != json_tokener_success) {
                json_object_put(obj);
                json_error_describe(jerr == json_tokener_success ? json_tokener_continue : jerr, req->body,
                                    req->body_len, offset, why);
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "request body is not valid JSON: %s", why);
                return -EINVAL;
        }
        /* Only whitespace may follow the value. */
        for (; offset < req->body_len; offset++)
                if (!strchr(" \t\r\n", req->body[offset])) {
                        json_object_put(obj);
                        http_reply_error(req, MHD_HTTP_BAD_REQUEST,
                                         "request body has data after the JSON value at byte %zu", offset);
                        return -EINVAL;
                }
        *ret = obj;
        return 0;
}

/* ---- replies -------------------------------------------------------------------------------------- */

void http_request_clear(http_request *req)
{
        for (size_t i = 0; i < req->n_headers; i++) {
                free(req->headers[i].name);
                free(req->headers[i].value);
        }
        req->n_headers = 0;
        free(req->reply_body);
        free(req->reply_content_type);
        free(req->body);
        free(req->raw_uri);
        req->raw_uri = NULL;
        req->reply_body = NULL;
        req->reply_content_type = NULL;
        req->body = NULL;
}

int http_reply_header(http_request *req, const char *name, const char *value)
{
        http_reply_header_entry *h;

        if (req->replied)
                return -EALREADY;
        if (req->n_headers >= HTTP_REPLY_HEADERS_MAX)
                return -E2BIG;
        /* A header value with a line break would split the response (header injection). */
        if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
                return -EINVAL;
        h = &req->headers[req->n_headers];
        h->name = strdup(name);
        h->value = strdup(value);
        if (!h->name || !h->value) {
                free(h->name);
                free(h->value);
                return -ENOMEM;
        }
        req->n_headers++;
        return 0;
}

int http_reply_take(http_request *req, unsigned status, const char *content_type, char *body, size_t len)
{
        if (req->replied) {
                free(body);
                return -EALREADY;
        }
        req->reply_content_type = content_type ? strdup(content_type) : NULL;
        if (content_type && !req->reply_content_type) {
                free(body);
                /* Still answer: a bare 500 with the default content type. */
                req->replied = true;
                req->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                return -ENOMEM;
        }
        req->replied = true;
        req->status = status;
        req->reply_body = body;
        req->reply_len = len;
        return 0;
}

int http_reply(http_request *req, unsigned status, const char *content_type, const void *body, size_t len)
{
        char *copy = malloc(len + 1);

        if (!copy) {
                if (!req->replied) {
                        req->replied = true;
                        req->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                }
                return -ENOMEM;
        }
        if (len > 0)
                memcpy(copy, body, len);
        copy[len] = '\0';
        return http_reply_take(req, status, content_type, copy, len);
}

int http_reply_json(http_request *req, unsigned status, json_object *obj)
{
        const char *text;
        size_t len;
        int r;

        text = json_object_to_json_string_length(
                obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!text) {
                json_object_put(obj);
                return http_reply(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                                  "{\"error\":\"out of memory\"}", strlen("{\"error\":\"out of memory\"}"));
        }
        r = http_reply(req, status, "application/json", text, len);
        json_object_put(obj);
        return r;
}

int http_reply_error(http_request *req, unsigned status, const char *fmt, ...)
{
        char msg[HTTP_ERROR_MESSAGE_MAX], trace_id[OTEL_TRACE_ID_HEX + 1];
        json_object *obj;
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        http_request_trace_id(req, trace_id);

        obj = json_object_new_object();
        if (!obj || json_object_object_add(obj, "error", json_object_new_string(msg)) < 0 ||
            json_object_object_add(obj, "trace_id", json_object_new_string(trace_id)) < 0) {
                json_object_put(obj);
                return http_reply(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                                  "{\"error\":\"out of memory\"}", strlen("{\"error\":\"out of memory\"}"));
        }
        return http_reply_json(req, status, obj);
}
