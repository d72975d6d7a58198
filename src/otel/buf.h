/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer for encoders and the HTTP transport (in the spirit of curl's dynbuf):
 * one owner, explicit cap so that a runaway encoder cannot eat the heap. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "otel.h"

#define OTEL_BUF_DEFAULT_MAX (64u * 1024u * 1024u) /* largest export request body we build */

typedef struct otel_buf {
        uint8_t *data; /* heap; NUL-terminated for text users (the NUL is not counted in len) */
        size_t len;    /* bytes in use */
        size_t cap;    /* bytes allocated */
        size_t max;    /* growth limit; 0 = OTEL_BUF_DEFAULT_MAX */
} otel_buf;

int otel_buf_reserve(otel_buf *b, size_t extra) OTEL_WUR;
int otel_buf_append(otel_buf *b, const void *p, size_t n) OTEL_WUR;
int otel_buf_appendf(otel_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3))) OTEL_WUR;
void otel_buf_reset(otel_buf *b); /* len = 0, keeps memory */
void otel_buf_free(otel_buf *b);  /* frees memory, zeroes the struct */
