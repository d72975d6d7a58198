/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 9112 rules that libmicrohttpd 0.9.75 (Debian 12) leaves to the application, checked at the first
 * access call: no NUL byte in the request line, exactly one Host in HTTP/1.1 (§3.2), no whitespace
 * before a header's colon (§5.1), and the framing a request smuggler relies on (§6.1, §6.3).
 */
#include "http-private.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef struct http_framing_headers {
        size_t host;              /* Host lines */
        size_t content_length;    /* Content-Length lines */
        size_t transfer_encoding; /* Transfer-Encoding lines */
        const char *coding;       /* the first Transfer-Encoding value */
        bool space_in_name;       /* a field name with whitespace (before the colon) */
} http_framing_headers;

static enum MHD_Result http_framing_count(void *cls, enum MHD_ValueKind kind, const char *key,
                                          const char *value)
{
        http_framing_headers *h = cls;

        (void)kind;
        if (!key)
                return MHD_YES;
        if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
                h->host++;
        else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
                h->content_length++;
        else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0 && h->transfer_encoding++ == 0)
                h->coding = value ? value : "";
        h->space_in_name = h->space_in_name || strpbrk(key, " \t");
        return MHD_YES;
}

/* libmicrohttpd before 1.0 hands the method, target and version on as pointers into the request line
 * as it came, with the space after the method and the one before the version overwritten by NUL
 * ("GET\0/x\0HTTP/1.1", more spaces allowed before the target), so a NUL that came in the line cuts a
 * string short of its place: "GET /index.html\0.png" would be served as /index.html. The target is
 * compared as the URI log callback copied it, before libmicrohttpd decoded it in place. libmicrohttpd
 * 1.0 refuses such a line itself and lays the line out differently, so the check is only made before. */
static bool http_request_line_has_nul(const char *method, const char *raw_target, const char *url,
                                      const char *version)
{
        uintptr_t m = (uintptr_t)method, u = (uintptr_t)url, v = (uintptr_t)version;
        const char *p;

        if (strncmp(MHD_get_version(), "0.", 2) != 0 || !raw_target || m >= u || u >= v)
                return false;
        p = method + strlen(method) + 1; /* past the method's NUL: the overwritten space, or one sent */
        while ((uintptr_t)p < u && *p == ' ')
                p++;
        return (uintptr_t)p != u || strlen(raw_target) + 1 != v - u;
}

unsigned http_framing_check(struct MHD_Connection *conn, const char *method, const char *raw_target,
                            const char *url, const char *version, const char **ret_why)
{
        http_framing_headers h = {0};

        (void)MHD_get_connection_values(conn, MHD_HEADER_KIND, http_framing_count, &h);
        if (http_request_line_has_nul(method, raw_target, url, version))
                *ret_why = "request line contains a NUL byte";
        else if (h.host > 1 || (h.host == 0 && strcmp(version, MHD_HTTP_VERSION_1_0) != 0))
                *ret_why = "an HTTP/1.1 request needs exactly one Host header";
        else if (h.space_in_name)
                *ret_why = "whitespace in a header field name";
        else if (h.content_length > 1)
                *ret_why = "more than one Content-Length header";
        else if (h.transfer_encoding > 1 ||
                 (h.transfer_encoding == 1 && strcasecmp(h.coding, "chunked") != 0)) {
                *ret_why = "only the chunked transfer coding is implemented";
                return MHD_HTTP_NOT_IMPLEMENTED;
        } else if (h.transfer_encoding && h.content_length)
                *ret_why = "both Transfer-Encoding and Content-Length";
        else
                return 0;
        return MHD_HTTP_BAD_REQUEST;
}
