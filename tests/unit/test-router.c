/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP routing table of src/common: literal, {param} and wildcard segments, specificity, 404 and
 * 405 with the Allow list. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http-router.h"

/* Distinct handlers; the router never calls them. */
#define TEST_HANDLER(name)                                                                                  \
        static void name(http_request *req, void *userdata)                                                 \
        {                                                                                                   \
                (void)req;                                                                                  \
                (void)userdata;                                                                             \
        }
TEST_HANDLER(h_users)
TEST_HANDLER(h_user)
TEST_HANDLER(h_user_orders)
TEST_HANDLER(h_create)
TEST_HANDLER(h_api_any)
TEST_HANDLER(h_root_any)
TEST_HANDLER(h_healthz)

/* A userdata address the router hands back unchanged. */
static char orders_userdata;

static int setup(void **state)
{
        http_router *r;

        assert_int_equal(http_router_new(&r), 0);
        assert_int_equal(http_router_add(r, "GET", "/api/users", h_users, NULL), 0);
        assert_int_equal(http_router_add(r, "POST", "/api/users", h_create, NULL), 0);
        assert_int_equal(http_router_add(r, "GET", "/api/users/{id}", h_user, NULL), 0);
        assert_int_equal(
                http_router_add(r, "GET", "/api/users/{id}/orders", h_user_orders, &orders_userdata), 0);
        assert_int_equal(http_router_add(r, "GET", "/healthz", h_healthz, NULL), 0);
        *state = r;
        return 0;
}

static int teardown(void **state)
{
        http_router_free(*state);
        return 0;
}

static void test_router_matches_literal_path(void **state)
{
        http_route_match m;

        assert_int_equal(http_router_lookup(*state, "GET", "/api/users", &m, NULL), 0);
        assert_true(m.handler == h_users);
        assert_string_equal(m.pattern, "/api/users");
        assert_int_equal(m.n_params, 0);
}

static void test_router_selects_by_method(void **state)
{
        http_route_match m;

        assert_int_equal(http_router_lookup(*state, "POST", "/api/users", &m, NULL), 0);
        assert_true(m.handler == h_create);
}

static void test_router_captures_param_segment(void **state)
{
        http_route_match m;

        assert_int_equal(http_router_lookup(*state, "GET", "/api/users/42/orders", &m, NULL), 0);
        assert_true(m.handler == h_user_orders);
        assert_ptr_equal(m.userdata, &orders_userdata);
        assert_string_equal(m.pattern, "/api/users/{id}/orders");
        assert_int_equal(m.n_params, 1);
        assert_string_equal(http_route_match_param(&m, "id"), "42");
        assert_null(http_route_match_param(&m, "other"));
}

static void test_router_unknown_path_is_not_found(void **state)
{
        http_route_match m;
        char allow[HTTP_ROUTER_ALLOW_MAX];

        assert_int_equal(http_router_lookup(*state, "GET", "/api/nothing", &m, allow), -ENOENT);
        assert_string_equal(allow, "");
        assert_int_equal(http_router_lookup(*state, "GET", "/api/users/42/orders/7", &m, NULL), -ENOENT);
        assert_int_equal(http_router_lookup(*state, "GET", "/", &m, NULL), -ENOENT);
}

static void test_router_empty_param_segment_does_not_match(void **state)
{
        http_route_match m;

        assert_int_equal(http_router_lookup(*state, "GET", "/api/users//orders", &m, NULL), -ENOENT);
        assert_int_equal(http_router_lookup(*state, "GET", "/api/users/", &m, NULL), -ENOENT);
}

static void test_router_wrong_method_is_405_with_allow(void **state)
{
        http_route_match m;
        char allow[HTTP_ROUTER_ALLOW_MAX];

        assert_int_equal(http_router_lookup(*state, "DELETE", "/api/users", &m, allow), -EOPNOTSUPP);
        assert_string_equal(allow, "GET, POST");
        assert_int_equal(http_router_lookup(*state, "PUT", "/api/users/1", &m, allow), -EOPNOTSUPP);
        assert_string_equal(allow, "GET");
}

static void test_router_head_is_served_by_get_routes(void **state)
{
        http_route_match m;

        assert_int_equal(http_router_lookup(*state, "HEAD", "/healthz", &m, NULL), 0);
        assert_true(m.handler == h_healthz);
}

static void test_router_literal_beats_param_beats_wildcard(void **state)
{
        http_router *r = *state;
        http_route_match m;

        assert_int_equal(http_router_add(r, "GET", "/api/*", h_api_any, NULL), 0);
        assert_int_equal(http_router_add(r, "GET", "/*", h_root_any, NULL), 0);
        assert_int_equal(http_router_add(r, "GET", "/api/users/me", h_healthz, NULL), 0);

        assert_int_equal(http_router_lookup(r, "GET", "/api/users/me", &m, NULL), 0);
        assert_true(m.handler == h_healthz);
        assert_int_equal(http_router_lookup(r, "GET", "/api/users/7", &m, NULL), 0);
        assert_true(m.handler == h_user);
        assert_int_equal(http_router_lookup(r, "GET", "/api/products/7", &m, NULL), 0);
        assert_true(m.handler == h_api_any);
        assert_string_equal(m.rest, "products/7");
        assert_int_equal(http_router_lookup(r, "GET", "/index.html", &m, NULL), 0);
        assert_true(m.handler == h_root_any);
        assert_string_equal(m.rest, "index.html");
        assert_int_equal(http_router_lookup(r, "GET", "/", &m, NULL), 0);
        assert_true(m.handler == h_root_any);
        assert_string_equal(m.rest, "");
}

static void test_router_rejects_malformed_patterns(void **state)
{
        http_router *r = *state;

        assert_int_equal(http_router_add(r, "GET", "no-slash", h_users, NULL), -EINVAL);
        assert_int_equal(http_router_add(r, "GET", "/a//b", h_users, NULL), -EINVAL);
        assert_int_equal(http_router_add(r, "GET", "/a/{}", h_users, NULL), -EINVAL);
        assert_int_equal(http_router_add(r, "GET", "/a/{id", h_users, NULL), -EINVAL);
        assert_int_equal(http_router_add(r, "GET", "/a/*/b", h_users, NULL), -EINVAL);
        assert_int_equal(http_router_add(r, "GET", "/a/x{id}", h_users, NULL), -EINVAL);
        assert_int_equal(http_router_add(r, "", "/a", h_users, NULL), -EINVAL);
}

static void test_router_rejects_duplicate_route(void **state)
{
        assert_int_equal(http_router_add(*state, "GET", "/api/users", h_users, NULL), -EEXIST);
}

static void test_router_caps_params_per_pattern(void **state)
{
        assert_int_equal(http_router_add(*state, "GET", "/{a}/{b}/{c}/{d}/{e}", h_users, NULL), -E2BIG);
}

static void test_router_overlong_path_is_not_found(void **state)
{
        http_route_match m;
        char *path = malloc(HTTP_ROUTER_MAX_PATH + 2);

        assert_non_null(path);
        memset(path, 'a', HTTP_ROUTER_MAX_PATH + 1);
        path[0] = '/';
        path[HTTP_ROUTER_MAX_PATH + 1] = '\0';
        assert_int_equal(http_router_lookup(*state, "GET", path, &m, NULL), -ENOENT);
        free(path);
}

static void test_path_check_rejects_percent_encoded_nul(void **state)
{
        (void)state;
        assert_int_equal(http_path_check("/index.html%00.png", NULL), -EILSEQ);
}

static void test_path_check_rejects_control_bytes_raw_and_encoded(void **state)
{
        (void)state;
        assert_int_equal(http_path_check("/a%0ab", NULL), -EILSEQ);
        assert_int_equal(http_path_check("/a%1Fb", NULL), -EILSEQ);
        assert_int_equal(http_path_check("/a%7fb", NULL), -EILSEQ);
        assert_int_equal(http_path_check("/a\tb", NULL), -EILSEQ);
        assert_int_equal(http_path_check("/a\x7f", NULL), -EILSEQ);
}

static void test_path_check_accepts_printable_and_utf8(void **state)
{
        size_t len;

        (void)state;
        assert_int_equal(http_path_check("/caf%C3%A9/%20x%2F", &len), 0);
        assert_int_equal(len, strlen("/café/ x/"));
        assert_int_equal(http_path_check("/%zz/%4", &len), 0); /* not an escape: kept as is */
        assert_int_equal(len, strlen("/%zz/%4"));
}

static void test_path_check_ignores_query_and_fragment(void **state)
{
        size_t len;

        (void)state;
        assert_int_equal(http_path_check("/search?q=%00", &len), 0);
        assert_int_equal(len, strlen("/search"));
        assert_int_equal(http_path_check("/a#%01", &len), 0);
        assert_int_equal(len, 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_router_matches_literal_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_selects_by_method, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_captures_param_segment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_unknown_path_is_not_found, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_empty_param_segment_does_not_match, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_router_wrong_method_is_405_with_allow, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_head_is_served_by_get_routes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_literal_beats_param_beats_wildcard, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_router_rejects_malformed_patterns, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_rejects_duplicate_route, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_caps_params_per_pattern, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_overlong_path_is_not_found, setup, teardown),
                cmocka_unit_test(test_path_check_rejects_percent_encoded_nul),
                cmocka_unit_test(test_path_check_rejects_control_bytes_raw_and_encoded),
                cmocka_unit_test(test_path_check_accepts_printable_and_utf8),
                cmocka_unit_test(test_path_check_ignores_query_and_fragment),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
