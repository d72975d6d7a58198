/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The load generator's request record (see load-record.h). Lines are built with json-c and written
 * whole under one lock, each flushed, so that a run stopped by a signal still leaves whole lines.
 */
#include "load-record.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

struct load_record {
        pthread_mutex_t lock; /* one line at a time */
        FILE *f;              /* the open file */
        int error;            /* first write failure (negative errno), 0 when none */
};

int load_record_open(const char *path, load_record **ret)
{
        load_record *rec = calloc(1, sizeof(*rec));

        if (!rec)
                return -ENOMEM;
        rec->f = fopen(path, "we");
        if (!rec->f) {
                int r = -errno;

                free(rec);
                return r;
        }
        pthread_mutex_init(&rec->lock, NULL);
        *ret = rec;
        return 0;
}

/* The "id" of an order reply, 0 when the body is not one. */
static int64_t order_id_of(const char *body, size_t body_len)
{
        json_tokener *tok;
        json_object *root, *id;
        int64_t v = 0;

        if (!body || body_len == 0)
                return 0;
        tok = json_tokener_new();
        if (!tok)
                return 0;
        root = json_tokener_parse_ex(tok, body, (int)body_len);
        json_tokener_free(tok);
        if (root && json_object_object_get_ex(root, "id", &id) && json_object_is_type(id, json_type_int))
                v = json_object_get_int64(id);
        json_object_put(root);
        return v;
}

/* Keeps the first failure; the caller holds the lock. */
static void note_failure(load_record *rec, int r)
{
        if (r < 0 && rec->error == 0)
                rec->error = r;
}

void load_record_write(load_record *rec, const load_request *req, uint64_t start_ns, uint64_t latency_us,
                       long status, const char *body, size_t body_len)
{
        json_object *o = json_object_new_object();
        const char *line;
        int r = 0;

        if (!o) {
                pthread_mutex_lock(&rec->lock);
                note_failure(rec, -ENOMEM);
                pthread_mutex_unlock(&rec->lock);
                return;
        }
        (void)json_object_object_add(o, "start_ms", json_object_new_int64((int64_t)(start_ns / 1000000)));
        (void)json_object_object_add(o, "latency_ms", json_object_new_double((double)latency_us / 1000.0));
        (void)json_object_object_add(o, "method",
                                     json_object_new_string(load_endpoint_method(req->endpoint)));
        (void)json_object_object_add(o, "route", json_object_new_string(load_endpoint_route(req->endpoint)));
        (void)json_object_object_add(o, "status", json_object_new_int64(status));
        if (req->endpoint == LOAD_EP_ORDER_CREATE) {
                int64_t id = status == 200 || status == 201 ? order_id_of(body, body_len) : 0;

                (void)json_object_object_add(o, "idempotency_key",
                                             json_object_new_string(req->idempotency_key));
                (void)json_object_object_add(o, "attempt", json_object_new_int64(req->attempt));
                (void)json_object_object_add(o, "order_id", id ? json_object_new_int64(id) : NULL);
                (void)json_object_object_add(o, "body", json_object_new_string(req->body));
        }
        line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (!line)
                r = -ENOMEM;
        pthread_mutex_lock(&rec->lock);
        if (line && (fputs(line, rec->f) < 0 || fputc('\n', rec->f) < 0 || fflush(rec->f) != 0))
                r = -errno;
        note_failure(rec, r);
        pthread_mutex_unlock(&rec->lock);
        json_object_put(o);
}

int load_record_close(load_record *rec)
{
        int r;

        if (!rec)
                return 0;
        r = rec->error;
        if (fclose(rec->f) != 0 && r == 0)
                r = -errno;
        pthread_mutex_destroy(&rec->lock);
        free(rec);
        return r;
}
