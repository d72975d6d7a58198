/* SPDX-License-Identifier: Apache-2.0 */
/*
 * INI parser and typed getters (see config.h). Parsing is strict on purpose: an operator's typo must
 * fail the start (exit 78 with the file, line and key) rather than silently run with a default.
 */
#include "config-file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct config_entry {
        char *section; /* owned */
        char *key;     /* owned */
        char *value;   /* owned, unquoted */
        unsigned line; /* 1-based line of the key */
        bool used;     /* a getter asked for it */
} config_entry;

typedef struct config_section {
        char *name;    /* owned */
        unsigned line; /* first header line */
        bool used;     /* a getter asked for a key in it, or config_accept_section() */
} config_section;

struct config_file {
        char *path;            /* owned; file name used in error lines */
        config_entry *entries; /* owned array */
        size_t n_entries;
        size_t cap_entries;
        config_section *sections; /* owned array */
        size_t n_sections;
        size_t cap_sections;
        char error[CONFIG_ERROR_MAX]; /* last error line */
        bool shared; /* the file's group or others may read it (secrets must not be in it) */
};

static void config_set_error(config_file *cfg, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void config_set_error(config_file *cfg, unsigned line, const char *fmt, ...)
{
        va_list ap;
        int n;

        /* Line 0: the key is not in the file (its default was rejected); there is no line to name. */
        n = line ? snprintf(cfg->error, sizeof(cfg->error), "%s:%u: ", cfg->path, line)
                 : snprintf(cfg->error, sizeof(cfg->error), "%s: ", cfg->path);
        if (n < 0 || (size_t)n >= sizeof(cfg->error))
                return;
        va_start(ap, fmt);
        (void)vsnprintf(cfg->error + n, sizeof(cfg->error) - (size_t)n, fmt, ap);
        va_end(ap);
}

void config_free(config_file *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < cfg->n_entries; i++) {
                free(cfg->entries[i].section);
                free(cfg->entries[i].key);
                free(cfg->entries[i].value);
        }
        for (size_t i = 0; i < cfg->n_sections; i++)
                free(cfg->sections[i].name);
        free(cfg->entries);
        free(cfg->sections);
        free(cfg->path);
        free(cfg);
}

const char *config_error(const config_file *cfg)
{
        return cfg->error;
}

const char *config_path(const config_file *cfg)
{
        return cfg->path;
}

bool config_is_shared(const config_file *cfg)
{
        return cfg->shared;
}

static bool config_name_valid(const char *s, size_t len)
{
        if (len == 0 || len > CONFIG_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
                        return false;
        return true;
}

static config_section *config_find_section(config_file *cfg, const char *name)
{
        for (size_t i = 0; i < cfg->n_sections; i++)
                if (strcmp(cfg->sections[i].name, name) == 0)
                        return &cfg->sections[i];
        return NULL;
}

static config_entry *config_find(config_file *cfg, const char *section, const char *key)
{
        for (size_t i = 0; i < cfg->n_entries; i++)
                if (strcmp(cfg->entries[i].section, section) == 0 && strcmp(cfg->entries[i].key, key) == 0)
                        return &cfg->entries[i];
        return NULL;
}

static int config_grow(void **array, size_t *cap, size_t n, size_t elem)
{
        size_t ncap;
        void *p;

        if (n < *cap)
                return 0;
        ncap = *cap ? *cap * 2 : 16;
        p = reallocarray(*array, ncap, elem);
        if (!p)
                return -ENOMEM;
        *array = p;
        *cap = ncap;
        return 0;
}

/* Returns the section's stored name in *ret_name (a repeated header continues the section; duplicate
 * keys are still caught). */
static int config_add_section(config_file *cfg, const char *name, size_t len, unsigned line,
                              const char **ret_name)
{
        config_section *existing;
        char *copy;
        int r;

        copy = strndup(name, len);
        if (!copy)
                return -ENOMEM;
        existing = config_find_section(cfg, copy);
        if (existing) {
                free(copy);
                *ret_name = existing->name;
                return 0;
        }
        r = config_grow((void **)&cfg->sections, &cfg->cap_sections, cfg->n_sections,
                        sizeof(config_section));
        if (r < 0) {
                free(copy);
                return r;
        }
        cfg->sections[cfg->n_sections++] = (config_section){.name = copy, .line = line};
        *ret_name = copy;
        return 0;
}

/* Unquotes a value in place: "..." with \" and \\ escapes; anything else is taken verbatim. */
static int config_unquote(char *v, size_t *len)
{
        size_t in, out;

        if (*len == 0 || v[0] != '"')
                return 0;
        if (*len < 2 || v[*len - 1] != '"')
                return -EINVAL;
        for (in = 1, out = 0; in < *len - 1; in++) {
                if (v[in] == '\\') {
                        if (in + 1 >= *len - 1 || (v[in + 1] != '"' && v[in + 1] != '\\'))
                                return -EINVAL;
                        in++;
                } else if (v[in] == '"') {
                        return -EINVAL;
                }
                v[out++] = v[in];
        }
        v[out] = '\0';
        *len = out;
        return 0;
}

static const char *config_trim(const char *s, const char *end, size_t *ret_len)
{
        while (s < end && isspace((unsigned char)*s))
                s++;
        while (end > s && isspace((unsigned char)end[-1]))
                end--;
        *ret_len = (size_t)(end - s);
        return s;
}

static int config_parse_line(config_file *cfg, char *line, size_t len, unsigned lineno, const char **section)
{
        const char *s, *eq, *key, *value;
        size_t n, klen, vlen;
        char *kcopy = NULL, *vcopy = NULL, *scopy = NULL;
        int r;

        s = config_trim(line, line + len, &n);
        if (n == 0 || s[0] == '#' || s[0] == ';')
                return 0;

        if (s[0] == '[') {
                const char *name;
                size_t nlen;

                if (s[n - 1] != ']') {
                        config_set_error(cfg, lineno, "section header without closing ']'");
                        return -EINVAL;
                }
                name = config_trim(s + 1, s + n - 1, &nlen);
                if (!config_name_valid(name, nlen)) {
                        config_set_error(cfg, lineno, "invalid section name");
                        return -EINVAL;
                }
                return config_add_section(cfg, name, nlen, lineno, section);
        }

        eq = memchr(s, '=', n);
        if (!eq) {
                config_set_error(cfg, lineno, "expected 'key = value', '[section]' or a comment");
                return -EINVAL;
        }
        key = config_trim(s, eq, &klen);
        if (!config_name_valid(key, klen)) {
                config_set_error(cfg, lineno, "invalid key name '%.*s'",
                                 (int)(klen > CONFIG_NAME_MAX ? CONFIG_NAME_MAX : klen), key);
                return -EINVAL;
        }
        if (!*section) {
                config_set_error(cfg, lineno, "%.*s: key outside of any [section]", (int)klen, key);
                return -EINVAL;
        }
        value = config_trim(eq + 1, s + n, &vlen);

        r = -ENOMEM;
        kcopy = strndup(key, klen);
        vcopy = strndup(value, vlen);
        scopy = strdup(*section);
        if (!kcopy || !vcopy || !scopy)
                goto fail;
        if (config_unquote(vcopy, &vlen) < 0) {
                config_set_error(cfg, lineno, "[%s] %s: unterminated or malformed quoted value", scopy,
                                 kcopy);
                r = -EINVAL;
                goto fail;
        }
        if (config_find(cfg, scopy, kcopy)) {
                config_set_error(cfg, lineno, "[%s] %s: duplicate key", scopy, kcopy);
                r = -EINVAL;
                goto fail;
        }
        r = config_grow((void **)&cfg->entries, &cfg->cap_entries, cfg->n_entries, sizeof(config_entry));
        if (r < 0)
                goto fail;
        cfg->entries[cfg->n_entries++] =
                (config_entry){.section = scopy, .key = kcopy, .value = vcopy, .line = lineno};
        return 0;
fail:
        free(kcopy);
        free(vcopy);
        free(scopy);
        return r;
}

int config_parse_string(const char *name, const char *text, size_t len, config_file **ret, char *ret_error)
{
        config_file *cfg;
        const char *section = NULL;
        char line[CONFIG_LINE_MAX + 1];
        unsigned lineno = 0;
        size_t pos = 0;
        int r = 0;

        cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
                return -ENOMEM;
        cfg->path = strdup(name);
        if (!cfg->path) {
                free(cfg);
                return -ENOMEM;
        }

        while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;

                lineno++;
                if (llen > CONFIG_LINE_MAX) {
                        config_set_error(cfg, lineno, "line longer than %u bytes", CONFIG_LINE_MAX);
                        r = -EINVAL;
                        break;
                }
                memcpy(line, text + pos, llen);
                line[llen] = '\0';
                if (memchr(line, '\0', llen)) {
                        config_set_error(cfg, lineno, "NUL byte in line");
                        r = -EINVAL;
                        break;
                }
                r = config_parse_line(cfg, line, llen, lineno, &section);
                if (r < 0)
                        break;
                pos += llen + (nl ? 1 : 0);
        }
        if (r < 0) {
                if (ret_error)
                        snprintf(ret_error, CONFIG_ERROR_MAX, "%s",
                                 cfg->error[0] ? cfg->error : "out of memory");
                config_free(cfg);
                return r;
        }
        *ret = cfg;
        return 0;
}

int config_load(const char *path, config_file **ret, char *ret_error)
{
        struct stat st;
        char *text = NULL;
        size_t len = 0;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                if (ret_error)
                        snprintf(ret_error, CONFIG_ERROR_MAX, "%s: cannot open: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)CONFIG_FILE_MAX_BYTES) {
                r = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
                if (ret_error)
                        snprintf(ret_error, CONFIG_ERROR_MAX, "%s: not a regular file of at most %u bytes",
                                 path, CONFIG_FILE_MAX_BYTES);
                close(fd);
                return r;
        }
        text = malloc((size_t)st.st_size + 1);
        if (!text) {
                close(fd);
                return -ENOMEM;
        }
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : -EIO;
                        if (ret_error)
                                snprintf(ret_error, CONFIG_ERROR_MAX, "%s: read failed: %s", path,
                                         strerror(-r));
                        free(text);
                        close(fd);
                        return r;
                }
                len += (size_t)n;
        }
        close(fd);
        r = config_parse_string(path, text, len, ret, ret_error);
        if (r >= 0)
                (*ret)->shared = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
        free(text);
        return r;
}

/* Looks a key up for a getter: marks section and key as used. NULL when absent. */
static config_entry *config_use(config_file *cfg, const char *section, const char *key)
{
        config_section *sec = config_find_section(cfg, section);
        config_entry *e;

        if (sec)
                sec->used = true;
        e = config_find(cfg, section, key);
        if (e)
                e->used = true;
        return e;
}

int config_read(const char *path, config_read_fn read_keys, void *userdata, char *ret_error)
{
        config_file *cfg = NULL;
        int r;

        r = config_load(path, &cfg, ret_error);
        if (r < 0)
                return r;
        r = read_keys(cfg, userdata);
        if (r >= 0)
                r = config_check_unknown(cfg);
        if (r < 0)
                snprintf(ret_error, CONFIG_ERROR_MAX, "%s",
                         r == -ENOMEM ? "out of memory" : config_error(cfg));
        config_free(cfg);
        return r;
}

int config_get_string(config_file *cfg, const char *section, const char *key, const char *def,
                      const char **ret)
{
        config_entry *e = config_use(cfg, section, key);

        *ret = e ? e->value : def;
        return 0;
}

int config_get_int(config_file *cfg, const char *section, const char *key, int64_t def, int64_t min,
                   int64_t max, int64_t *ret)
{
        config_entry *e = config_use(cfg, section, key);
        char *end;
        long long v;

        if (!e) {
                *ret = def;
                return 0;
        }
        errno = 0;
        v = strtoll(e->value, &end, 10);
        if (e->value[0] == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max) {
                config_set_error(cfg, e->line, "[%s] %s: expected an integer in %lld..%lld, got '%s'",
                                 section, key, (long long)min, (long long)max, e->value);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int config_get_uint(config_file *cfg, const char *section, const char *key, unsigned def, unsigned min,
                    unsigned max, unsigned *ret)
{
        int64_t v;
        int r;

        r = config_get_int(cfg, section, key, def, min, max, &v);
        if (r < 0)
                return r;
        *ret = (unsigned)v;
        return 0;
}

int config_get_uints(config_file *cfg, const char *section, const config_uint_key *keys, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const config_uint_key *k = &keys[i];
                int r = config_get_uint(cfg, section, k->key, k->def, k->min, k->max, k->ret);

                if (r < 0)
                        return r;
        }
        return 0;
}

int config_get_double(config_file *cfg, const char *section, const char *key, double def, double min,
                      double max, double *ret)
{
        config_entry *e = config_use(cfg, section, key);
        char *end;
        double v;

        if (!e) {
                *ret = def;
                return 0;
        }
        errno = 0;
        v = strtod(e->value, &end);
        if (e->value[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v) || v < min || v > max) {
                config_set_error(cfg, e->line, "[%s] %s: expected a number in %g..%g, got '%s'", section,
                                 key, min, max, e->value);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int config_get_bool(config_file *cfg, const char *section, const char *key, bool def, bool *ret)
{
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        config_entry *e = config_use(cfg, section, key);

        if (!e) {
                *ret = def;
                return 0;
        }
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcasecmp(e->value, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(e->value, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        config_set_error(cfg, e->line,
                         "[%s] %s: expected a boolean (true/false, yes/no, on/off, 1/0), got '%s'", section,
                         key, e->value);
        return -EINVAL;
}

int config_strdup(const char *value, char **ret)
{
        if (!value) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(value);
        return *ret ? 0 : -ENOMEM;
}

void config_accept_section(config_file *cfg, const char *section)
{
        config_section *sec = config_find_section(cfg, section);

        if (!sec)
                return;
        sec->used = true;
        for (size_t i = 0; i < cfg->n_entries; i++)
                if (strcmp(cfg->entries[i].section, section) == 0)
                        cfg->entries[i].used = true;
}

int config_check_unknown(config_file *cfg)
{
        for (size_t i = 0; i < cfg->n_sections; i++)
                if (!cfg->sections[i].used) {
                        bool has_keys = false;

                        for (size_t j = 0; j < cfg->n_entries; j++)
                                if (strcmp(cfg->entries[j].section, cfg->sections[i].name) == 0)
                                        has_keys = true;
                        /* Even an empty unknown section is reported: it is most likely a typo. */
                        config_set_error(cfg, cfg->sections[i].line, "[%s]: unknown section%s",
                                         cfg->sections[i].name, has_keys ? "" : " (empty)");
                        return -EINVAL;
                }
        for (size_t i = 0; i < cfg->n_entries; i++)
                if (!cfg->entries[i].used) {
                        config_set_error(cfg, cfg->entries[i].line, "[%s] %s: unknown key",
                                         cfg->entries[i].section, cfg->entries[i].key);
                        return -EINVAL;
                }
        return 0;
}

int config_reject(config_file *cfg, const char *section, const char *key, const char *fmt, ...)
{
        config_entry *e = config_find(cfg, section, key);
        char msg[CONFIG_ERROR_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        config_set_error(cfg, e ? e->line : 0, "[%s] %s: %s", section, key, msg);
        return -EINVAL;
}
