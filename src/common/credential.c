/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a secret (systemd credential, root-only file, inline config value) without following symlinks
 * or trusting a file others can touch. */
#include "credential.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The contents of the open file fd (closed here), checked by the caller's stat rule. */
static int credential_read_fd(int fd, bool (*allowed)(const struct stat *st), char **ret)
{
        struct stat st;
        char *buf;
        size_t len = 0;
        int r;

        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto fail_fd;
        }
        if (!S_ISREG(st.st_mode) || !allowed(&st)) {
                r = -EPERM;
                goto fail_fd;
        }
        if (st.st_size > (off_t)CREDENTIAL_MAX_BYTES) {
                r = -EFBIG;
                goto fail_fd;
        }
        buf = malloc(CREDENTIAL_MAX_BYTES + 1);
        if (!buf) {
                r = -ENOMEM;
                goto fail_fd;
        }
        for (;;) {
                ssize_t n = read(fd, buf + len, CREDENTIAL_MAX_BYTES + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto fail_buf;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > CREDENTIAL_MAX_BYTES) {
                        r = -EFBIG;
                        goto fail_buf;
                }
        }
        /* Not credential_free(): it would wipe only up to that NUL. */
        if (memchr(buf, '\0', len)) {
                r = -EINVAL;
                goto fail_buf;
        }
        close(fd);
        if (len > 0 && buf[len - 1] == '\n')
                len--;
        buf[len] = '\0';
        *ret = buf;
        return 0;
fail_buf:
        explicit_bzero(buf, len);
        free(buf);
fail_fd:
        close(fd);
        return r;
}

/* systemd makes the credential files itself (0400, the service's user); others must not touch them. */
static bool credential_private(const struct stat *st)
{
        return (st->st_mode & (S_IROTH | S_IWOTH)) == 0;
}

/* A file the operator made: root's or ours, and nobody else's business. */
static bool credential_root_only(const struct stat *st)
{
        return (st->st_mode & (S_IRWXG | S_IRWXO)) == 0 && (st->st_uid == 0 || st->st_uid == geteuid());
}

/* A file name inside $CREDENTIALS_DIRECTORY, nothing that leaves it. */
static bool credential_name_valid(const char *name)
{
        return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int credential_path(const char *name, char *ret, size_t size)
{
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        struct stat st;
        int n;

        if (!credential_name_valid(name))
                return -EINVAL;
        if (!dir || !*dir)
                return -ENOENT;
        n = snprintf(ret, size, "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        if (lstat(ret, &st) < 0 || !S_ISREG(st.st_mode))
                return -ENOENT;
        return 0;
}

int credential_read(const char *name, char **ret)
{
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        int dfd, fd, r;

        if (!credential_name_valid(name))
                return -EINVAL;
        if (!dir || !*dir)
                return -ENOENT;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        r = -errno;
        close(dfd);
        if (fd < 0)
                return r == -ELOOP ? -EPERM : r;
        return credential_read_fd(fd, credential_private, ret);
}

int credential_read_file(const char *path, char **ret)
{
        int fd;

        if (!path || path[0] != '/')
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EPERM : -errno;
        return credential_read_fd(fd, credential_root_only, ret);
}

void credential_free(char *secret)
{
        if (!secret)
                return;
        explicit_bzero(secret, strlen(secret));
        free(secret);
}

int credential_source_load(config_file *cfg, const char *section, const char *key,
                           const char *default_credential, size_t min_len, credential_source *ret)
{
        char key_credential[CREDENTIAL_KEY_MAX], key_file[CREDENTIAL_KEY_MAX];
        const char *value, *credential, *file;
        credential_source s = {0};
        int r;

        s.min_len = min_len;
        snprintf(s.section, sizeof(s.section), "%s", section);
        snprintf(s.key, sizeof(s.key), "%s", key);
        snprintf(key_credential, sizeof(key_credential), "%s_credential", key);
        snprintf(key_file, sizeof(key_file), "%s_file", key);
        if ((r = config_get_string(cfg, section, key, NULL, &value)) < 0 ||
            (r = config_get_string(cfg, section, key_credential, default_credential, &credential)) < 0 ||
            (r = config_get_string(cfg, section, key_file, NULL, &file)) < 0)
                return r;
        if (value && config_is_shared(cfg))
                return config_reject(cfg, section, key,
                                     "a secret inline in a file group or others may read; chmod 600 the "
                                     "file, or use %s / %s",
                                     key_credential, key_file);
        if (value && strlen(value) < min_len)
                return config_reject(cfg, section, key, "must be at least %zu characters", min_len);
        if (credential && credential[0] == '\0')
                credential = NULL; /* "" turns the default credential off */
        if (credential && !credential_name_valid(credential))
                return config_reject(cfg, section, key_credential, "must be a credential name without '/'");
        if (file && file[0] != '/')
                return config_reject(cfg, section, key_file, "must be an absolute path, got '%s'", file);
        if ((r = config_strdup(value, &s.value)) < 0 || (r = config_strdup(credential, &s.credential)) < 0 ||
            (r = config_strdup(file, &s.file)) < 0) {
                credential_source_free(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* Where the secret came from (or failed to), for the caller's error line. */
static void credential_source_origin(const credential_source *src, int which, char *buf, size_t size)
{
        if (which == 0)
                snprintf(buf, size, "credential '%s' ([%s] %s_credential)", src->credential, src->section,
                         src->key);
        else if (which == 1)
                snprintf(buf, size, "file %s ([%s] %s_file)", src->file, src->section, src->key);
        else
                snprintf(buf, size, "[%s] %s", src->section, src->key);
}

static int credential_source_resolve(const credential_source *src, char **ret, char *ret_origin,
                                     size_t origin_size)
{
        char *secret = NULL;
        int which, r = -ENOENT;

        *ret = NULL;
        which = 0;
        if (src->credential)
                r = credential_read(src->credential, &secret);
        if (r == -ENOENT && src->file) {
                which = 1;
                r = credential_read_file(src->file, &secret);
        } else if (r == -ENOENT && src->value) {
                which = 2;
                secret = strdup(src->value);
                r = secret ? 0 : -ENOMEM;
        }
        if (r == -ENOENT && which == 0)
                return 0; /* nothing configured, nothing found */
        if (r >= 0 && strlen(secret) < src->min_len) {
                credential_free(secret);
                r = -EMSGSIZE;
        }
        if (r < 0) {
                credential_source_origin(src, which, ret_origin, origin_size);
                return r;
        }
        *ret = secret;
        return 0;
}

int credential_source_read(const credential_source *src, char **ret)
{
        char origin[CONFIG_ERROR_MAX] = "";
        int r = credential_source_resolve(src, ret, origin, sizeof(origin));

        if (r == -EMSGSIZE)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r,
                                      "The secret from %s is shorter than %zu characters", origin,
                                      src->min_len);
        if (r < 0)
                return otel_log_errno(OTEL_SEVERITY_ERROR, r, "Cannot read the secret from %s: %m", origin);
        return 0;
}

void credential_source_free(credential_source *src)
{
        credential_free(src->value);
        free(src->credential);
        free(src->file);
        *src = (credential_source){0};
}
