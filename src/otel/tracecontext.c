/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W3C Trace Context Level 1: the traceparent header (section 3.2) parsed and written without
 * allocation, because extraction runs on every incoming request, and the tracestate header
 * (section 3.3) as an immutable, reference-counted list that keeps its serialized form.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "otel.h"
#include "propagation.h"

/* Offsets of the fields in "vv-<32 hex trace-id>-<16 hex parent-id>-ff" (section 3.2.2). */
#define TP_VERSION_OFF  0
#define TP_TRACE_ID_OFF 3
#define TP_SPAN_ID_OFF  (TP_TRACE_ID_OFF + OTEL_TRACE_ID_HEX + 1)
#define TP_FLAGS_OFF    (TP_SPAN_ID_OFF + OTEL_SPAN_ID_HEX + 1)
#define TP_VERSION_00   0x00
#define TP_VERSION_BAD  0xff /* section 3.2.2.1: version ff is forbidden */

/* Section 3.3.1.3: key and value sizes. */
#define TS_SIMPLE_KEY_MAX 256 /* lcalpha + up to 255 more */
#define TS_TENANT_MAX     241
#define TS_SYSTEM_MAX     14
#define TS_VALUE_MAX      256
/* Section 3.3.1.5: when truncating, members longer than this go first. */
#define TS_TRUNCATE_LARGE_MEMBER 128

static const char hex_digits[] = "0123456789abcdef";

/* Lowercase hex digit → 0x10 | value, anything else → 0: section 3.2.2 defines HEXDIGLC, so
 * uppercase is invalid. The marker bit lets a whole id be checked with one AND, without branches. */
#define HEX_VALID 0x10
static const uint8_t hex_lc_table[256] = {
        ['0'] = 0x10, ['1'] = 0x11, ['2'] = 0x12, ['3'] = 0x13, ['4'] = 0x14, ['5'] = 0x15,
        ['6'] = 0x16, ['7'] = 0x17, ['8'] = 0x18, ['9'] = 0x19, ['a'] = 0x1a, ['b'] = 0x1b,
        ['c'] = 0x1c, ['d'] = 0x1d, ['e'] = 0x1e, ['f'] = 0x1f,
};

/* Decodes 2*n lowercase hex characters into n bytes. Returns the OR of all bytes (for the all-zero
 * check) or -1 on a non-hex character. */
static int hex_decode(const char *s, size_t n, uint8_t *ret)
{
        unsigned valid = HEX_VALID, acc = 0;

        for (size_t i = 0; i < n; i++) {
                unsigned hi = hex_lc_table[(unsigned char)s[2 * i]];
                unsigned lo = hex_lc_table[(unsigned char)s[2 * i + 1]];

                valid &= hi & lo;
                ret[i] = (uint8_t)((hi & 0xf) << 4 | (lo & 0xf));
                acc |= ret[i];
        }
        return valid ? (int)acc : -1;
}

static void hex_encode(const uint8_t *id, size_t n, char *ret)
{
        for (size_t i = 0; i < n; i++) {
                ret[2 * i] = hex_digits[id[i] >> 4];
                ret[2 * i + 1] = hex_digits[id[i] & 0xf];
        }
}

void otel_trace_id_to_hex(const uint8_t id[OTEL_TRACE_ID_SIZE], char ret_hex[OTEL_TRACE_ID_HEX + 1])
{
        hex_encode(id, OTEL_TRACE_ID_SIZE, ret_hex);
        ret_hex[OTEL_TRACE_ID_HEX] = '\0';
}

void otel_span_id_to_hex(const uint8_t id[OTEL_SPAN_ID_SIZE], char ret_hex[OTEL_SPAN_ID_HEX + 1])
{
        hex_encode(id, OTEL_SPAN_ID_SIZE, ret_hex);
        ret_hex[OTEL_SPAN_ID_HEX] = '\0';
}

static bool bytes_all_zero(const uint8_t *p, size_t n)
{
        uint8_t acc = 0;

        for (size_t i = 0; i < n; i++)
                acc |= p[i];
        return acc == 0;
}

bool otel_span_context_is_valid(const otel_span_context *sc)
{
        return sc && !bytes_all_zero(sc->trace_id, OTEL_TRACE_ID_SIZE) &&
               !bytes_all_zero(sc->span_id, OTEL_SPAN_ID_SIZE);
}

static inline bool is_ows(char c)
{
        return c == ' ' || c == '\t';
}

void otel_propagation_trim_ows(const char **s, size_t *len)
{
        const char *p = *s;
        size_t n = *len;

        while (n > 0 && is_ows(p[0])) {
                p++;
                n--;
        }
        while (n > 0 && is_ows(p[n - 1]))
                n--;
        *s = p;
        *len = n;
}

int otel_traceparent_parse(const char *value, size_t len, otel_span_context *ret_sc)
{
        otel_span_context sc = {};
        uint8_t version, flags;
        int r;

        if (!value || !ret_sc)
                return -EINVAL;
        /* HTTP strips OWS around field values (RFC 7230 section 3.2.4); be as tolerant. */
        otel_propagation_trim_ows(&value, &len);

        /* Section 3.2.4: shorter than 55 characters → do not parse, restart the trace. */
        if (len < OTEL_TRACEPARENT_LEN)
                return -EINVAL;
        if (hex_decode(value + TP_VERSION_OFF, 1, &version) < 0 || version == TP_VERSION_BAD)
                return -EINVAL;
        /* Version 00 is exactly 55 characters. A later version may append fields after a dash: we
         * read the fields we know and ignore the rest (section 3.2.4, "Versioning of traceparent"). */
        if (version == TP_VERSION_00 ? len != OTEL_TRACEPARENT_LEN
                                     : len > OTEL_TRACEPARENT_LEN && value[OTEL_TRACEPARENT_LEN] != '-')
                return -EINVAL;
        if (value[TP_TRACE_ID_OFF - 1] != '-' || value[TP_SPAN_ID_OFF - 1] != '-' ||
            value[TP_FLAGS_OFF - 1] != '-')
                return -EINVAL;

        r = hex_decode(value + TP_TRACE_ID_OFF, OTEL_TRACE_ID_SIZE, sc.trace_id);
        if (r <= 0) /* non-hex, or all zero (section 3.2.2.3) */
                return -EINVAL;
        r = hex_decode(value + TP_SPAN_ID_OFF, OTEL_SPAN_ID_SIZE, sc.span_id);
        if (r <= 0) /* non-hex, or all zero (section 3.2.2.4) */
                return -EINVAL;
        if (hex_decode(value + TP_FLAGS_OFF, 1, &flags) < 0)
                return -EINVAL;

        /* Section 3.2.2.5: only "sampled" is defined; the other bits must be zero when we propagate. */
        sc.trace_flags = flags & OTEL_TRACE_FLAG_SAMPLED;
        *ret_sc = sc;
        return 0;
}

void otel_traceparent_format(const otel_span_context *sc, char ret[OTEL_TRACEPARENT_LEN + 1])
{
        uint8_t flags = sc->trace_flags & OTEL_TRACE_FLAG_SAMPLED;

        /* We always write the version we implement (section 3.2.4: downgrade to what we support). */
        ret[0] = '0';
        ret[1] = '0';
        ret[TP_TRACE_ID_OFF - 1] = '-';
        hex_encode(sc->trace_id, OTEL_TRACE_ID_SIZE, ret + TP_TRACE_ID_OFF);
        ret[TP_SPAN_ID_OFF - 1] = '-';
        hex_encode(sc->span_id, OTEL_SPAN_ID_SIZE, ret + TP_SPAN_ID_OFF);
        ret[TP_FLAGS_OFF - 1] = '-';
        hex_encode(&flags, 1, ret + TP_FLAGS_OFF);
        ret[OTEL_TRACEPARENT_LEN] = '\0';
}

/* ---- tracestate ------------------------------------------------------------------------------- */

typedef struct tracestate_member {
        const char *key;   /* NUL-terminated, in the pool */
        const char *value; /* NUL-terminated, in the pool */
} tracestate_member;

struct otel_tracestate {
        atomic_uint refs;                                       /* references held */
        unsigned n;                                             /* members kept, ≤ 32 */
        tracestate_member members[OTEL_TRACESTATE_MAX_MEMBERS]; /* in header order */
        const char *header;                                     /* serialized, ≤ 512 chars, in the pool */
        char pool[];                                            /* header NUL, then key NUL value NUL... */
};

/* A member found in the input, before copying. */
typedef struct tracestate_span {
        const char *key;
        size_t key_len;
        const char *value;
        size_t value_len;
        bool dropped; /* a later duplicate of a key, or removed by truncation (section 3.3.1.5) */
} tracestate_span;

static inline bool ts_is_lcalpha(char c)
{
        return c >= 'a' && c <= 'z';
}

static inline bool ts_is_key_char(char c)
{
        return ts_is_lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}

/* Section 3.3.1.3.1: simple-key, or multi-tenant-key (tenant-id "@" system-id). */
static bool ts_key_is_valid(const char *k, size_t len)
{
        const char *at = memchr(k, '@', len);

        if (!at) {
                if (len == 0 || len > TS_SIMPLE_KEY_MAX || !ts_is_lcalpha(k[0]))
                        return false;
                for (size_t i = 1; i < len; i++)
                        if (!ts_is_key_char(k[i]))
                                return false;
                return true;
        }

        size_t tenant_len = (size_t)(at - k), system_len = len - tenant_len - 1;
        const char *system = at + 1;

        if (tenant_len == 0 || tenant_len > TS_TENANT_MAX || system_len == 0 || system_len > TS_SYSTEM_MAX)
                return false;
        if (!ts_is_lcalpha(k[0]) && !(k[0] >= '0' && k[0] <= '9'))
                return false;
        for (size_t i = 1; i < tenant_len; i++)
                if (!ts_is_key_char(k[i]))
                        return false;
        if (!ts_is_lcalpha(system[0]))
                return false;
        for (size_t i = 1; i < system_len; i++) /* a second '@' fails here */
                if (!ts_is_key_char(system[i]))
                        return false;
        return true;
}

/* Section 3.3.1.3.2: 1-256 printable ASCII characters except ',' and '=', not ending in a space. */
static bool ts_value_is_valid(const char *v, size_t len)
{
        if (len == 0 || len > TS_VALUE_MAX || v[len - 1] == ' ')
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)v[i];
                if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
                        return false;
        }
        return true;
}

static size_t ts_member_len(const tracestate_span *m)
{
        return m->key_len + 1 + m->value_len;
}

static size_t ts_serialized_len(const tracestate_span *m, size_t n)
{
        size_t total = 0, kept = 0;

        for (size_t i = 0; i < n; i++)
                if (!m[i].dropped) {
                        total += ts_member_len(&m[i]);
                        kept++;
                }
        return total + (kept > 0 ? kept - 1 : 0); /* commas */
}

/* Section 3.3.1.5: propagate at most 512 characters. Members longer than 128 characters are removed
 * first (from the end, and only as many as needed), then members from the end. */
static void ts_truncate(tracestate_span *m, size_t n)
{
        for (size_t i = n; i > 0 && ts_serialized_len(m, n) > OTEL_TRACESTATE_MAX_LEN; i--)
                if (ts_member_len(&m[i - 1]) > TS_TRUNCATE_LARGE_MEMBER)
                        m[i - 1].dropped = true;
        for (size_t i = n; i > 0 && ts_serialized_len(m, n) > OTEL_TRACESTATE_MAX_LEN; i--)
                m[i - 1].dropped = true;
}

static bool ts_key_seen(const tracestate_span *m, size_t n, const tracestate_span *k)
{
        for (size_t i = 0; i < n; i++)
                if (!m[i].dropped && m[i].key_len == k->key_len && memcmp(m[i].key, k->key, k->key_len) == 0)
                        return true;
        return false;
}

/* Splits and validates the list (section 3.3.1.1): OWS around members, empty members skipped. */
static int ts_scan(const char *value, size_t len, tracestate_span *m, size_t *ret_n)
{
        const char *p = value, *end = value + len;
        size_t n = 0;

        for (;;) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *s = p, *eq;
                size_t slen = (size_t)((comma ? comma : end) - p);

                if (comma)
                        p = comma + 1;
                otel_propagation_trim_ows(&s, &slen);
                if (slen == 0) {
                        if (!comma)
                                break;
                        continue;
                }
                if (n == OTEL_TRACESTATE_MAX_MEMBERS) /* section 3.3.1.1: at most 32 list-members */
                        return -EINVAL;

                eq = memchr(s, '=', slen);
                if (!eq)
                        return -EINVAL;
                m[n] = (tracestate_span){
                        .key = s,
                        .key_len = (size_t)(eq - s),
                        .value = eq + 1,
                        .value_len = slen - (size_t)(eq - s) - 1,
                };
                if (!ts_key_is_valid(m[n].key, m[n].key_len) ||
                    !ts_value_is_valid(m[n].value, m[n].value_len))
                        return -EINVAL;
                /* A repeated key does not void the header: uniqueness binds the vendor that adds a
                 * key (section 3.5, mutating tracestate), and a receiver may discard invalid entries
                 * (section 4.3, processing model). The first occurrence is kept, later ones dropped;
                 * they still count towards the 32 members. */
                m[n].dropped = ts_key_seen(m, n, &m[n]);
                n++;
                if (!comma)
                        break;
        }
        *ret_n = n;
        return 0;
}

int otel_tracestate_parse(const char *value, size_t len, otel_tracestate **ret)
{
        tracestate_span m[OTEL_TRACESTATE_MAX_MEMBERS];
        size_t n = 0, header_len, pool_len, kept = 0;
        otel_tracestate *ts;
        char *h, *q;
        int r;

        if (!ret || (!value && len > 0))
                return -EINVAL;
        if (value) {
                r = ts_scan(value, len, m, &n);
                if (r < 0)
                        return r;
        }
        ts_truncate(m, n);

        header_len = ts_serialized_len(m, n);
        pool_len = header_len + 1;
        for (size_t i = 0; i < n; i++)
                if (!m[i].dropped)
                        pool_len += m[i].key_len + 1 + m[i].value_len + 1;

        ts = malloc(sizeof(*ts) + pool_len);
        if (!ts)
                return -ENOMEM;
        atomic_init(&ts->refs, 1);

        h = ts->pool;
        q = ts->pool + header_len + 1;
        for (size_t i = 0; i < n; i++) {
                if (m[i].dropped)
                        continue;
                if (kept > 0)
                        *h++ = ',';
                memcpy(h, m[i].key, m[i].key_len);
                h += m[i].key_len;
                *h++ = '=';
                memcpy(h, m[i].value, m[i].value_len);
                h += m[i].value_len;

                ts->members[kept].key = q;
                memcpy(q, m[i].key, m[i].key_len);
                q += m[i].key_len;
                *q++ = '\0';
                ts->members[kept].value = q;
                memcpy(q, m[i].value, m[i].value_len);
                q += m[i].value_len;
                *q++ = '\0';
                kept++;
        }
        *h = '\0';
        ts->n = (unsigned)kept;
        ts->header = ts->pool;
        *ret = ts;
        return 0;
}

const char *otel_tracestate_header(const otel_tracestate *ts)
{
        return ts ? ts->header : "";
}

const char *otel_tracestate_get(const otel_tracestate *ts, const char *key)
{
        if (!ts || !key)
                return NULL;
        for (unsigned i = 0; i < ts->n; i++)
                if (strcmp(ts->members[i].key, key) == 0)
                        return ts->members[i].value;
        return NULL;
}

size_t otel_tracestate_count(const otel_tracestate *ts)
{
        return ts ? ts->n : 0;
}

bool otel_tracestate_member(const otel_tracestate *ts, size_t i, const char **ret_key,
                            const char **ret_value)
{
        if (!ts || i >= ts->n)
                return false;
        if (ret_key)
                *ret_key = ts->members[i].key;
        if (ret_value)
                *ret_value = ts->members[i].value;
        return true;
}

otel_tracestate *otel_tracestate_ref(otel_tracestate *ts)
{
        if (ts)
                atomic_fetch_add_explicit(&ts->refs, 1, memory_order_relaxed);
        return ts;
}

void otel_tracestate_unref(otel_tracestate *ts)
{
        if (ts && atomic_fetch_sub_explicit(&ts->refs, 1, memory_order_acq_rel) == 1)
                free(ts);
}
