/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict parsers for command-line values (see cli-args.h): a typo must be a usage error, never a
 * different number.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-args.h"

#define NSEC_PER_MSEC UINT64_C(1000000)
#define NSEC_PER_SEC  UINT64_C(1000000000)

/* Decimal number with an optional fraction: "12", "1.5". Returns the characters consumed (0 when
 * none, or s is NULL) and the value as integer part and fraction scaled to 1e9. */
static size_t parse_decimal(const char *s, uint64_t *ret_int, uint64_t *ret_frac_nano)
{
        uint64_t v = 0, frac = 0, scale = NSEC_PER_SEC;
        size_t i = 0, digits = 0;

        if (!s)
                return 0;
        while (s[i] >= '0' && s[i] <= '9') {
                if (++digits > CLI_NUMBER_MAX_DIGITS)
                        return 0;
                v = v * 10 + (uint64_t)(s[i] - '0');
                i++;
        }
        if (digits == 0)
                return 0;
        if (s[i] == '.') {
                size_t fdigits = 0;

                i++;
                while (s[i] >= '0' && s[i] <= '9') {
                        /* Digits beyond nanoseconds are ignored, not rounded: no one types them. */
                        if (scale > 1) {
                                scale /= 10;
                                frac += (uint64_t)(s[i] - '0') * scale;
                        }
                        fdigits++;
                        i++;
                }
                if (fdigits == 0)
                        return 0;
        }
        *ret_int = v;
        *ret_frac_nano = frac;
        return i;
}

int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;
        size_t n;

        if (!s || !*s || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        n = strlen(s);
        if (n > CLI_NUMBER_MAX_DIGITS)
                return -ERANGE;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (uint64_t)(s[i] - '0');
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int cli_parse_id(const char *s, int64_t *ret)
{
        uint64_t v;
        int r;

        r = cli_parse_uint(s, 1, (uint64_t)CLI_ID_MAX, &v);
        if (r < 0)
                return r;
        *ret = (int64_t)v;
        return 0;
}

int cli_parse_duration_ns(const char *s, uint64_t *ret)
{
        static const struct {
                const char *suffix;
                uint64_t ns;
        } units[] = {
                {"ms", NSEC_PER_MSEC},      {"s", NSEC_PER_SEC}, {"m", 60 * NSEC_PER_SEC},
                {"h", 3600 * NSEC_PER_SEC}, {"", NSEC_PER_SEC},
        };
        uint64_t whole, frac;
        size_t n;

        n = parse_decimal(s, &whole, &frac);
        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                long double total;

                if (strcmp(s + n, units[i].suffix) != 0)
                        continue;
                total = (long double)whole * units[i].ns + (long double)frac * units[i].ns / NSEC_PER_SEC;
                if (total > (long double)CLI_DURATION_MAX_NS)
                        return -ERANGE;
                *ret = (uint64_t)(total + 0.5L);
                return 0;
        }
        return -EINVAL;
}

int cli_parse_rate(const char *s, double *ret)
{
        uint64_t whole, frac;
        double per_s;
        size_t n;

        n = parse_decimal(s, &whole, &frac);
        if (n == 0)
                return -EINVAL;
        per_s = (double)whole + (double)frac / (double)NSEC_PER_SEC;
        if (strcmp(s + n, "") == 0 || strcmp(s + n, "/s") == 0)
                ;
        else if (strcmp(s + n, "/m") == 0)
                per_s /= 60.0;
        else
                return -EINVAL;
        if (!(per_s > 0.0) || per_s > CLI_RATE_MAX)
                return -ERANGE;
        *ret = per_s;
        return 0;
}

int cli_parse_output(const char *s, cli_output *ret)
{
        if (s && strcmp(s, "table") == 0)
                *ret = CLI_OUTPUT_TABLE;
        else if (s && strcmp(s, "json") == 0)
                *ret = CLI_OUTPUT_JSON;
        else
                return -EINVAL;
        return 0;
}

int cli_parse_mix(const char *s, load_mix *ret)
{
        load_mix mix = {};
        bool seen[_LOAD_SESSION_KIND_MAX] = {};
        unsigned sum = 0;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        for (;;) {
                const char *eq = strchr(p, '='), *end = strchr(p, ',');
                load_session_kind kind;
                uint64_t pct;
                char num[CLI_NUMBER_MAX_DIGITS + 2];
                size_t len;
                int r;

                if (!end)
                        end = p + strlen(p);
                if (!eq || eq > end || eq == p)
                        return -EINVAL;
                kind = load_session_kind_from_string_n(p, (size_t)(eq - p));
                if (kind < 0)
                        return -ENOENT;
                if (seen[kind])
                        return -EEXIST;
                len = (size_t)(end - eq - 1);
                if (len == 0 || len >= sizeof(num))
                        return -EINVAL;
                memcpy(num, eq + 1, len);
                num[len] = '\0';
                r = cli_parse_uint(num, 0, 100, &pct);
                if (r < 0)
                        return r;
                seen[kind] = true;
                mix.pct[kind] = (unsigned)pct;
                sum += (unsigned)pct;
                if (!*end)
                        break;
                p = end + 1;
        }
        if (sum != 100)
                return -EDOM;
        *ret = mix;
        return 0;
}

const cli_global_option cli_global_options[] = {
        {"url", true},        {"output", true},    {"timeout", true},          {"token", true},
        {"token-file", true}, {"admin-url", true}, {"cacert", true},           {"cert", true},
        {"key", true},        {"verbose", false},  {"write-token-file", true},
};
const size_t cli_n_global_options = sizeof(cli_global_options) / sizeof(cli_global_options[0]);

/* How many argv words the global option at arg takes (1 or 2; -EINVAL when its value word is missing),
 * or 0 when arg is no global option. */
static int global_option_words(const char *arg, bool value_word_exists)
{
        if (strcmp(arg, "-v") == 0)
                return 1;
        if (strncmp(arg, "--", 2) != 0)
                return 0;
        arg += 2;
        for (size_t i = 0; i < cli_n_global_options; i++) {
                const cli_global_option *o = &cli_global_options[i];
                size_t len = strlen(o->name);

                if (strncmp(arg, o->name, len) != 0)
                        continue;
                if (arg[len] == '\0')
                        return !o->has_value ? 1 : value_word_exists ? 2 : -EINVAL;
                if (arg[len] == '=' && o->has_value)
                        return 1;
        }
        return 0;
}

int cli_hoist_global_options(int argc, char **argv, const char **ret_missing)
{
        char **moved, **rest;
        size_t n_moved = 0, n_rest = 0;
        int cmd = 1, i;

        /* The command is the first word that is neither a global option nor the value of one. */
        while (cmd < argc && argv[cmd][0] == '-' && strcmp(argv[cmd], "--") != 0) {
                int w = global_option_words(argv[cmd], cmd + 1 < argc);

                cmd += w > 0 ? w : 1;
        }
        if (cmd >= argc || argv[cmd][0] == '-')
                return 0;
        moved = malloc(sizeof(*moved) * (size_t)argc);
        rest = malloc(sizeof(*rest) * (size_t)argc);
        if (!moved || !rest) {
                free(moved);
                free(rest);
                return -ENOMEM;
        }
        for (i = cmd; i < argc; i++) {
                int w = strcmp(argv[i], "--") == 0 ? 0 : global_option_words(argv[i], i + 1 < argc);

                if (w == 0 && strcmp(argv[i], "--") == 0) {
                        while (i < argc)
                                rest[n_rest++] = argv[i++];
                        break;
                }
                if (w < 0) {
                        *ret_missing = argv[i];
                        free(moved);
                        free(rest);
                        return -EINVAL;
                }
                if (w == 0) {
                        rest[n_rest++] = argv[i];
                        continue;
                }
                moved[n_moved++] = argv[i];
                if (w == 2)
                        moved[n_moved++] = argv[++i];
        }
        memcpy(argv + cmd, moved, n_moved * sizeof(*argv));
        memcpy(argv + cmd + n_moved, rest, n_rest * sizeof(*argv));
        free(moved);
        free(rest);
        return 0;
}

/* Opens path for reading: a regular file, and with owner_only one that neither group nor others may
 * read or write (as a credential). Returns the fd, or -errno, -EBADMSG (not a regular file), -EPERM. */
static int open_regular_file(const char *path, bool owner_only, struct stat *ret_st)
{
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0)
                r = -errno;
        else if (!S_ISREG(ret_st->st_mode))
                r = -EBADMSG;
        else if (owner_only && (ret_st->st_mode & (S_IRWXG | S_IRWXO)))
                r = -EPERM;
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int cli_read_token_file(const char *path, char *buf, size_t size)
{
        struct stat st;
        ssize_t n;
        size_t len;
        int fd, r = 0;

        fd = open_regular_file(path, true, &st);
        if (fd < 0)
                return fd;
        n = read(fd, buf, size);
        if (n < 0)
                r = -errno;
        else if ((size_t)n >= size || n == 0)
                r = -EBADMSG;
        else
                buf[n] = '\0';
        close(fd);
        if (r < 0)
                return r;
        len = strcspn(buf, "\r\n");
        if (len == 0 || buf[len + strspn(buf + len, "\r\n")] != '\0') {
                explicit_bzero(buf, size);
                return -EBADMSG;
        }
        buf[len] = '\0';
        return 0;
}

/* Whether the PEM text holds a block of the wanted kind: "-----BEGIN CERTIFICATE-----", or for a key
 * any "-----BEGIN … PRIVATE KEY-----" (PKCS#8, EC, RSA, encrypted). */
static bool pem_has_block(const char *text, size_t len, bool private_key)
{
        static const char begin[] = "-----BEGIN ", cert[] = "CERTIFICATE-----", key[] = "PRIVATE KEY-----";
        const char *p = text, *end = text + len;

        while ((p = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1))) {
                const char *label = p + sizeof(begin) - 1, *eol = memchr(label, '\n', (size_t)(end - label));
                size_t n;

                if (!eol)
                        eol = end;
                n = (size_t)(eol - label);
                if (n > 0 && label[n - 1] == '\r')
                        n--;
                if (!private_key && n == sizeof(cert) - 1 && memcmp(label, cert, n) == 0)
                        return true;
                if (private_key && n >= sizeof(key) - 1 &&
                    memcmp(label + n - (sizeof(key) - 1), key, sizeof(key) - 1) == 0)
                        return true;
                p = eol;
        }
        return false;
}

int cli_check_pem_file(const char *path, bool private_key)
{
        struct stat st;
        char *text;
        ssize_t n;
        size_t len = 0;
        int fd, r = 0;

        fd = open_regular_file(path, private_key, &st);
        if (fd < 0)
                return fd;
        if (st.st_size > (off_t)CLI_PEM_FILE_MAX) {
                close(fd);
                return -EFBIG;
        }
        text = malloc(CLI_PEM_FILE_MAX + 1);
        if (!text) {
                close(fd);
                return -ENOMEM;
        }
        /* Read to the end, not st_size bytes: the file may change under us. */
        while (len <= CLI_PEM_FILE_MAX && (n = read(fd, text + len, CLI_PEM_FILE_MAX + 1 - len)) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                len += (size_t)n;
        }
        close(fd);
        if (r == 0 && len > CLI_PEM_FILE_MAX)
                r = -EFBIG;
        if (r == 0 && !pem_has_block(text, len, private_key))
                r = -EBADMSG;
        explicit_bzero(text, len); /* a key's bytes */
        free(text);
        return r;
}
