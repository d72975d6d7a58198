/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a systemd credential without following symlinks or trusting a file others can touch. */
#include "credential.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
        struct stat st;
        char *buf;
        size_t len = 0;
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
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto fail_fd;
        }
        /* A secret others may read (or replace) is not a secret. */
        if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IROTH | S_IWOTH))) {
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
        close(fd);
        if (memchr(buf, '\0', len)) {
                free(buf);
                return -EINVAL;
        }
        if (len > 0 && buf[len - 1] == '\n')
                len--;
        buf[len] = '\0';
        *ret = buf;
        return 0;
fail_buf:
        free(buf);
fail_fd:
        close(fd);
        return r;
}
