/* SPDX-License-Identifier: Apache-2.0 */
/* backend-app.h - what the backend's HTTP handlers share: the pool, the tokens, the fault lock. */
#pragma once

#include <pthread.h>

#include "shop.h"

typedef struct backend_app {
        db_pool *pool;
        char *admin_token;           /* owned; NULL: the admin endpoint refuses everyone */
        char *write_token;           /* owned; NULL: POST /api/users and /api/orders are open */
        pthread_mutex_t faults_lock; /* one read-modify-write of the fault flags at a time */
} backend_app;
