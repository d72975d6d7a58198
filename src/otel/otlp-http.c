/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP/HTTP transport (see otlp-http.h): environment configuration per the spec's "OTLP Exporter
 * Configuration", one keep-alive libcurl easy handle per exporter, gzip with zlib, and retries only
 * where the OTLP spec allows them, never past the export deadline. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "diag.h"
#include "env.h"
#include "otel-http.h"
#include "otlp-http.h"
#include "propagation.h"
#include "random.h"

#define OTLP_ENV_NAME_MAX     96 /* "OTEL_EXPORTER_OTLP_<SIGNAL>_CLIENT_CERTIFICATE" and then some */
#define OTLP_HTTP_USER_AGENT  "OTel-OTLP-Exporter-C/" OTEL_SDK_VERSION
#define OTLP_GZIP_WINDOW_BITS (15 + 16) /* 32 KiB window, +16 selects the gzip wrapper (RFC 1952) */
#define OTLP_GZIP_MEM_LEVEL   8         /* zlib's default */

static const char *const protocol_choices[] = {"http/protobuf", "http/json", NULL};
static const char *const compression_choices[] = {"none", "gzip", NULL};
static const char *const content_types[_OTLP_PROTOCOL_MAX] = {
        [OTLP_PROTOCOL_HTTP_PROTOBUF] = "application/x-protobuf",
        [OTLP_PROTOCOL_HTTP_JSON] = "application/json",
};

struct otlp_http {
        otlp_http_config cfg;         /* owned */
        CURL *curl;                   /* kept across exports so the connection is reused */
        struct curl_slist *headers;   /* request headers: content type, encoding, user's */
        bool answered;                /* a receiver answered once: a refused connection is a restart */
        z_stream zs;                  /* gzip state, reset per request */
        bool zs_ready;                /* zs was initialised */
        otel_buf gz;                  /* compressed request body */
        otel_buf resp;                /* response body of the current attempt (capped) */
        char errbuf[CURL_ERROR_SIZE]; /* curl's detailed message for the last failure */
        otlp_log_limiter limiter;     /* export failures */
};

/* ---- configuration ---------------------------------------------------------------------------- */

/* An http(s) URL with a host (otel-http.h's parser), and nothing a header line or curl would choke on. */
static bool url_is_valid(const char *url)
{
        otel_http_server srv;

        for (const char *p = url; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f)
                        return false;
        return otel_http_url_server(url, &srv) == 0;
}

int otlp_http_endpoint_resolve(const char *signal_endpoint, const char *generic_endpoint,
                               const char *signal_path, char **ret_url)
{
        const char *base = generic_endpoint ? generic_endpoint : OTLP_HTTP_DEFAULT_ENDPOINT;
        size_t len;
        char *url;

        /* Spec: the signal-specific endpoint is the full URL, used as is. */
        if (signal_endpoint) {
                if (!url_is_valid(signal_endpoint))
                        return -EINVAL;
                url = strdup(signal_endpoint);
                if (!url)
                        return -ENOMEM;
                *ret_url = url;
                return 0;
        }
        if (!url_is_valid(base))
                return -EINVAL;
        /* Spec: the generic endpoint is a base URL; the signal path is appended relative to it, so
         * "http://h:4318/" and "http://h:4318" both give "http://h:4318/v1/traces". */
        len = strlen(base);
        if (len && base[len - 1] == '/')
                len--;
        if (signal_path[0] == '/')
                signal_path++;
        if (asprintf(&url, "%.*s/%s", (int)len, base, signal_path) < 0)
                return -ENOMEM;
        *ret_url = url;
        return 0;
}

static bool is_tchar(char c)
{
        /* RFC 9110 token characters: what a header field name may consist of. */
        return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Percent-decodes s[0..n) into a new string; -EINVAL for a broken escape or a control character
 * (which would let a header value inject another header line). */
static int header_value_decode(const char *s, size_t n, char **ret)
{
        char *out = malloc(n + 1);
        size_t len;
        int r;

        if (!out)
                return -ENOMEM;
        r = otel_percent_decode(s, n, out, &len);
        for (size_t i = 0; r == 0 && i < len; i++) {
                unsigned char c = (unsigned char)out[i];

                if ((c < ' ' && c != '\t') || c == 0x7f)
                        r = -EINVAL;
        }
        if (r < 0) {
                free(out);
                return r;
        }
        *ret = out;
        return 0;
}

/* One `key=value` member → "Key: value" in cfg. -EINVAL for a malformed member. */
static int header_add(otlp_http_config *cfg, const char *m, size_t n)
{
        const char *eq = memchr(m, '=', n), *key = m, *val;
        size_t key_len, val_len;
        char *value = NULL, *line, **list;
        int r;

        if (!eq)
                return -EINVAL;
        key_len = (size_t)(eq - m);
        val = eq + 1;
        val_len = n - key_len - 1;
        otel_propagation_trim_ows(&key, &key_len);
        otel_propagation_trim_ows(&val, &val_len);
        if (key_len == 0)
                return -EINVAL;
        for (size_t i = 0; i < key_len; i++)
                if (!is_tchar(key[i]))
                        return -EINVAL;
        r = header_value_decode(val, val_len, &value);
        if (r < 0)
                return r;
        /* curl drops "Name:" with nothing after it; "Name;" is its way of sending an empty value. */
        r = *value ? asprintf(&line, "%.*s: %s", (int)key_len, key, value)
                   : asprintf(&line, "%.*s;", (int)key_len, key);
        free(value);
        if (r < 0)
                return -ENOMEM;
        list = reallocarray(cfg->headers, cfg->n_headers + 1, sizeof(*list));
        if (!list) {
                free(line);
                return -ENOMEM;
        }
        cfg->headers = list;
        cfg->headers[cfg->n_headers++] = line;
        return 0;
}

int otlp_http_headers_parse(const char *var, const char *value, otlp_http_config *cfg)
{
        size_t index = 0;
        int added = 0;

        for (const char *s = value;; index++) {
                const char *comma = strchr(s, ',');
                size_t n = comma ? (size_t)(comma - s) : strlen(s);
                const char *m = s;
                int r;

                otel_propagation_trim_ows(&m, &n);
                if (n) {
                        if (cfg->n_headers >= OTLP_HTTP_MAX_HEADERS) {
                                otel_diag(OTEL_DIAG_WARN, "%s has more than %d entries, ignoring the rest",
                                          var, OTLP_HTTP_MAX_HEADERS);
                                return added;
                        }
                        r = header_add(cfg, m, n);
                        if (r == -ENOMEM)
                                return r;
                        /* Values are often credentials: name the entry by position, never print it. */
                        if (r < 0)
                                otel_diag(OTEL_DIAG_WARN,
                                          "invalid entry #%zu in %s (expected key=value with a "
                                          "token key and a percent-encoded value), skipping it",
                                          index + 1, var);
                        else
                                added++;
                }
                if (!comma)
                        return added;
                s = comma + 1;
        }
}

static const char *env_name(char buf[OTLP_ENV_NAME_MAX], const char *signal, const char *suffix)
{
        if (signal)
                snprintf(buf, OTLP_ENV_NAME_MAX, "OTEL_EXPORTER_OTLP_%s_%s", signal, suffix);
        else
                snprintf(buf, OTLP_ENV_NAME_MAX, "OTEL_EXPORTER_OTLP_%s", suffix);
        return buf;
}

/* The variable that applies: the signal-specific one when set, else the generic one (spec: "the
 * signal-specific configuration takes precedence"). */
static const char *env_pick(char buf[OTLP_ENV_NAME_MAX], const char *signal, const char *suffix)
{
        if (otel_env_get(env_name(buf, signal, suffix)))
                return buf;
        return env_name(buf, NULL, suffix);
}

static int config_endpoint(otlp_http_config *cfg, const char *signal, const char *signal_path)
{
        char sig_name[OTLP_ENV_NAME_MAX], gen_name[OTLP_ENV_NAME_MAX];
        const char *sig = otel_env_get(env_name(sig_name, signal, "ENDPOINT"));
        const char *gen = otel_env_get(env_name(gen_name, NULL, "ENDPOINT"));

        if (sig && !url_is_valid(sig)) {
                otel_diag(OTEL_DIAG_WARN,
                          "invalid %s=\"%s\" (expected an http:// or https:// URL), ignoring it", sig_name,
                          sig);
                sig = NULL;
        }
        if (gen && !url_is_valid(gen)) {
                otel_diag(OTEL_DIAG_WARN,
                          "invalid %s=\"%s\" (expected an http:// or https:// URL), using %s", gen_name, gen,
                          OTLP_HTTP_DEFAULT_ENDPOINT);
                gen = NULL;
        }
        return otlp_http_endpoint_resolve(sig, gen, signal_path, &cfg->url);
}

static int config_headers(otlp_http_config *cfg, const char *signal)
{
        char name[OTLP_ENV_NAME_MAX];
        const char *v = otel_env_get(env_pick(name, signal, "HEADERS"));
        int r;

        if (!v)
                return 0;
        if (strlen(v) > OTLP_HTTP_MAX_HEADERS_LEN) {
                otel_diag(OTEL_DIAG_WARN, "%s is longer than %d bytes, ignoring it", name,
                          OTLP_HTTP_MAX_HEADERS_LEN);
                return 0;
        }
        r = otlp_http_headers_parse(name, v, cfg);
        return r < 0 ? r : 0;
}

/* A path to a PEM file; unreadable → warned about and not used (curl would fail every export). */
static int config_file(const char *signal, const char *suffix, char **ret)
{
        char name[OTLP_ENV_NAME_MAX];
        const char *v = otel_env_get(env_pick(name, signal, suffix));

        if (!v)
                return 0;
        if (access(v, R_OK) < 0) {
                otel_diag(OTEL_DIAG_WARN, "cannot read %s=\"%s\" (%s), ignoring it", name, v,
                          strerror(errno));
                return 0;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static otlp_protocol config_protocol(const char *signal)
{
        char name[OTLP_ENV_NAME_MAX];
        const char *v = otel_env_get(env_pick(name, signal, "PROTOCOL"));

        if (v && strcasecmp(v, "grpc") == 0) {
                otel_diag(OTEL_DIAG_WARN,
                          "%s=grpc is not supported by this exporter (OTLP/HTTP only), using "
                          "http/protobuf",
                          name);
                return OTLP_PROTOCOL_HTTP_PROTOBUF;
        }
        return (otlp_protocol)otel_env_enum(name, protocol_choices, OTLP_PROTOCOL_HTTP_PROTOBUF);
}

int otlp_http_config_from_env(const char *signal, const char *signal_path, otlp_http_config *ret)
{
        char name[OTLP_ENV_NAME_MAX];
        otlp_http_config cfg = {0};
        int r;

        cfg.signal = strdup(signal);
        if (!cfg.signal)
                return -ENOMEM;
        for (char *p = cfg.signal; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        r = config_endpoint(&cfg, signal, signal_path);
        if (r < 0)
                goto fail;
        cfg.protocol = config_protocol(signal);
        cfg.compression = (otlp_compression)otel_env_enum(env_pick(name, signal, "COMPRESSION"),
                                                          compression_choices, OTLP_COMPRESSION_NONE);
        cfg.timeout_ms = (uint64_t)otel_env_int(env_pick(name, signal, "TIMEOUT"),
                                                OTLP_HTTP_DEFAULT_TIMEOUT_MS, 1, OTLP_HTTP_MAX_TIMEOUT_MS);
        /* Spec (protocol/exporter.md, Insecure): the option "only applies to OTLP/gRPC when an endpoint
         * is provided without the http or https scheme"; OTLP/HTTP always follows the endpoint's scheme,
         * so https:// is always verified. Said once, because it may be meant for another exporter. */
        if (otel_env_bool(env_pick(name, signal, "INSECURE"), false))
                otel_diag(
                        OTEL_DIAG_WARN,
                        "%s=true has no effect on OTLP/HTTP (it is for OTLP/gRPC): an https:// endpoint is "
                        "always verified, an http:// one never encrypted",
                        name);
        r = config_headers(&cfg, signal);
        if (r >= 0)
                r = config_file(signal, "CERTIFICATE", &cfg.certificate);
        if (r >= 0)
                r = config_file(signal, "CLIENT_KEY", &cfg.client_key);
        if (r >= 0)
                r = config_file(signal, "CLIENT_CERTIFICATE", &cfg.client_certificate);
        if (r < 0)
                goto fail;
        *ret = cfg;
        return 0;
fail:
        otlp_http_config_done(&cfg);
        return r;
}

void otlp_http_config_done(otlp_http_config *cfg)
{
        if (!cfg)
                return;
        free(cfg->signal);
        free(cfg->url);
        for (size_t i = 0; i < cfg->n_headers; i++)
                free(cfg->headers[i]);
        free(cfg->headers);
        free(cfg->certificate);
        free(cfg->client_key);
        free(cfg->client_certificate);
        *cfg = (otlp_http_config){0};
}

/* ---- retry policy ----------------------------------------------------------------------------- */

bool otlp_http_status_is_retryable(long status)
{
        return status == 429 || status == 502 || status == 503 || status == 504;
}

uint64_t otlp_http_backoff_ns(unsigned retry, double unit)
{
        uint64_t ceiling_ms = OTLP_HTTP_BACKOFF_INITIAL_MS;

        for (unsigned i = 1; i < retry && ceiling_ms < OTLP_HTTP_BACKOFF_MAX_MS; i++)
                ceiling_ms *= 2;
        if (ceiling_ms > OTLP_HTTP_BACKOFF_MAX_MS)
                ceiling_ms = OTLP_HTTP_BACKOFF_MAX_MS;
        if (!(unit > 0.0)) /* also catches NaN */
                return 0;
        if (unit >= 1.0)
                unit = 1.0;
        /* Full jitter: spreads the retries of many clients over the whole window. */
        return (uint64_t)(unit * (double)(ceiling_ms * OTEL_NSEC_PER_MSEC));
}

int otlp_http_retry_after_parse(const char *value, time_t now, uint64_t *ret_delay_ns)
{
        size_t n = strlen(value);
        const char *s = value;
        char date[64];
        time_t t;

        otel_propagation_trim_ows(&s, &n);
        if (n == 0)
                return -EINVAL;
        if (strspn(s, "0123456789") >= n) {
                uint64_t secs = 0;

                for (size_t i = 0; i < n && secs <= (uint64_t)OTLP_HTTP_MAX_RETRY_AFTER_S; i++)
                        secs = secs * 10 + (uint64_t)(s[i] - '0');
                if (secs > (uint64_t)OTLP_HTTP_MAX_RETRY_AFTER_S)
                        secs = (uint64_t)OTLP_HTTP_MAX_RETRY_AFTER_S;
                *ret_delay_ns = secs * OTEL_NSEC_PER_SEC;
                return 0;
        }
        /* HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms, all of which curl parses. */
        if (n >= sizeof(date))
                return -EINVAL;
        memcpy(date, s, n);
        date[n] = 0;
        t = curl_getdate(date, NULL);
        if (t == -1)
                return -EINVAL;
        if (t <= now)
                *ret_delay_ns = 0;
        else if (t - now > OTLP_HTTP_MAX_RETRY_AFTER_S)
                *ret_delay_ns = (uint64_t)OTLP_HTTP_MAX_RETRY_AFTER_S * OTEL_NSEC_PER_SEC;
        else
                *ret_delay_ns = (uint64_t)(t - now) * OTEL_NSEC_PER_SEC;
        return 0;
}

/* ---- rate-limited diagnostics ----------------------------------------------------------------- */

uint64_t otlp_log_key(const char *s, uint64_t seed)
{
        /* FNV-1a: only to tell message kinds apart, not a security boundary. */
        uint64_t h = 0xcbf29ce484222325ull ^ seed;

        for (; s && *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ull;
        }
        return h;
}

bool otlp_log_limiter_allow(otlp_log_limiter *l, uint64_t key, uint64_t now_ns, uint64_t *ret_suppressed)
{
        if (l->armed && key == l->key && now_ns - l->last_logged_ns < OTLP_HTTP_LOG_INTERVAL_NS) {
                l->suppressed++;
                return false;
        }
        *ret_suppressed = l->armed && key == l->key ? l->suppressed : 0;
        l->armed = true;
        l->key = key;
        l->last_logged_ns = now_ns;
        l->suppressed = 0;
        return true;
}

/* ---- error bodies ----------------------------------------------------------------------------- */

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
        uint64_t v = 0;

        for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
                uint8_t b = *(*p)++;

                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return true;
                }
        }
        return false;
}

/* google.rpc.Status.message (field 2) from a protobuf body, which OTLP says error responses carry. We
 * have no generated code for Status; its wire form is small enough to walk here. */
static bool rpc_status_message(const uint8_t *p, size_t n, const uint8_t **ret, size_t *ret_len)
{
        const uint8_t *end = p + n;
        uint64_t tag, len;

        while (p < end) {
                if (!read_varint(&p, end, &tag))
                        return false;
                switch (tag & 7) {
                case 0:
                        if (!read_varint(&p, end, &len))
                                return false;
                        break;
                case 1:
                        if (end - p < 8)
                                return false;
                        p += 8;
                        break;
                case 2:
                        if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p))
                                return false;
                        if (tag >> 3 == 2) {
                                *ret = p;
                                *ret_len = (size_t)len;
                                return true;
                        }
                        p += len;
                        break;
                case 5:
                        if (end - p < 4)
                                return false;
                        p += 4;
                        break;
                default:
                        return false;
                }
        }
        return false;
}

static bool media_type_is(const char *content_type, const char *type)
{
        size_t n = strlen(type);

        return content_type && strncasecmp(content_type, type, n) == 0 &&
               (content_type[n] == 0 || content_type[n] == ';' || content_type[n] == ' ');
}

/* A one-line, printable rendering of an error response's message: the Status message when the body
 * is one, else the body text when it is text, else its size. */
static void body_message(const otlp_http_result *res, char *out, size_t size)
{
        const uint8_t *msg = res->body;
        size_t len = res->body_len, o = 0;
        json_object *root = NULL, *m;

        out[0] = 0;
        if (!msg || len == 0)
                return;
        if (media_type_is(res->content_type, "application/x-protobuf")) {
                if (!rpc_status_message(res->body, res->body_len, &msg, &len)) {
                        snprintf(out, size, "<%zu bytes of protobuf>", res->body_len);
                        return;
                }
        } else if (media_type_is(res->content_type, "application/json")) {
                root = json_tokener_parse((const char *)res->body); /* the buffer is NUL-terminated */
                if (root && json_object_object_get_ex(root, "message", &m) &&
                    json_object_is_type(m, json_type_string)) {
                        msg = (const uint8_t *)json_object_get_string(m);
                        len = (size_t)json_object_get_string_len(m);
                }
        }
        for (size_t i = 0; i < len && o + 4 < size; i++) {
                uint8_t c = msg[i];

                if (c == '\n' || c == '\r' || c == '\t')
                        c = ' ';
                else if (c < ' ' || c == 0x7f) {
                        snprintf(out, size, "<%zu bytes>", res->body_len);
                        json_object_put(root);
                        return;
                }
                out[o++] = (char)c;
        }
        if (o < len) {
                memcpy(out + o, "...", 3);
                o += 3;
        }
        out[o] = 0;
        json_object_put(root);
}

/* ---- the transport ---------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *userdata)
{
        otlp_http *h = userdata;
        size_t n = size * nmemb, room = OTLP_HTTP_MAX_RESPONSE_BYTES - h->resp.len;
        int r = 0;

        /* Keep what fits and swallow the rest: a large error page must not fail the request, and the
         * body is only read for partial success and diagnostics, so without memory it is just lost. */
        if (room)
                r = otel_buf_append(&h->resp, p, n < room ? n : room);
        (void)r;
        return n;
}

static int slist_add(struct curl_slist **list, const char *line)
{
        struct curl_slist *l = curl_slist_append(*list, line);

        if (!l)
                return -ENOMEM;
        *list = l;
        return 0;
}

static int http_build_headers(otlp_http *h)
{
        char ct[64];
        int r;

        snprintf(ct, sizeof(ct), "Content-Type: %s", content_types[h->cfg.protocol]);
        r = slist_add(&h->headers, ct);
        if (r >= 0 && h->cfg.compression == OTLP_COMPRESSION_GZIP)
                r = slist_add(&h->headers, "Content-Encoding: gzip");
        /* No "Expect: 100-continue" round trip for large batches. */
        if (r >= 0)
                r = slist_add(&h->headers, "Expect:");
        for (size_t i = 0; r >= 0 && i < h->cfg.n_headers; i++)
                r = slist_add(&h->headers, h->cfg.headers[i]);
        return r;
}

static int http_setup_curl(otlp_http *h)
{
        CURL *c = h->curl;
        CURLcode cc = CURLE_OK;

#define SETOPT(opt, val)                                                                                    \
        do {                                                                                                \
                if (cc == CURLE_OK)                                                                         \
                        cc = curl_easy_setopt(c, opt, val);                                                 \
        } while (0)
        SETOPT(CURLOPT_URL, h->cfg.url);
        SETOPT(CURLOPT_NOSIGNAL, 1L); /* we run on a library thread: no SIGALRM games */
        SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
        SETOPT(CURLOPT_HTTPHEADER, h->headers);
        SETOPT(CURLOPT_USERAGENT, OTLP_HTTP_USER_AGENT);
        SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
        SETOPT(CURLOPT_WRITEDATA, h);
        SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
        SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
        SETOPT(CURLOPT_POST, 1L);
        if (h->cfg.certificate)
                SETOPT(CURLOPT_CAINFO, h->cfg.certificate);
        if (h->cfg.client_certificate)
                SETOPT(CURLOPT_SSLCERT, h->cfg.client_certificate);
        if (h->cfg.client_key)
                SETOPT(CURLOPT_SSLKEY, h->cfg.client_key);
#undef SETOPT
        return cc == CURLE_OK ? 0 : cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
}

int otlp_http_new(otlp_http_config *cfg, otlp_http **ret)
{
        otlp_http *h = calloc(1, sizeof(*h));
        int r;

        if (!h) {
                otlp_http_config_done(cfg);
                return -ENOMEM;
        }
        h->cfg = *cfg;
        *cfg = (otlp_http_config){0};
        h->resp.max = OTLP_HTTP_MAX_RESPONSE_BYTES;
        pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK) {
                r = -ENOMEM;
                goto fail;
        }
        h->curl = curl_easy_init();
        if (!h->curl) {
                r = -ENOMEM;
                goto fail;
        }
        r = http_build_headers(h);
        if (r >= 0)
                r = http_setup_curl(h);
        if (r < 0)
                goto fail;
        *ret = h;
        return 0;
fail:
        otlp_http_free(h);
        return r;
}

void otlp_http_free(otlp_http *h)
{
        if (!h)
                return;
        if (h->curl)
                curl_easy_cleanup(h->curl);
        curl_slist_free_all(h->headers);
        if (h->zs_ready)
                deflateEnd(&h->zs);
        otel_buf_free(&h->gz);
        otel_buf_free(&h->resp);
        otlp_http_config_done(&h->cfg);
        free(h);
}

const otlp_http_config *otlp_http_get_config(const otlp_http *h)
{
        return &h->cfg;
}

static int http_gzip(otlp_http *h, const void *body, size_t len)
{
        uLong bound;
        int r;

        if (len > UINT32_MAX)
                return -E2BIG;
        if (!h->zs_ready) {
                if (deflateInit2(&h->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, OTLP_GZIP_WINDOW_BITS,
                                 OTLP_GZIP_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
                        return -ENOMEM;
                h->zs_ready = true;
        } else if (deflateReset(&h->zs) != Z_OK)
                return -EIO;
        bound = deflateBound(&h->zs, (uLong)len);
        otel_buf_reset(&h->gz);
        r = otel_buf_reserve(&h->gz, bound);
        if (r < 0)
                return r;
        h->zs.next_in = (Bytef *)(uintptr_t)body;
        h->zs.avail_in = (uInt)len;
        h->zs.next_out = h->gz.data;
        h->zs.avail_out = (uInt)bound;
        /* deflateBound() guarantees a single Z_FINISH call completes. */
        if (deflate(&h->zs, Z_FINISH) != Z_STREAM_END)
                return -EIO;
        h->gz.len = bound - h->zs.avail_out;
        return 0;
}

static void sleep_until(uint64_t mono_ns)
{
        struct timespec ts = {.tv_sec = (time_t)(mono_ns / OTEL_NSEC_PER_SEC),
                              .tv_nsec = (long)(mono_ns % OTEL_NSEC_PER_SEC)};

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

/* The wait the server asked for (Retry-After on 429/503), if it gave a usable one. */
static bool http_retry_after(otlp_http *h, uint64_t *ret_ns)
{
        struct curl_header *hdr;

        if (curl_easy_header(h->curl, "Retry-After", 0, CURLH_HEADER, -1, &hdr) != CURLHE_OK)
                return false;
        return otlp_http_retry_after_parse(hdr->value, time(NULL), ret_ns) >= 0;
}

/* Nothing listens at the endpoint: curl could not resolve or reach it. */
static bool curl_code_is_unreachable(CURLcode cc)
{
        return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
               cc == CURLE_COULDNT_RESOLVE_PROXY;
}

/* A missing receiver is the normal state of a demo without a Collector: said once per process (all
 * signals together, with the way to silence it), then only every OTLP_HTTP_UNREACHABLE_LOG_NS;
 * the lost items are counted by the otel.sdk.* metrics in between, as mature SDKs do. */
static void http_log_unreachable(otlp_http *h, const char *what)
{
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        static bool reported;
        static uint64_t last_ns, suppressed;
        uint64_t now = otel_mono_ns(), n = 0;
        bool first, log;

        pthread_mutex_lock(&lock);
        first = !reported;
        log = first || now - last_ns >= OTLP_HTTP_UNREACHABLE_LOG_NS;
        if (log) {
                n = suppressed;
                reported = true;
                last_ns = now;
                suppressed = 0;
        } else
                suppressed++;
        pthread_mutex_unlock(&lock);
        if (!log)
                return;
        if (first)
                otel_diag(
                        OTEL_DIAG_WARN,
                        "no OTLP receiver at %s (%s): exports are tried once each and what they carried is "
                        "dropped, counted in the otel.sdk.* metrics (said again at most hourly); start a "
                        "Collector there, point "
                        "OTEL_EXPORTER_OTLP_ENDPOINT at one, or set OTEL_TRACES_EXPORTER=none "
                        "OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none",
                        h->cfg.url, what);
        else
                otel_diag(OTEL_DIAG_WARN,
                          "still no OTLP receiver at %s (%s): %" PRIu64
                          " exports failed since the last report",
                          h->cfg.url, what, n + 1);
}

static void http_log_failure(otlp_http *h, const otlp_http_result *res, CURLcode cc, int r)
{
        char what[OTLP_HTTP_LOG_BODY_MAX + 64], msg[OTLP_HTTP_LOG_BODY_MAX + 8], more[80] = "";
        uint64_t key, suppressed = 0;
        const char *why = "";

        if (res->attempts == 0) {
                snprintf(what, sizeof(what), "the export deadline passed before a request could be sent");
                key = otlp_log_key(what, 0);
        } else if (cc == CURLE_OK) {
                body_message(res, msg, sizeof(msg));
                snprintf(what, sizeof(what), "HTTP %ld%s%s", res->status, msg[0] ? ": " : "", msg);
                key = otlp_log_key(what, 1);
        } else if (!h->answered && curl_code_is_unreachable(cc)) {
                /* A receiver that answered before and went away is news: the per-minute limiter below. */
                http_log_unreachable(h, curl_easy_strerror(cc));
                return;
        } else {
                /* curl's error buffer holds timings that vary; the code alone identifies the failure. */
                snprintf(what, sizeof(what), "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
                key = otlp_log_key(curl_easy_strerror(cc), 2);
        }
        if (!otlp_log_limiter_allow(&h->limiter, key, otel_mono_ns(), &suppressed))
                return;
        if (suppressed)
                snprintf(more, sizeof(more), " (%" PRIu64 " more like it in the last minute)", suppressed);
        if (r == -EPROTO)
                why = ", not retryable";
        else if (r == -ETIMEDOUT && res->attempts)
                why = ", giving up at the export timeout";
        otel_diag(OTEL_DIAG_WARN, "OTLP %s export to %s failed after %u attempt%s%s: %s%s", h->cfg.signal,
                  h->cfg.url, res->attempts, res->attempts == 1 ? "" : "s", why, what, more);
}

int otlp_http_send(otlp_http *h, const void *body, size_t len, uint64_t deadline_ns, otlp_http_result *ret)
{
        uint64_t now = otel_mono_ns(), limit = now + h->cfg.timeout_ms * OTEL_NSEC_PER_MSEC;
        CURLcode cc = CURLE_OK;
        int r;

        *ret = (otlp_http_result){0};
        if (limit < deadline_ns)
                deadline_ns = limit;
        if (h->cfg.compression == OTLP_COMPRESSION_GZIP) {
                r = http_gzip(h, body, len);
                if (r < 0)
                        return r;
                body = h->gz.data;
                len = h->gz.len;
        }
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);

        for (unsigned attempt = 1;; attempt++) {
                uint64_t wait_ns, left_ms;
                char *ct = NULL;

                now = otel_mono_ns();
                if (now >= deadline_ns) {
                        r = -ETIMEDOUT;
                        break;
                }
                /* Curl's own timeouts end the attempt at the deadline, connecting included. */
                left_ms = (deadline_ns - now + OTEL_NSEC_PER_MSEC - 1) / OTEL_NSEC_PER_MSEC;
                curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)left_ms);
                curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)left_ms);
                otel_buf_reset(&h->resp);
                h->errbuf[0] = 0;
                if (h->cfg.request_counter)
                        atomic_fetch_add_explicit(h->cfg.request_counter, 1, memory_order_relaxed);
                ret->attempts = attempt;
                cc = curl_easy_perform(h->curl);
                ret->body = h->resp.data;
                ret->body_len = h->resp.len;
                ret->status = 0;
                ret->content_type = NULL;
                h->answered = h->answered || cc == CURLE_OK;
                if (!h->answered && curl_code_is_unreachable(cc)) {
                        /* An endpoint that never answered is not there (no Collector): one attempt per
                         * export, so that neither exports nor the flush at exit wait for it. */
                        r = -EIO;
                        break;
                }
                if (cc == CURLE_OK) {
                        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &ret->status);
                        curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &ct);
                        ret->content_type = ct;
                        if (ret->status >= 200 && ret->status < 300)
                                return 0;
                        if (!otlp_http_status_is_retryable(ret->status)) {
                                r = -EPROTO;
                                break;
                        }
                        if (!http_retry_after(h, &wait_ns))
                                wait_ns = otlp_http_backoff_ns(attempt, otel_random_unit());
                } else if (otel_http_curl_error_lookup(cc)->retryable) {
                        /* A connection that was refused, dropped or reset: the spec retries these. */
                        wait_ns = otlp_http_backoff_ns(attempt, otel_random_unit());
                } else {
                        r = otel_http_curl_error_lookup(cc)->err;
                        /* This transport's contract (otlp-http.h) names only these. */
                        if (r != -ETIMEDOUT && r != -ENOMEM)
                                r = -EIO;
                        break;
                }
                /* Never wait, nor send, past the deadline: give up now rather than sleep in vain. */
                now = otel_mono_ns();
                if (now >= deadline_ns || wait_ns >= deadline_ns - now) {
                        r = -ETIMEDOUT;
                        break;
                }
                sleep_until(now + wait_ns);
        }
        http_log_failure(h, ret, cc, r);
        return r;
}
