/* SPDX-License-Identifier: Apache-2.0 */
/* The frontend's request-parsing helpers: static path checks (traversal), Accept-Encoding, If-None-Match,
 * Content-Type by extension, and the proxy's hop-by-hop header filter and path encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy.h"
#include "static.h"

static void test_static_path_root_is_index_html(void **state)
{
        char rel[STATIC_PATH_MAX];

        (void)state;
        assert_int_equal(static_path_normalize("/", rel), 0);
        assert_string_equal(rel, "index.html");
}

static void test_static_path_trailing_slash_is_index_html_of_the_directory(void **state)
{
        char rel[STATIC_PATH_MAX];

        (void)state;
        assert_int_equal(static_path_normalize("/docs/", rel), 0);
        assert_string_equal(rel, "docs/index.html");
}

static void test_static_path_keeps_a_plain_file_path(void **state)
{
        char rel[STATIC_PATH_MAX];

        (void)state;
        assert_int_equal(static_path_normalize("/img/logo.svg", rel), 0);
        assert_string_equal(rel, "img/logo.svg");
}

static void test_static_path_rejects_dot_dot_segments(void **state)
{
        char rel[STATIC_PATH_MAX];

        (void)state;
        assert_int_equal(static_path_normalize("/../etc/passwd", rel), -EINVAL);
        assert_int_equal(static_path_normalize("/css/../../etc/passwd", rel), -EINVAL);
        assert_int_equal(static_path_normalize("/..", rel), -EINVAL);
        assert_int_equal(static_path_normalize("/./index.html", rel), -EINVAL);
}

static void test_static_path_rejects_backslash_percent_and_control_characters(void **state)
{
        char rel[STATIC_PATH_MAX];

        (void)state;
        assert_int_equal(static_path_normalize("/..\\etc\\passwd", rel), -EINVAL);
        assert_int_equal(static_path_normalize("/%2e%2e/etc/passwd", rel), -EINVAL); /* double-encoded */
        assert_int_equal(static_path_normalize("/index.html\n", rel), -EINVAL);
        assert_int_equal(static_path_normalize("//etc/passwd", rel), -EINVAL);
        assert_int_equal(static_path_normalize("index.html", rel), -EINVAL);
}

static void test_static_path_hides_dot_files(void **state)
{
        char rel[STATIC_PATH_MAX];

        (void)state;
        assert_int_equal(static_path_normalize("/.git/config", rel), -ENOENT);
        assert_int_equal(static_path_normalize("/css/.htaccess", rel), -ENOENT);
}

static void test_static_path_rejects_overlong_paths(void **state)
{
        char rel[STATIC_PATH_MAX];
        char path[STATIC_PATH_MAX + 2];

        (void)state;
        memset(path, 'a', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = '\0';
        assert_int_equal(static_path_normalize(path, rel), -ENAMETOOLONG);
}

static void test_accepts_gzip_from_the_usual_browser_header(void **state)
{
        (void)state;
        assert_true(static_accepts_gzip("gzip, deflate, br"));
        assert_true(static_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
        assert_true(static_accepts_gzip("*"));
}

static void test_accepts_gzip_refuses_q_zero_absent_and_null(void **state)
{
        (void)state;
        assert_false(static_accepts_gzip("gzip;q=0"));
        assert_false(static_accepts_gzip("gzip; q=0.000, *"));
        assert_false(static_accepts_gzip("deflate, br"));
        assert_false(static_accepts_gzip("identity"));
        assert_false(static_accepts_gzip(""));
        assert_false(static_accepts_gzip(NULL));
        assert_false(static_accepts_gzip("gzipx"));
}

static void test_etag_matches_exact_weak_list_and_star(void **state)
{
        (void)state;
        assert_true(static_etag_matches("\"abc\"", "\"abc\""));
        assert_true(static_etag_matches("W/\"abc\"", "\"abc\""));
        assert_true(static_etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert_true(static_etag_matches("*", "\"abc\""));
}

static void test_etag_does_not_match_other_or_malformed_tags(void **state)
{
        (void)state;
        assert_false(static_etag_matches("\"abcd\"", "\"abc\""));
        assert_false(static_etag_matches("\"ab\"", "\"abc\""));
        assert_false(static_etag_matches("abc", "\"abc\""));
        assert_false(static_etag_matches("\"abc", "\"abc\""));
        assert_false(static_etag_matches("", "\"abc\""));
}

static void test_content_type_by_extension(void **state)
{
        (void)state;
        assert_string_equal(static_content_type("index.html"), "text/html; charset=utf-8");
        assert_string_equal(static_content_type("app.js"), "text/javascript; charset=utf-8");
        assert_string_equal(static_content_type("style.CSS"), "text/css; charset=utf-8");
        assert_string_equal(static_content_type("favicon.svg"), "image/svg+xml");
        assert_string_equal(static_content_type("data.bin"), "application/octet-stream");
        assert_string_equal(static_content_type("dir.d/noext"), "application/octet-stream");
}

static void test_hop_by_hop_headers_are_not_forwarded(void **state)
{
        (void)state;
        assert_true(proxy_header_is_hop_by_hop("Connection", NULL));
        assert_true(proxy_header_is_hop_by_hop("keep-alive", NULL));
        assert_true(proxy_header_is_hop_by_hop("Transfer-Encoding", NULL));
        assert_true(proxy_header_is_hop_by_hop("Upgrade", NULL));
        assert_true(proxy_header_is_hop_by_hop("Proxy-Authorization", NULL));
        assert_true(proxy_header_is_hop_by_hop("TE", NULL));
        assert_true(proxy_header_is_hop_by_hop("traceparent", NULL)); /* the proxy injects its own */
}

static void test_headers_named_in_connection_are_hop_by_hop(void **state)
{
        (void)state;
        assert_true(proxy_header_is_hop_by_hop("X-Secret-Hop", "keep-alive, X-Secret-Hop"));
        assert_false(proxy_header_is_hop_by_hop("X-Other", "keep-alive, X-Secret-Hop"));
}

static void test_end_to_end_headers_are_forwarded(void **state)
{
        (void)state;
        assert_false(proxy_header_is_hop_by_hop("Content-Type", NULL));
        assert_false(proxy_header_is_hop_by_hop("Idempotency-Key", NULL));
        assert_false(proxy_header_is_hop_by_hop("User-Agent", "close"));
}

static void test_the_clients_authorization_is_not_forwarded(void **state)
{
        (void)state;
        /* The frontend sends its own token to the backend; the client's credentials stay with it. */
        assert_true(proxy_header_is_hop_by_hop("Authorization", NULL));
        assert_true(proxy_header_is_hop_by_hop("authorization", NULL));
}

static void test_encode_path_escapes_what_a_url_path_cannot_hold(void **state)
{
        char out[64];

        (void)state;
        assert_int_equal(proxy_encode_path("/api/products/12", out, sizeof(out)), 0);
        assert_string_equal(out, "/api/products/12");
        assert_int_equal(proxy_encode_path("/api/a b?#\"\xc3\xa9", out, sizeof(out)), 0);
        assert_string_equal(out, "/api/a%20b%3F%23%22%C3%A9");
        assert_int_equal(proxy_encode_path("/api/x", out, 6), -ENAMETOOLONG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_static_path_root_is_index_html),
                cmocka_unit_test(test_static_path_trailing_slash_is_index_html_of_the_directory),
                cmocka_unit_test(test_static_path_keeps_a_plain_file_path),
                cmocka_unit_test(test_static_path_rejects_dot_dot_segments),
                cmocka_unit_test(test_static_path_rejects_backslash_percent_and_control_characters),
                cmocka_unit_test(test_static_path_hides_dot_files),
                cmocka_unit_test(test_static_path_rejects_overlong_paths),
                cmocka_unit_test(test_accepts_gzip_from_the_usual_browser_header),
                cmocka_unit_test(test_accepts_gzip_refuses_q_zero_absent_and_null),
                cmocka_unit_test(test_etag_matches_exact_weak_list_and_star),
                cmocka_unit_test(test_etag_does_not_match_other_or_malformed_tags),
                cmocka_unit_test(test_content_type_by_extension),
                cmocka_unit_test(test_hop_by_hop_headers_are_not_forwarded),
                cmocka_unit_test(test_headers_named_in_connection_are_hop_by_hop),
                cmocka_unit_test(test_end_to_end_headers_are_forwarded),
                cmocka_unit_test(test_the_clients_authorization_is_not_forwarded),
                cmocka_unit_test(test_encode_path_escapes_what_a_url_path_cannot_hold),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
