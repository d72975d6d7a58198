/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libpq glue the pool and the migrations share. Connection parameters: the configured conninfo, plus the
 * password from the systemd credential $CREDENTIALS_DIRECTORY/db-password when present (never logged, wiped
 * on free) and our defaults (connect_timeout, application_name, a server-side statement_timeout). Messages:
 * libpq's as one log line, NOTICEs dropped.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credential.h"
#include "db-params.h"
#include "otel.h"

#define DB_CREDENTIAL_NAME  "db-password"
#define DB_APPLICATION_NAME "oteldemo-backend"

void db_params_done(db_params *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                free(p->keywords[i]);
                if (p->values[i])
                        explicit_bzero(p->values[i], strlen(p->values[i])); /* may be the password */
                free(p->values[i]);
        }
        free(p->keywords);
        free(p->values);
        *p = (db_params){0};
}

static int params_set(db_params *p, const char *key, const char *value, bool replace)
{
        char *k, *v;

        for (size_t i = 0; i < p->n; i++) {
                if (strcmp(p->keywords[i], key) != 0)
                        continue;
                if (!replace)
                        return 0;
                v = strdup(value);
                if (!v)
                        return -ENOMEM;
                explicit_bzero(p->values[i], strlen(p->values[i]));
                free(p->values[i]);
                p->values[i] = v;
                return 0;
        }
        k = strdup(key);
        v = strdup(value);
        if (!k || !v) {
                free(k);
                free(v);
                return -ENOMEM;
        }
        /* The arrays were sized for every libpq option plus ours, so there is room. */
        p->keywords[p->n] = k;
        p->values[p->n] = v;
        p->n++;
        return 0;
}

int db_params_build(const char *conninfo, db_params *ret)
{
        char *password = NULL;
        PQconninfoOption *opts, *o;
        db_params p = {0};
        char *errmsg = NULL, line[DB_ERROR_LINE_MAX];
        size_t n_opts = 0;
        int r;

        opts = PQconninfoParse(conninfo ? conninfo : "", &errmsg);
        if (!opts) {
                /* errmsg NULL means out of memory; otherwise a syntax error (no secrets in it: the
                 * message names the keyword, never the value). */
                r = errmsg ? -EINVAL : -ENOMEM;
                if (errmsg)
                        otel_log(OTEL_SEVERITY_ERROR, "Invalid database conninfo: %s",
                                 db_error_line(errmsg, line));
                PQfreemem(errmsg);
                return r;
        }
        for (o = opts; o->keyword; o++)
                n_opts++;
        /* + password, connect_timeout, application_name, options, terminator */
        p.keywords = calloc(n_opts + 5, sizeof(char *));
        p.values = calloc(n_opts + 5, sizeof(char *));
        if (!p.keywords || !p.values) {
                r = -ENOMEM;
                goto fail;
        }
        for (o = opts; o->keyword; o++) {
                if (!o->val)
                        continue;
                r = params_set(&p, o->keyword, o->val, true);
                if (r < 0)
                        goto fail;
        }
        r = credential_read(DB_CREDENTIAL_NAME, &password);
        if (r == 0) {
                /* The first line: a file written by hand may have more. */
                password[strcspn(password, "\r\n")] = '\0';
                r = params_set(&p, "password", password, true);
                credential_free(password);
                if (r < 0)
                        goto fail;
        } else if (r != -ENOENT) {
                otel_log_errno(OTEL_SEVERITY_WARN, r, "Cannot read credential %s, connecting without it",
                               DB_CREDENTIAL_NAME);
        }
        /* libpq's own timeout is a backstop; we poll with our own, shorter deadline. */
        r = params_set(&p, "connect_timeout", "2", false);
        if (r >= 0)
                r = params_set(&p, "application_name", DB_APPLICATION_NAME, false);
        if (r >= 0) {
                char opt[64];

                snprintf(opt, sizeof(opt), "-c statement_timeout=%u", DB_QUERY_TIMEOUT_MS);
                r = params_set(&p, "options", opt, false);
        }
        if (r < 0)
                goto fail;
        PQconninfoFree(opts);
        *ret = p;
        return 0;
fail:
        PQconninfoFree(opts);
        db_params_done(&p);
        return r;
}

const char *db_params_get(const db_params *p, const char *key)
{
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->keywords[i], key) == 0)
                        return p->values[i];
        return NULL;
}

const char *db_error_line(const char *msg, char buf[static DB_ERROR_LINE_MAX])
{
        size_t n = 0;

        for (const char *p = msg ? msg : "?"; *p && n < DB_ERROR_LINE_MAX - 1; p++) {
                if (*p != '\n' && *p != '\r' && *p != '\t')
                        buf[n++] = *p;
                else if (n > 0 && buf[n - 1] != ' ')
                        buf[n++] = ' ';
        }
        while (n > 0 && buf[n - 1] == ' ')
                n--;
        buf[n] = '\0';
        return buf;
}

void db_notice_ignore(void *arg, const char *message)
{
        (void)arg;
        (void)message;
}
