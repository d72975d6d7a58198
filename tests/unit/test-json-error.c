/* SPDX-License-Identifier: Apache-2.0 */
/* json-error.c: what a person reads when a request body is not JSON, from json-c's real parser. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "http-server.h"
#include "json-error.h"

/* Parses text strictly, as the HTTP server does, and returns the sentence for its error. */
static const char *describe(const char *text)
{
        static char why[JSON_ERROR_MAX];
        json_tokener *tok = json_tokener_new_ex(HTTP_JSON_MAX_DEPTH);
        json_object *obj;
        enum json_tokener_error err;

        assert_non_null(tok);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        obj = json_tokener_parse_ex(tok, text, (int)strlen(text));
        err = json_tokener_get_error(tok);
        assert_true(!obj || err != json_tokener_success);
        json_error_describe(err == json_tokener_success ? json_tokener_continue : err, text, strlen(text),
                            json_tokener_get_parse_end(tok), why);
        json_object_put(obj);
        json_tokener_free(tok);
        return why;
}

static void test_truncated_body_says_it_ends_early_not_continue(void **state)
{
        (void)state;
        assert_string_equal(
                describe("{\"user_id\": 1, \"items\": ["),
                "the text ends before the JSON value does (an unclosed string, array or object?) "
                "at byte 25");
        assert_string_equal(
                describe("{\"name\": \"Ann"),
                "the text ends before the JSON value does (an unclosed string, array or object?) "
                "at byte 13");
}

static void test_wrong_character_is_named_with_its_offset(void **state)
{
        (void)state;
        assert_string_equal(describe("{\"user_id\": x}"), "unexpected character: 'x' at byte 12");
        assert_string_equal(describe("{user_id: 1}"), "expected a quoted key in an object: 'u' at byte 1");
        assert_string_equal(describe("{\"a\" 1}"), "expected ':' after an object key: '1' at byte 5");
        assert_string_equal(describe("[1 2]"), "expected ',' or ']' in an array: '2' at byte 3");
}

static void test_non_printable_bytes_are_shown_in_hex(void **state)
{
        (void)state;
        assert_string_equal(describe("{\"a\": \x01}"), "unexpected character: byte 0x01 at byte 6");
}

static void test_depth_over_the_limit_is_named(void **state)
{
        char deep[HTTP_JSON_MAX_DEPTH + 3];

        (void)state;
        memset(deep, '[', sizeof(deep) - 1);
        deep[sizeof(deep) - 1] = 0;
        assert_non_null(strstr(describe(deep), "nested too deeply"));
}

static void test_data_after_the_value(void **state)
{
        char why[JSON_ERROR_MAX];

        (void)state;
        json_error_describe(json_tokener_success, "{} x", 4, 3, why);
        assert_string_equal(why, "data after the JSON value at byte 3");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_truncated_body_says_it_ends_early_not_continue),
                cmocka_unit_test(test_wrong_character_is_named_with_its_offset),
                cmocka_unit_test(test_non_printable_bytes_are_shown_in_hex),
                cmocka_unit_test(test_depth_over_the_limit_is_named),
                cmocka_unit_test(test_data_after_the_value),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
