/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Listener TLS (see http-tls.h). GnuTLS is linked directly: it is the TLS library libmicrohttpd is
 * built with on Debian 12 (and the project's chosen one), and only its retrieve callback lets a
 * running daemon change certificates. Loaded credentials are immutable once published; the current
 * set is one atomic pointer that every handshake reads, and a replaced set is kept until
 * http_tls_free() because a handshake that started with it may still sign or decrypt with its key
 * (TLS 1.2 RSA key exchange uses it in the client's second flight). Unchanged files never make a new
 * set, so only a real rotation costs memory (a few KB).
 */
#include "http-tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "credential.h"

/* TLS 1.2 and 1.3 only: older versions have no place on a new service (RFC 8996). */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define HTTP_TLS_DIGEST     GNUTLS_DIG_SHA256
#define HTTP_TLS_DIGEST_LEN 32u
#define HTTP_TLS_OPTIONS    3u /* MHD option items, MHD_OPTION_END included */

/* One loaded set of credentials; never changed after it is published. */
typedef struct http_tls_creds {
        gnutls_pcert_st pcerts[HTTP_TLS_CHAIN_MAX]; /* the chain sent to clients */
        unsigned n_pcerts;
        gnutls_privkey_t key;                /* the leaf's private key */
        gnutls_x509_trust_list_t client_ca;  /* CAs for client certificates, NULL: none asked */
        uint8_t digest[HTTP_TLS_DIGEST_LEN]; /* of the files' bytes: an unchanged reload is a no-op */
        struct http_tls_creds *retired_next; /* older sets, kept until http_tls_free() */
} http_tls_creds;

struct http_tls {
        _Atomic(http_tls_creds *) current;      /* what new handshakes get */
        pthread_mutex_t reload_lock;            /* one reload at a time; guards retired */
        http_tls_creds *retired;                /* replaced sets */
        gnutls_certificate_credentials_t probe; /* the watchdog probe's client side */
        struct MHD_OptionItem options[HTTP_TLS_OPTIONS];
};

/* GnuTLS's retrieve and verify callbacks carry no user pointer: the one live identity. */
static _Atomic(http_tls *) http_tls_active;

static const struct MHD_OptionItem http_tls_no_options[] = {{MHD_OPTION_END, 0, NULL}};

/* ---- configuration -------------------------------------------------------------------------------- */

int http_tls_config_file(config_file *cfg, const char *section, const char *key, const char *credential,
                         bool secret, char ret[HTTP_TLS_PATH_MAX])
{
        char cred_path[HTTP_TLS_PATH_MAX];
        const char *path;
        struct stat st;
        int fd, r;

        r = config_get_string(cfg, section, key, NULL, &path);
        if (r < 0)
                return r;
        /* A systemd credential (LoadCredential=) is the preferred way to hand over a key. */
        if (credential && credential_path(credential, cred_path, sizeof(cred_path)) == 0)
                path = cred_path;
        ret[0] = '\0';
        if (!path || !*path)
                return 0;
        if (strlen(path) >= HTTP_TLS_PATH_MAX)
                return config_reject(cfg, section, key, "path longer than %u bytes", HTTP_TLS_PATH_MAX - 1);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return config_reject(cfg, section, key, "cannot read '%s': %s", path, strerror(errno));
        r = fstat(fd, &st);
        close(fd);
        if (r < 0 || !S_ISREG(st.st_mode))
                return config_reject(cfg, section, key, "'%s' is not a regular file", path);
        if (st.st_size > (off_t)HTTP_TLS_FILE_MAX_BYTES)
                return config_reject(cfg, section, key, "'%s' is larger than %u bytes", path,
                                     HTTP_TLS_FILE_MAX_BYTES);
        if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)))
                return config_reject(cfg, section, key,
                                     "private key '%s' is accessible by group or others (mode %04o): make "
                                     "it readable by its owner only (chmod 600) or pass it as a systemd "
                                     "credential",
                                     path, (unsigned)(st.st_mode & 07777));
        memcpy(ret, path, strlen(path) + 1);
        return 0;
}

static int http_tls_creds_load(const http_tls_config *cfg, http_tls_creds **ret, char *err, size_t size);
static void http_tls_creds_free(http_tls_creds *c);

int http_tls_config_load(config_file *cfg, http_tls_config *ret)
{
        http_tls_config c = {0};
        http_tls_creds *creds = NULL;
        char why[HTTP_TLS_ERROR_MAX];
        int r;

        if ((r = http_tls_config_file(cfg, "server", "tls_cert", HTTP_TLS_CREDENTIAL_CERT, false, c.cert)) <
                    0 ||
            (r = http_tls_config_file(cfg, "server", "tls_key", HTTP_TLS_CREDENTIAL_KEY, true, c.key)) < 0 ||
            (r = http_tls_config_file(cfg, "server", "tls_client_ca", HTTP_TLS_CREDENTIAL_CLIENT_CA, false,
                                      c.client_ca)) < 0)
                return r;
        if (c.cert[0] && !c.key[0])
                return config_reject(cfg, "server", "tls_key", "tls_cert is set: tls_key must be set too");
        if (!c.cert[0] && c.key[0])
                return config_reject(cfg, "server", "tls_cert", "tls_key is set: tls_cert must be set too");
        if (!c.cert[0] && c.client_ca[0])
                return config_reject(cfg, "server", "tls_client_ca",
                                     "client certificates need TLS: set tls_cert and tls_key");
        if (c.cert[0]) {
                r = http_tls_creds_load(&c, &creds, why, sizeof(why));
                http_tls_creds_free(creds);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return config_reject(cfg, "server", "tls_cert", "%s", why);
        }
        *ret = c;
        return 0;
}

/* ---- loading -------------------------------------------------------------------------------------- */

static void http_tls_creds_free(http_tls_creds *c)
{
        if (!c)
                return;
        for (unsigned i = 0; i < c->n_pcerts; i++)
                gnutls_pcert_deinit(&c->pcerts[i]);
        if (c->key)
                gnutls_privkey_deinit(c->key);
        if (c->client_ca)
                gnutls_x509_trust_list_deinit(c->client_ca, 1);
        free(c);
}

/* "<what> '<path>': <GnuTLS's reason>" into err; returns r. */
static int http_tls_fail(char *err, size_t size, int r, const char *what, const char *path, int gr)
{
        snprintf(err, size, "%s '%s': %s", what, path, gnutls_strerror(gr));
        return r;
}

/* A file's bytes (gnutls-allocated), also fed into the digest. */
static int http_tls_read(const char *path, gnutls_datum_t *ret, gnutls_hash_hd_t hash, char *err,
                         size_t size)
{
        int gr = gnutls_load_file(path, ret);

        if (gr < 0) {
                snprintf(err, size, "cannot read '%s': %s", path,
                         gr == GNUTLS_E_MEMORY_ERROR ? "out of memory" : strerror(errno));
                return gr == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EINVAL;
        }
        if (ret->size > HTTP_TLS_FILE_MAX_BYTES) {
                gnutls_free(ret->data);
                ret->data = NULL;
                snprintf(err, size, "'%s' is larger than %u bytes", path, HTTP_TLS_FILE_MAX_BYTES);
                return -EINVAL;
        }
        (void)gnutls_hash(hash, ret->data, ret->size);
        (void)gnutls_hash(hash, "", 1); /* file boundary */
        return 0;
}

/* The leaf must be usable now and be the key's certificate. */
static int http_tls_check_leaf(http_tls_creds *c, const char *cert_path, char *err, size_t size)
{
        uint8_t id_cert[64], id_key[64];
        size_t n_cert = sizeof(id_cert), n_key = sizeof(id_key);
        gnutls_pubkey_t pub = NULL;
        gnutls_x509_crt_t crt = NULL;
        time_t now = time(NULL);
        int gr;

        gr = gnutls_pubkey_init(&pub);
        if (gr >= 0)
                gr = gnutls_pubkey_import_privkey(pub, c->key, 0, 0);
        if (gr >= 0)
                gr = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, id_key, &n_key);
        if (gr >= 0)
                gr = gnutls_pubkey_get_key_id(c->pcerts[0].pubkey, GNUTLS_KEYID_USE_SHA256, id_cert,
                                              &n_cert);
        gnutls_pubkey_deinit(pub);
        if (gr < 0)
                return http_tls_fail(err, size, -EINVAL, "cannot compare with its key the certificate in",
                                     cert_path, gr);
        if (n_key != n_cert || memcmp(id_key, id_cert, n_key) != 0) {
                snprintf(err, size, "the key does not belong to the first certificate of '%s'", cert_path);
                return -EINVAL;
        }
        gr = gnutls_pcert_export_x509(&c->pcerts[0], &crt);
        if (gr < 0)
                return http_tls_fail(err, size, -EINVAL, "cannot read the certificate in", cert_path, gr);
        if (gnutls_x509_crt_get_expiration_time(crt) < now)
                snprintf(err, size, "the certificate in '%s' has expired", cert_path);
        else if (gnutls_x509_crt_get_activation_time(crt) > now)
                snprintf(err, size, "the certificate in '%s' is not valid yet", cert_path);
        else
                err[0] = '\0';
        gnutls_x509_crt_deinit(crt);
        return err[0] ? -EINVAL : 0;
}

static int http_tls_load_files(http_tls_creds *c, const http_tls_config *cfg, gnutls_datum_t files[3],
                               char *err, size_t size)
{
        int gr;

        if (files[2].data) {
                gr = gnutls_x509_trust_list_init(&c->client_ca, 0);
                if (gr < 0)
                        return -ENOMEM;
                gr = gnutls_x509_trust_list_add_trust_mem(c->client_ca, &files[2], NULL, GNUTLS_X509_FMT_PEM,
                                                          0, 0);
                if (gr <= 0) {
                        snprintf(err, size, "no usable PEM CA certificate in '%s'", cfg->client_ca);
                        return -EINVAL;
                }
        }
        if (!files[0].data)
                return 0; /* only a CA file to check (http_tls_check_files) */
        c->n_pcerts = HTTP_TLS_CHAIN_MAX;
        gr = gnutls_pcert_list_import_x509_raw(c->pcerts, &c->n_pcerts, &files[0], GNUTLS_X509_FMT_PEM,
                                               GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
        if (gr < 0) {
                c->n_pcerts = 0;
                return http_tls_fail(err, size, -EINVAL, "no usable PEM certificate chain (leaf first) in",
                                     cfg->cert, gr);
        }
        gr = gnutls_privkey_init(&c->key);
        if (gr < 0)
                return -ENOMEM;
        gr = gnutls_privkey_import_x509_raw(c->key, &files[1], GNUTLS_X509_FMT_PEM, NULL, 0);
        if (gr < 0)
                return http_tls_fail(err, size, -EINVAL, "no usable PEM private key in", cfg->key, gr);
        return http_tls_check_leaf(c, cfg->cert, err, size);
}

static int http_tls_creds_load(const http_tls_config *cfg, http_tls_creds **ret, char *err, size_t size)
{
        const char *paths[3] = {cfg->cert, cfg->key, cfg->client_ca};
        gnutls_datum_t files[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
        gnutls_hash_hd_t hash = NULL;
        http_tls_creds *c;
        int r = 0;

        err[0] = '\0';
        c = calloc(1, sizeof(*c));
        if (!c || gnutls_hash_init(&hash, HTTP_TLS_DIGEST) < 0) {
                free(c);
                snprintf(err, size, "out of memory");
                return -ENOMEM;
        }
        for (size_t i = 0; i < 3 && r >= 0; i++)
                if (paths[i][0])
                        r = http_tls_read(paths[i], &files[i], hash, err, size);
        gnutls_hash_deinit(hash, c->digest);
        if (r >= 0)
                r = http_tls_load_files(c, cfg, files, err, size);
        for (size_t i = 0; i < 3; i++) {
                if (files[i].data)
                        gnutls_memset(files[i].data, 0, files[i].size); /* the key's bytes */
                gnutls_free(files[i].data);
        }
        if (r < 0) {
                if (r == -ENOMEM && !err[0])
                        snprintf(err, size, "out of memory");
                http_tls_creds_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int http_tls_check_files(const char *cert, const char *key, const char *ca, char *ret_error,
                         size_t error_size)
{
        http_tls_config cfg = {0};
        http_tls_creds *c = NULL;
        int r;

        if (strlen(cert) >= sizeof(cfg.cert) || strlen(key) >= sizeof(cfg.key) ||
            strlen(ca) >= sizeof(cfg.client_ca))
                return -ENAMETOOLONG;
        memcpy(cfg.cert, cert, strlen(cert) + 1);
        memcpy(cfg.key, key, strlen(key) + 1);
        memcpy(cfg.client_ca, ca, strlen(ca) + 1);
        r = http_tls_creds_load(&cfg, &c, ret_error, error_size);
        http_tls_creds_free(c);
        return r;
}

/* ---- handshakes ----------------------------------------------------------------------------------- */

static http_tls_creds *http_tls_current(void)
{
        http_tls *t = atomic_load_explicit(&http_tls_active, memory_order_acquire);

        return t ? atomic_load_explicit(&t->current, memory_order_acquire) : NULL;
}

/* The client's chain must lead to one of tls_client_ca's CAs and be meant for TLS clients; the
 * server's own certificate is accepted too, since only the holder of its key can present it (the
 * watchdog probe does). Returns 0 to go on with the handshake, -1 to fail it. */
static int http_tls_verify_client(gnutls_session_t session)
{
        http_tls_creds *c = http_tls_current();
        gnutls_x509_crt_t chain[HTTP_TLS_CHAIN_MAX];
        gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                         .data = (void *)GNUTLS_KP_TLS_WWW_CLIENT};
        const gnutls_datum_t *peers;
        unsigned n = 0, n_peers = 0, status = 1;

        peers = gnutls_certificate_get_peers(session, &n_peers);
        if (!c || !peers || n_peers == 0 || n_peers > HTTP_TLS_CHAIN_MAX)
                return -1;
        if (peers[0].size == c->pcerts[0].cert.size &&
            memcmp(peers[0].data, c->pcerts[0].cert.data, peers[0].size) == 0)
                return 0;
        if (!c->client_ca)
                return -1;
        for (; n < n_peers; n++) {
                if (gnutls_x509_crt_init(&chain[n]) < 0)
                        break;
                if (gnutls_x509_crt_import(chain[n], &peers[n], GNUTLS_X509_FMT_DER) < 0) {
                        gnutls_x509_crt_deinit(chain[n]);
                        break;
                }
        }
        if (n == n_peers &&
            gnutls_x509_trust_list_verify_crt2(c->client_ca, chain, n, &purpose, 1, 0, &status, NULL) < 0)
                status = 1;
        for (unsigned i = 0; i < n; i++)
                gnutls_x509_crt_deinit(chain[i]);
        return status == 0 ? 0 : -1;
}

/* Both retrieve callbacks: c's chain and key; -1 (fail the handshake) without credentials. */
static int http_tls_hand_over(http_tls_creds *c, gnutls_pcert_st **pcert, unsigned int *pcert_length,
                              gnutls_privkey_t *privkey)
{
        if (!c)
                return -1;
        *pcert = c->pcerts;
        *pcert_length = c->n_pcerts;
        *privkey = c->key;
        return 0;
}

/* gnutls_certificate_retrieve_function2 for the listeners (MHD_OPTION_HTTPS_CERT_CALLBACK): the
 * current chain and key, and the client-certificate demand when tls_client_ca is set. GnuTLS calls it
 * while handling the ClientHello, before a CertificateRequest would go out. */
static int http_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                             const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                             gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
        http_tls_creds *c = http_tls_current();

        (void)req_ca_rdn;
        (void)nreqs;
        (void)pk_algos;
        (void)pk_algos_length;
        if (http_tls_hand_over(c, pcert, pcert_length, privkey) < 0)
                return -1;
        if (c->client_ca) {
                gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
                gnutls_session_set_verify_function(session, http_tls_verify_client);
        }
        return 0;
}

/* The probe's client side: the server's own chain when the server asks for a certificate. */
static int http_tls_probe_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                                   const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                                   gnutls_pcert_st **pcert, unsigned int *pcert_length,
                                   gnutls_privkey_t *privkey)
{
        (void)session;
        (void)req_ca_rdn;
        (void)nreqs;
        (void)pk_algos;
        (void)pk_algos_length;
        return http_tls_hand_over(http_tls_current(), pcert, pcert_length, privkey);
}

/* ---- lifecycle ------------------------------------------------------------------------------------ */

int http_tls_new(const http_tls_config *cfg, http_tls **ret, char *ret_error, size_t error_size)
{
        http_tls *expected = NULL, *t;
        http_tls_creds *c = NULL;
        int r;

        *ret = NULL;
        if (!cfg->cert[0])
                return 0;
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
            MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
                snprintf(ret_error, error_size, "libmicrohttpd is built without TLS (GnuTLS) support");
                return -EOPNOTSUPP;
        }
        r = http_tls_creds_load(cfg, &c, ret_error, error_size);
        if (r < 0)
                return r;
        t = calloc(1, sizeof(*t));
        if (!t || gnutls_certificate_allocate_credentials(&t->probe) < 0) {
                free(t);
                http_tls_creds_free(c);
                snprintf(ret_error, error_size, "out of memory");
                return -ENOMEM;
        }
        pthread_mutex_init(&t->reload_lock, NULL);
        atomic_init(&t->current, c);
        gnutls_certificate_set_retrieve_function2(t->probe, http_tls_probe_retrieve);
        t->options[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
                                                (void *)(uintptr_t)http_tls_retrieve};
        t->options[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_TLS_PRIORITIES};
        t->options[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        if (!atomic_compare_exchange_strong(&http_tls_active, &expected, t)) {
                snprintf(ret_error, error_size, "a TLS identity is already in use in this process");
                http_tls_free(t);
                return -EBUSY;
        }
        *ret = t;
        return 0;
}

int http_tls_reload(http_tls *t, const http_tls_config *cfg, char *ret_error, size_t error_size)
{
        http_tls_creds *c = NULL, *old;
        int r;

        ret_error[0] = '\0';
        if (!t)
                return 0;
        if (!cfg->cert[0]) {
                snprintf(ret_error, error_size, "turning TLS off takes a restart");
                return -EINVAL;
        }
        r = http_tls_creds_load(cfg, &c, ret_error, error_size);
        if (r < 0)
                return r;
        pthread_mutex_lock(&t->reload_lock);
        old = atomic_load(&t->current);
        if (memcmp(old->digest, c->digest, sizeof(c->digest)) == 0) {
                pthread_mutex_unlock(&t->reload_lock);
                http_tls_creds_free(c);
                return 0;
        }
        atomic_store_explicit(&t->current, c, memory_order_release);
        old->retired_next = t->retired;
        t->retired = old;
        pthread_mutex_unlock(&t->reload_lock);
        return 1;
}

unsigned http_tls_mhd_flags(const http_tls *t)
{
        return t ? (unsigned)MHD_USE_TLS : 0u;
}

const struct MHD_OptionItem *http_tls_mhd_options(const http_tls *t)
{
        return t ? t->options : http_tls_no_options;
}

const char *http_tls_scheme(const http_tls *t)
{
        return t ? "https" : "http";
}

void http_tls_free(http_tls *t)
{
        http_tls *self;

        if (!t)
                return;
        self = t;
        (void)atomic_compare_exchange_strong(&http_tls_active, &self, NULL);
        http_tls_creds_free(atomic_load(&t->current));
        while (t->retired) {
                http_tls_creds *next = t->retired->retired_next;

                http_tls_creds_free(t->retired);
                t->retired = next;
        }
        if (t->probe)
                gnutls_certificate_free_credentials(t->probe);
        pthread_mutex_destroy(&t->reload_lock);
        free(t);
}

/* ---- the watchdog probe --------------------------------------------------------------------------- */

static int http_tls_wait(gnutls_session_t s, int fd, uint64_t deadline_ns)
{
        struct pollfd p = {.fd = fd, .events = gnutls_record_get_direction(s) ? POLLOUT : POLLIN};
        uint64_t now = otel_mono_ns();
        int r;

        if (now >= deadline_ns)
                return -ETIMEDOUT;
        r = poll(&p, 1, (int)((deadline_ns - now) / 1000000u) + 1);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        return r == 0 ? -ETIMEDOUT : 0;
}

int http_tls_probe(const http_tls *t, int fd, const char *request, size_t len, char *reply, size_t size,
                   size_t want, uint64_t deadline_ns)
{
        gnutls_session_t s = NULL;
        size_t sent = 0, got = 0;
        ssize_t n;
        int gr, r = 0;

        if (!t || size == 0)
                return -EINVAL;
        if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0)
                return -ENOMEM;
        /* Our own socket: the server's certificate is not verified (the probe checks liveness). */
        if (gnutls_priority_set_direct(s, HTTP_TLS_PRIORITIES, NULL) < 0 ||
            gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->probe) < 0) {
                r = -ENOMEM;
                goto out;
        }
        gnutls_transport_set_int(s, fd);
        while ((gr = gnutls_handshake(s)) < 0 && r >= 0)
                r = gnutls_error_is_fatal(gr) ? -ECONNREFUSED : http_tls_wait(s, fd, deadline_ns);
        while (r >= 0 && sent < len) {
                n = gnutls_record_send(s, request + sent, len - sent);
                if (n >= 0)
                        sent += (size_t)n;
                else
                        r = gnutls_error_is_fatal((int)n) ? -EIO : http_tls_wait(s, fd, deadline_ns);
        }
        while (r >= 0 && got < want && got + 1 < size) {
                n = gnutls_record_recv(s, reply + got, size - 1 - got);
                if (n == 0)
                        break;
                if (n > 0)
                        got += (size_t)n;
                else
                        r = gnutls_error_is_fatal((int)n) ? -EIO : http_tls_wait(s, fd, deadline_ns);
        }
out:
        gnutls_deinit(s);
        if (r < 0)
                return r;
        reply[got] = '\0';
        return (int)got;
}
