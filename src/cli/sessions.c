/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session state machines of the load generator (see sessions.h). Ids and search words come from the
 * replies of earlier steps, as a person clicking through the shop would get them; until a list reply
 * has been seen, ids are drawn from a small range that the sample data always has.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "sessions.h"

static const char *const kind_names[_LOAD_SESSION_KIND_MAX] = {
        [LOAD_SESSION_BROWSE] = "browse",
        [LOAD_SESSION_ORDER] = "order",
        [LOAD_SESSION_USER] = "user",
};

static const struct {
        const char *method;
        const char *route;
} endpoints[_LOAD_EP_MAX] = {
        [LOAD_EP_PRODUCTS_LIST] = {"GET", "/api/products"},
        [LOAD_EP_PRODUCT_GET] = {"GET", "/api/products/{id}"},
        [LOAD_EP_USERS_LIST] = {"GET", "/api/users"},
        [LOAD_EP_USER_GET] = {"GET", "/api/users/{id}"},
        [LOAD_EP_USER_ORDERS] = {"GET", "/api/users/{id}/orders"},
        [LOAD_EP_ORDER_CREATE] = {"POST", "/api/orders"},
};

/* Search words for when no product name has been seen yet. */
static const char *const fallback_words[] = {"coffee", "lamp", "book", "tea", "pro"};

const char *load_session_kind_to_string(load_session_kind k)
{
        return k >= 0 && k < _LOAD_SESSION_KIND_MAX ? kind_names[k] : NULL;
}

load_session_kind load_session_kind_from_string_n(const char *s, size_t len)
{
        for (int k = 0; k < _LOAD_SESSION_KIND_MAX; k++)
                if (strlen(kind_names[k]) == len && strncmp(s, kind_names[k], len) == 0)
                        return (load_session_kind)k;
        return _LOAD_SESSION_KIND_INVALID;
}

const char *load_endpoint_method(load_endpoint ep)
{
        return ep >= 0 && ep < _LOAD_EP_MAX ? endpoints[ep].method : NULL;
}

const char *load_endpoint_route(load_endpoint ep)
{
        return ep >= 0 && ep < _LOAD_EP_MAX ? endpoints[ep].route : NULL;
}

load_session_kind load_mix_pick(const load_mix *mix, unsigned r)
{
        unsigned cum = 0;

        for (int k = 0; k < _LOAD_SESSION_KIND_MAX; k++) {
                cum += mix->pct[k];
                if (r < cum)
                        return (load_session_kind)k;
        }
        /* Only reachable with a mix that does not sum to 100; the parser rejects those. */
        return LOAD_SESSION_BROWSE;
}

static uint64_t splitmix64(uint64_t *x)
{
        uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

void load_session_init(load_session *s, uint64_t seed)
{
        uint64_t x = seed;

        memset(s, 0, sizeof(*s));
        /* splitmix64 spreads any seed (even 0) over a non-zero xoroshiro state. */
        s->rng[0] = splitmix64(&x);
        s->rng[1] = splitmix64(&x);
        s->kind = _LOAD_SESSION_KIND_INVALID;
}

static uint64_t rotl(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

uint64_t load_session_random(load_session *s)
{
        uint64_t s0 = s->rng[0], s1 = s->rng[1], result = s0 + s1;

        s1 ^= s0;
        s->rng[0] = rotl(s0, 24) ^ s1 ^ (s1 << 16);
        s->rng[1] = rotl(s1, 37);
        return result;
}

/* Uniform in [0, n) for n > 0 (modulo bias is irrelevant for n far below 2^64). */
static uint64_t rand_below(load_session *s, uint64_t n)
{
        return n ? load_session_random(s) % n : 0;
}

static int64_t random_offset(load_session *s, int64_t total)
{
        if (total <= LOAD_PAGE_SIZE)
                return 0;
        return (int64_t)rand_below(s, (uint64_t)(total - LOAD_PAGE_SIZE + 1));
}

static int64_t pick_id(load_session *s, int64_t known, int64_t total)
{
        if (known > 0)
                return known;
        return 1 + (int64_t)rand_below(s, (uint64_t)(total > 0 ? total : LOAD_FALLBACK_IDS));
}

static void start_session(load_session *s, const load_mix *mix)
{
        s->kind = load_mix_pick(mix, (unsigned)rand_below(s, 100));
        s->sessions[s->kind]++;
        s->step = 0;
        s->user_id = 0;
        s->product_id = 0;
        s->views_left = 1 + (unsigned)rand_below(s, LOAD_MAX_VIEWS);
}

static void req_set(load_request *req, load_endpoint ep, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void req_set(load_request *req, load_endpoint ep, const char *fmt, ...)
{
        va_list ap;

        req->endpoint = ep;
        va_start(ap, fmt);
        (void)vsnprintf(req->path, sizeof(req->path), fmt, ap);
        va_end(ap);
        req->body[0] = '\0';
        req->idempotency_key[0] = '\0';
        req->attempt = 1;
}

/* The requests more than one kind of session makes. */
static void req_products_page(load_session *s, load_request *req)
{
        req_set(req, LOAD_EP_PRODUCTS_LIST, "/api/products?limit=%d&offset=%" PRId64, LOAD_PAGE_SIZE,
                random_offset(s, s->products_total));
}

static void req_users_page(load_session *s, load_request *req)
{
        req_set(req, LOAD_EP_USERS_LIST, "/api/users?limit=%d&offset=%" PRId64, LOAD_PAGE_SIZE,
                random_offset(s, s->users_total));
}

static void req_user_orders(const load_session *s, load_request *req)
{
        req_set(req, LOAD_EP_USER_ORDERS, "/api/users/%" PRId64 "/orders", s->user_id);
}

/* One step of the current session; returns false when the session has no step left. */
static bool session_step(load_session *s, load_request *req)
{
        unsigned step = s->step++;

        switch (s->kind) {
        case LOAD_SESSION_BROWSE:
                if (step == 0) {
                        req_products_page(s, req);
                        return true;
                }
                if (step == 1) {
                        const char *w =
                                s->word[0] ? s->word
                                           : fallback_words[rand_below(s, sizeof(fallback_words) /
                                                                                  sizeof(*fallback_words))];

                        req_set(req, LOAD_EP_PRODUCTS_LIST, "/api/products?q=%s&limit=%d", w,
                                LOAD_PAGE_SIZE);
                        return true;
                }
                if (s->views_left == 0)
                        return false;
                s->views_left--;
                req_set(req, LOAD_EP_PRODUCT_GET, "/api/products/%" PRId64,
                        pick_id(s, s->product_id, s->products_total));
                /* The next view is of another product from the same page. */
                s->product_id = 0;
                return true;
        case LOAD_SESSION_ORDER:
                switch (step) {
                case 0:
                        req_users_page(s, req);
                        return true;
                case 1:
                        req_products_page(s, req);
                        return true;
                case 2:
                        s->product_id = pick_id(s, s->product_id, s->products_total);
                        req_set(req, LOAD_EP_PRODUCT_GET, "/api/products/%" PRId64, s->product_id);
                        return true;
                case 3:
                        s->user_id = pick_id(s, s->user_id, s->users_total);
                        req_set(req, LOAD_EP_ORDER_CREATE, "/api/orders");
                        (void)snprintf(
                                req->body, sizeof(req->body),
                                "{\"user_id\":%" PRId64 ",\"product_id\":%" PRId64 ",\"quantity\":%u}",
                                s->user_id, s->product_id, 1 + (unsigned)rand_below(s, LOAD_MAX_QUANTITY));
                        (void)snprintf(req->idempotency_key, sizeof(req->idempotency_key),
                                       "load-%016" PRIx64 "%016" PRIx64, load_session_random(s),
                                       load_session_random(s));
                        return true;
                case 4:
                        req_user_orders(s, req);
                        return true;
                default:
                        return false;
                }
        case LOAD_SESSION_USER:
                switch (step) {
                case 0:
                        req_users_page(s, req);
                        return true;
                case 1:
                        s->user_id = pick_id(s, s->user_id, s->users_total);
                        req_set(req, LOAD_EP_USER_GET, "/api/users/%" PRId64, s->user_id);
                        return true;
                case 2:
                        req_user_orders(s, req);
                        return true;
                default:
                        return false;
                }
        default:
                return false;
        }
}

void load_session_next(load_session *s, const load_mix *mix, load_request *ret)
{
        if (s->retry_pending) {
                *ret = s->retry;
                ret->attempt++;
                s->retry_pending = false;
                return;
        }
        if (s->kind >= 0 && session_step(s, ret))
                return;
        start_session(s, mix);
        /* Every kind has at least one step, so a fresh session always yields a request. */
        (void)session_step(s, ret);
}

/* First word (ASCII letters only, 3+ long, lowercased) of name into s->word. */
static void learn_word(load_session *s, const char *name)
{
        const char *p = name;

        while (*p) {
                size_t n = 0;

                while (p[n] && isalpha((unsigned char)p[n]) && !(p[n] & 0x80))
                        n++;
                if (n >= 3 && n < LOAD_WORD_MAX) {
                        for (size_t i = 0; i < n; i++)
                                s->word[i] = (char)tolower((unsigned char)p[i]);
                        s->word[n] = '\0';
                        return;
                }
                p += n ? n : 1;
        }
}

static int64_t json_int_field(json_object *obj, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
                return 0;
        return json_object_get_int64(v);
}

/* No reply or a server error (503 database unavailable, 504, 502 payment provider unreachable): the
 * order may or may not have been applied, and only a retry with the same key tells. 4xx are final. */
static bool order_retryable(long status)
{
        return status == 0 || status >= 500;
}

void load_session_observe(load_session *s, const load_request *req, long status, const char *body,
                          size_t body_len)
{
        json_tokener *tok;
        json_object *root, *items;
        size_t n;

        if (req->endpoint == LOAD_EP_ORDER_CREATE && order_retryable(status) &&
            req->attempt <= s->max_retries) {
                s->retry = *req;
                s->retry_pending = true;
        }
        if (status != 200 || !body || body_len == 0)
                return;
        if (req->endpoint != LOAD_EP_PRODUCTS_LIST && req->endpoint != LOAD_EP_USERS_LIST)
                return;
        tok = json_tokener_new();
        if (!tok)
                return;
        root = json_tokener_parse_ex(tok, body, (int)body_len);
        json_tokener_free(tok);
        if (!root)
                return;
        if (!json_object_object_get_ex(root, "items", &items) ||
            !json_object_is_type(items, json_type_array))
                goto done;
        n = json_object_array_length(items);
        if (req->endpoint == LOAD_EP_USERS_LIST) {
                int64_t total = json_int_field(root, "total");

                /* A search reply's total counts the matches only; list totals are the real range. */
                if (total > 0)
                        s->users_total = total;
                if (n > 0)
                        s->user_id =
                                json_int_field(json_object_array_get_idx(items, rand_below(s, n)), "id");
        } else {
                int64_t total = json_int_field(root, "total");
                bool search = strstr(req->path, "q=") != NULL;

                if (total > 0 && !search)
                        s->products_total = total;
                if (n > 0) {
                        json_object *item = json_object_array_get_idx(items, rand_below(s, n));
                        json_object *name;

                        s->product_id = json_int_field(item, "id");
                        if (json_object_object_get_ex(item, "name", &name) &&
                            json_object_is_type(name, json_type_string))
                                learn_word(s, json_object_get_string(name));
                }
        }
done:
        json_object_put(root);
}
