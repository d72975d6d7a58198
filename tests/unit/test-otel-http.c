/* SPDX-License-Identifier: Apache-2.0 */
/* The shared HTTP client instrumentation (otel-http.h): URL → server, the CURLcode table, the
 * semantic-convention method and the CLIENT span's attributes and status. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"
#include "otel-http.h"

static capture *cap;
static otel_tracer *tracer;

/* Every span sampled and kept in cap (capture.h), nothing exported. */
static int setup(void **state)
{
        static const char *const env[][2] = {{"OTEL_TRACES_EXPORTER", "none"},
                                             {"OTEL_TRACES_SAMPLER", "always_on"}};

        (void)state;
        for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
                setenv(env[i][0], env[i][1], 1);
        cap = capture_install();
        tracer = otel_tracer_get("test-otel-http", "1.0.0");
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        assert_int_equal(otel_sdk_shutdown(1000), 0);
        return 0;
}

static const otel_attr *attr(const otel_span *s, const char *key)
{
        return otel_attr_list_find(&s->attrs, key);
}

static void assert_attr_str(const otel_span *s, const char *key, const char *want)
{
        const otel_attr *a = attr(s, key);

        assert_non_null(a);
        assert_int_equal(a->type, OTEL_ATTR_STRING);
        assert_string_equal(a->v.s, want);
}

static void assert_attr_int(const otel_span *s, const char *key, int64_t want)
{
        const otel_attr *a = attr(s, key);

        assert_non_null(a);
        assert_int_equal(a->type, OTEL_ATTR_INT);
        assert_int_equal(a->v.i, want);
}

/* ---- URL → server ---- */

static void assert_server(const char *url, const char *address, int64_t port, bool path_is_root)
{
        otel_http_server s;

        assert_int_equal(otel_http_url_server(url, &s), 0);
        assert_string_equal(s.address, address);
        assert_int_equal(s.port, port);
        assert_int_equal(s.path_is_root, path_is_root);
}

static void test_url_server_takes_host_and_explicit_port(void **state)
{
        (void)state;
        assert_server("http://127.0.0.1:8081", "127.0.0.1", 8081, true);
        assert_server("http://backend:8081/", "backend", 8081, true);
}

static void test_url_server_uses_the_scheme_default_port(void **state)
{
        (void)state;
        assert_server("http://backend.example/", "backend.example", 80, true);
        assert_server("https://collector.example/v1/traces", "collector.example", 443, false);
}

static void test_url_server_strips_ipv6_brackets(void **state)
{
        (void)state;
        assert_server("http://[::1]:4318/v1/logs", "::1", 4318, false);
}

static void test_url_server_sees_a_query_or_fragment_as_more_than_root(void **state)
{
        (void)state;
        assert_server("http://h:1/?x=1", "h", 1, false);
        assert_server("http://h:1/#frag", "h", 1, false);
}

static void test_url_server_rejects_other_schemes_and_hostless_urls(void **state)
{
        otel_http_server s;

        static const char *const bad[] = {"ftp://h/",     "h:8081",          "http://",
                                          "http:///path", "http://h:99999/", ""};

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(otel_http_url_server(bad[i], &s), -EINVAL);
        assert_int_equal(otel_http_url_server(NULL, &s), -EINVAL);
}

static void test_url_server_rejects_a_host_longer_than_the_buffer(void **state)
{
        char url[400];
        otel_http_server s;

        (void)state;
        memcpy(url, "http://", 7);
        memset(url + 7, 'a', OTEL_HTTP_HOST_MAX);
        memcpy(url + 7 + OTEL_HTTP_HOST_MAX, ":1/", 4);
        assert_int_equal(otel_http_url_server(url, &s), -EINVAL);
        /* 255 characters fit with the NUL */
        memcpy(url + 7 + OTEL_HTTP_HOST_MAX - 1, ":1/", 4);
        assert_int_equal(otel_http_url_server(url, &s), 0);
        assert_int_equal(strlen(s.address), OTEL_HTTP_HOST_MAX - 1);
}

/* ---- the CURLcode table ---- */

static void assert_curl_error(CURLcode cc, const char *type, int err, bool retryable)
{
        const otel_http_curl_error *e = otel_http_curl_error_lookup(cc);

        assert_non_null(e);
        assert_string_equal(e->error_type, type);
        assert_int_equal(e->err, err);
        assert_int_equal(e->retryable, retryable);
}

static void test_curl_error_table_names_each_class_once(void **state)
{
        (void)state;
        assert_curl_error(CURLE_OPERATION_TIMEDOUT, "timeout", -ETIMEDOUT, false);
        assert_curl_error(CURLE_COULDNT_CONNECT, "connection_refused", -ECONNREFUSED, true);
        assert_curl_error(CURLE_COULDNT_RESOLVE_HOST, "name_resolution_error", -EHOSTUNREACH, false);
        assert_curl_error(CURLE_COULDNT_RESOLVE_PROXY, "name_resolution_error", -EHOSTUNREACH, false);
        assert_curl_error(CURLE_SEND_ERROR, "connection_reset", -ECONNRESET, true);
        assert_curl_error(CURLE_RECV_ERROR, "connection_reset", -ECONNRESET, true);
        assert_curl_error(CURLE_GOT_NOTHING, "connection_reset", -ECONNRESET, true);
        assert_curl_error(CURLE_PARTIAL_FILE, "connection_reset", -ECONNRESET, true);
        assert_curl_error(CURLE_PEER_FAILED_VERIFICATION, "tls_error", -EIO, false);
        assert_curl_error(CURLE_SSL_CONNECT_ERROR, "tls_error", -EIO, false);
        assert_curl_error(CURLE_OUT_OF_MEMORY, "out_of_memory", -ENOMEM, false);
        assert_curl_error(CURLE_WRITE_ERROR, "_OTHER", -EIO, false);
        assert_curl_error(CURLE_TOO_MANY_REDIRECTS, "_OTHER", -EIO, false);
}

static void test_curl_error_table_has_no_error_for_ok(void **state)
{
        const otel_http_curl_error *e = otel_http_curl_error_lookup(CURLE_OK);

        (void)state;
        assert_null(e->error_type);
        assert_int_equal(e->err, 0);
        assert_false(e->retryable);
}

static void test_method_semconv_keeps_known_methods_only(void **state)
{
        static const char *const cases[][2] = {
                {"GET", "GET"}, {"PATCH", "PATCH"}, {"get", "_OTHER"}, {"PROPFIND", "_OTHER"}};

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_string_equal(otel_http_method_semconv(cases[i][0]), cases[i][1]);
        assert_string_equal(otel_http_method_semconv(NULL), "_OTHER");
}

/* ---- the CLIENT span ---- */

static const otel_http_server backend = {.address = "127.0.0.1", .port = 8081, .path_is_root = true};

/* One request from start to end with the given options (tracer and server filled in); the span the
 * SDK recorded. */
static const otel_span *client_call(otel_http_client_opts opts, CURLcode cc, long status,
                                    const char *error_type, const char *description, otel_http_client *ret)
{
        opts.tracer = tracer;
        opts.server = &backend;
        otel_http_client_start(ret, &opts);
        otel_http_client_end(ret, cc, status, error_type, description);
        assert_null(ret->span);
        assert_int_equal(cap->n, 1);
        return cap->spans[0];
}

static void test_client_span_has_the_conventions_attributes(void **state)
{
        otel_http_client c;
        const otel_span *s = client_call(
                (otel_http_client_opts){.method = "GET", .url = "http://127.0.0.1:8081/api/products?page=2"},
                CURLE_OK, 200, NULL, NULL, &c);

        (void)state;
        assert_null(c.error_type);
        assert_string_equal(s->name, "GET");
        assert_int_equal(s->kind, OTEL_SPAN_KIND_CLIENT);
        assert_attr_str(s, "http.request.method", "GET");
        assert_attr_str(s, "url.full", "http://127.0.0.1:8081/api/products?page=2");
        assert_attr_str(s, "server.address", "127.0.0.1");
        assert_attr_int(s, "server.port", 8081);
        assert_attr_int(s, "http.response.status_code", 200);
        assert_null(attr(s, "error.type"));
        assert_null(attr(s, "http.request.method_original"));
        assert_int_equal(s->status, OTEL_STATUS_UNSET);
}

/* ---- url.full redaction (semantic conventions, docs/url/url.md "Sensitive information") ---- */

static const struct {
        const char *url;
        const char *want; /* NULL: nothing to redact */
} redact_cases[] = {
        {"http://127.0.0.1:8081/api/products?page=2", NULL},
        {"http://user:secret@example.com/x", "http://REDACTED:REDACTED@example.com/x"},
        {"https://user@example.com", "https://REDACTED:REDACTED@example.com"},
        {"https://a:b@c@example.com:8443/", "https://REDACTED:REDACTED@example.com:8443/"},
        {"https://s3.example.com/o?AWSAccessKeyId=AKIA123&Expires=1&Signature=abc%2B",
         "https://s3.example.com/o?AWSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED"},
        {"https://e.com/?sig=x&X-Goog-Signature=y#f",
         "https://e.com/?sig=REDACTED&X-Goog-Signature=REDACTED#f"},
        {"https://e.com/?sig=&q=1", "https://e.com/?sig=REDACTED&q=1"},
        /* exact keys only, values of other keys and a bare key stay; a '@' in the path is no userinfo */
        {"https://e.com/u@x?SIG=1&signature=2&sig&xsig=3", NULL},
        {"https://e.com/#?sig=1", NULL},
        {"http://u:p@h/?sig=s", "http://REDACTED:REDACTED@h/?sig=REDACTED"},
        /* empty pairs before a sensitive one, and a query of empty pairs only */
        {"https://e.com/?&&sig=1#f", "https://e.com/?&&sig=REDACTED#f"},
        {"https://e.com/?&&", NULL},
};

static void test_url_redact_follows_the_semantic_conventions(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(redact_cases) / sizeof(redact_cases[0]); i++) {
                char *out = NULL;
                int r = otel_http_url_redact(redact_cases[i].url, &out);

                if (!redact_cases[i].want) {
                        assert_int_equal(r, 0);
                        assert_null(out);
                        continue;
                }
                assert_int_equal(r, 1);
                assert_string_equal(out, redact_cases[i].want);
                free(out);
        }
}

static void test_client_span_records_url_full_redacted(void **state)
{
        otel_http_client c;
        const otel_span *s =
                client_call((otel_http_client_opts){.method = "GET",
                                                    .url = "http://me:pw@127.0.0.1:8081/a?sig=s3cret&x=1"},
                            CURLE_OK, 200, NULL, NULL, &c);

        (void)state;
        assert_attr_str(s, "url.full", "http://REDACTED:REDACTED@127.0.0.1:8081/a?sig=REDACTED&x=1");
}

static void test_client_span_counts_4xx_as_an_error_named_by_the_status(void **state)
{
        otel_http_client c;
        const otel_span *s =
                client_call((otel_http_client_opts){.span_name = "POST /api/orders",
                                                    .method = "POST",
                                                    .url = "http://127.0.0.1:8081/api/orders",
                                                    .attrs = &OTEL_ATTR_STR("url.template", "/api/orders"),
                                                    .n_attrs = 1},
                            CURLE_OK, 404, NULL, NULL, &c);

        (void)state;
        assert_string_equal(c.error_type, "404");
        assert_string_equal(s->name, "POST /api/orders");
        assert_attr_str(s, "url.template", "/api/orders");
        assert_attr_int(s, "http.response.status_code", 404);
        assert_attr_str(s, "error.type", "404");
        assert_int_equal(s->status, OTEL_STATUS_ERROR);
        assert_null(s->status_message);
}

static void test_client_span_names_a_transport_failure_from_the_table(void **state)
{
        otel_http_client c;
        const otel_span *s =
                client_call((otel_http_client_opts){.method = "GET", .url = "http://h:1/readyz"},
                            CURLE_COULDNT_RESOLVE_HOST, 0, NULL, NULL, &c);

        (void)state;
        assert_string_equal(c.error_type, "name_resolution_error");
        assert_attr_str(s, "error.type", "name_resolution_error");
        assert_null(attr(s, "http.response.status_code"));
        assert_int_equal(s->status, OTEL_STATUS_ERROR);
        assert_string_equal(s->status_message, curl_easy_strerror(CURLE_COULDNT_RESOLVE_HOST));
}

static void test_client_span_takes_the_callers_own_failure(void **state)
{
        otel_http_client c;
        const otel_span *s = client_call((otel_http_client_opts){.method = "GET", .url = "http://h:1/big"},
                                         CURLE_WRITE_ERROR, 0, "response_too_large", "reply too large", &c);

        (void)state;
        assert_attr_str(s, "error.type", "response_too_large");
        assert_string_equal(s->status_message, "reply too large");
}

static void test_client_span_names_an_unknown_method_other(void **state)
{
        otel_http_client c;
        const otel_span *s = client_call((otel_http_client_opts){.method = "PURGE", .url = "http://h:1/x"},
                                         CURLE_OK, 204, NULL, NULL, &c);

        (void)state;
        assert_string_equal(s->name, "HTTP");
        assert_attr_str(s, "http.request.method", "_OTHER");
        assert_attr_str(s, "http.request.method_original", "PURGE");
}

/* ---- reply body ---- */

static void test_body_write_keeps_up_to_the_cap(void **state)
{
        otel_http_body b = {.buf.max = 8};
        char data[] = "12345678";

        (void)state;
        assert_int_equal(otel_http_body_write(data, 1, 5, &b), 5);
        assert_int_equal(otel_http_body_write(data + 5, 3, 1, &b), 3);
        assert_int_equal(b.buf.len, 8);
        assert_string_equal((char *)b.buf.data, "12345678");
        assert_false(b.too_large);
        assert_int_equal(otel_http_body_write(data, 1, 1, &b), 0);
        assert_true(b.too_large);
        assert_false(b.oom);
        assert_int_equal(b.buf.len, 8);
        otel_buf_free(&b.buf);
}

static void test_client_span_injects_as_the_parent_of_the_next_hop(void **state)
{
        otel_http_client c;
        otel_span *parent = otel_span_start(tracer, "server", OTEL_SPAN_KIND_SERVER, NULL);
        otel_context_token tok = otel_context_attach(parent, NULL);

        (void)state;
        otel_http_client_start(&c, &(otel_http_client_opts){
                                           .tracer = tracer,
                                           .method = "GET",
                                           .url = "http://127.0.0.1:8081/",
                                           .server = &backend,
                                   });
        assert_memory_equal(otel_span_get_context(c.span)->trace_id, otel_span_get_context(parent)->trace_id,
                            OTEL_TRACE_ID_SIZE);
        otel_http_client_end(&c, CURLE_OK, 200, NULL, NULL);
        otel_context_detach(tok);
        otel_span_end(parent);
        assert_int_equal(cap->n, 2);
        assert_true(cap->spans[0]->has_parent);
        assert_memory_equal(cap->spans[0]->parent_span_id, cap->spans[1]->context.span_id,
                            OTEL_SPAN_ID_SIZE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_url_server_takes_host_and_explicit_port),
                cmocka_unit_test(test_url_server_uses_the_scheme_default_port),
                cmocka_unit_test(test_url_server_strips_ipv6_brackets),
                cmocka_unit_test(test_url_server_sees_a_query_or_fragment_as_more_than_root),
                cmocka_unit_test(test_url_server_rejects_other_schemes_and_hostless_urls),
                cmocka_unit_test(test_url_server_rejects_a_host_longer_than_the_buffer),
                cmocka_unit_test(test_curl_error_table_names_each_class_once),
                cmocka_unit_test(test_curl_error_table_has_no_error_for_ok),
                cmocka_unit_test(test_method_semconv_keeps_known_methods_only),
                cmocka_unit_test(test_body_write_keeps_up_to_the_cap),
                cmocka_unit_test(test_url_redact_follows_the_semantic_conventions),
                cmocka_unit_test_setup_teardown(test_client_span_records_url_full_redacted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_span_has_the_conventions_attributes, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_client_span_counts_4xx_as_an_error_named_by_the_status,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_span_names_a_transport_failure_from_the_table,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_span_takes_the_callers_own_failure, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_client_span_names_an_unknown_method_other, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_client_span_injects_as_the_parent_of_the_next_hop,
                                                setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
