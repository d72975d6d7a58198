/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd credentials (LoadCredential=/SetCredential=): secrets such as the admin token are read from
 * $CREDENTIALS_DIRECTORY/<name> instead of a config file readable by others.
 */
#pragma once

#include <stddef.h>

#include "otel.h"

#define CREDENTIAL_MAX_BYTES 4096u /* tokens and passwords; a larger file is a mistake */

/* Reads credential name (no '/', not "." or ".."); one trailing newline is removed. Returns 0 and a
 * malloc'ed NUL-terminated string, -ENOENT without $CREDENTIALS_DIRECTORY or the file, -EPERM when
 * the file is readable or writable by others or is not a regular file, -EFBIG over the cap, -EINVAL
 * for a bad name or a NUL byte inside, -ENOMEM. */
int credential_read(const char *name, char **ret) OTEL_WUR;
/* The path of credential name when $CREDENTIALS_DIRECTORY holds a regular file of that name (for
 * files that are passed on by path, such as TLS certificates and keys): 0, -ENOENT when it does not,
 * -EINVAL for a bad name, -ENAMETOOLONG when the path does not fit in size. */
int credential_path(const char *name, char *ret, size_t size) OTEL_WUR;
