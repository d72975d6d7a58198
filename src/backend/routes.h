/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oteldemo-backend's HTTP API: the routing table of issue 4 mapped onto the shop_* operations, and the
 * admin endpoint for fault flags. Handlers validate what comes from the URL (ids > 0, limit 1..200,
 * offset >= 0) and leave JSON bodies to the data side.
 */
#pragma once

#include <pthread.h>

#include "http-server.h"
#include "shop.h"

#define BACKEND_READY_PING_MS 500u /* /readyz must answer well within a second when PostgreSQL is gone */

typedef struct backend_app {
        db_pool *pool;
        char *admin_token;           /* owned; NULL: the admin endpoint refuses everyone */
        pthread_mutex_t faults_lock; /* one read-modify-write of the fault flags at a time */
} backend_app;

int backend_routes_register(http_server *s, backend_app *app) OTEL_WUR;
/* http_ready_fn: the database answers a round trip. */
int backend_ready(void *userdata, char *ret_reason, size_t size);

/* Admin (admin.c). */
void admin_faults_get(http_request *req, void *userdata);
void admin_faults_put(http_request *req, void *userdata);
/* The bearer token: systemd credential first, then [admin] token; *ret NULL when neither exists. */
int admin_token_resolve(const char *credential, const char *config_token, char **ret);
/* Compares without leaking where the first difference is through timing. */
bool admin_token_equal(const char *given, const char *expected);
