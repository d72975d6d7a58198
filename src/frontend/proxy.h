/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The frontend's gateway to the backend: /api/... is forwarded 1:1 (method, path, query, body and the
 * end-to-end headers but Authorization) over libcurl with keep-alive, inside a CLIENT span that carries
 * the W3C context on to the backend. The request is deferred while the backend answers, so no server
 * thread waits for it (proxy-loop.h). A backend that is down or slow becomes a 502/504 JSON error, never
 * a hang; more than max_in_flight exchanges at once a 503.
 */
#pragma once

#include <stddef.h>

#include "credential.h"
#include "http-server.h"

#define PROXY_URL_MAX            1024u                 /* backend base URL */
#define PROXY_RESPONSE_MAX_BYTES (16u * 1024u * 1024u) /* a larger backend reply is a 502 */
#define PROXY_TIMEOUT_MAX_MS     600000u
#define PROXY_READY_TIMEOUT_MS   1000u         /* /readyz asks the backend within this */
#define PROXY_TOKEN_CREDENTIAL   "write-token" /* the backend's write token ([auth] there) */

typedef struct proxy_config {
        char backend_url[PROXY_URL_MAX];     /* "http://host:port" or "https://…", no trailing '/' */
        unsigned timeout_ms;                 /* whole backend exchange */
        unsigned connect_timeout_ms;         /* TCP connect to the backend */
        char ca_file[HTTP_TLS_PATH_MAX];     /* https: CAs the backend's certificate must chain to ("":
                                              * the system's) */
        char client_cert[HTTP_TLS_PATH_MAX]; /* https: the frontend's certificate (mutual TLS), or "" */
        char client_key[HTTP_TLS_PATH_MAX];  /* its private key */
        unsigned max_connections;            /* backend connections open at once (kept alive), all workers */
        unsigned max_in_flight;              /* exchanges at once; more are answered 503 at once */
        credential_source token;             /* [backend] token(_credential, _file): the bearer token sent */
        credential_source client_token;      /* [auth] client_token(_credential, _file): writes need it */
} proxy_config;

typedef struct proxy proxy;

/* Reads [backend] url, timeout_ms, connect_timeout_ms, max_connections, max_in_flight, ca_file,
 * client_cert, client_key (the TLS files from the systemd credentials backend-ca, backend-client-cert,
 * backend-client-key when present; only with an https:// url; each file loaded once), token*, and
 * [auth] client_token*. -EINVAL with
 * config_error(cfg) set. */
int proxy_config_load(config_file *cfg, proxy_config *ret) OTEL_WUR;
void proxy_config_free(proxy_config *c);
/* The [backend] TLS options on a libcurl easy handle (curl is a CURL *): every request to the backend
 * goes through it. */
void proxy_tls_setopt(void *curl, const proxy_config *config);

/* Reads the tokens (an unreadable configured one is an error, logged). The exchanges run in the HTTP
 * server's workers (proxy_worker_hooks, with the proxy as the hooks' userdata): [backend]
 * max_connections is split evenly over the `workers` request workers ([server] threads), at least one
 * each. The client's Authorization header is never forwarded: the backend sees the
 * frontend's own token on every request, and with a client token every /api request but GET and HEAD
 * needs "Authorization: Bearer <client token>". */
int proxy_new(const proxy_config *config, unsigned workers, proxy **ret) OTEL_WUR;
/* After the HTTP server that calls into it is freed. NULL-safe. */
void proxy_free(proxy *p);
/* The HTTP server's worker hooks: one proxy loop per worker. Its abort (http_server_abort_deferred(),
 * after the drain) answers the exchanges still running 503 and resumes their requests, so that none is
 * left suspended; later ones are answered 503 at once. */
extern const http_worker_hooks proxy_worker_hooks;

/* Route handler for every method on "/api/..."; userdata is the proxy. */
void proxy_handle(http_request *req, void *userdata);
/* http_ready_fn for /readyz: ready when the backend's /readyz answers 200 in time. */
int proxy_ready(void *userdata, char *ret_reason, size_t reason_size);

/* Exposed for the unit tests. */
/* true for hop-by-hop headers (RFC 9110 7.6.1) and those the proxy sets itself; a name listed in the
 * request's Connection header (connection, may be NULL) is hop-by-hop too. */
bool proxy_header_is_hop_by_hop(const char *name, const char *connection);
/* Percent-encodes a decoded path for the backend URL (unreserved, sub-delims, ':', '@', '/' kept). */
int proxy_encode_path(const char *path, char *ret, size_t size) OTEL_WUR;
