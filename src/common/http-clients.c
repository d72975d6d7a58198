/* SPDX-License-Identifier: Apache-2.0 */
/* Connections per client address (see http-clients.h). */
#include "http-clients.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int http_clients_init(http_clients *t, size_t max_addresses)
{
        size_t size = 2;

        while (size < 2 * max_addresses)
                size *= 2;
        /* calloc'd: only the buckets in use are ever touched (and resident). */
        t->entries = calloc(size, sizeof(*t->entries));
        if (!t->entries)
                return -ENOMEM;
        t->mask = size - 1;
        return 0;
}

void http_clients_free(http_clients *t)
{
        free(t->entries);
        t->entries = NULL;
}

void http_client_key(const struct sockaddr *sa, uint8_t ret_key[HTTP_CLIENT_KEY_SIZE])
{
        memset(ret_key, 0, HTTP_CLIENT_KEY_SIZE);
        if (sa->sa_family == AF_INET) {
                ret_key[10] = ret_key[11] = 0xff; /* so that both families share one table */
                memcpy(ret_key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        } else if (sa->sa_family == AF_INET6)
                memcpy(ret_key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
}

static size_t http_clients_home(const http_clients *t, const uint8_t key[HTTP_CLIENT_KEY_SIZE])
{
        uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */

        for (size_t i = 0; i < HTTP_CLIENT_KEY_SIZE; i++)
                h = (h ^ key[i]) * UINT64_C(1099511628211);
        return (size_t)(h ^ (h >> 29)) & t->mask;
}

/* The bucket of key, or the empty one where it would go (there always is one: the table is at least
 * twice as large as the addresses it holds). */
static http_client_entry *http_clients_find(const http_clients *t, const uint8_t key[HTTP_CLIENT_KEY_SIZE])
{
        size_t i = http_clients_home(t, key);

        while (t->entries[i].count && memcmp(t->entries[i].addr, key, HTTP_CLIENT_KEY_SIZE) != 0)
                i = (i + 1) & t->mask;
        return &t->entries[i];
}

uint32_t http_clients_count(const http_clients *t, const uint8_t key[HTTP_CLIENT_KEY_SIZE])
{
        return http_clients_find(t, key)->count;
}

void http_clients_add(http_clients *t, const uint8_t key[HTTP_CLIENT_KEY_SIZE])
{
        http_client_entry *e = http_clients_find(t, key);

        if (!e->count)
                memcpy(e->addr, key, HTTP_CLIENT_KEY_SIZE);
        e->count++;
}

void http_clients_release(http_clients *t, const uint8_t key[HTTP_CLIENT_KEY_SIZE])
{
        http_client_entry *e = http_clients_find(t, key);
        size_t hole, i;

        if (!e->count || --e->count)
                return;
        /* Backward shift: later entries of the same probe run move into the hole, so that every
         * remaining key is still reachable from its home bucket without crossing an empty one. */
        hole = (size_t)(e - t->entries);
        for (i = (hole + 1) & t->mask; t->entries[i].count; i = (i + 1) & t->mask) {
                size_t home = http_clients_home(t, t->entries[i].addr);
                /* Entry i may move to the hole unless its home lies cyclically in (hole, i]. */
                size_t from_home = (i - home) & t->mask, from_hole = (i - hole) & t->mask;

                if (from_home >= from_hole) {
                        t->entries[hole] = t->entries[i];
                        t->entries[i].count = 0;
                        hole = i;
                }
        }
}
