/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W3C Baggage: the `baggage` header as an immutable, reference-counted list of key, percent-decoded
 * value and raw properties. Parsing skips invalid list-members and keeps what fits in the limits
 * (64 members, 8192 bytes) rather than dropping everything; serializing percent-encodes values.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "otel.h"
#include "propagation.h"

#define UTF8_REPLACEMENT     "\xef\xbf\xbd" /* U+FFFD, for undecodable percent-encoded octets */
#define UTF8_REPLACEMENT_LEN 3
#define PCT_ENCODED_LEN      3 /* "%XX" */

typedef struct baggage_entry {
        const char *key;      /* RFC 7230 token, in the pool */
        const char *value;    /* percent-decoded UTF-8, in the pool */
        const char *metadata; /* raw properties after the first ';', in the pool; NULL when none */
        size_t encoded_len;   /* length of "key=value[;metadata]" once percent-encoded */
} baggage_entry;

struct otel_baggage {
        atomic_uint refs;        /* references held */
        size_t n;                /* entries */
        baggage_entry entries[]; /* in header order, followed by the string pool */
};

/* A member on its way into a baggage: pointers into the input or the caller's strings. */
typedef struct baggage_item {
        const char *key;
        size_t key_len;
        const char *value; /* decoded */
        size_t value_len;
        const char *metadata; /* NULL when none */
        size_t metadata_len;
        size_t encoded_len; /* as in baggage_entry */
} baggage_item;

/* RFC 7230 section 3.2.6 tchar. */
static bool is_tchar(unsigned char c)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s, size_t len)
{
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_tchar((unsigned char)s[i]))
                        return false;
        return true;
}

/* baggage-octet: printable US-ASCII except whitespace, '"', ',', ';' and '\'. */
static bool is_baggage_octet(unsigned char c)
{
        return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

/* Characters written as-is when serializing a value; '%' must be encoded too. */
static bool is_value_raw(unsigned char c)
{
        return is_baggage_octet(c) && c != '%';
}

int otel_percent_decode(const char *s, size_t n, char *out, size_t *ret_len)
{
        size_t o = 0;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '%') {
                        int hi, lo;

                        if (n - i < PCT_ENCODED_LEN)
                                return -EINVAL;
                        hi = otel_hex_digit_value(s[i + 1]);
                        lo = otel_hex_digit_value(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = (unsigned char)(hi << 4 | lo);
                        i += 2;
                }
                out[o++] = (char)c;
        }
        out[o] = 0;
        *ret_len = o;
        return 0;
}

static size_t value_encoded_len(const char *v, size_t len)
{
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                n += is_value_raw((unsigned char)v[i]) ? 1 : PCT_ENCODED_LEN;
        return n;
}

static size_t item_encoded_len(const baggage_item *it)
{
        size_t n = it->key_len + 1 + value_encoded_len(it->value, it->value_len);

        if (it->metadata)
                n += 1 + it->metadata_len;
        return n;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 table), or 0 when it is not. */
static size_t utf8_sequence_len(const uint8_t *s, size_t n)
{
        uint8_t c = s[0], lo = 0x80, hi = 0xbf;
        size_t need;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                need = 1;
        else if (c >= 0xe0 && c <= 0xef) {
                need = 2;
                if (c == 0xe0)
                        lo = 0xa0; /* overlong */
                else if (c == 0xed)
                        hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                need = 3;
                if (c == 0xf0)
                        lo = 0x90; /* overlong */
                else if (c == 0xf4)
                        hi = 0x8f; /* above U+10FFFF */
        } else
                return 0;

        if (n < need + 1 || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i <= need; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return need + 1;
}

static bool utf8_is_valid(const char *s, size_t n)
{
        for (size_t i = 0, l; i < n; i += l) {
                l = utf8_sequence_len((const uint8_t *)s + i, n - i);
                if (l == 0)
                        return false;
        }
        return true;
}

/* Rewrites invalid octets of the n bytes at buf as U+FFFD, as the Baggage draft requires of decoded
 * values. The result fits in cap bytes because every invalid octet came from a 3-byte "%XX". */
static int utf8_replace_invalid(char *buf, size_t n, size_t cap, size_t *ret_len)
{
        char *copy;
        size_t o = 0;

        if (utf8_is_valid(buf, n)) {
                *ret_len = n;
                return 0;
        }
        copy = malloc(n);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, n);
        for (size_t i = 0; i < n;) {
                size_t l = utf8_sequence_len((const uint8_t *)copy + i, n - i);
                if (l == 0) {
                        if (o + UTF8_REPLACEMENT_LEN > cap)
                                break; /* cannot happen, see above; never overrun */
                        memcpy(buf + o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
                        o += UTF8_REPLACEMENT_LEN;
                        i++;
                } else {
                        if (o + l > cap)
                                break;
                        memcpy(buf + o, copy + i, l);
                        o += l;
                        i += l;
                }
        }
        free(copy);
        *ret_len = o;
        return 0;
}

/* Checks the value grammar and percent-decodes it into dec (room for len + 1 bytes). Returns the decoded
 * length, -EINVAL for a character outside baggage-octet, a malformed "%" sequence or an encoded NUL
 * (which a C string cannot carry), or -ENOMEM. */
static int value_decode(const char *v, size_t len, char *dec, size_t *ret_len)
{
        size_t o;
        int r;

        for (size_t i = 0; i < len; i++)
                if (!is_baggage_octet((unsigned char)v[i]))
                        return -EINVAL;
        r = otel_percent_decode(v, len, dec, &o);
        if (r < 0)
                return r;
        /* A raw NUL is no baggage-octet, so a NUL here was "%00". */
        if (memchr(dec, 0, o))
                return -EINVAL;
        return utf8_replace_invalid(dec, o, len, ret_len);
}

/* property = key OWS "=" OWS value / key OWS, separated by OWS ";" OWS. Kept raw, only checked. */
static bool properties_are_valid(const char *s, size_t len)
{
        const char *p = s, *end = s + len;

        for (;;) {
                const char *semi = memchr(p, ';', (size_t)(end - p));
                const char *prop = p, *eq;
                size_t plen = (size_t)((semi ? semi : end) - p);

                otel_propagation_trim_ows(&prop, &plen);
                eq = memchr(prop, '=', plen);
                if (eq) {
                        const char *k = prop, *v = eq + 1;
                        size_t klen = (size_t)(eq - prop), vlen = plen - klen - 1;

                        otel_propagation_trim_ows(&k, &klen);
                        otel_propagation_trim_ows(&v, &vlen);
                        if (!is_token(k, klen))
                                return false;
                        for (size_t i = 0; i < vlen; i++)
                                if (!is_baggage_octet((unsigned char)v[i]))
                                        return false;
                } else if (!is_token(prop, plen))
                        return false;
                if (!semi)
                        return true;
                p = semi + 1;
        }
}

/* list-member = key OWS "=" OWS value *( OWS ";" OWS property ), already trimmed of outer OWS. */
static int member_parse(const char *s, size_t len, char *dec, baggage_item *ret)
{
        const char *semi = memchr(s, ';', len);
        size_t head_len = semi ? (size_t)(semi - s) : len;
        const char *eq = memchr(s, '=', head_len);
        baggage_item it = {};
        const char *v;
        size_t vlen;
        int r;

        if (!eq)
                return -EINVAL;
        it.key = s;
        it.key_len = (size_t)(eq - s);
        otel_propagation_trim_ows(&it.key, &it.key_len);
        if (!is_token(it.key, it.key_len))
                return -EINVAL;

        v = eq + 1;
        vlen = head_len - (size_t)(v - s);
        otel_propagation_trim_ows(&v, &vlen);
        r = value_decode(v, vlen, dec, &it.value_len);
        if (r < 0)
                return r;
        it.value = dec;

        if (semi) {
                it.metadata = semi + 1;
                it.metadata_len = len - head_len - 1;
                otel_propagation_trim_ows(&it.metadata, &it.metadata_len);
                if (!properties_are_valid(it.metadata, it.metadata_len))
                        return -EINVAL;
        }
        it.encoded_len = item_encoded_len(&it);
        *ret = it;
        return 0;
}

/* Copies the items into one allocation. */
static otel_baggage *baggage_build(const baggage_item *items, size_t n)
{
        size_t pool_len = 0;
        otel_baggage *bg;
        char *q;

        for (size_t i = 0; i < n; i++)
                pool_len += items[i].key_len + 1 + items[i].value_len + 1 +
                            (items[i].metadata ? items[i].metadata_len + 1 : 0);

        bg = malloc(sizeof(*bg) + n * sizeof(baggage_entry) + pool_len);
        if (!bg)
                return NULL;
        atomic_init(&bg->refs, 1);
        bg->n = n;
        q = (char *)(bg->entries + n);
        for (size_t i = 0; i < n; i++) {
                baggage_entry *e = &bg->entries[i];

                e->key = q;
                memcpy(q, items[i].key, items[i].key_len);
                q += items[i].key_len;
                *q++ = '\0';
                e->value = q;
                memcpy(q, items[i].value, items[i].value_len);
                q += items[i].value_len;
                *q++ = '\0';
                e->metadata = NULL;
                if (items[i].metadata) {
                        e->metadata = q;
                        memcpy(q, items[i].metadata, items[i].metadata_len);
                        q += items[i].metadata_len;
                        *q++ = '\0';
                }
                e->encoded_len = items[i].encoded_len;
        }
        return bg;
}

static ssize_t items_find(const baggage_item *items, size_t n, const char *key, size_t key_len)
{
        for (size_t i = 0; i < n; i++)
                if (items[i].key_len == key_len && memcmp(items[i].key, key, key_len) == 0)
                        return (ssize_t)i;
        return -1;
}

int otel_baggage_parse(const char *value, size_t len, otel_baggage **ret)
{
        baggage_item items[OTEL_BAGGAGE_MAX_MEMBERS];
        const char *p = value, *end = value + len;
        size_t n = 0, total = 0;
        char *scratch, *dec;
        otel_baggage *bg;

        if (!ret || (!value && len > 0))
                return -EINVAL;
        if (!value)
                p = end = value = "";
        /* Decoded values are never longer than their encoded form. */
        scratch = dec = malloc(len + 1);
        if (!scratch)
                return -ENOMEM;

        while (len > 0) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *s = p;
                size_t slen = (size_t)((comma ? comma : end) - p);
                baggage_item it;
                ssize_t i;
                int r;

                otel_propagation_trim_ows(&s, &slen);
                r = slen > 0 ? member_parse(s, slen, dec, &it) : -EINVAL;
                if (r == -ENOMEM) {
                        free(scratch);
                        return r;
                }
                if (r < 0)
                        goto next; /* empty or invalid list-member: skip it, keep the rest */

                /* A repeated key replaces the earlier value in place (the API keeps keys unique). The
                 * limits count what we will write: keep a member only when it still fits. */
                i = items_find(items, n, it.key, it.key_len);
                if (i >= 0) {
                        if (total - items[i].encoded_len + it.encoded_len <= OTEL_BAGGAGE_MAX_BYTES) {
                                total = total - items[i].encoded_len + it.encoded_len;
                                items[i] = it;
                                dec += it.value_len;
                        }
                } else if (n < OTEL_BAGGAGE_MAX_MEMBERS &&
                           total + (n > 0) + it.encoded_len <= OTEL_BAGGAGE_MAX_BYTES) {
                        total += (n > 0) + it.encoded_len;
                        items[n++] = it;
                        dec += it.value_len;
                }
        next:
                if (!comma)
                        break;
                p = comma + 1;
        }

        bg = baggage_build(items, n);
        free(scratch);
        if (!bg)
                return -ENOMEM;
        *ret = bg;
        return 0;
}

size_t otel_baggage_count(const otel_baggage *bg)
{
        return bg ? bg->n : 0;
}

const char *otel_baggage_get(const otel_baggage *bg, const char *key)
{
        if (!bg || !key)
                return NULL;
        for (size_t i = 0; i < bg->n; i++)
                if (strcmp(bg->entries[i].key, key) == 0)
                        return bg->entries[i].value;
        return NULL;
}

bool otel_baggage_entry(const otel_baggage *bg, size_t i, const char **ret_key, const char **ret_value,
                        const char **ret_metadata)
{
        if (!bg || i >= bg->n)
                return false;
        if (ret_key)
                *ret_key = bg->entries[i].key;
        if (ret_value)
                *ret_value = bg->entries[i].value;
        if (ret_metadata)
                *ret_metadata = bg->entries[i].metadata;
        return true;
}

otel_baggage *otel_baggage_set(const otel_baggage *bg, const char *key, const char *value,
                               const char *metadata)
{
        size_t n = otel_baggage_count(bg), key_len, meta_len = 0;
        baggage_item *items, it;
        otel_baggage *res;
        ssize_t i;

        if (!key || !value)
                return NULL;
        key_len = strlen(key);
        /* Values are UTF-8 strings (the draft decodes to UTF-8); properties must parse back. */
        if (!is_token(key, key_len) || !utf8_is_valid(value, strlen(value)))
                return NULL;
        if (metadata) {
                meta_len = strlen(metadata);
                otel_propagation_trim_ows(&metadata, &meta_len);
                if (meta_len == 0)
                        metadata = NULL;
                else if (!properties_are_valid(metadata, meta_len))
                        return NULL;
        }
        it = (baggage_item){
                .key = key,
                .key_len = key_len,
                .value = value,
                .value_len = strlen(value),
                .metadata = metadata,
                .metadata_len = meta_len,
        };
        it.encoded_len = item_encoded_len(&it);

        items = calloc(n + 1, sizeof(*items));
        if (!items)
                return NULL;
        for (size_t j = 0; j < n; j++) {
                const baggage_entry *e = &bg->entries[j];
                items[j] = (baggage_item){
                        .key = e->key,
                        .key_len = strlen(e->key),
                        .value = e->value,
                        .value_len = strlen(e->value),
                        .metadata = e->metadata,
                        .metadata_len = e->metadata ? strlen(e->metadata) : 0,
                        .encoded_len = e->encoded_len,
                };
        }
        i = items_find(items, n, key, key_len);
        if (i >= 0)
                items[i] = it;
        else
                items[n++] = it;

        res = baggage_build(items, n);
        free(items);
        return res;
}

static char *value_encode(char *q, const char *v)
{
        static const char hex[] = "0123456789ABCDEF";

        for (; *v; v++) {
                unsigned char c = (unsigned char)*v;
                if (is_value_raw(c))
                        *q++ = (char)c;
                else {
                        *q++ = '%';
                        *q++ = hex[c >> 4];
                        *q++ = hex[c & 0xf];
                }
        }
        return q;
}

/* Entries that fit the limits, in order: the first 64 members whose total stays within 8192 bytes.
 * A member is never cut (the draft forbids propagating partial list-members). */
static bool entry_fits(const baggage_entry *e, size_t kept, size_t total)
{
        return kept < OTEL_BAGGAGE_MAX_MEMBERS &&
               total + (kept > 0) + e->encoded_len <= OTEL_BAGGAGE_MAX_BYTES;
}

char *otel_baggage_header(const otel_baggage *bg)
{
        size_t kept = 0, total = 0;
        char *out, *q;

        if (!bg)
                return NULL;
        for (size_t i = 0; i < bg->n; i++)
                if (entry_fits(&bg->entries[i], kept, total)) {
                        total += (kept > 0) + bg->entries[i].encoded_len;
                        kept++;
                }
        if (kept == 0)
                return NULL;

        out = q = malloc(total + 1);
        if (!out)
                return NULL;
        kept = 0;
        total = 0;
        for (size_t i = 0; i < bg->n; i++) {
                const baggage_entry *e = &bg->entries[i];
                size_t key_len = strlen(e->key);

                if (!entry_fits(e, kept, total))
                        continue;
                if (kept > 0)
                        *q++ = ',';
                total += (kept > 0) + e->encoded_len;
                kept++;
                memcpy(q, e->key, key_len);
                q += key_len;
                *q++ = '=';
                q = value_encode(q, e->value);
                if (e->metadata) {
                        size_t meta_len = strlen(e->metadata);
                        *q++ = ';';
                        memcpy(q, e->metadata, meta_len);
                        q += meta_len;
                }
        }
        *q = '\0';
        return out;
}

otel_baggage *otel_baggage_ref(otel_baggage *bg)
{
        if (bg)
                atomic_fetch_add_explicit(&bg->refs, 1, memory_order_relaxed);
        return bg;
}

void otel_baggage_unref(otel_baggage *bg)
{
        if (bg && atomic_fetch_sub_explicit(&bg->refs, 1, memory_order_acq_rel) == 1)
                free(bg);
}
