/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Routing table (see http-router.h). Patterns are split into typed segments when added, so a lookup
 * is one split of the request path and a segment-by-segment comparison per route; with the few dozen
 * routes of a daemon this is faster and clearer than a tree.
 */
#include "http-router.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum http_segment_kind {
        HTTP_SEGMENT_WILDCARD, /* "*": the rest of the path; least specific */
        HTTP_SEGMENT_PARAM,    /* "{name}": any one non-empty segment */
        HTTP_SEGMENT_LITERAL,  /* exact text; most specific */
        _HTTP_SEGMENT_KIND_MAX,
} http_segment_kind;

typedef struct http_segment {
        http_segment_kind kind;
        char *text; /* literal text or parameter name (owned); NULL for the wildcard */
} http_segment;

typedef struct http_route {
        char method[16]; /* upper-case method */
        char *pattern;   /* owned copy of the template */
        http_segment segments[HTTP_ROUTER_MAX_SEGMENTS];
        size_t n_segments;
        http_handler_fn handler;
        void *userdata;
} http_route;

struct http_router {
        http_route *routes; /* owned array */
        size_t n_routes;
        size_t cap_routes;
};

int http_router_new(http_router **ret)
{
        http_router *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

static void http_route_clear(http_route *rt)
{
        for (size_t i = 0; i < rt->n_segments; i++)
                free(rt->segments[i].text);
        free(rt->pattern);
}

void http_router_free(http_router *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_routes; i++)
                http_route_clear(&r->routes[i]);
        free(r->routes);
        free(r);
}

/* Splits "/a/b/c" in place into segments; "/" has none. -EINVAL without the leading '/', -E2BIG over
 * the cap. */
static int http_split_path(char *path, char *segs[HTTP_ROUTER_MAX_SEGMENTS], size_t *ret_n)
{
        size_t n = 0;
        char *p;

        if (path[0] != '/')
                return -EINVAL;
        p = path + 1;
        if (*p == '\0') {
                *ret_n = 0;
                return 0;
        }
        for (;;) {
                char *slash = strchr(p, '/');

                if (n >= HTTP_ROUTER_MAX_SEGMENTS)
                        return -E2BIG;
                segs[n++] = p;
                if (!slash)
                        break;
                *slash = '\0';
                p = slash + 1;
        }
        *ret_n = n;
        return 0;
}

static int http_route_parse(http_route *rt, const char *pattern)
{
        char *copy, *segs[HTTP_ROUTER_MAX_SEGMENTS];
        size_t n, n_params = 0;
        int r;

        if (strlen(pattern) > HTTP_ROUTER_MAX_PATH)
                return -E2BIG;
        copy = strdup(pattern);
        if (!copy)
                return -ENOMEM;
        r = http_split_path(copy, segs, &n);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(segs[i]);
                http_segment *seg = &rt->segments[i];

                r = -EINVAL;
                if (len == 0)
                        goto out;
                if (strcmp(segs[i], "*") == 0) {
                        if (i != n - 1)
                                goto out; /* the wildcard only ends a pattern */
                        seg->kind = HTTP_SEGMENT_WILDCARD;
                        rt->n_segments = i + 1;
                        continue;
                }
                if (segs[i][0] == '{') {
                        if (len < 3 || segs[i][len - 1] != '}' || strpbrk(segs[i] + 1, "{*") ||
                            memchr(segs[i] + 1, '}', len - 2))
                                goto out;
                        if (++n_params > HTTP_ROUTER_MAX_PARAMS) {
                                r = -E2BIG;
                                goto out;
                        }
                        seg->kind = HTTP_SEGMENT_PARAM;
                        seg->text = strndup(segs[i] + 1, len - 2);
                } else {
                        if (strpbrk(segs[i], "{}*"))
                                goto out;
                        seg->kind = HTTP_SEGMENT_LITERAL;
                        seg->text = strdup(segs[i]);
                }
                rt->n_segments = i + 1;
                if (!seg->text) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        r = 0;
out:
        free(copy);
        return r;
}

int http_router_add(http_router *r, const char *method, const char *pattern, http_handler_fn handler,
                    void *userdata)
{
        http_route rt = {0};
        int ret;

        if (!method || !pattern || !handler || strlen(method) == 0 || strlen(method) >= sizeof(rt.method))
                return -EINVAL;
        for (size_t i = 0; i < r->n_routes; i++)
                if (strcmp(r->routes[i].method, method) == 0 && strcmp(r->routes[i].pattern, pattern) == 0)
                        return -EEXIST;

        memcpy(rt.method, method, strlen(method) + 1);
        rt.handler = handler;
        rt.userdata = userdata;
        rt.pattern = strdup(pattern);
        if (!rt.pattern)
                return -ENOMEM;
        ret = http_route_parse(&rt, pattern);
        if (ret < 0)
                goto fail;
        if (r->n_routes == r->cap_routes) {
                size_t ncap = r->cap_routes ? r->cap_routes * 2 : 16;
                http_route *p = reallocarray(r->routes, ncap, sizeof(*p));

                ret = -ENOMEM;
                if (!p)
                        goto fail;
                r->routes = p;
                r->cap_routes = ncap;
        }
        r->routes[r->n_routes++] = rt;
        return 0;
fail:
        http_route_clear(&rt);
        return ret;
}

/* Whether rt matches the split path; fills the specificity (one kind per segment) for ranking. */
static bool http_route_matches(const http_route *rt, char *const segs[], size_t n,
                               http_segment_kind ret_kinds[HTTP_ROUTER_MAX_SEGMENTS + 1])
{
        for (size_t i = 0; i < rt->n_segments; i++) {
                const http_segment *seg = &rt->segments[i];

                ret_kinds[i] = seg->kind;
                if (seg->kind == HTTP_SEGMENT_WILDCARD) {
                        ret_kinds[i + 1] = HTTP_SEGMENT_WILDCARD; /* pads to the compared length */
                        return true;                              /* matches the rest, including nothing */
                }
                if (i >= n)
                        return false;
                if (seg->kind == HTTP_SEGMENT_PARAM) {
                        if (segs[i][0] == '\0')
                                return false;
                } else if (strcmp(seg->text, segs[i]) != 0) {
                        return false;
                }
        }
        ret_kinds[rt->n_segments] = _HTTP_SEGMENT_KIND_MAX; /* an exact end beats a wildcard */
        return rt->n_segments == n;
}

/* > 0 when a is more specific than b: compare segment by segment, the first difference decides. */
static int http_kinds_compare(const http_segment_kind *a, size_t na, const http_segment_kind *b, size_t nb)
{
        for (size_t i = 0; i < na && i < nb; i++)
                if (a[i] != b[i])
                        return a[i] > b[i] ? 1 : -1;
        return 0;
}

static bool http_method_matches(const char *route_method, const char *method)
{
        if (strcmp(route_method, method) == 0)
                return true;
        return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

static void http_allow_add(char *allow, const char *method)
{
        size_t len = strlen(allow), mlen = strlen(method);

        /* Already listed? Compare whole words. */
        for (const char *p = allow; (p = strstr(p, method)); p += mlen)
                if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
                        return;
        if (len + mlen + 3 > HTTP_ROUTER_ALLOW_MAX)
                return;
        if (len > 0) {
                memcpy(allow + len, ", ", 2);
                len += 2;
        }
        memcpy(allow + len, method, mlen + 1);
}

int http_router_lookup(const http_router *r, const char *method, const char *path, http_route_match *ret,
                       char *ret_allow)
{
        char *segs[HTTP_ROUTER_MAX_SEGMENTS];
        http_segment_kind best_kinds[HTTP_ROUTER_MAX_SEGMENTS + 1], kinds[HTTP_ROUTER_MAX_SEGMENTS + 1];
        const http_route *best = NULL;
        size_t n, plen = strlen(path), best_n = 0;
        bool path_known = false;

        if (ret_allow)
                ret_allow[0] = '\0';
        if (plen > HTTP_ROUTER_MAX_PATH)
                return -ENOENT;
        memcpy(ret->buf, path, plen + 1);
        if (http_split_path(ret->buf, segs, &n) < 0)
                return -ENOENT;

        for (size_t i = 0; i < r->n_routes; i++) {
                const http_route *rt = &r->routes[i];
                size_t nk = rt->n_segments + 1;

                if (!http_route_matches(rt, segs, n, kinds))
                        continue;
                if (!http_method_matches(rt->method, method)) {
                        path_known = true;
                        if (ret_allow)
                                http_allow_add(ret_allow, rt->method);
                        continue;
                }
                if (!best || http_kinds_compare(kinds, nk, best_kinds, best_n) > 0) {
                        best = rt;
                        best_n = nk;
                        memcpy(best_kinds, kinds, sizeof(kinds));
                }
        }
        if (!best)
                return path_known ? -EOPNOTSUPP : -ENOENT;

        ret->pattern = best->pattern;
        ret->handler = best->handler;
        ret->userdata = best->userdata;
        ret->n_params = 0;
        ret->rest = NULL;
        for (size_t i = 0; i < best->n_segments; i++) {
                const http_segment *seg = &best->segments[i];

                if (seg->kind == HTTP_SEGMENT_PARAM) {
                        ret->param_names[ret->n_params] = seg->text;
                        ret->param_values[ret->n_params++] = segs[i];
                } else if (seg->kind == HTTP_SEGMENT_WILDCARD) {
                        /* The rest of the original path, separators included. */
                        ret->rest = i < n ? path + (segs[i] - ret->buf) : "";
                }
        }
        return 0;
}

const char *http_route_match_param(const http_route_match *m, const char *name)
{
        for (size_t i = 0; i < m->n_params; i++)
                if (strcmp(m->param_names[i], name) == 0)
                        return m->param_values[i];
        return NULL;
}

static bool http_byte_is_control(unsigned char c)
{
        return c < 0x20 || c == 0x7f;
}

int http_path_check(const char *target, size_t *ret_len)
{
        size_t len = 0;
        bool control = false;

        for (const char *p = target; *p && *p != '?' && *p != '#'; len++) {
                int hi = p[0] == '%' ? otel_hex_digit_value(p[1]) : -1;
                int lo = hi >= 0 ? otel_hex_digit_value(p[2]) : -1;
                unsigned char c;

                if (lo >= 0) {
                        c = (unsigned char)(hi << 4 | lo);
                        p += 3;
                } else {
                        c = (unsigned char)*p++;
                }
                control = control || http_byte_is_control(c);
        }
        if (ret_len)
                *ret_len = len;
        return control ? -EILSEQ : 0;
}
