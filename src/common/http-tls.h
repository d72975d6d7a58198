/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS on the daemons' listeners: [server] tls_cert / tls_key (and tls_client_ca for mutual TLS), read
 * from systemd credentials when present, served by libmicrohttpd through GnuTLS. The certificate is
 * handed to each handshake by a GnuTLS retrieve callback that reads the current credentials, so that
 * SIGHUP rotates them (http_tls_reload) without touching the listener or the open connections; a new
 * set that does not load keeps the old one. http_tls_mhd_options() is the MHD_OPTION_ARRAY every
 * libmicrohttpd daemon of the process is started with (empty when TLS is off).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config-file.h"
#include "otel.h"

#define HTTP_TLS_PATH_MAX             1024u           /* a certificate or key path */
#define HTTP_TLS_FILE_MAX_BYTES       (1024u * 1024u) /* a PEM file; larger is a wrong path */
#define HTTP_TLS_CHAIN_MAX            16u             /* certificates in a chain (server's or client's) */
#define HTTP_TLS_ERROR_MAX            512u            /* one error line of http_tls_reload() */
#define HTTP_TLS_CREDENTIAL_CERT      "tls-cert"      /* systemd credential names ([server]) */
#define HTTP_TLS_CREDENTIAL_KEY       "tls-key"
#define HTTP_TLS_CREDENTIAL_CLIENT_CA "tls-client-ca"

struct MHD_OptionItem;

/* The TLS part of [server]: effective paths (a credential's file when one is present). */
typedef struct http_tls_config {
        char cert[HTTP_TLS_PATH_MAX];      /* PEM certificate chain, leaf first; "" = TLS off */
        char key[HTTP_TLS_PATH_MAX];       /* PEM private key of the leaf */
        char client_ca[HTTP_TLS_PATH_MAX]; /* PEM CA(s) a client certificate must chain to; "" = none asked
                                            */
} http_tls_config;

/* Reads [server] tls_cert, tls_key, tls_client_ca (each replaced by the systemd credential tls-cert,
 * tls-key, tls-client-ca when $CREDENTIALS_DIRECTORY holds it) and loads them once, so that
 * --check-config finds what start-up would. -EINVAL with config_error(cfg) naming the key. */
int http_tls_config_load(config_file *cfg, http_tls_config *ret) OTEL_WUR;

/* One file-valued TLS key: the credential's file when present, else the value of [section] key; ""
 * when neither. The file must be a readable regular file of at most HTTP_TLS_FILE_MAX_BYTES; with
 * secret (a private key), also not accessible by group or others. Shared with the frontend's [backend]
 * keys. -EINVAL with config_error(cfg) set. */
int http_tls_config_file(config_file *cfg, const char *section, const char *key, const char *credential,
                         bool secret, char ret[HTTP_TLS_PATH_MAX]) OTEL_WUR;

/* Loads a certificate and its key (both "" to skip) and a CA file ("" to skip) as a TLS peer would,
 * for configuration checks: 0, or -EINVAL with the reason in ret_error, -ENOMEM. */
int http_tls_check_files(const char *cert, const char *key, const char *ca, char *ret_error,
                         size_t error_size) OTEL_WUR;

typedef struct http_tls http_tls;

/* Loads the credentials of cfg. TLS off (cfg->cert empty): *ret = NULL and 0. One TLS identity per
 * process (GnuTLS's retrieve callback has no user pointer): a second live one is -EBUSY. -EOPNOTSUPP
 * when libmicrohttpd lacks TLS; -EINVAL (ret_error says why) for files that do not load. */
int http_tls_new(const http_tls_config *cfg, http_tls **ret, char *ret_error, size_t error_size) OTEL_WUR;
/* Loads cfg's files again and, when they load, makes them the ones new handshakes get (1); files
 * unchanged since the last load change nothing (0). Otherwise -EINVAL with the reason in ret_error,
 * and the previous credentials stay. NULL-safe (no TLS: 0). */
int http_tls_reload(http_tls *t, const http_tls_config *cfg, char *ret_error, size_t error_size) OTEL_WUR;
/* What MHD_start_daemon() needs: flags to add (MHD_USE_TLS or 0) and the MHD_OPTION_ARRAY items
 * (ends with MHD_OPTION_END; only that without TLS). NULL-safe. */
unsigned http_tls_mhd_flags(const http_tls *t);
const struct MHD_OptionItem *http_tls_mhd_options(const http_tls *t);
/* "https" with TLS, else "http" (url.scheme). NULL-safe. */
const char *http_tls_scheme(const http_tls *t);
/* The watchdog probe over TLS on a connected non-blocking socket: handshake (presenting the server's
 * own certificate, which the client-certificate check accepts), send request, read until reply holds
 * at least want bytes or the peer closes, all before deadline_ns (CLOCK_MONOTONIC). Returns the bytes
 * read into reply (NUL-terminated, size includes the NUL) or a negative errno. */
int http_tls_probe(const http_tls *t, int fd, const char *request, size_t len, char *reply, size_t size,
                   size_t want, uint64_t deadline_ns) OTEL_WUR;
/* After every daemon using the options has stopped. NULL-safe. */
void http_tls_free(http_tls *t);
