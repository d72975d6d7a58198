/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the frontend's reading of a backend reply's head (src/frontend/proxy.c): the
 * input is split into lines and handed to libcurl's header callback as libcurl would (status lines,
 * header lines, the empty line; never a NUL byte). proxy.c is included so that its static callback is
 * reached without a network. Invariants: at most PROXY_REPLY_HEADERS_MAX headers are kept, none of them
 * hop-by-hop or set by the frontend itself; kept names are the bytes before the line's first ':' and kept
 * values carry no surrounding whitespace nor a line ending at their end; a status line forgets what an
 * earlier reply sent.
 */
#include "../../src/frontend/proxy.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-proxy-response: %s\n", what);
                abort();
        }
}

static bool is_ows(char c)
{
        return c == ' ' || c == '\t';
}

static bool is_ows_or_eol(char c)
{
        return is_ows(c) || c == '\r' || c == '\n';
}

static void check_exchange(const proxy_exchange *ex)
{
        check(ex->n_headers <= PROXY_REPLY_HEADERS_MAX, "too many headers kept");
        for (size_t i = 0; i < ex->n_headers; i++) {
                const char *n = ex->headers[i].name, *v = ex->headers[i].value;
                size_t vlen = strlen(v);

                check(!strchr(n, ':'), "name with ':'");
                check(!proxy_reply_header_dropped(n), "a dropped header is passed on");
                check(vlen == 0 || (!is_ows(v[0]) && !is_ows_or_eol(v[vlen - 1])), "value not trimmed");
        }
        if (ex->content_type) {
                size_t clen = strlen(ex->content_type);

                check(clen == 0 ||
                              (!is_ows(ex->content_type[0]) && !is_ows_or_eol(ex->content_type[clen - 1])),
                      "content type not trimmed");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        proxy_exchange ex = {0};
        size_t pos = 0;

        while (pos < size) {
                const uint8_t *nl = memchr(data + pos, '\n', size - pos);
                size_t len = nl ? (size_t)(nl - (data + pos)) + 1 : size - pos;
                char *line = malloc(len); /* exactly the line: ASan sees a read past its end */
                size_t had = ex.n_headers;
                bool status = len >= 5 && memcmp(data + pos, "HTTP/", 5) == 0;

                if (!line)
                        abort();
                /* libcurl fails the transfer on a NUL byte in the head ("Nul byte in header") instead
                 * of calling back with it. */
                if (memchr(data + pos, '\0', len)) {
                        free(line);
                        break;
                }
                memcpy(line, data + pos, len);
                check(proxy_on_header(line, 1, len, &ex) == len, "header callback refused a line");
                if (status)
                        check(ex.n_headers == 0 && !ex.content_type, "status line kept old headers");
                else
                        check(ex.n_headers == had || ex.n_headers == had + 1, "header count jumped");
                check_exchange(&ex);
                free(line);
                pos += len;
        }
        proxy_exchange_clear_headers(&ex);
        return 0;
}
