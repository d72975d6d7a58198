/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for request path handling (src/common/http-router.c): the input is a raw request
 * target. http_path_check() must agree with an independent decoding done here (the control byte
 * verdict and the decoded length), and a path without control bytes, decoded as libmicrohttpd would,
 * is looked up in the backend's and frontend's routing tables. Invariants of a match: the route's
 * literal segments equal the path's, parameters are non-empty and contain no '/', the wildcard rest
 * is a suffix of the path; a 405 comes with a non-empty Allow list.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http-router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-router: %s\n", what);
                abort();
        }
}

static void handler(http_request *req, void *userdata)
{
        (void)req;
        (void)userdata;
}

static const char *const routes[][2] = {
        {"GET", "/healthz"},
        {"GET", "/readyz"},
        {"GET", "/api/products"},
        {"GET", "/api/products/{id}"},
        {"GET", "/api/users"},
        {"POST", "/api/users"},
        {"GET", "/api/users/{id}"},
        {"GET", "/api/users/{id}/orders"},
        {"POST", "/api/orders"},
        {"GET", "/api/orders/{id}"},
        {"PUT", "/admin/faults"},
        {"GET", "/admin/faults"},
        {"GET", "/api/*"},
        {"POST", "/api/*"},
        {"GET", "/*"},
};

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};

static http_router *router(void)
{
        static http_router *r;

        if (r)
                return r;
        if (http_router_new(&r) < 0)
                abort();
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
                if (http_router_add(r, routes[i][0], routes[i][1], handler, NULL) < 0)
                        abort();
        return r;
}

static int hex(char c)
{
        const char *digits = "0123456789abcdef", *p;

        if (c >= 'A' && c <= 'F')
                c = (char)(c - 'A' + 'a');
        p = c ? strchr(digits, c) : NULL;
        return p ? (int)(p - digits) : -1;
}

/* The path part of target, percent-decoded; *ret_control when a decoded byte is a control byte. */
static size_t decode(const char *target, char *out, bool *ret_control)
{
        size_t n = 0;

        *ret_control = false;
        for (size_t i = 0; target[i] && target[i] != '?' && target[i] != '#';) {
                unsigned char c = (unsigned char)target[i];

                if (c == '%' && hex(target[i + 1]) >= 0 && hex(target[i + 2]) >= 0) {
                        c = (unsigned char)(hex(target[i + 1]) * 16 + hex(target[i + 2]));
                        i += 3;
                } else {
                        i++;
                }
                if (c < 0x20 || c == 0x7f)
                        *ret_control = true;
                out[n++] = (char)c;
        }
        out[n] = '\0';
        return n;
}

/* Walks the pattern and the path ("/a/b", segments between single '/') side by side. */
static void check_match(const char *path, const http_route_match *m)
{
        const char *pat = m->pattern + 1, *p = path + 1;
        size_t n_params = 0;
        bool path_done = path[1] == '\0'; /* "/" has no segment */

        check(path[0] == '/' && m->pattern[0] == '/', "leading '/'");
        while (*pat) {
                size_t plen = strcspn(pat, "/"), len;

                if (strncmp(pat, "*", plen) == 0 && plen == 1) {
                        check(m->rest != NULL && strcmp(m->rest, path_done ? "" : p) == 0,
                              "rest is not the remaining path");
                        check(n_params == m->n_params, "parameter count");
                        return;
                }
                check(!path_done, "route longer than the path");
                len = strcspn(p, "/");
                if (pat[0] == '{') {
                        check(len > 0, "empty parameter");
                        check(n_params < m->n_params, "parameter count");
                        check(strlen(m->param_values[n_params]) == len &&
                                      strncmp(m->param_values[n_params], p, len) == 0,
                              "parameter value is not the path segment");
                        n_params++;
                } else {
                        check(plen == len && strncmp(pat, p, len) == 0, "literal segment differs");
                }
                pat += plen + (pat[plen] == '/');
                if (p[len] == '/')
                        p += len + 1;
                else
                        path_done = true;
        }
        check(path_done, "path longer than the route");
        check(n_params == m->n_params, "parameter count");
        check(m->rest == NULL, "rest without wildcard");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *target = malloc(size + 1);
        char *path = malloc(size + 1);
        char allow[HTTP_ROUTER_ALLOW_MAX];
        http_route_match *m = malloc(sizeof(*m));
        size_t len, want_len;
        bool control;
        int r;

        if (!target || !path || !m)
                abort();
        memcpy(target, data, size);
        target[size] = '\0';
        want_len = decode(target, path, &control);
        r = http_path_check(target, &len);
        check(r == (control ? -EILSEQ : 0), "control byte verdict differs");
        check(len == want_len, "decoded length differs");
        if (r == 0) {
                const char *method = methods[size % (sizeof(methods) / sizeof(methods[0]))];

                r = http_router_lookup(router(), method, path, m, allow);
                check(r == 0 || r == -ENOENT || r == -EOPNOTSUPP, "lookup result");
                if (r == 0)
                        check_match(path, m);
                else if (r == -EOPNOTSUPP)
                        check(allow[0] != '\0', "405 without Allow");
        }
        free(m);
        free(path);
        free(target);
        return 0;
}
