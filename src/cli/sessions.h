/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shoppers of the load generator. A session is a short, realistic sequence of API calls (browse
 * the catalogue → search → view products; or pick a user → browse → view → place an order → view the
 * order history; or look users up), driven by a seeded PRNG so that a run can be repeated. Each call
 * to load_session_next() yields the next request; load_session_observe() feeds the reply back so that
 * later steps use ids and search words that really exist.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOAD_PATH_MAX     160 /* longest request path (with query) we build */
#define LOAD_BODY_MAX     160 /* longest JSON body we build */
#define LOAD_KEY_MAX      48  /* Idempotency-Key */
#define LOAD_WORD_MAX     24  /* search word taken from a product name */
#define LOAD_PAGE_SIZE    20  /* items per list request, like a catalogue page */
#define LOAD_MAX_VIEWS    3   /* products viewed per browse session */
#define LOAD_MAX_QUANTITY 3   /* items per order line */
#define LOAD_FALLBACK_IDS 100 /* ids tried before a list reply told us the real range */

/* Most retries of one order (--retries). */
#define LOAD_RETRIES_MAX 1000

typedef enum load_session_kind {
        LOAD_SESSION_BROWSE, /* list products, search, view 1..3 products */
        LOAD_SESSION_ORDER,  /* list users, list products, view one, order it, view the history */
        LOAD_SESSION_USER,   /* list users, view one, view their orders */
        _LOAD_SESSION_KIND_MAX,
        _LOAD_SESSION_KIND_INVALID = -EINVAL,
} load_session_kind;

/* The API endpoints the load generator calls, named by method and route template like the server's
 * http.route, so that the summary can be compared with the server's own metrics. */
typedef enum load_endpoint {
        LOAD_EP_PRODUCTS_LIST, /* GET /api/products (with and without q=) */
        LOAD_EP_PRODUCT_GET,   /* GET /api/products/{id} */
        LOAD_EP_USERS_LIST,    /* GET /api/users */
        LOAD_EP_USER_GET,      /* GET /api/users/{id} */
        LOAD_EP_USER_ORDERS,   /* GET /api/users/{id}/orders */
        LOAD_EP_ORDER_CREATE,  /* POST /api/orders */
        _LOAD_EP_MAX,
        _LOAD_EP_INVALID = -EINVAL,
} load_endpoint;

/* Shares of the session kinds, in percent, summing to 100. */
typedef struct load_mix {
        unsigned pct[_LOAD_SESSION_KIND_MAX];
} load_mix;

typedef struct load_request {
        load_endpoint endpoint;
        char path[LOAD_PATH_MAX];           /* path and query */
        char body[LOAD_BODY_MAX];           /* JSON body for POST, "" otherwise */
        char idempotency_key[LOAD_KEY_MAX]; /* "" when none */
        unsigned attempt;                   /* 1 for a first try, 2.. for a retry of the same order */
} load_request;

typedef struct load_session {
        uint64_t rng[2];                           /* xoroshiro128+ state; never all zero */
        load_session_kind kind;                    /* current session */
        unsigned step;                             /* next step within it */
        unsigned views_left;                       /* browse: product views still to do */
        int64_t user_id;                           /* chosen user (0 = none yet) */
        int64_t product_id;                        /* chosen product (0 = none yet) */
        int64_t users_total;                       /* from the last users list reply (0 = unknown) */
        int64_t products_total;                    /* from the last products list reply (0 = unknown) */
        char word[LOAD_WORD_MAX];                  /* search word from a product name seen */
        uint64_t sessions[_LOAD_SESSION_KIND_MAX]; /* sessions started, per kind */
        unsigned max_retries;                      /* retries of a failed order (0 = none) */
        bool retry_pending;                        /* the next request is a retry of retry */
        load_request retry;                        /* the order to send again, same key and body */
} load_session;

const char *load_session_kind_to_string(load_session_kind k);
/* Matches the first len characters of s against the kind names. */
load_session_kind load_session_kind_from_string_n(const char *s, size_t len);
const char *load_endpoint_method(load_endpoint ep);
const char *load_endpoint_route(load_endpoint ep);

/* Session kind for r in [0, 100) under mix: the cumulative shares in enum order. */
load_session_kind load_mix_pick(const load_mix *mix, unsigned r);

/* Seeds a shopper; the same seed gives the same sequence of requests for the same replies. */
void load_session_init(load_session *s, uint64_t seed);
uint64_t load_session_random(load_session *s);
/* The next request, starting a new session (kind chosen by mix) when the current one is over. */
void load_session_next(load_session *s, const load_mix *mix, load_request *ret);
/* Learns from a reply (status and JSON body; status 0 when no reply came) to req: list totals, ids, a
 * search word. An order that got no reply or a 5xx is sent again as the next request, with the same
 * Idempotency-Key and body, up to max_retries times: the backend applies it at most once. */
void load_session_observe(load_session *s, const load_request *req, long status, const char *body,
                          size_t body_len);
