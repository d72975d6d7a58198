/* SPDX-License-Identifier: Apache-2.0 */
/* The journald sink of otel_log_full(): one structured entry per message through sd_journal_sendv(3),
 * with the fields systemd's own tools use (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_*, ERRNO) plus
 * TRACE_ID/SPAN_ID/SERVICE_NAME so that `journalctl TRACE_ID=…` follows one request, and the caller's
 * attributes as extra fields. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#if OTEL_HAVE_LIBSYSTEMD
/* We send the caller's CODE_FILE/LINE/FUNC; without this, sd-journal.h's macros add this file's. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#endif

#include "logs.h"

/* The fields written by this module: caller attributes that map onto one of them are dropped, so that
 * a query like TRACE_ID=… never meets a second, unrelated value. */
static const char *const journal_own_fields[] = {
        "MESSAGE",   "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE",    "CODE_LINE",
        "CODE_FUNC", "TRACE_ID", "SPAN_ID",           "SERVICE_NAME", "ERRNO",
};

int otel_journal_field_name(const char *key, char *ret)
{
        size_t n = 0;

        /* journald accepts A-Z, 0-9 and '_', not starting with a digit; a leading '_' marks the fields
         * only journald itself may set ("trusted fields", systemd.journal-fields(7)). */
        for (const char *p = key ? key : ""; *p && n < OTEL_LOG_FIELD_NAME_MAX; p++) {
                char c = *p;

                if (c >= 'a' && c <= 'z')
                        c = (char)(c - 'a' + 'A');
                else if (c == '.')
                        c = '_';
                else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                        continue;
                if (n == 0 && (c == '_' || (c >= '0' && c <= '9')))
                        continue;
                ret[n++] = c;
        }
        ret[n] = 0;
        return n ? (int)n : -EINVAL;
}

bool otel_journal_stream_matches(const char *value, const struct stat *st)
{
        unsigned long long dev, ino;
        char *end;

        if (!value || !*value || *value == '-' || !st)
                return false;
        errno = 0;
        dev = strtoull(value, &end, 10);
        if (errno || end == value || *end != ':' || end[1] == '-')
                return false;
        value = end + 1;
        ino = strtoull(value, &end, 10);
        if (errno || end == value || *end)
                return false;
        return dev == (unsigned long long)st->st_dev && ino == (unsigned long long)st->st_ino;
}

static bool journal_is_own_field(const char *name)
{
        for (size_t i = 0; i < sizeof(journal_own_fields) / sizeof(journal_own_fields[0]); i++)
                if (strcmp(name, journal_own_fields[i]) == 0)
                        return true;
        return false;
}

/* Starts field i at the end of buf (the caller appends "NAME=value"). */
static int journal_field_begin(otel_buf *buf, size_t *offsets, size_t i)
{
        if (i >= OTEL_JOURNAL_MAX_FIELDS)
                return -E2BIG;
        offsets[i] = buf->len;
        return 0;
}

static int journal_field_str(otel_buf *buf, size_t *offsets, size_t *lens, size_t *i, const char *name,
                             const char *value)
{
        int r;

        if (!value)
                return 0;
        r = journal_field_begin(buf, offsets, *i);
        if (r >= 0)
                r = otel_buf_appendf(buf, "%s=%s", name, value);
        if (r < 0)
                return r;
        lens[*i] = buf->len - offsets[*i];
        (*i)++;
        return 0;
}

static int journal_field_int(otel_buf *buf, size_t *offsets, size_t *lens, size_t *i, const char *name,
                             long long value)
{
        int r = journal_field_begin(buf, offsets, *i);

        if (r >= 0)
                r = otel_buf_appendf(buf, "%s=%lld", name, value);
        if (r < 0)
                return r;
        lens[*i] = buf->len - offsets[*i];
        (*i)++;
        return 0;
}

int otel_journal_fields(const otel_log_event *ev, otel_buf *buf, size_t offsets[OTEL_JOURNAL_MAX_FIELDS],
                        size_t lens[OTEL_JOURNAL_MAX_FIELDS])
{
        char trace_hex[OTEL_TRACE_ID_HEX + 1], span_hex[OTEL_SPAN_ID_HEX + 1];
        char name[OTEL_LOG_FIELD_NAME_MAX + 1];
        size_t i = 0, n_attrs = ev->n_attrs < OTEL_LOG_MAX_ATTRS ? ev->n_attrs : OTEL_LOG_MAX_ATTRS;
        int r;

        r = journal_field_str(buf, offsets, lens, &i, "MESSAGE", ev->message ? ev->message : "");
        if (r >= 0)
                r = journal_field_int(buf, offsets, lens, &i, "PRIORITY",
                                      otel_severity_syslog_priority(ev->severity));
        if (r >= 0)
                r = journal_field_str(buf, offsets, lens, &i, "SYSLOG_IDENTIFIER", ev->identifier);
        if (r >= 0)
                r = journal_field_str(buf, offsets, lens, &i, "CODE_FILE", ev->file);
        if (r >= 0 && ev->line > 0)
                r = journal_field_int(buf, offsets, lens, &i, "CODE_LINE", ev->line);
        if (r >= 0)
                r = journal_field_str(buf, offsets, lens, &i, "CODE_FUNC", ev->func);
        if (r >= 0 && ev->span) {
                otel_trace_id_to_hex(ev->span->trace_id, trace_hex);
                otel_span_id_to_hex(ev->span->span_id, span_hex);
                r = journal_field_str(buf, offsets, lens, &i, "TRACE_ID", trace_hex);
                if (r >= 0)
                        r = journal_field_str(buf, offsets, lens, &i, "SPAN_ID", span_hex);
        }
        if (r >= 0)
                r = journal_field_str(buf, offsets, lens, &i, "SERVICE_NAME", ev->service);
        if (r >= 0 && ev->err > 0)
                r = journal_field_int(buf, offsets, lens, &i, "ERRNO", ev->err);
        for (size_t k = 0; r >= 0 && k < n_attrs; k++) {
                if (otel_journal_field_name(ev->attrs[k].key, name) < 0 || journal_is_own_field(name))
                        continue;
                r = journal_field_begin(buf, offsets, i);
                if (r >= 0)
                        r = otel_buf_appendf(buf, "%s=", name);
                if (r >= 0)
                        r = otel_log_value_text(&ev->attrs[k], buf);
                if (r >= 0) {
                        lens[i] = buf->len - offsets[i];
                        i++;
                }
        }
        return r < 0 ? r : (int)i;
}

#if OTEL_HAVE_LIBSYSTEMD
int otel_journal_send(const otel_log_event *ev)
{
        size_t offsets[OTEL_JOURNAL_MAX_FIELDS], lens[OTEL_JOURNAL_MAX_FIELDS];
        struct iovec iov[OTEL_JOURNAL_MAX_FIELDS];
        otel_buf buf = {0};
        int n, r;

        n = otel_journal_fields(ev, &buf, offsets, lens);
        if (n < 0) {
                otel_buf_free(&buf);
                return n;
        }
        /* The iovecs point into buf only now that it has stopped growing. */
        for (int i = 0; i < n; i++)
                iov[i] = (struct iovec){.iov_base = buf.data + offsets[i], .iov_len = lens[i]};
        r = sd_journal_sendv(iov, n);
        otel_buf_free(&buf);
        return r;
}
#else
/* Built without libsystemd (-Dsystemd=false): there is no journal to write to; logs.c never picks
 * this sink then, and would fall back to stderr if it did. */
int otel_journal_send(const otel_log_event *ev)
{
        (void)ev;
        return -EOPNOTSUPP;
}
#endif
