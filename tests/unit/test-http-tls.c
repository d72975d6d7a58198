/* SPDX-License-Identifier: Apache-2.0 */
/* The TLS file keys of the configuration (http-tls.h): a systemd credential wins over the configured
 * path, a private key open to group or others is refused naming the key and the mode, and the [server]
 * keys go together. Files live in a temporary directory made per test. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config-file.h"
#include "http-tls.h"

typedef struct tls_files {
        char dir[64];             /* the test's directory, also $CREDENTIALS_DIRECTORY when used */
        char path[PATH_MAX];      /* a file in it named "configured.pem" */
        char cred[PATH_MAX];      /* the credential "tls-key" in it */
        char text[PATH_MAX + 64]; /* the configuration text */
} tls_files;

static void write_file(const char *path, mode_t mode)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        assert_true(fputs("-----BEGIN PRIVATE KEY-----\n", f) >= 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, mode), 0);
}

static int files_setup(void **state)
{
        tls_files *t = calloc(1, sizeof(*t));

        assert_non_null(t);
        snprintf(t->dir, sizeof(t->dir), "/tmp/test-http-tls-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        snprintf(t->path, sizeof(t->path), "%s/configured.pem", t->dir);
        snprintf(t->cred, sizeof(t->cred), "%s/tls-key", t->dir);
        unsetenv("CREDENTIALS_DIRECTORY");
        *state = t;
        return 0;
}

static int files_teardown(void **state)
{
        tls_files *t = *state;

        unlink(t->path);
        unlink(t->cred);
        rmdir(t->dir);
        unsetenv("CREDENTIALS_DIRECTORY");
        free(t);
        return 0;
}

/* Parses "[server]\ntls_key = <configured>" (no key when NULL) and asks for [server] tls_key as a secret
 * through http_tls_config_file(). */
static int key_file(tls_files *t, const char *configured, char ret[HTTP_TLS_PATH_MAX], char *ret_error)
{
        config_file *cfg = NULL;
        int r;

        snprintf(t->text, sizeof(t->text), "[server]\n%s%s\n", configured ? "tls_key = " : "",
                 configured ? configured : "");
        assert_int_equal(config_parse_string("test.conf", t->text, strlen(t->text), &cfg, NULL), 0);
        r = http_tls_config_file(cfg, "server", "tls_key", HTTP_TLS_CREDENTIAL_KEY, true, ret);
        snprintf(ret_error, CONFIG_ERROR_MAX, "%s", config_error(cfg));
        config_free(cfg);
        return r;
}

static void test_tls_file_absent_everywhere_is_empty(void **state)
{
        tls_files *t = *state;
        char path[HTTP_TLS_PATH_MAX] = "x", error[CONFIG_ERROR_MAX];

        assert_int_equal(key_file(t, NULL, path, error), 0);
        assert_string_equal(path, "");
}

static void test_tls_file_configured_path_is_used(void **state)
{
        tls_files *t = *state;
        char path[HTTP_TLS_PATH_MAX], error[CONFIG_ERROR_MAX];

        write_file(t->path, 0600);
        assert_int_equal(key_file(t, t->path, path, error), 0);
        assert_string_equal(path, t->path);
}

static void test_tls_file_credential_wins_over_the_configured_path(void **state)
{
        tls_files *t = *state;
        char path[HTTP_TLS_PATH_MAX], error[CONFIG_ERROR_MAX];

        write_file(t->path, 0600);
        write_file(t->cred, 0400);
        setenv("CREDENTIALS_DIRECTORY", t->dir, 1);
        assert_int_equal(key_file(t, t->path, path, error), 0);
        assert_string_equal(path, t->cred);
}

static void test_tls_file_credential_directory_without_it_keeps_the_path(void **state)
{
        tls_files *t = *state;
        char path[HTTP_TLS_PATH_MAX], error[CONFIG_ERROR_MAX];

        write_file(t->path, 0600);
        setenv("CREDENTIALS_DIRECTORY", t->dir, 1); /* holds no "tls-key" */
        assert_int_equal(key_file(t, t->path, path, error), 0);
        assert_string_equal(path, t->path);
}

static void test_tls_file_group_readable_key_is_refused_naming_key_and_mode(void **state)
{
        tls_files *t = *state;
        char path[HTTP_TLS_PATH_MAX], error[CONFIG_ERROR_MAX];

        write_file(t->path, 0640);
        assert_int_equal(key_file(t, t->path, path, error), -EINVAL);
        assert_non_null(strstr(error, "test.conf:2: [server] tls_key: private key"));
        assert_non_null(strstr(error, "(mode 0640)"));
}

static void test_tls_file_other_writable_credential_key_is_refused(void **state)
{
        tls_files *t = *state;
        char path[HTTP_TLS_PATH_MAX], error[CONFIG_ERROR_MAX];

        write_file(t->cred, 0602);
        setenv("CREDENTIALS_DIRECTORY", t->dir, 1);
        assert_int_equal(key_file(t, NULL, path, error), -EINVAL);
        assert_non_null(strstr(error, "[server] tls_key"));
        assert_non_null(strstr(error, "(mode 0602)"));
}

static void test_tls_file_missing_or_not_regular_is_refused(void **state)
{
        tls_files *t = *state;
        char path[HTTP_TLS_PATH_MAX], error[CONFIG_ERROR_MAX];

        assert_int_equal(key_file(t, t->path, path, error), -EINVAL);
        assert_non_null(strstr(error, "[server] tls_key: cannot read"));
        assert_int_equal(key_file(t, t->dir, path, error), -EINVAL);
        assert_non_null(strstr(error, "is not a regular file"));
}

static void test_tls_server_certificate_without_key_is_refused(void **state)
{
        tls_files *t = *state;
        http_tls_config tls;
        config_file *cfg = NULL;

        write_file(t->path, 0644);
        snprintf(t->text, sizeof(t->text), "[server]\ntls_cert = %s\n", t->path);
        assert_int_equal(config_parse_string("test.conf", t->text, strlen(t->text), &cfg, NULL), 0);
        assert_int_equal(http_tls_config_load(cfg, &tls), -EINVAL);
        assert_non_null(strstr(config_error(cfg), "[server] tls_key: tls_cert is set"));
        config_free(cfg);
}

static void test_tls_server_nothing_configured_is_off(void **state)
{
        http_tls_config tls;
        config_file *cfg = NULL;
        http_tls *h = (http_tls *)1;

        (void)state;
        assert_int_equal(config_parse_string("test.conf", "[server]\n", 9, &cfg, NULL), 0);
        assert_int_equal(http_tls_config_load(cfg, &tls), 0);
        assert_string_equal(tls.cert, "");
        assert_int_equal(http_tls_new(&tls, &h, NULL, 0), 0);
        assert_null(h);
        assert_int_equal(http_tls_mhd_flags(h), 0);
        assert_string_equal(http_tls_scheme(h), "http");
        config_free(cfg);
}

#define T(name) cmocka_unit_test_setup_teardown(name, files_setup, files_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_tls_file_absent_everywhere_is_empty),
                T(test_tls_file_configured_path_is_used),
                T(test_tls_file_credential_wins_over_the_configured_path),
                T(test_tls_file_credential_directory_without_it_keeps_the_path),
                T(test_tls_file_group_readable_key_is_refused_naming_key_and_mode),
                T(test_tls_file_other_writable_credential_key_is_refused),
                T(test_tls_file_missing_or_not_regular_is_refused),
                T(test_tls_server_certificate_without_key_is_refused),
                cmocka_unit_test(test_tls_server_nothing_configured_is_off),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
