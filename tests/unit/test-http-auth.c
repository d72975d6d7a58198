/* SPDX-License-Identifier: Apache-2.0 */
/* Bearer-token comparison (http-auth.h): equal only for the same bytes and length, whatever the input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http-auth.h"

#define EXPECTED "0123456789abcdef0123456789abcdef"

static void test_token_equal_accepts_the_same_token(void **state)
{
        (void)state;
        assert_true(http_auth_token_equal(EXPECTED, EXPECTED));
        assert_true(http_auth_token_equal("", ""));
}

static void test_token_equal_rejects_a_difference_anywhere(void **state)
{
        char given[] = EXPECTED;

        (void)state;
        for (size_t i = 0; i < strlen(EXPECTED); i++) {
                given[i] ^= 1;
                assert_false(http_auth_token_equal(given, EXPECTED));
                given[i] ^= 1;
        }
        assert_true(http_auth_token_equal(given, EXPECTED));
}

static void test_token_equal_rejects_prefixes_and_extensions(void **state)
{
        (void)state;
        assert_false(http_auth_token_equal("", EXPECTED));
        assert_false(http_auth_token_equal("0123456789abcdef", EXPECTED));
        assert_false(http_auth_token_equal(EXPECTED "0", EXPECTED));
        assert_false(http_auth_token_equal(EXPECTED, ""));
        /* a NUL where the expected byte is 0 after the given string ends must not match */
        assert_false(http_auth_token_equal("0123456789abcdef0123456789abcde", EXPECTED));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_token_equal_accepts_the_same_token),
                cmocka_unit_test(test_token_equal_rejects_a_difference_anywhere),
                cmocka_unit_test(test_token_equal_rejects_prefixes_and_extensions),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
