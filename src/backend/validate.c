/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Input validation of the data side: every field is type- and range-checked here, so the SQL layer
 * only sees well-formed values (and still passes them as parameters, never as text of the query).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shop-error.h"
#include "validate.h"

bool validate_utf8_text(const char *s, size_t len, size_t *ret_chars)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, chars = 0;

        while (i < len) {
                unsigned c = p[i];
                uint32_t cp;
                size_t n;

                if (c < 0x80) {
                        if (c < 0x20 || c == 0x7f)
                                return false;
                        i++;
                        chars++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        n = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        cp = c & 0x07;
                } else {
                        return false; /* continuation byte first, overlong lead (c0/c1) or > f4 */
                }
                if (len - i <= n)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((p[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i + k] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false; /* overlong, out of range or a UTF-16 surrogate */
                if (cp >= 0x80 && cp <= 0x9f)
                        return false; /* C1 controls */
                i += n + 1;
                chars++;
        }
        if (ret_chars)
                *ret_chars = chars;
        return true;
}

int validate_object(json_object *body, shop_error *err)
{
        if (!json_object_is_type(body, json_type_object))
                return shop_error_set(err, -EINVAL, 400, "request body must be a JSON object");
        return 0;
}

int validate_int_field(json_object *body, const char *key, int64_t min, int64_t max, int64_t *ret,
                       shop_error *err)
{
        json_object *v;
        int64_t i;

        if (!json_object_object_get_ex(body, key, &v) || !v)
                return shop_error_set(err, -EINVAL, 400, "%s is required", key);
        if (!json_object_is_type(v, json_type_int))
                return shop_error_set(err, -EINVAL, 400, "%s must be an integer", key);
        /* json-c clamps out-of-range numbers to INT64_MIN/MAX and sets errno. */
        errno = 0;
        i = json_object_get_int64(v);
        if (errno != 0 || i < min || i > max)
                return shop_error_set(err, -EINVAL, 400, "%s must be between %lld and %lld", key,
                                      (long long)min, (long long)max);
        *ret = i;
        return 0;
}

int validate_text_field(json_object *body, const char *key, size_t min_chars, size_t max_chars,
                        const char **ret, shop_error *err)
{
        json_object *v;
        const char *s;
        size_t chars;
        int len;

        if (!json_object_object_get_ex(body, key, &v) || !v)
                return shop_error_set(err, -EINVAL, 400, "%s is required", key);
        if (!json_object_is_type(v, json_type_string))
                return shop_error_set(err, -EINVAL, 400, "%s must be a string", key);
        s = json_object_get_string(v);
        len = json_object_get_string_len(v);
        /* A string with an embedded NUL (\u0000) has len > strlen and is rejected as a control char. */
        if (!validate_utf8_text(s, (size_t)len, &chars))
                return shop_error_set(err, -EINVAL, 400, "%s must be valid UTF-8 without control characters",
                                      key);
        if (chars < min_chars || chars > max_chars)
                return shop_error_set(err, -EINVAL, 400, "%s must be %zu to %zu characters long", key,
                                      min_chars, max_chars);
        *ret = s;
        return 0;
}

int validate_email_field(json_object *body, const char *key, const char **ret, shop_error *err)
{
        const char *s, *at;
        int r;

        r = validate_text_field(body, key, VALIDATE_EMAIL_MIN_CHARS, VALIDATE_EMAIL_MAX_CHARS, &s, err);
        if (r < 0)
                return r;
        at = strchr(s, '@');
        if (!at || at == s || at[1] == '\0' || strchr(at + 1, '@') || strchr(s, ' '))
                return shop_error_set(err, -EINVAL, 400, "%s must look like name@domain", key);
        *ret = s;
        return 0;
}

int validate_known_fields(json_object *body, const char *const *allowed, shop_error *err)
{
        json_object_object_foreach(body, key, v)
        {
                bool known = false;

                (void)v;
                for (size_t i = 0; allowed[i]; i++)
                        if (strcmp(key, allowed[i]) == 0)
                                known = true;
                if (!known)
                        return shop_error_set(err, -EINVAL, 400, "unknown field \"%.64s\"", key);
        }
        return 0;
}

int validate_paging(int64_t *limit, int64_t offset, shop_error *err)
{
        if (*limit < 0)
                *limit = SHOP_LIMIT_DEFAULT;
        if (*limit == 0 || *limit > SHOP_LIMIT_MAX)
                return shop_error_set(err, -EINVAL, 400, "limit must be between 1 and %d", SHOP_LIMIT_MAX);
        if (offset < 0)
                return shop_error_set(err, -EINVAL, 400, "offset must not be negative");
        return 0;
}

int validate_idempotency_key(const char *key, shop_error *err)
{
        size_t len = strlen(key);

        if (len == 0 || len > SHOP_IDEMPOTENCY_KEY_MAX)
                return shop_error_set(err, -EINVAL, 400, "Idempotency-Key must be 1 to %d characters",
                                      SHOP_IDEMPOTENCY_KEY_MAX);
        for (size_t i = 0; i < len; i++)
                if (key[i] < 0x21 || key[i] > 0x7e)
                        return shop_error_set(err, -EINVAL, 400,
                                              "Idempotency-Key must be printable ASCII without spaces");
        return 0;
}

int validate_search_query(const char *q, shop_error *err)
{
        size_t len = strlen(q);

        if (len > SHOP_QUERY_MAX)
                return shop_error_set(err, -EINVAL, 400, "q must be at most %d bytes", SHOP_QUERY_MAX);
        if (!validate_utf8_text(q, len, NULL))
                return shop_error_set(err, -EINVAL, 400, "q must be valid UTF-8 without control characters");
        return 0;
}

int validate_like_pattern(const char *q, char **ret)
{
        size_t len = strlen(q);
        char *p, *o;

        /* worst case every byte escaped, plus two '%' and the NUL */
        p = malloc(len * 2 + 3);
        if (!p)
                return -ENOMEM;
        o = p;
        *o++ = '%';
        for (const char *s = q; *s; s++) {
                if (*s == '\\' || *s == '%' || *s == '_')
                        *o++ = '\\';
                *o++ = *s;
        }
        *o++ = '%';
        *o = '\0';
        *ret = p;
        return 0;
}
