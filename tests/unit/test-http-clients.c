/* SPDX-License-Identifier: Apache-2.0 */
/* Connections per client address (src/common/http-clients.c): counts up and down, IPv4 and IPv6 keys,
 * and lookups that stay right when removals in the middle of collision runs shift entries back. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http-clients.h"

#define KEYS 64u /* distinct addresses in the churn test; the table is made for exactly this many */

static void key_of(unsigned n, uint8_t key[HTTP_CLIENT_KEY_SIZE])
{
        memset(key, 0, HTTP_CLIENT_KEY_SIZE);
        key[10] = key[11] = 0xff;
        key[12] = 127;
        key[14] = (uint8_t)(n >> 8);
        key[15] = (uint8_t)n;
}

static void test_http_clients_counts_up_and_down_per_address(void **state)
{
        http_clients t;
        uint8_t a[HTTP_CLIENT_KEY_SIZE], b[HTTP_CLIENT_KEY_SIZE];

        (void)state;
        assert_int_equal(http_clients_init(&t, 4), 0);
        key_of(1, a);
        key_of(2, b);
        http_clients_add(&t, a);
        http_clients_add(&t, a);
        http_clients_add(&t, b);
        assert_int_equal(http_clients_count(&t, a), 2);
        assert_int_equal(http_clients_count(&t, b), 1);
        http_clients_release(&t, a);
        http_clients_release(&t, b);
        assert_int_equal(http_clients_count(&t, a), 1);
        assert_int_equal(http_clients_count(&t, b), 0);
        http_clients_release(&t, b); /* absent: nothing happens */
        assert_int_equal(http_clients_count(&t, b), 0);
        http_clients_free(&t);
}

static void test_http_client_key_maps_ipv4_into_ipv6_and_keeps_ipv6(void **state)
{
        struct sockaddr_in sin = {.sin_family = AF_INET};
        struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
        uint8_t k4[HTTP_CLIENT_KEY_SIZE], k6[HTTP_CLIENT_KEY_SIZE];
        static const uint8_t mapped[HTTP_CLIENT_KEY_SIZE] = {0, 0, 0,    0,    0,   0, 0, 0,
                                                             0, 0, 0xff, 0xff, 127, 0, 0, 2};

        (void)state;
        assert_int_equal(inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr), 1);
        assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr), 1);
        http_client_key((struct sockaddr *)&sin, k4);
        http_client_key((struct sockaddr *)&sin6, k6);
        assert_memory_equal(k4, mapped, sizeof(mapped));
        assert_memory_equal(k6, &sin6.sin6_addr, 16);
}

/* Random adds and releases over KEYS addresses in a table made for exactly KEYS (so runs collide),
 * checked against plain counters after every step. */
static void test_http_clients_stays_exact_under_churn(void **state)
{
        unsigned expected[KEYS] = {0};
        uint8_t key[HTTP_CLIENT_KEY_SIZE];
        http_clients t;
        unsigned seed = 12345;

        (void)state;
        assert_int_equal(http_clients_init(&t, KEYS), 0);
        for (unsigned step = 0; step < 200000; step++) {
                unsigned n;

                seed = seed * 1103515245u + 12345u;
                n = (seed >> 8) % KEYS;
                key_of(n, key);
                if ((seed >> 20) % 3 && expected[n] < 4) {
                        http_clients_add(&t, key);
                        expected[n]++;
                } else {
                        http_clients_release(&t, key);
                        expected[n] -= expected[n] > 0;
                }
                if (step % 997 == 0)
                        for (unsigned k = 0; k < KEYS; k++) {
                                key_of(k, key);
                                assert_int_equal(http_clients_count(&t, key), expected[k]);
                        }
        }
        http_clients_free(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_http_clients_counts_up_and_down_per_address),
                cmocka_unit_test(test_http_client_key_maps_ipv4_into_ipv6_and_keeps_ipv6),
                cmocka_unit_test(test_http_clients_stays_exact_under_churn),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
