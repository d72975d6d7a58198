/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secrets (bearer tokens, the database password) never come from a file others can read: a systemd
 * credential (LoadCredential=/SetCredential=, $CREDENTIALS_DIRECTORY/<name>), a root-only file, or a
 * value written inline in a config file only its owner can read. credential_source is the three keys
 * of one secret in a config section; credential_source_resolve() picks the first that exists.
 */
#pragma once

#include <stddef.h>

#include "config-file.h"
#include "otel.h"

#define CREDENTIAL_MAX_BYTES 4096u /* tokens and passwords; a larger file is a mistake */
#define CREDENTIAL_TOKEN_MIN 16u   /* shorter bearer tokens are guessable */
#define CREDENTIAL_KEY_MAX   (CONFIG_NAME_MAX + 16u)

/* Reads credential name (no '/', not "." or ".."); one trailing newline is removed. Returns 0 and a
 * malloc'ed NUL-terminated string, -ENOENT without $CREDENTIALS_DIRECTORY or the file, -EPERM when
 * the file is readable or writable by others or is not a regular file, -EFBIG over the cap, -EINVAL
 * for a bad name or a NUL byte inside, -ENOMEM. */
int credential_read(const char *name, char **ret) OTEL_WUR;
/* The path of credential name when $CREDENTIALS_DIRECTORY holds a regular file of that name (for
 * files that are passed on by path, such as TLS certificates and keys): 0, -ENOENT when it does not,
 * -EINVAL for a bad name, -ENAMETOOLONG when the path does not fit in size. */
int credential_path(const char *name, char *ret, size_t size) OTEL_WUR;
/* Reads the secret file path (absolute), which must be a regular file (not a symlink) owned by root or
 * by us with no access for group or others: -EPERM otherwise; the other errors as credential_read(). */
int credential_read_file(const char *path, char **ret) OTEL_WUR;

/* Where one secret comes from, first match wins: the systemd credential, the file, the inline value. */
typedef struct credential_source {
        char section[CONFIG_NAME_MAX + 1]; /* for messages: "[section] key" */
        char key[CONFIG_NAME_MAX + 1];     /* the inline key; <key>_credential and <key>_file beside it */
        char *credential;                  /* <key>_credential: credential name, NULL for none */
        char *file;                        /* <key>_file: absolute path of a root-only file, or NULL */
        char *value;                       /* <key>: inline, only from a file group and others cannot read */
        size_t min_len;                    /* a shorter secret, from wherever, is refused */
} credential_source;

/* Reads [section] key, key_credential (default default_credential, may be NULL) and key_file. An
 * inline token in a config file that group or others may read is refused (the key names it), so are
 * inline values shorter than min_len, bad credential names and relative file paths. -EINVAL with
 * config_error(cfg) set, or -ENOMEM. */
int credential_source_load(config_file *cfg, const char *section, const char *key,
                           const char *default_credential, size_t min_len, credential_source *ret) OTEL_WUR;
/* The secret: the credential when it exists, else the file (an error when it cannot be read: it was
 * configured), else the inline value; *ret NULL when none is set. 0, or a negative errno (-EMSGSIZE:
 * shorter than min_len) after one error line naming where it failed ("credential 'x' ([s] k_credential)",
 * "file /p ([s] k_file)"). The secret itself is never logged. */
int credential_source_read(const credential_source *src, char **ret) OTEL_WUR;
void credential_source_free(credential_source *src);
/* Wipes and frees a secret; NULL-safe. */
void credential_free(char *secret);
