/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How many connections each client address holds, for [server] max_connections_per_client: an open
 * addressing table (linear probing, backward-shift deletion, so that no tombstones pile up under a
 * flood of short connections), sized once for the most addresses there can be. Not thread-safe: the
 * acceptor's lock guards it.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "otel.h"

#define HTTP_CLIENT_KEY_SIZE 16u

typedef struct http_client_entry {
        uint8_t addr[HTTP_CLIENT_KEY_SIZE];
        uint32_t count; /* 0 = empty bucket */
} http_client_entry;

typedef struct http_clients {
        http_client_entry *entries; /* a power of two of them, at least twice max_addresses */
        size_t mask;                /* entries - 1 */
} http_clients;

/* A table for up to max_addresses distinct addresses at once. -ENOMEM. */
int http_clients_init(http_clients *t, size_t max_addresses) OTEL_WUR;
void http_clients_free(http_clients *t);
/* The address as a key: IPv6 as is, IPv4 as ::ffff:a.b.c.d, anything else (AF_UNIX) all zero. */
void http_client_key(const struct sockaddr *sa, uint8_t ret_key[HTTP_CLIENT_KEY_SIZE]);
/* Connections key holds now. */
uint32_t http_clients_count(const http_clients *t, const uint8_t key[HTTP_CLIENT_KEY_SIZE]);
/* One more for key (the caller keeps the distinct addresses within max_addresses). */
void http_clients_add(http_clients *t, const uint8_t key[HTTP_CLIENT_KEY_SIZE]);
/* One fewer; the entry goes when it reaches 0. Releasing an absent key does nothing. */
void http_clients_release(http_clients *t, const uint8_t key[HTTP_CLIENT_KEY_SIZE]);
