/* SPDX-License-Identifier: Apache-2.0 */
/* See json-error.h. Offsets are 0-based byte offsets into the text, as an editor's "go to byte" uses. */
#include "json-error.h"

#include <stdio.h>

/* What json-c's error means, in the words of someone reading the text. */
static const char *json_error_what(enum json_tokener_error err)
{
        switch (err) {
        case json_tokener_error_depth:
                return "nested too deeply";
        case json_tokener_error_parse_eof:
                return "unexpected end";
        case json_tokener_error_parse_null:
                return "expected null";
        case json_tokener_error_parse_boolean:
                return "expected true or false";
        case json_tokener_error_parse_number:
                return "malformed number";
        case json_tokener_error_parse_array:
                return "expected ',' or ']' in an array";
        case json_tokener_error_parse_object_key_name:
                return "expected a quoted key in an object";
        case json_tokener_error_parse_object_key_sep:
                return "expected ':' after an object key";
        case json_tokener_error_parse_object_value_sep:
                return "expected ',' or '}' in an object";
        case json_tokener_error_parse_string:
                return "malformed string (bad escape or control character)";
        case json_tokener_error_parse_comment:
                return "comments are not JSON";
        case json_tokener_error_parse_utf8_string:
                return "invalid UTF-8";
        case json_tokener_error_size:
                return "too large";
        default:
                return "unexpected character";
        }
}

void json_error_describe(enum json_tokener_error err, const char *text, size_t len, size_t offset,
                         char ret[JSON_ERROR_MAX])
{
        /* json-c's parse end is the character it stopped on. */
        size_t at = offset;
        unsigned char c = at < len ? (unsigned char)text[at] : 0;

        if (err == json_tokener_success) {
                (void)snprintf(ret, JSON_ERROR_MAX, "data after the JSON value at byte %zu", offset);
                return;
        }
        if (err == json_tokener_continue ||
            (offset >= len && err != json_tokener_error_depth && err != json_tokener_error_size)) {
                (void)snprintf(
                        ret, JSON_ERROR_MAX,
                        "the text ends before the JSON value does (an unclosed string, array or object?) "
                        "at byte %zu",
                        len);
                return;
        }
        if (c >= 0x20 && c < 0x7f)
                (void)snprintf(ret, JSON_ERROR_MAX, "%s: '%c' at byte %zu", json_error_what(err), c, at);
        else
                (void)snprintf(ret, JSON_ERROR_MAX, "%s: byte 0x%02x at byte %zu", json_error_what(err), c,
                               at);
}
