/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `oteldemo load --record FILE`: one JSON line per request the load generator made, written as the
 * request finishes, so that a test (or an operator after an outage) can reconcile what the clients
 * were told with what the database holds: every order's Idempotency-Key, attempt, status and order id.
 */
#pragma once

#include <stdint.h>

#include "sessions.h"

typedef struct load_record load_record;

/* Creates (truncates) path. 0, or a negative errno. */
int load_record_open(const char *path, load_record **ret);
/* Appends the line of one finished request: intended start (ns since the schedule's t0), latency, the
 * reply's status (0 = none) and body (for an order's id). Thread-safe; a failed write is remembered
 * for load_record_close(). */
void load_record_write(load_record *rec, const load_request *req, uint64_t start_ns, uint64_t latency_us,
                       long status, const char *body, size_t body_len);
/* Flushes and closes (NULL is a no-op). 0, or the negative errno of the first failed write. */
int load_record_close(load_record *rec);
