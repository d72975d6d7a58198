/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP client instrumentation shared by the project's libcurl users (see otel-http.h): semantic
 * conventions for HTTP client spans and metrics (stable since v1.23), URL → server.address/port, and
 * the one CURLcode table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otel-http.h"

/* RFC 9110 section 9 and PATCH (RFC 5789): the methods the conventions name; anything else is _OTHER. */
const char *otel_http_method_semconv(const char *method)
{
        static const char *const known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                            "CONNECT", "OPTIONS", "TRACE", "PATCH"};

        for (size_t i = 0; method && i < sizeof(known) / sizeof(known[0]); i++)
                if (strcmp(method, known[i]) == 0)
                        return known[i];
        return "_OTHER";
}

/* ---- URL → server ------------------------------------------------------------------------------ */

int otel_http_url_server(const char *url, otel_http_server *ret)
{
        char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *fragment = NULL;
        otel_http_server s = {0};
        CURLU *u = curl_url();
        const char *h, *sep;
        size_t hlen;
        char *end;
        long p;
        int r = -EINVAL;

        if (!u)
                return -ENOMEM;
        /* libcurl reads "http:///x" as host "x"; an empty authority is no server. */
        sep = url ? strstr(url, "://") : NULL;
        if (!sep || sep[3] == '/' || sep[3] == '\0')
                goto out;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
                goto out;
        if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
                goto out;
        /* An IPv6 literal comes back in brackets; server.address is the bare address. */
        h = host;
        hlen = strlen(host);
        if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
                h++;
                hlen -= 2;
        }
        if (hlen == 0 || hlen >= sizeof(s.address))
                goto out;
        errno = 0;
        p = strtol(port, &end, 10);
        if (errno != 0 || end == port || *end || p <= 0 || p > 65535)
                goto out;
        memcpy(s.address, h, hlen);
        s.port = p;
        s.path_is_root = strcmp(path, "/") == 0 &&
                         curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK &&
                         curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) != CURLUE_OK;
        *ret = s;
        r = 0;
out:
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_free(query);
        curl_free(fragment);
        curl_url_cleanup(u);
        return r;
}

/* ---- CURLcode → meaning --------------------------------------------------------------------------- */

/* error.type values are low-cardinality names (the conventions' advice); "_OTHER" is their fallback. */
static const otel_http_curl_error curl_ok = {NULL, 0, false};
static const otel_http_curl_error curl_timeout = {"timeout", -ETIMEDOUT, false};
static const otel_http_curl_error curl_refused = {"connection_refused", -ECONNREFUSED, true};
static const otel_http_curl_error curl_resolve = {"name_resolution_error", -EHOSTUNREACH, false};
static const otel_http_curl_error curl_reset = {"connection_reset", -ECONNRESET, true};
static const otel_http_curl_error curl_tls = {"tls_error", -EIO, false};
static const otel_http_curl_error curl_oom = {"out_of_memory", -ENOMEM, false};
static const otel_http_curl_error curl_other = {"_OTHER", -EIO, false};

const otel_http_curl_error *otel_http_curl_error_lookup(CURLcode cc)
{
        switch (cc) {
        case CURLE_OK:
                return &curl_ok;
        case CURLE_OPERATION_TIMEDOUT:
                return &curl_timeout;
        case CURLE_COULDNT_CONNECT:
                return &curl_refused;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return &curl_resolve;
        /* The connection broke after it was made: nothing, or only part of a reply, came back. */
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                return &curl_reset;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
                return &curl_tls;
        case CURLE_OUT_OF_MEMORY:
                return &curl_oom;
        default:
                return &curl_other;
        }
}

/* ---- reply body ----------------------------------------------------------------------------------- */

size_t otel_http_body_write(char *data, size_t size, size_t nmemb, void *userdata)
{
        otel_http_body *b = userdata;
        int r = otel_buf_append(&b->buf, data, size * nmemb);

        if (r < 0) {
                if (r == -E2BIG)
                        b->too_large = true;
                else
                        b->oom = true;
                return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
        }
        return size * nmemb;
}

/* ---- url.full redaction --------------------------------------------------------------------------- */

#define OTEL_HTTP_REDACTED          "REDACTED"
#define OTEL_HTTP_REDACTED_USERINFO "REDACTED:REDACTED"

/* The query keys whose values the semantic conventions redact by default (exact, case-sensitive). */
static bool otel_http_query_key_sensitive(const char *key, size_t len)
{
        static const char *const keys[] = {"AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"};

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (strlen(keys[i]) == len && memcmp(keys[i], key, len) == 0)
                        return true;
        return false;
}

int otel_http_url_redact(const char *url, char **ret)
{
        const char *auth = strstr(url, "://"), *auth_end, *at = NULL, *query, *end;
        size_t pairs = 0, len = strlen(url), o = 0;
        bool changed = false;
        char *out;

        *ret = NULL;
        if (!auth)
                return 0;
        auth += 3;
        auth_end = auth + strcspn(auth, "/?#");
        for (const char *p = auth; p < auth_end; p++)
                if (*p == '@')
                        at = p; /* the last '@' ends the userinfo (RFC 3986 3.2.1) */
        query = strchr(auth_end, '?');
        if (query && strchr(auth_end, '#') && strchr(auth_end, '#') < query)
                query = NULL; /* a '?' inside the fragment */
        for (const char *p = query ? query + 1 : NULL; p && *p && *p != '#'; p++) {
                size_t plen = strcspn(p, "&#"), klen = strcspn(p, "=&#");

                if (klen < plen && otel_http_query_key_sensitive(p, klen))
                        changed = true;
                pairs++;
                p += plen;
                if (*p != '&')
                        break;
        }
        if (!at && !changed)
                return 0; /* nothing to redact: the common case allocates nothing */
        out = malloc(len + sizeof(OTEL_HTTP_REDACTED_USERINFO) + pairs * sizeof(OTEL_HTTP_REDACTED) + 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, url, (size_t)(auth - url));
        o = (size_t)(auth - url);
        if (at) {
                memcpy(out + o, OTEL_HTTP_REDACTED_USERINFO, sizeof(OTEL_HTTP_REDACTED_USERINFO) - 1);
                o += sizeof(OTEL_HTTP_REDACTED_USERINFO) - 1;
                auth = at;
        }
        end = query ? query + 1 : url + len;
        memcpy(out + o, auth, (size_t)(end - auth));
        o += (size_t)(end - auth);
        /* key=value pairs up to the fragment; a sensitive key keeps its name, its value goes. */
        while (query && *end && *end != '#') {
                size_t plen = strcspn(end, "&#"), klen = strcspn(end, "=&#");

                if (klen < plen && otel_http_query_key_sensitive(end, klen)) {
                        memcpy(out + o, end, klen + 1);
                        o += klen + 1;
                        memcpy(out + o, OTEL_HTTP_REDACTED, sizeof(OTEL_HTTP_REDACTED) - 1);
                        o += sizeof(OTEL_HTTP_REDACTED) - 1;
                } else {
                        memcpy(out + o, end, plen);
                        o += plen;
                }
                end += plen;
                if (*end == '&')
                        out[o++] = *end++;
        }
        memcpy(out + o, end, strlen(end) + 1);
        *ret = out;
        return 1;
}

/* ---- the CLIENT span ------------------------------------------------------------------------------ */

void otel_http_client_start(otel_http_client *ret, const otel_http_client_opts *opts)
{
        otel_attr attrs[5 + OTEL_HTTP_CLIENT_ATTRS_MAX];
        size_t n = 0, extra = opts->n_attrs < OTEL_HTTP_CLIENT_ATTRS_MAX ? opts->n_attrs
                                                                         : OTEL_HTTP_CLIENT_ATTRS_MAX;
        const char *method = otel_http_method_semconv(opts->method);
        const char *name = opts->span_name;
        char *redacted = NULL;

        *ret = (otel_http_client){
                .method = method,
                .server = opts->server,
                .duration = opts->duration,
        };
        attrs[n++] = OTEL_ATTR_STR("http.request.method", method);
        if (method[0] == '_')
                attrs[n++] = OTEL_ATTR_STR("http.request.method_original", opts->method);
        /* Without memory to redact it, no url.full at all rather than one with secrets. */
        if (otel_http_url_redact(opts->url, &redacted) >= 0)
                attrs[n++] = OTEL_ATTR_STR("url.full", redacted ? redacted : opts->url);
        attrs[n++] = OTEL_ATTR_STR("server.address", opts->server->address);
        attrs[n++] = OTEL_ATTR_I64("server.port", opts->server->port);
        for (size_t i = 0; i < extra; i++)
                attrs[n++] = opts->attrs[i];
        if (!name)
                name = method[0] == '_' ? "HTTP" : method;
        ret->span = otel_span_start(opts->tracer, name, OTEL_SPAN_KIND_CLIENT,
                                    &(otel_span_start_opts){.attrs = attrs, .n_attrs = n});
        free(redacted); /* the span keeps its own copy */
        ret->start_mono_ns = otel_mono_ns();
}

void otel_http_client_end(otel_http_client *c, CURLcode cc, long status, const char *error_type,
                          const char *description)
{
        otel_attr metric[5];
        size_t n = 0;

        c->error_type = NULL;
        if (!error_type && cc == CURLE_OK) {
                otel_span_set_int(c->span, "http.response.status_code", status);
                if (status >= 400) {
                        /* A 4xx is an error from the client's point of view (unlike a server's). */
                        (void)snprintf(c->status_text, sizeof(c->status_text), "%ld", status);
                        c->error_type = c->status_text;
                        otel_span_set_status(c->span, OTEL_STATUS_ERROR, NULL);
                }
        } else {
                c->error_type = error_type ? error_type : otel_http_curl_error_lookup(cc)->error_type;
                otel_span_set_status(c->span, OTEL_STATUS_ERROR,
                                     description ? description : curl_easy_strerror(cc));
        }
        if (c->error_type)
                otel_span_set_str(c->span, "error.type", c->error_type);
        if (c->duration) {
                metric[n++] = OTEL_ATTR_STR("http.request.method", c->method);
                metric[n++] = OTEL_ATTR_STR("server.address", c->server->address);
                metric[n++] = OTEL_ATTR_I64("server.port", c->server->port);
                if (!error_type && cc == CURLE_OK)
                        metric[n++] = OTEL_ATTR_I64("http.response.status_code", status);
                if (c->error_type)
                        metric[n++] = OTEL_ATTR_STR("error.type", c->error_type);
                otel_instrument_record(c->duration, (double)(otel_mono_ns() - c->start_mono_ns) / 1e9,
                                       metric, n);
        }
        otel_span_end(c->span);
        c->span = NULL;
}
