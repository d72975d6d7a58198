/* SPDX-License-Identifier: Apache-2.0 */
/* A sentence for a person about why some text is not JSON and where: json-c reports its parser's
 * state names ("continue", "unexpected character"), without the position or the character. */
#pragma once

#include <json-c/json_tokener.h>
#include <stddef.h>

#define JSON_ERROR_MAX 160u /* bytes of the sentence, NUL included */

/* Describes error err of parsing text[0..len) that stopped at offset, e.g. "unexpected character 'x'
 * at byte 12" or "the text ends inside a string or object (at byte 40)". Also for
 * json_tokener_success when the caller rejects what follows the value (offset < len: "data after the
 * JSON value at byte N"). */
void json_error_describe(enum json_tokener_error err, const char *text, size_t len, size_t offset,
                         char ret[JSON_ERROR_MAX]);
