/* SPDX-License-Identifier: Apache-2.0 */
/* Shopper sessions of the load generator (src/cli/sessions.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sessions.h"

static const load_mix only_browse = {.pct = {[LOAD_SESSION_BROWSE] = 100}};
static const load_mix only_order = {.pct = {[LOAD_SESSION_ORDER] = 100}};
static const load_mix only_user = {.pct = {[LOAD_SESSION_USER] = 100}};

/* Asks s for its next request, which must be for endpoint and, unless path is NULL, for path. */
static void next_is(load_session *s, const load_mix *mix, load_request *r, load_endpoint endpoint,
                    const char *path)
{
        load_session_next(s, mix, r);
        assert_int_equal(r->endpoint, endpoint);
        if (path)
                assert_string_equal(r->path, path);
}

/* next_is, then answers the request with status and body. */
static void next_answered(load_session *s, const load_mix *mix, load_request *r, load_endpoint endpoint,
                          const char *path, long status, const char *body)
{
        next_is(s, mix, r, endpoint, path);
        load_session_observe(s, r, status, body, strlen(body));
}

/* A new session (seeded with seed) whose first request, the user list that order and user sessions
 * start with, is answered with status and body. */
static void start_with_users_list(load_session *s, const load_mix *mix, uint64_t seed, load_request *r,
                                  long status, const char *body)
{
        load_session_init(s, seed);
        next_answered(s, mix, r, LOAD_EP_USERS_LIST, "/api/users?limit=20&offset=0", status, body);
}

static void test_mix_pick_follows_cumulative_shares(void **state)
{
        const load_mix m = {.pct = {70, 20, 10}};

        (void)state;
        assert_int_equal(load_mix_pick(&m, 0), LOAD_SESSION_BROWSE);
        assert_int_equal(load_mix_pick(&m, 69), LOAD_SESSION_BROWSE);
        assert_int_equal(load_mix_pick(&m, 70), LOAD_SESSION_ORDER);
        assert_int_equal(load_mix_pick(&m, 89), LOAD_SESSION_ORDER);
        assert_int_equal(load_mix_pick(&m, 90), LOAD_SESSION_USER);
        assert_int_equal(load_mix_pick(&m, 99), LOAD_SESSION_USER);
}

static void test_same_seed_gives_same_requests(void **state)
{
        const load_mix m = {.pct = {70, 20, 10}};
        load_session a, b;
        load_request ra, rb;

        (void)state;
        load_session_init(&a, 42);
        load_session_init(&b, 42);
        for (int i = 0; i < 200; i++) {
                load_session_next(&a, &m, &ra);
                load_session_next(&b, &m, &rb);
                assert_int_equal(ra.endpoint, rb.endpoint);
                assert_string_equal(ra.path, rb.path);
                assert_string_equal(ra.body, rb.body);
        }
}

static void test_different_seeds_differ(void **state)
{
        load_session a, b;

        (void)state;
        load_session_init(&a, 1);
        load_session_init(&b, 2);
        assert_true(load_session_random(&a) != load_session_random(&b));
}

static void test_mix_shares_are_respected_over_many_sessions(void **state)
{
        const load_mix m = {.pct = {70, 20, 10}};
        load_session s;
        load_request r;

        (void)state;
        load_session_init(&s, 7);
        for (int i = 0; i < 40000; i++)
                load_session_next(&s, &m, &r);
        uint64_t total = s.sessions[0] + s.sessions[1] + s.sessions[2];
        /* within 3 percentage points of the asked shares */
        assert_true(s.sessions[LOAD_SESSION_BROWSE] * 100 > total * 67 &&
                    s.sessions[LOAD_SESSION_BROWSE] * 100 < total * 73);
        assert_true(s.sessions[LOAD_SESSION_ORDER] * 100 > total * 17 &&
                    s.sessions[LOAD_SESSION_ORDER] * 100 < total * 23);
        assert_true(s.sessions[LOAD_SESSION_USER] * 100 > total * 7 &&
                    s.sessions[LOAD_SESSION_USER] * 100 < total * 13);
}

static void test_browse_session_lists_searches_then_views(void **state)
{
        static const char page[] = "{\"items\":[{\"id\":17,\"name\":\"Espresso "
                                   "Machine\"}],\"limit\":20,\"offset\":0,\"total\":1000}";
        load_session s;
        load_request r;

        (void)state;
        load_session_init(&s, 3);
        next_answered(&s, &only_browse, &r, LOAD_EP_PRODUCTS_LIST, "/api/products?limit=20&offset=0", 200,
                      page);
        assert_int_equal(s.products_total, 1000);
        next_answered(&s, &only_browse, &r, LOAD_EP_PRODUCTS_LIST, "/api/products?q=espresso&limit=20", 200,
                      page);
        next_is(&s, &only_browse, &r, LOAD_EP_PRODUCT_GET, "/api/products/17");
        assert_string_equal(r.body, "");
}

static void test_order_session_orders_what_it_saw_and_views_history(void **state)
{
        static const char users[] = "{\"items\":[{\"id\":5,\"name\":\"Ann\"}],\"total\":100}";
        static const char products[] = "{\"items\":[{\"id\":33,\"name\":\"Tea\"}],\"total\":1000}";
        load_session s;
        load_request r;

        (void)state;
        start_with_users_list(&s, &only_order, 9, &r, 200, users);
        next_answered(&s, &only_order, &r, LOAD_EP_PRODUCTS_LIST, NULL, 200, products);
        next_is(&s, &only_order, &r, LOAD_EP_PRODUCT_GET, "/api/products/33");
        next_is(&s, &only_order, &r, LOAD_EP_ORDER_CREATE, "/api/orders");
        assert_true(strncmp(r.body, "{\"user_id\":5,\"product_id\":33,\"quantity\":", 40) == 0);
        assert_int_equal(strlen(r.idempotency_key), strlen("load-") + 32);
        next_is(&s, &only_order, &r, LOAD_EP_USER_ORDERS, "/api/users/5/orders");
        /* The session is over: the next request starts a new one. */
        next_is(&s, &only_order, &r, LOAD_EP_USERS_LIST, NULL);
        assert_int_equal(s.sessions[LOAD_SESSION_ORDER], 2);
}

/* The order of a session up to its POST, answered with status. */
static void order_answered(load_session *s, load_request *r, long status)
{
        static const char users[] = "{\"items\":[{\"id\":5,\"name\":\"Ann\"}],\"total\":100}";
        static const char products[] = "{\"items\":[{\"id\":33,\"name\":\"Tea\"}],\"total\":1000}";

        start_with_users_list(s, &only_order, 11, r, 200, users);
        next_answered(s, &only_order, r, LOAD_EP_PRODUCTS_LIST, NULL, 200, products);
        next_is(s, &only_order, r, LOAD_EP_PRODUCT_GET, "/api/products/33");
        s->max_retries = 2;
        next_answered(s, &only_order, r, LOAD_EP_ORDER_CREATE, "/api/orders", status, "");
}

static void test_failed_order_is_retried_with_the_same_key_and_body(void **state)
{
        load_session s;
        load_request first, r;

        (void)state;
        order_answered(&s, &first, 503);
        assert_int_equal(first.attempt, 1);
        /* A 503 and then no reply: two retries, the same order each time; then the session goes on. */
        next_answered(&s, &only_order, &r, LOAD_EP_ORDER_CREATE, "/api/orders", 503, "");
        assert_int_equal(r.attempt, 2);
        assert_string_equal(r.idempotency_key, first.idempotency_key);
        assert_string_equal(r.body, first.body);
        next_is(&s, &only_order, &r, LOAD_EP_ORDER_CREATE, "/api/orders");
        load_session_observe(&s, &r, 0, NULL, 0);
        assert_int_equal(r.attempt, 3);
        assert_string_equal(r.idempotency_key, first.idempotency_key);
        next_is(&s, &only_order, &r, LOAD_EP_USER_ORDERS, "/api/users/5/orders");
}

static void test_order_answered_or_refused_is_not_retried(void **state)
{
        load_session s;
        load_request r;

        (void)state;
        order_answered(&s, &r, 201);
        next_is(&s, &only_order, &r, LOAD_EP_USER_ORDERS, "/api/users/5/orders");
        order_answered(&s, &r, 409);
        next_is(&s, &only_order, &r, LOAD_EP_USER_ORDERS, "/api/users/5/orders");
}

static void test_user_session_views_a_listed_user(void **state)
{
        static const char users[] = "{\"items\":[{\"id\":8,\"name\":\"Bo\"}],\"total\":100}";
        load_session s;
        load_request r;

        (void)state;
        start_with_users_list(&s, &only_user, 11, &r, 200, users);
        next_is(&s, &only_user, &r, LOAD_EP_USER_GET, "/api/users/8");
        next_is(&s, &only_user, &r, LOAD_EP_USER_ORDERS, "/api/users/8/orders");
}

static void test_failed_list_falls_back_to_ids_in_the_sample_range(void **state)
{
        load_session s;
        load_request r;
        int64_t id;

        (void)state;
        start_with_users_list(&s, &only_user, 5, &r, 503, "{\"error\":\"down\"}");
        load_session_next(&s, &only_user, &r);
        assert_int_equal(sscanf(r.path, "/api/users/%ld", &id), 1);
        assert_true(id >= 1 && id <= LOAD_FALLBACK_IDS);
}

static void test_endpoint_names_match_server_routes(void **state)
{
        (void)state;
        assert_string_equal(load_endpoint_route(LOAD_EP_USER_ORDERS), "/api/users/{id}/orders");
        assert_string_equal(load_endpoint_method(LOAD_EP_ORDER_CREATE), "POST");
        assert_null(load_endpoint_route(_LOAD_EP_MAX));
        assert_int_equal(load_session_kind_from_string_n("order=20", 5), LOAD_SESSION_ORDER);
        assert_int_equal(load_session_kind_from_string_n("orders", 6), _LOAD_SESSION_KIND_INVALID);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mix_pick_follows_cumulative_shares),
                cmocka_unit_test(test_same_seed_gives_same_requests),
                cmocka_unit_test(test_different_seeds_differ),
                cmocka_unit_test(test_mix_shares_are_respected_over_many_sessions),
                cmocka_unit_test(test_browse_session_lists_searches_then_views),
                cmocka_unit_test(test_order_session_orders_what_it_saw_and_views_history),
                cmocka_unit_test(test_failed_order_is_retried_with_the_same_key_and_body),
                cmocka_unit_test(test_order_answered_or_refused_is_not_retried),
                cmocka_unit_test(test_user_session_views_a_listed_user),
                cmocka_unit_test(test_failed_list_falls_back_to_ids_in_the_sample_range),
                cmocka_unit_test(test_endpoint_names_match_server_routes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
