/* SPDX-License-Identifier: Apache-2.0 */
/* The frontend's copy of the backend's route table (src/backend/routes.c): only the templates, so that
 * spans and metrics carry the route; the backend stays the one that validates and answers. */
#include "api-routes.h"

static const struct {
        const char *method;
        const char *pattern;
} api_routes[] = {
        {"GET", "/api/users"},      {"POST", "/api/users"},
        {"GET", "/api/users/{id}"}, {"GET", "/api/users/{id}/orders"},
        {"GET", "/api/products"},   {"GET", "/api/products/{id}"},
        {"POST", "/api/orders"},    {"GET", "/api/orders/{id}"},
};

/* Methods the catch-all forwards (the backend answers 404/405 for what it does not know). */
static const char *const catch_all_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

int api_routes_register(http_server *s, http_handler_fn handler, void *userdata)
{
        int r;

        for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
                r = http_server_route(s, api_routes[i].method, api_routes[i].pattern, handler, userdata);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < sizeof(catch_all_methods) / sizeof(catch_all_methods[0]); i++) {
                r = http_server_route(s, catch_all_methods[i], "/api/*", handler, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}
