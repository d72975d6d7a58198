/* SPDX-License-Identifier: Apache-2.0 */
/* Where a secret may come from (credential.h): the systemd credential first, then the root-only file,
 * then an inline value, and an inline value only from a config file nobody else can read. */
#include <errno.h>
#include <fcntl.h>
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

#include "credential.h"

#define TOKEN_A "aaaaaaaaaaaaaaaaaaaa"
#define TOKEN_B "bbbbbbbbbbbbbbbbbbbb"

static char dir[] = "/tmp/test-credential.XXXXXX";

static void write_file(const char *name, const char *text, mode_t mode)
{
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
        (void)state;
        assert_non_null(mkdtemp(dir));
        setenv("CREDENTIALS_DIRECTORY", dir, 1);
        return 0;
}

static int teardown(void **state)
{
        char cmd[300];

        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
        return 0;
}

/* credential_source_load() over a config file written with mode; the error line in ret_error. */
static int load_file(const char *text, mode_t mode, credential_source *ret, char *ret_error)
{
        char path[256];
        config_file *cfg;
        int r;

        write_file("test.conf", text, mode);
        snprintf(path, sizeof(path), "%s/test.conf", dir);
        assert_int_equal(config_load(path, &cfg, NULL), 0);
        r = credential_source_load(cfg, "auth", "write_token", "write-token", CREDENTIAL_TOKEN_MIN, ret);
        snprintf(ret_error, CONFIG_ERROR_MAX, "%s", config_error(cfg));
        config_free(cfg);
        return r;
}

static void test_inline_token_in_a_shared_file_is_refused_naming_the_key(void **state)
{
        char error[CONFIG_ERROR_MAX];
        credential_source src;

        (void)state;
        assert_int_equal(load_file("[auth]\nwrite_token = " TOKEN_A "\n", 0644, &src, error), -EINVAL);
        assert_non_null(strstr(error, "test.conf:2: [auth] write_token: a secret inline"));
        assert_null(strstr(error, TOKEN_A));
        assert_int_equal(load_file("[auth]\nwrite_token = " TOKEN_A "\n", 0600, &src, error), 0);
        assert_string_equal(src.value, TOKEN_A);
        credential_source_free(&src);
}

static void test_credential_wins_over_file_and_inline(void **state)
{
        char error[CONFIG_ERROR_MAX], conf[512], *secret = NULL;
        credential_source src;

        (void)state;
        write_file("token-file", TOKEN_B "\n", 0600);
        snprintf(conf, sizeof(conf), "[auth]\nwrite_token = " TOKEN_A "\nwrite_token_file = %s/token-file\n",
                 dir);
        assert_int_equal(load_file(conf, 0600, &src, error), 0);
        /* No credential yet: the file. */
        assert_int_equal(credential_source_read(&src, &secret), 0);
        assert_string_equal(secret, TOKEN_B);
        credential_free(secret);
        write_file("write-token", TOKEN_A "x\n", 0400);
        assert_int_equal(credential_source_read(&src, &secret), 0);
        assert_string_equal(secret, TOKEN_A "x");
        credential_free(secret);
        credential_source_free(&src);
}

static void test_token_file_must_be_private_and_long_enough(void **state)
{
        char error[CONFIG_ERROR_MAX], conf[512], *secret = NULL;
        credential_source src;

        (void)state;
        snprintf(conf, sizeof(conf), "[auth]\nwrite_token_file = %s/token-file\n", dir);
        assert_int_equal(load_file(conf, 0644, &src, error), 0); /* a path is no secret */
        assert_int_equal(credential_source_read(&src, &secret), -ENOENT);
        write_file("token-file", TOKEN_B "\n", 0640);
        assert_int_equal(credential_source_read(&src, &secret), -EPERM);
        write_file("token-file", "short\n", 0600);
        assert_int_equal(credential_source_read(&src, &secret), -EMSGSIZE);
        assert_null(secret);
        credential_source_free(&src);
}

static void test_relative_token_file_and_bad_credential_names_are_refused(void **state)
{
        char error[CONFIG_ERROR_MAX];
        credential_source src;

        (void)state;
        assert_int_equal(load_file("[auth]\nwrite_token_file = token\n", 0600, &src, error), -EINVAL);
        assert_non_null(strstr(error, "[auth] write_token_file: must be an absolute path"));
        assert_int_equal(load_file("[auth]\nwrite_token_credential = ../x\n", 0600, &src, error), -EINVAL);
        assert_non_null(strstr(error, "[auth] write_token_credential"));
}

static void test_secret_file_with_a_nul_byte_is_refused(void **state)
{
        static const char text[] = TOKEN_A "\0" TOKEN_B;
        char path[256], *secret = NULL;
        int fd;

        (void)state;
        snprintf(path, sizeof(path), "%s/nul-token", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
        assert_int_equal(close(fd), 0);
        assert_int_equal(credential_read_file(path, &secret), -EINVAL);
        assert_null(secret);
        assert_int_equal(credential_read("nul-token", &secret), -EINVAL);
        assert_null(secret);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_inline_token_in_a_shared_file_is_refused_naming_the_key,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_credential_wins_over_file_and_inline, setup, teardown),
                cmocka_unit_test_setup_teardown(test_token_file_must_be_private_and_long_enough, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_relative_token_file_and_bad_credential_names_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_secret_file_with_a_nul_byte_is_refused, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
