/* SPDX-License-Identifier: Apache-2.0 */
/* The OTLP/HTTP transport: the spec's configuration rules (endpoint, headers, precedence, invalid
 * values), the retry policy's pure pieces (Retry-After, backoff, retryable codes), the log limiter,
 * and the send loop against a scripted HTTP server on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "clock.h"
#include "otlp-http.h"

#define MS  OTEL_NSEC_PER_MSEC
#define SEC OTEL_NSEC_PER_SEC

/* ---- helpers ---------------------------------------------------------------------------------- */

static const char *const otlp_suffixes[] = {"ENDPOINT", "HEADERS",     "COMPRESSION", "TIMEOUT",
                                            "PROTOCOL", "CERTIFICATE", "CLIENT_KEY",  "CLIENT_CERTIFICATE",
                                            "INSECURE"};

static int clear_otlp_env(void **state)
{
        char name[96];

        (void)state;
        for (size_t i = 0; i < sizeof(otlp_suffixes) / sizeof(otlp_suffixes[0]); i++) {
                snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s", otlp_suffixes[i]);
                unsetenv(name);
                snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_TRACES_%s", otlp_suffixes[i]);
                unsetenv(name);
        }
        return 0;
}

/* stderr captured into a temporary file, to check the warnings the SDK writes there. */
typedef struct stderr_capture {
        int saved_fd;
        FILE *file;
        char text[4096];
} stderr_capture;

static void capture_begin(stderr_capture *c)
{
        c->file = tmpfile();
        assert_non_null(c->file);
        fflush(stderr);
        c->saved_fd = dup(STDERR_FILENO);
        assert_true(c->saved_fd >= 0);
        assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

static const char *capture_end(stderr_capture *c)
{
        size_t n;

        fflush(stderr);
        assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
        close(c->saved_fd);
        rewind(c->file);
        n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
        c->text[n] = 0;
        fclose(c->file);
        return c->text;
}

static size_t count_lines(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

static void expect_url(const char *signal_ep, const char *generic_ep, const char *want)
{
        char *url = NULL;

        assert_int_equal(otlp_http_endpoint_resolve(signal_ep, generic_ep, "/v1/traces", &url), 0);
        assert_string_equal(url, want);
        free(url);
}

/* ---- endpoint --------------------------------------------------------------------------------- */

static void test_endpoint_default_gets_signal_path(void **state)
{
        (void)state;
        expect_url(NULL, NULL, "http://localhost:4318/v1/traces");
}

static void test_endpoint_generic_gets_signal_path_appended(void **state)
{
        (void)state;
        expect_url(NULL, "http://collector:4318", "http://collector:4318/v1/traces");
}

static void test_endpoint_generic_trailing_slash_is_not_doubled(void **state)
{
        (void)state;
        expect_url(NULL, "http://collector:4318/", "http://collector:4318/v1/traces");
}

static void test_endpoint_generic_path_is_kept_before_signal_path(void **state)
{
        (void)state;
        expect_url(NULL, "https://gw.example:443/otlp/", "https://gw.example:443/otlp/v1/traces");
}

static void test_endpoint_signal_specific_is_used_as_is(void **state)
{
        (void)state;
        expect_url("http://traces:9999/custom/path", "http://collector:4318",
                   "http://traces:9999/custom/path");
        expect_url("http://traces:4318", NULL, "http://traces:4318");
}

static void test_endpoint_rejects_what_is_not_an_http_url(void **state)
{
        char *url = NULL;

        (void)state;
        assert_int_equal(otlp_http_endpoint_resolve(NULL, "localhost:4318", "/v1/traces", &url), -EINVAL);
        assert_int_equal(otlp_http_endpoint_resolve("ftp://h/x", NULL, "/v1/traces", &url), -EINVAL);
        assert_int_equal(otlp_http_endpoint_resolve("http://", NULL, "/v1/traces", &url), -EINVAL);
        assert_int_equal(otlp_http_endpoint_resolve("http://h /v1", NULL, "/v1/traces", &url), -EINVAL);
        assert_null(url);
}

/* ---- headers ---------------------------------------------------------------------------------- */

/* A list that yields exactly one header line, the expected one. */
static void expect_one_header(const char *list, const char *expected)
{
        otlp_http_config cfg = {0};

        assert_int_equal(otlp_http_headers_parse("V", list, &cfg), 1);
        assert_int_equal(cfg.n_headers, 1);
        assert_string_equal(cfg.headers[0], expected);
        otlp_http_config_done(&cfg);
}

static void test_headers_parses_list_trimming_whitespace(void **state)
{
        otlp_http_config cfg = {0};

        (void)state;
        assert_int_equal(otlp_http_headers_parse("V", "api-key=abc123, X-Tenant = t1 ,", &cfg), 2);
        assert_int_equal(cfg.n_headers, 2);
        assert_string_equal(cfg.headers[0], "api-key: abc123");
        assert_string_equal(cfg.headers[1], "X-Tenant: t1");
        otlp_http_config_done(&cfg);
}

static void test_headers_percent_decodes_values(void **state)
{
        (void)state;
        expect_one_header("Authorization=Basic%20dXNlcjpwdw%3D%3D", "Authorization: Basic dXNlcjpwdw==");
}

static void test_headers_splits_at_first_equals_only(void **state)
{
        (void)state;
        expect_one_header("k=a=b", "k: a=b");
}

static void test_headers_empty_value_is_sent_empty(void **state)
{
        (void)state;
        expect_one_header("x-empty=", "x-empty;");
}

static void test_headers_invalid_entries_are_skipped_with_one_warning_each(void **state)
{
        otlp_http_config cfg = {0};
        stderr_capture cap;
        const char *err;

        (void)state;
        capture_begin(&cap);
        /* no '=', empty key, space in key, broken escape, then one good entry */
        assert_int_equal(otlp_http_headers_parse("OTEL_EXPORTER_OTLP_HEADERS",
                                                 "novalue,=v,bad key=x,x=%zz,ok=1", &cfg),
                         1);
        err = capture_end(&cap);
        assert_int_equal(cfg.n_headers, 1);
        assert_string_equal(cfg.headers[0], "ok: 1");
        assert_int_equal(count_lines(err), 4);
        assert_non_null(strstr(err, "OTEL_EXPORTER_OTLP_HEADERS"));
        otlp_http_config_done(&cfg);
}

static void test_headers_encoded_newline_cannot_inject_a_header(void **state)
{
        otlp_http_config cfg = {0};
        stderr_capture cap;

        (void)state;
        capture_begin(&cap);
        assert_int_equal(otlp_http_headers_parse("V", "x=a%0D%0AEvil: 1", &cfg), 0);
        capture_end(&cap);
        assert_int_equal(cfg.n_headers, 0);
        otlp_http_config_done(&cfg);
}

static void test_headers_warning_never_prints_the_value(void **state)
{
        otlp_http_config cfg = {0};
        stderr_capture cap;

        (void)state;
        capture_begin(&cap);
        assert_int_equal(otlp_http_headers_parse("V", "bad key=s3cr3t%zz", &cfg), 0);
        assert_null(strstr(capture_end(&cap), "s3cr3t"));
        otlp_http_config_done(&cfg);
}

/* ---- Retry-After, backoff, retryable codes ---------------------------------------------------- */

#define DATE_2015_10_21_072800 ((time_t)1445412480)

static void test_retry_after_delta_seconds(void **state)
{
        uint64_t d = 0;

        (void)state;
        assert_int_equal(otlp_http_retry_after_parse("2", 0, &d), 0);
        assert_int_equal(d, 2 * SEC);
        assert_int_equal(otlp_http_retry_after_parse(" 120 ", 0, &d), 0);
        assert_int_equal(d, 120 * SEC);
        assert_int_equal(otlp_http_retry_after_parse("0", 0, &d), 0);
        assert_int_equal(d, 0);
}

static void test_retry_after_huge_delta_is_clamped(void **state)
{
        uint64_t d = 0;

        (void)state;
        assert_int_equal(otlp_http_retry_after_parse("99999999999999999999999", 0, &d), 0);
        assert_int_equal(d, (uint64_t)OTLP_HTTP_MAX_RETRY_AFTER_S * SEC);
}

static void test_retry_after_http_date_is_relative_to_now(void **state)
{
        uint64_t d = 0;

        (void)state;
        assert_int_equal(
                otlp_http_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", DATE_2015_10_21_072800 - 5, &d),
                0);
        assert_int_equal(d, 5 * SEC);
        /* the obsolete RFC 850 form, which RFC 9110 says recipients must accept */
        assert_int_equal(otlp_http_retry_after_parse("Wednesday, 21-Oct-15 07:28:00 GMT",
                                                     DATE_2015_10_21_072800 - 7, &d),
                         0);
        assert_int_equal(d, 7 * SEC);
}

static void test_retry_after_date_in_the_past_means_now(void **state)
{
        uint64_t d = 99;

        (void)state;
        assert_int_equal(otlp_http_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT",
                                                     DATE_2015_10_21_072800 + 60, &d),
                         0);
        assert_int_equal(d, 0);
}

static void test_retry_after_rejects_garbage(void **state)
{
        uint64_t d = 42;

        (void)state;
        assert_int_equal(otlp_http_retry_after_parse("", 0, &d), -EINVAL);
        assert_int_equal(otlp_http_retry_after_parse("soon", 0, &d), -EINVAL);
        assert_int_equal(otlp_http_retry_after_parse("-1", 0, &d), -EINVAL);
        assert_int_equal(otlp_http_retry_after_parse("1.5", 0, &d), -EINVAL);
        assert_int_equal(otlp_http_retry_after_parse("2 seconds", 0, &d), -EINVAL);
        assert_int_equal(d, 42);
}

static void test_backoff_first_retry_is_within_initial_window(void **state)
{
        (void)state;
        assert_int_equal(otlp_http_backoff_ns(1, 0.0), 0);
        assert_int_equal(otlp_http_backoff_ns(1, 0.5), OTLP_HTTP_BACKOFF_INITIAL_MS / 2 * MS);
        assert_true(otlp_http_backoff_ns(1, 0.999999) < OTLP_HTTP_BACKOFF_INITIAL_MS * MS);
}

static void test_backoff_window_doubles_per_retry(void **state)
{
        (void)state;
        assert_int_equal(otlp_http_backoff_ns(2, 0.5), OTLP_HTTP_BACKOFF_INITIAL_MS * MS);
        assert_int_equal(otlp_http_backoff_ns(3, 0.5), 2 * OTLP_HTTP_BACKOFF_INITIAL_MS * MS);
}

static void test_backoff_window_is_capped(void **state)
{
        (void)state;
        assert_int_equal(otlp_http_backoff_ns(4, 0.5), OTLP_HTTP_BACKOFF_MAX_MS / 2 * MS);
        assert_int_equal(otlp_http_backoff_ns(1000, 0.5), OTLP_HTTP_BACKOFF_MAX_MS / 2 * MS);
        assert_true(otlp_http_backoff_ns(UINT32_MAX, 0.999999) <= OTLP_HTTP_BACKOFF_MAX_MS * MS);
}

static void test_backoff_treats_nonsense_units_safely(void **state)
{
        (void)state;
        assert_int_equal(otlp_http_backoff_ns(1, -1.0), 0);
        assert_int_equal(otlp_http_backoff_ns(1, 7.0), OTLP_HTTP_BACKOFF_INITIAL_MS * MS);
}

static void test_only_429_502_503_504_are_retryable(void **state)
{
        static const long retryable[] = {429, 502, 503, 504};
        static const long final[] = {200, 400, 401, 403, 404, 408, 413, 500, 501, 505};

        (void)state;
        for (size_t i = 0; i < sizeof(retryable) / sizeof(retryable[0]); i++)
                assert_true(otlp_http_status_is_retryable(retryable[i]));
        for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
                assert_false(otlp_http_status_is_retryable(final[i]));
}

/* ---- log limiter ------------------------------------------------------------------------------ */

static void test_limiter_logs_first_then_once_a_minute_with_count(void **state)
{
        otlp_log_limiter l = {0};
        uint64_t sup = 99, t0 = 1000 * SEC;

        (void)state;
        assert_true(otlp_log_limiter_allow(&l, 7, t0, &sup));
        assert_int_equal(sup, 0);
        assert_false(otlp_log_limiter_allow(&l, 7, t0 + 1 * SEC, &sup));
        assert_false(otlp_log_limiter_allow(&l, 7, t0 + 59 * SEC, &sup));
        assert_true(otlp_log_limiter_allow(&l, 7, t0 + 60 * SEC, &sup));
        assert_int_equal(sup, 2);
}

static void test_limiter_logs_a_different_failure_at_once(void **state)
{
        otlp_log_limiter l = {0};
        uint64_t sup = 99;

        (void)state;
        assert_true(otlp_log_limiter_allow(&l, 7, 0, &sup));
        assert_true(otlp_log_limiter_allow(&l, 8, 1, &sup));
        assert_int_equal(sup, 0);
}

/* ---- configuration from the environment ------------------------------------------------------- */

/* One environment and the traces config otlp_http_config_from_env must build from it. */
typedef struct env_config_case {
        const char *env[10][2]; /* name, value; up to the first NULL name */
        const char *url;
        otlp_protocol protocol;
        otlp_compression compression;
        uint64_t timeout_ms;
        const char *header; /* the only header expected, or NULL for none */
        const char *certificate, *client_key, *client_certificate; /* expected paths, NULL for none */
        const char *warns;     /* the variable the one warning must name, or NULL for no output */
        const char *also_says; /* more text that warning must hold, or NULL */
} env_config_case;

/* The config of an empty environment. */
#define DEFAULT_CONFIG                                                                                      \
        .url = "http://localhost:4318/v1/traces", .protocol = OTLP_PROTOCOL_HTTP_PROTOBUF,                  \
        .compression = OTLP_COMPRESSION_NONE, .timeout_ms = OTLP_HTTP_DEFAULT_TIMEOUT_MS

/* The spec's defaults, spelled out (DEFAULT_CONFIG uses the SDK's constant). */
static const env_config_case config_defaults = {
        .url = "http://localhost:4318/v1/traces",
        .protocol = OTLP_PROTOCOL_HTTP_PROTOBUF,
        .compression = OTLP_COMPRESSION_NONE,
        .timeout_ms = 10000,
};

/* An invalid value: one warning naming the variable, and the default used instead. */
static const env_config_case config_invalid_timeout_warns_and_uses_default = {
        .env = {{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "10s"}},
        DEFAULT_CONFIG,
        .warns = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
};

static const env_config_case config_invalid_compression_warns_and_uses_none = {
        .env = {{"OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"}},
        DEFAULT_CONFIG,
        .warns = "OTEL_EXPORTER_OTLP_COMPRESSION",
};

static const env_config_case config_grpc_protocol_warns_and_uses_protobuf = {
        .env = {{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}},
        DEFAULT_CONFIG,
        .warns = "OTEL_EXPORTER_OTLP_PROTOCOL",
        .also_says = "http/protobuf",
};

static const env_config_case config_invalid_generic_endpoint_warns_and_uses_default = {
        .env = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}},
        DEFAULT_CONFIG,
        .warns = "OTEL_EXPORTER_OTLP_ENDPOINT",
};

static const env_config_case config_invalid_signal_endpoint_falls_back_to_generic = {
        .env = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://gen:4318"},
                {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "gen:4318/v1/traces"}},
        .url = "http://gen:4318/v1/traces",
        .protocol = OTLP_PROTOCOL_HTTP_PROTOBUF,
        .compression = OTLP_COMPRESSION_NONE,
        .timeout_ms = OTLP_HTTP_DEFAULT_TIMEOUT_MS,
        .warns = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
};

static const env_config_case config_unreadable_certificate_warns_and_is_ignored = {
        .env = {{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"}},
        DEFAULT_CONFIG,
        .warns = "OTEL_EXPORTER_OTLP_CERTIFICATE",
};

static const env_config_case config_generic_variables_apply = {
        .env = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://gen:4318"},
                {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
                {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
                {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                {"OTEL_EXPORTER_OTLP_HEADERS", "a=1"}},
        .url = "http://gen:4318/v1/traces",
        .protocol = OTLP_PROTOCOL_HTTP_JSON,
        .compression = OTLP_COMPRESSION_GZIP,
        .timeout_ms = 2500,
        .header = "a: 1",
};

/* The TLS files (any readable file passes the check at configuration time): the generic variables
 * apply when no signal-specific one is set. */
static const env_config_case config_generic_tls_files_apply = {
        .env = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://gen:4318"},
                {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/passwd"},
                {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/group"},
                {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/dev/null"}},
        .url = "https://gen:4318/v1/traces",
        .protocol = OTLP_PROTOCOL_HTTP_PROTOBUF,
        .compression = OTLP_COMPRESSION_NONE,
        .timeout_ms = OTLP_HTTP_DEFAULT_TIMEOUT_MS,
        .certificate = "/etc/passwd",
        .client_key = "/etc/group",
        .client_certificate = "/dev/null",
};

/* Each signal-specific TLS variable wins over its generic one, on its own: the others still apply. */
static const env_config_case config_signal_tls_file_wins_alone = {
        .env = {{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/passwd"},
                {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/etc/group"},
                {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/passwd"},
                {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/passwd"},
                {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/dev/null"}},
        DEFAULT_CONFIG,
        .certificate = "/etc/group",
        .client_key = "/etc/passwd",
        .client_certificate = "/dev/null",
};

/* An unreadable signal-specific file is warned about and not used; the generic one does not step in
 * (the operator asked for another file for this signal). */
static const env_config_case config_unreadable_signal_certificate_is_not_replaced_by_generic = {
        .env = {{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/passwd"},
                {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/nonexistent/ca.pem"}},
        DEFAULT_CONFIG,
        .warns = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
};

/* Spec: INSECURE is for OTLP/gRPC only; over HTTP the scheme decides, so it is ignored with a warning. */
static const env_config_case config_insecure_is_ignored_over_http_with_a_warning = {
        .env = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://gen:4318"},
                {"OTEL_EXPORTER_OTLP_INSECURE", "true"}},
        .url = "https://gen:4318/v1/traces",
        .protocol = OTLP_PROTOCOL_HTTP_PROTOBUF,
        .compression = OTLP_COMPRESSION_NONE,
        .timeout_ms = OTLP_HTTP_DEFAULT_TIMEOUT_MS,
        .warns = "OTEL_EXPORTER_OTLP_INSECURE",
        .also_says = "gRPC",
};

static const env_config_case config_insecure_false_says_nothing = {
        .env = {{"OTEL_EXPORTER_OTLP_INSECURE", "false"}},
        DEFAULT_CONFIG,
};

static const env_config_case config_signal_specific_variables_win = {
        .env = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://gen:4318"},
                {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://sig:1234/t"},
                {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
                {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"},
                {"OTEL_EXPORTER_OTLP_COMPRESSION", "none"},
                {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"},
                {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"},
                {"OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"},
                {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "c=3"}},
        .url = "http://sig:1234/t",
        .protocol = OTLP_PROTOCOL_HTTP_PROTOBUF,
        .compression = OTLP_COMPRESSION_GZIP,
        .timeout_ms = 700,
        .header = "c: 3",
};

static void assert_optional_string(const char *got, const char *expected)
{
        if (expected)
                assert_string_equal(got, expected);
        else
                assert_null(got);
}

/* Sets the case's variables (clear_otlp_env has run) and checks the config built from them. */
static void test_config_from_env_case(void **state)
{
        const env_config_case *c = *state;
        otlp_http_config cfg;
        stderr_capture cap;
        const char *err;

        for (size_t i = 0; i < sizeof(c->env) / sizeof(c->env[0]) && c->env[i][0]; i++)
                setenv(c->env[i][0], c->env[i][1], 1);
        capture_begin(&cap);
        assert_int_equal(otlp_http_config_from_env("TRACES", "/v1/traces", &cfg), 0);
        err = capture_end(&cap);
        if (c->warns) {
                assert_int_equal(count_lines(err), 1);
                assert_non_null(strstr(err, "warning"));
                assert_non_null(strstr(err, c->warns));
        } else {
                assert_string_equal(err, "");
        }
        if (c->also_says)
                assert_non_null(strstr(err, c->also_says));
        assert_string_equal(cfg.signal, "traces");
        assert_string_equal(cfg.url, c->url);
        assert_int_equal(cfg.protocol, c->protocol);
        assert_int_equal(cfg.compression, c->compression);
        assert_int_equal(cfg.timeout_ms, c->timeout_ms);
        assert_int_equal(cfg.n_headers, c->header ? 1 : 0);
        if (c->header)
                assert_string_equal(cfg.headers[0], c->header);
        assert_optional_string(cfg.certificate, c->certificate);
        assert_optional_string(cfg.client_key, c->client_key);
        assert_optional_string(cfg.client_certificate, c->client_certificate);
        otlp_http_config_done(&cfg);
}

/* ---- the send loop against a scripted loopback server ----------------------------------------- */

#define SRV_MAX     8     /* requests a test script answers */
#define SRV_REQ_MAX 65536 /* bytes of one request we keep */

typedef struct srv_reply {
        int status;          /* 0 = close the connection without answering */
        const char *headers; /* extra header lines, each ending in \r\n */
        const char *body;    /* may be NULL */
} srv_reply;

typedef struct srv_request {
        char head[4096];           /* request line and headers */
        uint8_t body[SRV_REQ_MAX]; /* request body */
        size_t body_len;
        uint64_t at_ns; /* CLOCK_MONOTONIC arrival */
} srv_request;

typedef struct srv {
        int fd; /* listening socket */
        int port;
        pthread_t thread;
        volatile bool stop;
        srv_reply replies[SRV_MAX]; /* the script */
        size_t n_replies;
        srv_request reqs[SRV_MAX]; /* what arrived */
        size_t n_reqs;             /* written by the server thread, read after join */
} srv;

static bool srv_read_request(int c, srv_request *rq)
{
        char buf[SRV_REQ_MAX];
        size_t have = 0, need = 0, head_len = 0, body_len = 0;
        char *end = NULL, *cl;

        for (;;) {
                ssize_t n = recv(c, buf + have, sizeof(buf) - 1 - have, 0);

                if (n <= 0)
                        return false;
                have += (size_t)n;
                buf[have] = 0;
                if (!end && (end = strstr(buf, "\r\n\r\n"))) {
                        head_len = (size_t)(end - buf) + 4;
                        cl = strcasestr(buf, "\r\nContent-Length:");
                        body_len = cl ? strtoul(cl + 17, NULL, 10) : 0;
                        need = head_len + body_len;
                }
                if (end && have >= need)
                        break;
                if (have >= sizeof(buf) - 1)
                        return false;
        }
        snprintf(rq->head, sizeof(rq->head), "%.*s", (int)head_len, buf);
        memcpy(rq->body, buf + head_len, body_len);
        rq->body_len = body_len;
        rq->at_ns = otel_mono_ns();
        return true;
}

static void *srv_main(void *arg)
{
        srv *s = arg;
        int c = -1;

        while (!s->stop && s->n_reqs < SRV_MAX) {
                struct pollfd pfd = {.fd = c >= 0 ? c : s->fd, .events = POLLIN};
                const srv_reply *rp;
                char out[4096];
                int n;

                if (poll(&pfd, 1, 20) <= 0)
                        continue;
                if (c < 0) {
                        c = accept(s->fd, NULL, NULL);
                        continue;
                }
                if (!srv_read_request(c, &s->reqs[s->n_reqs])) {
                        close(c);
                        c = -1;
                        continue;
                }
                rp = s->n_reqs < s->n_replies ? &s->replies[s->n_reqs] : &(srv_reply){.status = 200};
                s->n_reqs++;
                if (rp->status == 0) {
                        close(c);
                        c = -1;
                        continue;
                }
                n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n%s",
                             rp->status, rp->body ? strlen(rp->body) : 0, rp->headers ? rp->headers : "",
                             rp->body ? rp->body : "");
                assert_true(send(c, out, (size_t)n, MSG_NOSIGNAL) == n);
        }
        if (c >= 0)
                close(c);
        return NULL;
}

static void srv_start(srv *s)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);

        s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(s->fd >= 0);
        assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(s->fd, 8), 0);
        assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
        s->port = ntohs(a.sin_port);
        assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_stop(srv *s)
{
        s->stop = true;
        pthread_join(s->thread, NULL);
        close(s->fd);
}

/* A transport to 127.0.0.1:port with the given compression. */
static otlp_http *http_to(int port, otlp_compression comp)
{
        otlp_http_config cfg = {0};
        otlp_http *h = NULL;

        assert_int_equal(asprintf(&cfg.url, "http://127.0.0.1:%d/v1/traces", port) > 0, 1);
        cfg.signal = strdup("traces");
        cfg.compression = comp;
        cfg.timeout_ms = OTLP_HTTP_DEFAULT_TIMEOUT_MS;
        assert_int_equal(otlp_http_headers_parse("V", "x-api-key=k1", &cfg), 1);
        assert_int_equal(otlp_http_new(&cfg, &h), 0);
        return h;
}

static void test_send_posts_body_with_protocol_headers(void **state)
{
        srv s = {.n_replies = 1, .replies = {{.status = 200, .body = "ok"}}};
        otlp_http_result res;
        otlp_http *h;

        (void)state;
        srv_start(&s);
        h = http_to(s.port, OTLP_COMPRESSION_NONE);
        assert_int_equal(otlp_http_send(h, "\x0a\x00", 2, otel_mono_ns() + 5 * SEC, &res), 0);
        assert_int_equal(res.status, 200);
        assert_int_equal(res.attempts, 1);
        assert_int_equal(res.body_len, 2);
        assert_memory_equal(res.body, "ok", 2);
        otlp_http_free(h);
        srv_stop(&s);
        assert_int_equal(s.n_reqs, 1);
        assert_non_null(strstr(s.reqs[0].head, "POST /v1/traces HTTP/1.1\r\n"));
        assert_non_null(strcasestr(s.reqs[0].head, "\r\nContent-Type: application/x-protobuf\r\n"));
        assert_non_null(
                strcasestr(s.reqs[0].head, "\r\nUser-Agent: OTel-OTLP-Exporter-C/" OTEL_SDK_VERSION "\r\n"));
        assert_non_null(strcasestr(s.reqs[0].head, "\r\nx-api-key: k1\r\n"));
        assert_null(strcasestr(s.reqs[0].head, "Content-Encoding"));
        assert_int_equal(s.reqs[0].body_len, 2);
        assert_memory_equal(s.reqs[0].body, "\x0a\x00", 2);
}

static void test_send_gzip_body_inflates_to_the_original(void **state)
{
        srv s = {0};
        const char *text = "spans spans spans spans spans spans spans spans";
        uint8_t out[256];
        uLongf out_len = sizeof(out);
        z_stream zs = {0};
        otlp_http_result res;
        otlp_http *h;

        (void)state;
        srv_start(&s);
        h = http_to(s.port, OTLP_COMPRESSION_GZIP);
        assert_int_equal(otlp_http_send(h, text, strlen(text), otel_mono_ns() + 5 * SEC, &res), 0);
        otlp_http_free(h);
        srv_stop(&s);
        assert_int_equal(s.n_reqs, 1);
        assert_non_null(strcasestr(s.reqs[0].head, "\r\nContent-Encoding: gzip\r\n"));
        assert_int_equal(s.reqs[0].body[0], 0x1f); /* gzip magic */
        assert_int_equal(s.reqs[0].body[1], 0x8b);
        assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
        zs.next_in = s.reqs[0].body;
        zs.avail_in = (uInt)s.reqs[0].body_len;
        zs.next_out = out;
        zs.avail_out = (uInt)out_len;
        assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
        assert_int_equal(zs.total_out, strlen(text));
        assert_memory_equal(out, text, strlen(text));
        inflateEnd(&zs);
}

static void test_send_retries_503_then_succeeds(void **state)
{
        srv s = {.n_replies = 2,
                 .replies = {{.status = 503, .headers = "Retry-After: 0\r\n"}, {.status = 200}}};
        otlp_http_result res;
        otlp_http *h;

        (void)state;
        srv_start(&s);
        h = http_to(s.port, OTLP_COMPRESSION_NONE);
        assert_int_equal(otlp_http_send(h, "x", 1, otel_mono_ns() + 5 * SEC, &res), 0);
        assert_int_equal(res.attempts, 2);
        assert_int_equal(res.status, 200);
        otlp_http_free(h);
        srv_stop(&s);
        assert_int_equal(s.n_reqs, 2);
}

static void test_send_honours_retry_after_seconds(void **state)
{
        srv s = {.n_replies = 2,
                 .replies = {{.status = 429, .headers = "Retry-After: 1\r\n"}, {.status = 200}}};
        otlp_http_result res;
        otlp_http *h;

        (void)state;
        srv_start(&s);
        h = http_to(s.port, OTLP_COMPRESSION_NONE);
        assert_int_equal(otlp_http_send(h, "x", 1, otel_mono_ns() + 5 * SEC, &res), 0);
        otlp_http_free(h);
        srv_stop(&s);
        assert_int_equal(s.n_reqs, 2);
        assert_true(s.reqs[1].at_ns - s.reqs[0].at_ns >= 1 * SEC);
}

static void test_send_does_not_retry_400_and_logs_its_message_once(void **state)
{
        srv s = {.n_replies = 2,
                 .replies = {
                         {.status = 400, .headers = "Content-Type: text/plain\r\n", .body = "bad span id"},
                         {.status = 400, .headers = "Content-Type: text/plain\r\n", .body = "bad span id"}}};
        stderr_capture cap;
        otlp_http_result res;
        const char *err;
        otlp_http *h;

        (void)state;
        srv_start(&s);
        h = http_to(s.port, OTLP_COMPRESSION_NONE);
        capture_begin(&cap);
        assert_int_equal(otlp_http_send(h, "x", 1, otel_mono_ns() + 5 * SEC, &res), -EPROTO);
        assert_int_equal(res.attempts, 1);
        assert_int_equal(res.status, 400);
        /* the same failure again within a minute is not logged again */
        assert_int_equal(otlp_http_send(h, "x", 1, otel_mono_ns() + 5 * SEC, &res), -EPROTO);
        err = capture_end(&cap);
        otlp_http_free(h);
        srv_stop(&s);
        assert_int_equal(s.n_reqs, 2);
        assert_int_equal(count_lines(err), 1);
        assert_non_null(strstr(err, "HTTP 400: bad span id"));
}

static void test_send_reads_rpc_status_message_from_protobuf_body(void **state)
{
        /* google.rpc.Status{code: 3, message: "no"}: field 1 varint, field 2 string */
        srv s = {.n_replies = 1,
                 .replies = {{.status = 400,
                              .headers = "Content-Type: application/x-protobuf\r\n",
                              .body = "\x08\x03\x12\x02no"}}};
        stderr_capture cap;
        otlp_http_result res;
        otlp_http *h;

        (void)state;
        srv_start(&s);
        h = http_to(s.port, OTLP_COMPRESSION_NONE);
        capture_begin(&cap);
        assert_int_equal(otlp_http_send(h, "x", 1, otel_mono_ns() + 5 * SEC, &res), -EPROTO);
        assert_non_null(strstr(capture_end(&cap), "HTTP 400: no\n"));
        otlp_http_free(h);
        srv_stop(&s);
}

static void test_send_retries_dropped_connection(void **state)
{
        srv s = {.n_replies = 2, .replies = {{.status = 0}, {.status = 200}}};
        otlp_http_result res;
        otlp_http *h;

        (void)state;
        srv_start(&s);
        h = http_to(s.port, OTLP_COMPRESSION_NONE);
        assert_int_equal(otlp_http_send(h, "x", 1, otel_mono_ns() + 5 * SEC, &res), 0);
        assert_int_equal(res.attempts, 2);
        otlp_http_free(h);
        srv_stop(&s);
}

/* Nobody listens and nobody ever did (no Collector): one attempt per export, and one line per process
 * naming the endpoint and how to silence it; the next export says nothing. */
static void test_send_to_an_endpoint_that_never_answered_tries_once_and_says_so_once(void **state)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port;
        uint64_t start, took;
        stderr_capture cap;
        otlp_http_result res;
        const char *err;
        otlp_http *h;

        (void)state;
        /* A port that was just free: nothing listens there, so connecting is refused. */
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        port = ntohs(a.sin_port);
        close(fd);
        h = http_to(port, OTLP_COMPRESSION_NONE);
        capture_begin(&cap);
        start = otel_mono_ns();
        assert_int_equal(otlp_http_send(h, "x", 1, start + 1500 * MS, &res), -EIO);
        took = otel_mono_ns() - start;
        assert_int_equal(res.attempts, 1);
        assert_int_equal(otlp_http_send(h, "x", 1, otel_mono_ns() + 1500 * MS, &res), -EIO);
        err = capture_end(&cap);
        otlp_http_free(h);
        assert_true(took < 500 * MS);
        assert_int_equal(count_lines(err), 1);
        assert_non_null(strstr(err, "no OTLP receiver at http://127.0.0.1:"));
        assert_non_null(strstr(err, "OTEL_TRACES_EXPORTER=none"));
}

/* test_config_from_env_case with one env_config_case. */
#define CONFIG_CASE(c)                                                                                      \
        cmocka_unit_test_prestate_setup_teardown(test_config_from_env_case, clear_otlp_env, NULL,           \
                                                 (void *)&(c))

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_endpoint_default_gets_signal_path),
                cmocka_unit_test(test_endpoint_generic_gets_signal_path_appended),
                cmocka_unit_test(test_endpoint_generic_trailing_slash_is_not_doubled),
                cmocka_unit_test(test_endpoint_generic_path_is_kept_before_signal_path),
                cmocka_unit_test(test_endpoint_signal_specific_is_used_as_is),
                cmocka_unit_test(test_endpoint_rejects_what_is_not_an_http_url),
                cmocka_unit_test(test_headers_parses_list_trimming_whitespace),
                cmocka_unit_test(test_headers_percent_decodes_values),
                cmocka_unit_test(test_headers_splits_at_first_equals_only),
                cmocka_unit_test(test_headers_empty_value_is_sent_empty),
                cmocka_unit_test(test_headers_invalid_entries_are_skipped_with_one_warning_each),
                cmocka_unit_test(test_headers_encoded_newline_cannot_inject_a_header),
                cmocka_unit_test(test_headers_warning_never_prints_the_value),
                cmocka_unit_test(test_retry_after_delta_seconds),
                cmocka_unit_test(test_retry_after_huge_delta_is_clamped),
                cmocka_unit_test(test_retry_after_http_date_is_relative_to_now),
                cmocka_unit_test(test_retry_after_date_in_the_past_means_now),
                cmocka_unit_test(test_retry_after_rejects_garbage),
                cmocka_unit_test(test_backoff_first_retry_is_within_initial_window),
                cmocka_unit_test(test_backoff_window_doubles_per_retry),
                cmocka_unit_test(test_backoff_window_is_capped),
                cmocka_unit_test(test_backoff_treats_nonsense_units_safely),
                cmocka_unit_test(test_only_429_502_503_504_are_retryable),
                cmocka_unit_test(test_limiter_logs_first_then_once_a_minute_with_count),
                cmocka_unit_test(test_limiter_logs_a_different_failure_at_once),
                CONFIG_CASE(config_defaults),
                CONFIG_CASE(config_generic_variables_apply),
                CONFIG_CASE(config_signal_specific_variables_win),
                CONFIG_CASE(config_invalid_timeout_warns_and_uses_default),
                CONFIG_CASE(config_invalid_compression_warns_and_uses_none),
                CONFIG_CASE(config_grpc_protocol_warns_and_uses_protobuf),
                CONFIG_CASE(config_invalid_generic_endpoint_warns_and_uses_default),
                CONFIG_CASE(config_invalid_signal_endpoint_falls_back_to_generic),
                CONFIG_CASE(config_unreadable_certificate_warns_and_is_ignored),
                CONFIG_CASE(config_generic_tls_files_apply),
                CONFIG_CASE(config_signal_tls_file_wins_alone),
                CONFIG_CASE(config_unreadable_signal_certificate_is_not_replaced_by_generic),
                CONFIG_CASE(config_insecure_is_ignored_over_http_with_a_warning),
                CONFIG_CASE(config_insecure_false_says_nothing),
                cmocka_unit_test(test_send_posts_body_with_protocol_headers),
                cmocka_unit_test(test_send_gzip_body_inflates_to_the_original),
                cmocka_unit_test(test_send_retries_503_then_succeeds),
                cmocka_unit_test(test_send_honours_retry_after_seconds),
                cmocka_unit_test(test_send_does_not_retry_400_and_logs_its_message_once),
                cmocka_unit_test(test_send_reads_rpc_status_message_from_protobuf_body),
                cmocka_unit_test(test_send_retries_dropped_connection),
                cmocka_unit_test(test_send_to_an_endpoint_that_never_answered_tries_once_and_says_so_once),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
