/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the config file parser (src/common/config-file.c): the input is parsed as a
 * whole file, then every typed getter asks for the keys the daemons use. Invariants: a failed parse or
 * getter leaves one error line naming the file; a getter that succeeds returns a value inside the
 * range it asked for; an unknown key is reported by config_check_unknown(). A broken one aborts.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-file.h"

#define FUZZ_CONFIG_NAME "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-config: %s\n", what);
                abort();
        }
}

/* An error line is "FILE:…", one line, within CONFIG_ERROR_MAX. */
static void check_error_line(const char *e)
{
        check(strncmp(e, FUZZ_CONFIG_NAME, strlen(FUZZ_CONFIG_NAME)) == 0,
              "error line does not name the file");
        check(strlen(e) < CONFIG_ERROR_MAX, "error line too long");
        check(!strchr(e, '\n'), "error line has a newline");
}

static void check_getter(config_file *cfg, int r)
{
        check(r == 0 || r == -EINVAL, "getter returned something else than 0 or -EINVAL");
        if (r < 0)
                check_error_line(config_error(cfg));
}

static void fuzz_getters(config_file *cfg)
{
        static const char *const sections[] = {"server", "database", "telemetry", "faults", "backend"};
        static const char *const keys[] = {"listen", "port", "url", "name", "rate", "enabled", "timeout_ms"};
        const char *s;
        int64_t i64;
        unsigned u;
        double d;
        bool b;
        int r;

        for (size_t si = 0; si < sizeof(sections) / sizeof(sections[0]); si++) {
                for (size_t ki = 0; ki < sizeof(keys) / sizeof(keys[0]); ki++) {
                        const char *sec = sections[si], *key = keys[ki];

                        switch ((si + ki) % 5) {
                        case 0:
                                r = config_get_string(cfg, sec, key, "default", &s);
                                check_getter(cfg, r);
                                if (r == 0)
                                        check(s != NULL && strlen(s) < CONFIG_LINE_MAX, "string value");
                                break;
                        case 1:
                                i64 = 0;
                                r = config_get_int(cfg, sec, key, 5, -100, 1000, &i64);
                                check_getter(cfg, r);
                                check(i64 >= -100 && i64 <= 1000, "int outside its range");
                                break;
                        case 2:
                                u = 1;
                                r = config_get_uint(cfg, sec, key, 1, 1, 65535, &u);
                                check_getter(cfg, r);
                                check(u >= 1 && u <= 65535, "uint outside its range");
                                break;
                        case 3:
                                d = 0.5;
                                r = config_get_double(cfg, sec, key, 0.5, 0.0, 1.0, &d);
                                check_getter(cfg, r);
                                check(isfinite(d) && d >= 0.0 && d <= 1.0, "double outside its range");
                                break;
                        default:
                                r = config_get_bool(cfg, sec, key, false, &b);
                                check_getter(cfg, r);
                                break;
                        }
                }
        }
        config_accept_section(cfg, "accepted");
        r = config_check_unknown(cfg);
        check_getter(cfg, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A copy of exactly size bytes, so that ASan sees any read past the end. */
        char *text = malloc(size ? size : 1);
        char err[CONFIG_ERROR_MAX];
        config_file *cfg = NULL;
        int r;

        if (!text)
                return 0;
        memcpy(text, data, size);
        err[0] = '\0';
        r = config_parse_string(FUZZ_CONFIG_NAME, text, size, &cfg, err);
        if (r == -ENOMEM)
                abort();
        if (r < 0) {
                check(r == -EINVAL || r == -EFBIG, "parse failed with an unexpected error");
                if (r == -EINVAL)
                        check_error_line(err);
                check(cfg == NULL, "failed parse returned a config");
        } else {
                check(strcmp(config_path(cfg), FUZZ_CONFIG_NAME) == 0, "config_path");
                check(config_error(cfg)[0] == '\0', "error after a successful parse");
                fuzz_getters(cfg);
        }
        config_free(cfg);
        free(text);
        return 0;
}
