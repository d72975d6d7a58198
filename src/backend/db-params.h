/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db-params.h - libpq glue the pool and the migrations share: the connection parameters (conninfo plus
 * the password credential and our defaults) and libpq's messages as log lines.
 */
#pragma once

#include <stddef.h>

/* Deadline of one statement (plus any statement delay, db-pool.h); the server-side statement_timeout
 * set here is the same, so the server stops work the client has given up on. */
#define DB_QUERY_TIMEOUT_MS 5000u

/* Builds libpq keyword/value arrays from conninfo plus the password credential and our defaults
 * (connect_timeout, application_name). Used by the pool and by shop_migrate. */
typedef struct db_params {
        char **keywords; /* NULL-terminated */
        char **values;   /* parallel to keywords */
        size_t n;        /* entries used */
} db_params;
int db_params_build(const char *conninfo, db_params *ret);
/* The value of keyword key, or NULL. */
const char *db_params_get(const db_params *p, const char *key);
void db_params_done(db_params *p);

#define DB_ERROR_LINE_MAX 512u /* a libpq message as one log line; longer ones are cut */

/* msg (a libpq message, NULL for none) on one line: libpq ends lines with "\n" and indents hints with
 * "\t", which would split a log record. A run of newlines and tabs becomes one space; trailing ones go.
 * Returns buf. */
const char *db_error_line(const char *msg, char buf[static DB_ERROR_LINE_MAX]);

/* libpq notice processor that drops NOTICEs (they would go to stderr, bypassing the log). */
void db_notice_ignore(void *arg, const char *message);
