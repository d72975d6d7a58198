/* SPDX-License-Identifier: Apache-2.0 */
/* W3C Baggage: list-member grammar, percent-encoding, properties, limits and the immutable API. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "otel.h"

static otel_baggage *bg_parse(const char *s)
{
        otel_baggage *bg = NULL;

        assert_int_equal(otel_baggage_parse(s, strlen(s), &bg), 0);
        assert_non_null(bg);
        return bg;
}

/* The value of key after parsing s, or NULL; the baggage is released. */
static void assert_member_skipped(const char *s, const char *key)
{
        otel_baggage *bg = bg_parse(s);

        if (otel_baggage_get(bg, key))
                fail_msg("kept invalid member \"%s\" of \"%s\"", key, s);
        otel_baggage_unref(bg);
}

static void assert_header(const otel_baggage *bg, const char *expected)
{
        char *h = otel_baggage_header(bg);

        assert_non_null(h);
        assert_string_equal(h, expected);
        free(h);
}

/* ---- parsing --------------------------------------------------------------------------------- */

static void test_baggage_parses_single_member(void **state)
{
        otel_baggage *bg = bg_parse("userId=alice");

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 1);
        assert_string_equal(otel_baggage_get(bg, "userId"), "alice");
        otel_baggage_unref(bg);
}

static void test_baggage_keeps_member_order(void **state)
{
        otel_baggage *bg = bg_parse("b=2,a=1,c=3");
        const char *k, *v, *m;

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 3);
        assert_true(otel_baggage_entry(bg, 0, &k, &v, &m));
        assert_string_equal(k, "b");
        assert_string_equal(v, "2");
        assert_null(m);
        assert_true(otel_baggage_entry(bg, 2, &k, &v, &m));
        assert_string_equal(k, "c");
        assert_false(otel_baggage_entry(bg, 3, &k, &v, &m));
        otel_baggage_unref(bg);
}

static void test_baggage_get_returns_null_for_absent_key(void **state)
{
        otel_baggage *bg = bg_parse("a=1");

        (void)state;
        assert_null(otel_baggage_get(bg, "b"));
        assert_null(otel_baggage_get(bg, "A"));
        assert_null(otel_baggage_get(NULL, "a"));
        otel_baggage_unref(bg);
}

static void test_baggage_tolerates_ows_around_members_and_equals(void **state)
{
        otel_baggage *bg = bg_parse(" \tk1 = v1 ,\tk2\t=\tv2 \t");

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 2);
        assert_string_equal(otel_baggage_get(bg, "k1"), "v1");
        assert_string_equal(otel_baggage_get(bg, "k2"), "v2");
        otel_baggage_unref(bg);
}

static void test_baggage_skips_empty_members(void **state)
{
        otel_baggage *bg = bg_parse(",a=1,, ,b=2,");

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 2);
        otel_baggage_unref(bg);
}

static void test_baggage_accepts_empty_value(void **state)
{
        otel_baggage *bg = bg_parse("k=,j=1");

        (void)state;
        assert_string_equal(otel_baggage_get(bg, "k"), "");
        assert_string_equal(otel_baggage_get(bg, "j"), "1");
        otel_baggage_unref(bg);
}

static void test_baggage_accepts_token_characters_in_key(void **state)
{
        otel_baggage *bg = bg_parse("!#$%&'*+-.^_`|~AZaz09=1");

        (void)state;
        assert_string_equal(otel_baggage_get(bg, "!#$%&'*+-.^_`|~AZaz09"), "1");
        otel_baggage_unref(bg);
}

static void test_baggage_percent_decodes_value(void **state)
{
        otel_baggage *bg = bg_parse("k=a%20b%2Cc%3Bd%25e%3D");

        (void)state;
        assert_string_equal(otel_baggage_get(bg, "k"), "a b,c;d%e=");
        otel_baggage_unref(bg);
}

static void test_baggage_percent_decoding_is_case_insensitive(void **state)
{
        otel_baggage *bg = bg_parse("k=%c3%a9%C3%A9");

        (void)state;
        assert_string_equal(otel_baggage_get(bg, "k"), "\xc3\xa9\xc3\xa9");
        otel_baggage_unref(bg);
}

static void test_baggage_decodes_multibyte_utf8(void **state)
{
        otel_baggage *bg = bg_parse("price=10%E2%82%AC,emoji=%F0%9F%98%80");

        (void)state;
        assert_string_equal(otel_baggage_get(bg, "price"), "10\xe2\x82\xac");
        assert_string_equal(otel_baggage_get(bg, "emoji"), "\xf0\x9f\x98\x80");
        otel_baggage_unref(bg);
}

static void test_baggage_replaces_invalid_utf8_with_replacement_character(void **state)
{
        otel_baggage *bg = bg_parse("a=x%FFy,b=%C3,c=%ED%A0%80");

        (void)state;
        assert_string_equal(otel_baggage_get(bg, "a"), "x\xef\xbf\xbdy");
        assert_string_equal(otel_baggage_get(bg, "b"), "\xef\xbf\xbd");
        /* An encoded surrogate: three invalid octets. */
        assert_string_equal(otel_baggage_get(bg, "c"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        otel_baggage_unref(bg);
}

static void test_baggage_skips_member_with_malformed_percent_sequence(void **state)
{
        otel_baggage *bg = bg_parse("a=1,b=%4,c=%zz,d=50%,e=%g1,f=3");

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 2);
        assert_string_equal(otel_baggage_get(bg, "a"), "1");
        assert_string_equal(otel_baggage_get(bg, "f"), "3");
        otel_baggage_unref(bg);
}

static void test_baggage_skips_member_with_encoded_nul(void **state)
{
        (void)state;
        assert_member_skipped("a=x%00y", "a");
}

static void test_baggage_skips_member_with_character_outside_baggage_octet(void **state)
{
        (void)state;
        assert_member_skipped("k=a b", "k");
        assert_member_skipped("k=a\"b", "k");
        assert_member_skipped("k=a\\b", "k");
        assert_member_skipped("k=a\tb", "k");
        assert_member_skipped("k=caf\xc3\xa9", "k");
}

static void test_baggage_skips_member_with_invalid_key(void **state)
{
        otel_baggage *bg = bg_parse("=1,a b=2,k{=3,\"q\"=4,ok=5");

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 1);
        assert_string_equal(otel_baggage_get(bg, "ok"), "5");
        otel_baggage_unref(bg);
}

static void test_baggage_skips_member_without_equals(void **state)
{
        otel_baggage *bg = bg_parse("novalue,k=1,p;x=1");

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 1);
        assert_string_equal(otel_baggage_get(bg, "k"), "1");
        otel_baggage_unref(bg);
}

static void test_baggage_keeps_properties_raw(void **state)
{
        otel_baggage *bg = bg_parse("k=v;p1;p2=x%20y");
        const char *m;

        (void)state;
        assert_true(otel_baggage_entry(bg, 0, NULL, NULL, &m));
        assert_string_equal(m, "p1;p2=x%20y");
        assert_string_equal(otel_baggage_get(bg, "k"), "v");
        otel_baggage_unref(bg);
}

static void test_baggage_trims_ows_around_properties(void **state)
{
        otel_baggage *bg = bg_parse("k = v ; p1 ; p2 = x \t,j=1");
        const char *m;

        (void)state;
        assert_string_equal(otel_baggage_get(bg, "k"), "v");
        assert_true(otel_baggage_entry(bg, 0, NULL, NULL, &m));
        assert_string_equal(m, "p1 ; p2 = x");
        otel_baggage_unref(bg);
}

static void test_baggage_skips_member_with_invalid_property(void **state)
{
        otel_baggage *bg = bg_parse("a=1;,b=2;;p,c=3;p q,d=4;=x,e=5;p=a\"b,ok=6;p");

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 1);
        assert_string_equal(otel_baggage_get(bg, "ok"), "6");
        otel_baggage_unref(bg);
}

static void test_baggage_later_duplicate_replaces_value(void **state)
{
        otel_baggage *bg = bg_parse("k=1,j=2,k=3");
        const char *key, *v;

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 2);
        assert_true(otel_baggage_entry(bg, 0, &key, &v, NULL));
        assert_string_equal(key, "k");
        assert_string_equal(v, "3");
        otel_baggage_unref(bg);
}

static void test_baggage_all_invalid_is_empty(void **state)
{
        otel_baggage *bg = bg_parse("garbage,=,;;");

        (void)state;
        assert_int_equal(otel_baggage_count(bg), 0);
        assert_null(otel_baggage_header(bg));
        otel_baggage_unref(bg);
}

/* ---- limits ---------------------------------------------------------------------------------- */

static void test_baggage_keeps_64_members(void **state)
{
        char input[2048];
        size_t o = 0;
        otel_baggage *bg;

        (void)state;
        for (int i = 0; i < 64; i++)
                o += (size_t)snprintf(input + o, sizeof(input) - o, "%sk%d=%d", o ? "," : "", i, i);
        bg = bg_parse(input);
        assert_int_equal(otel_baggage_count(bg), 64);
        assert_header(bg, input);
        otel_baggage_unref(bg);
}

static void test_baggage_drops_members_beyond_64(void **state)
{
        char input[2048];
        size_t o = 0;
        otel_baggage *bg;

        (void)state;
        for (int i = 0; i < 70; i++)
                o += (size_t)snprintf(input + o, sizeof(input) - o, "%sk%d=%d", o ? "," : "", i, i);
        bg = bg_parse(input);
        assert_int_equal(otel_baggage_count(bg), 64);
        assert_string_equal(otel_baggage_get(bg, "k63"), "63");
        assert_null(otel_baggage_get(bg, "k64"));
        otel_baggage_unref(bg);
}

static char *make_member(const char *key, size_t value_len)
{
        size_t klen = strlen(key);
        char *s = malloc(klen + 1 + value_len + 1);

        assert_non_null(s);
        memcpy(s, key, klen);
        s[klen] = '=';
        memset(s + klen + 1, 'v', value_len);
        s[klen + 1 + value_len] = '\0';
        return s;
}

static void test_baggage_keeps_what_fits_in_8192_bytes(void **state)
{
        char *big = make_member("big", 8000), *mid = make_member("mid", 500), input[9000];
        otel_baggage *bg;

        (void)state;
        /* 8004 + 1 + 504 is over the limit: "mid" is dropped, the small one after it still fits. */
        snprintf(input, sizeof(input), "%s,%s,small=1", big, mid);
        bg = bg_parse(input);
        assert_int_equal(otel_baggage_count(bg), 2);
        assert_non_null(otel_baggage_get(bg, "big"));
        assert_null(otel_baggage_get(bg, "mid"));
        assert_string_equal(otel_baggage_get(bg, "small"), "1");
        otel_baggage_unref(bg);
        free(big);
        free(mid);
}

static void test_baggage_keeps_exactly_8192_bytes(void **state)
{
        char *a = make_member("a", 4094), *b = make_member("b", 4093), input[9000];
        otel_baggage *bg;

        (void)state;
        snprintf(input, sizeof(input), "%s,%s", a, b);
        assert_int_equal(strlen(input), OTEL_BAGGAGE_MAX_BYTES);
        bg = bg_parse(input);
        assert_int_equal(otel_baggage_count(bg), 2);
        assert_header(bg, input);
        otel_baggage_unref(bg);
        free(a);
        free(b);
}

static void test_baggage_drops_single_member_over_8192_bytes(void **state)
{
        char *huge = make_member("huge", 8200), input[9000];
        otel_baggage *bg;

        (void)state;
        snprintf(input, sizeof(input), "%s,k=1", huge);
        bg = bg_parse(input);
        assert_int_equal(otel_baggage_count(bg), 1);
        assert_string_equal(otel_baggage_get(bg, "k"), "1");
        otel_baggage_unref(bg);
        free(huge);
}

static void test_baggage_byte_limit_counts_encoded_size(void **state)
{
        char input[9000];
        size_t o;
        otel_baggage *bg;

        (void)state;
        /* Each "%80" decodes to U+FFFD, written back as "%EF%BF%BD": 1000 of them are 3002 bytes of
         * input but 9002 bytes of output, over the limit. */
        o = (size_t)snprintf(input, sizeof(input), "k=");
        for (int i = 0; i < 1000; i++)
                o += (size_t)snprintf(input + o, sizeof(input) - o, "%%80");
        snprintf(input + o, sizeof(input) - o, ",j=1");
        bg = bg_parse(input);
        assert_null(otel_baggage_get(bg, "k"));
        assert_string_equal(otel_baggage_get(bg, "j"), "1");
        otel_baggage_unref(bg);
}

/* ---- serializing and building ---------------------------------------------------------------- */

static void test_baggage_header_percent_encodes_value(void **state)
{
        otel_baggage *bg = otel_baggage_set(NULL, "k", "a b,c;d%e\"f\\g=h/\xc3\xa9", NULL);

        (void)state;
        assert_non_null(bg);
        assert_header(bg, "k=a%20b%2Cc%3Bd%25e%22f%5Cg=h/%C3%A9");
        otel_baggage_unref(bg);
}

static void test_baggage_header_includes_properties(void **state)
{
        otel_baggage *bg = otel_baggage_set(NULL, "k", "v", "p1;p2=x");

        (void)state;
        assert_non_null(bg);
        assert_header(bg, "k=v;p1;p2=x");
        otel_baggage_unref(bg);
}

static void test_baggage_header_is_null_when_empty(void **state)
{
        (void)state;
        assert_null(otel_baggage_header(NULL));
}

static void test_baggage_percent_encoding_round_trips(void **state)
{
        const char *value = " ,;%=\"\\\x01\x7f caf\xc3\xa9 \xe2\x82\xac";
        otel_baggage *a = otel_baggage_set(NULL, "k", value, NULL), *b;
        char *h;

        (void)state;
        assert_non_null(a);
        h = otel_baggage_header(a);
        assert_non_null(h);
        b = bg_parse(h);
        assert_string_equal(otel_baggage_get(b, "k"), value);
        free(h);
        otel_baggage_unref(a);
        otel_baggage_unref(b);
}

static void test_baggage_header_of_parsed_baggage_reparses_identically(void **state)
{
        otel_baggage *a = bg_parse(" k1 = v%201 ; p ; q = r , k2=%E2%82%AC,bad=%zz,k3="), *b;
        char *h;
        const char *ka, *va, *ma, *kb, *vb, *mb;

        (void)state;
        h = otel_baggage_header(a);
        assert_non_null(h);
        assert_string_equal(h, "k1=v%201;p ; q = r,k2=%E2%82%AC,k3=");
        b = bg_parse(h);
        assert_int_equal(otel_baggage_count(a), otel_baggage_count(b));
        for (size_t i = 0; otel_baggage_entry(a, i, &ka, &va, &ma); i++) {
                assert_true(otel_baggage_entry(b, i, &kb, &vb, &mb));
                assert_string_equal(ka, kb);
                assert_string_equal(va, vb);
                if (ma)
                        assert_string_equal(ma, mb);
                else
                        assert_null(mb);
        }
        free(h);
        otel_baggage_unref(a);
        otel_baggage_unref(b);
}

static void test_baggage_set_adds_entry_and_leaves_original_unchanged(void **state)
{
        otel_baggage *a = bg_parse("a=1"), *b;

        (void)state;
        b = otel_baggage_set(a, "b", "2", NULL);
        assert_non_null(b);
        assert_ptr_not_equal(a, b);
        assert_int_equal(otel_baggage_count(a), 1);
        assert_null(otel_baggage_get(a, "b"));
        assert_int_equal(otel_baggage_count(b), 2);
        assert_header(b, "a=1,b=2");
        otel_baggage_unref(a);
        otel_baggage_unref(b);
}

static void test_baggage_set_replaces_existing_key_in_place(void **state)
{
        otel_baggage *a = bg_parse("a=1;p,b=2,c=3"), *b;

        (void)state;
        b = otel_baggage_set(a, "b", "two", "meta=1");
        assert_non_null(b);
        assert_int_equal(otel_baggage_count(b), 3);
        assert_header(b, "a=1;p,b=two;meta=1,c=3");
        assert_string_equal(otel_baggage_get(a, "b"), "2");
        otel_baggage_unref(a);
        otel_baggage_unref(b);
}

static void test_baggage_set_rejects_invalid_key(void **state)
{
        (void)state;
        assert_null(otel_baggage_set(NULL, "", "v", NULL));
        assert_null(otel_baggage_set(NULL, "a b", "v", NULL));
        assert_null(otel_baggage_set(NULL, "k=", "v", NULL));
        assert_null(otel_baggage_set(NULL, "k,", "v", NULL));
        assert_null(otel_baggage_set(NULL, NULL, "v", NULL));
        assert_null(otel_baggage_set(NULL, "k", NULL, NULL));
}

static void test_baggage_set_rejects_invalid_metadata(void **state)
{
        (void)state;
        assert_null(otel_baggage_set(NULL, "k", "v", "p q"));
        assert_null(otel_baggage_set(NULL, "k", "v", "p;;q"));
        assert_null(otel_baggage_set(NULL, "k", "v", "p=a,b"));
}

static void test_baggage_set_treats_empty_metadata_as_none(void **state)
{
        otel_baggage *bg = otel_baggage_set(NULL, "k", "v", " ");
        const char *m = "x";

        (void)state;
        assert_non_null(bg);
        assert_true(otel_baggage_entry(bg, 0, NULL, NULL, &m));
        assert_null(m);
        otel_baggage_unref(bg);
}

static void test_baggage_set_rejects_invalid_utf8_value(void **state)
{
        (void)state;
        assert_null(otel_baggage_set(NULL, "k", "\xff", NULL));
        assert_null(otel_baggage_set(NULL, "k", "\xc3", NULL));
}

static void test_baggage_header_honours_member_limit(void **state)
{
        otel_baggage *bg = NULL, *next;
        char key[16], *h;
        size_t commas = 0;

        (void)state;
        for (int i = 0; i < 70; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                next = otel_baggage_set(bg, key, "v", NULL);
                assert_non_null(next);
                otel_baggage_unref(bg);
                bg = next;
        }
        assert_int_equal(otel_baggage_count(bg), 70);
        h = otel_baggage_header(bg);
        assert_non_null(h);
        for (char *p = h; *p; p++)
                commas += *p == ',';
        assert_int_equal(commas, 63);
        assert_null(strstr(h, "k64="));
        free(h);
        otel_baggage_unref(bg);
}

static void test_baggage_header_honours_byte_limit(void **state)
{
        char *value = malloc(5000), *h;
        otel_baggage *a, *b;

        (void)state;
        assert_non_null(value);
        memset(value, 'v', 4999);
        value[4999] = '\0';
        a = otel_baggage_set(NULL, "a", value, NULL);
        assert_non_null(a);
        b = otel_baggage_set(a, "b", value, NULL);
        assert_non_null(b);
        h = otel_baggage_header(b);
        assert_non_null(h);
        assert_int_equal(strlen(h), 2 + 4999);
        assert_int_equal(h[0], 'a');
        free(h);
        free(value);
        otel_baggage_unref(a);
        otel_baggage_unref(b);
}

static void test_baggage_ref_keeps_it_alive(void **state)
{
        otel_baggage *bg = bg_parse("a=1");

        (void)state;
        assert_ptr_equal(otel_baggage_ref(bg), bg);
        otel_baggage_unref(bg);
        assert_string_equal(otel_baggage_get(bg, "a"), "1");
        otel_baggage_unref(bg);
        otel_baggage_unref(NULL);
        assert_null(otel_baggage_ref(NULL));
        assert_int_equal(otel_baggage_count(NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_baggage_parses_single_member),
                cmocka_unit_test(test_baggage_keeps_member_order),
                cmocka_unit_test(test_baggage_get_returns_null_for_absent_key),
                cmocka_unit_test(test_baggage_tolerates_ows_around_members_and_equals),
                cmocka_unit_test(test_baggage_skips_empty_members),
                cmocka_unit_test(test_baggage_accepts_empty_value),
                cmocka_unit_test(test_baggage_accepts_token_characters_in_key),
                cmocka_unit_test(test_baggage_percent_decodes_value),
                cmocka_unit_test(test_baggage_percent_decoding_is_case_insensitive),
                cmocka_unit_test(test_baggage_decodes_multibyte_utf8),
                cmocka_unit_test(test_baggage_replaces_invalid_utf8_with_replacement_character),
                cmocka_unit_test(test_baggage_skips_member_with_malformed_percent_sequence),
                cmocka_unit_test(test_baggage_skips_member_with_encoded_nul),
                cmocka_unit_test(test_baggage_skips_member_with_character_outside_baggage_octet),
                cmocka_unit_test(test_baggage_skips_member_with_invalid_key),
                cmocka_unit_test(test_baggage_skips_member_without_equals),
                cmocka_unit_test(test_baggage_keeps_properties_raw),
                cmocka_unit_test(test_baggage_trims_ows_around_properties),
                cmocka_unit_test(test_baggage_skips_member_with_invalid_property),
                cmocka_unit_test(test_baggage_later_duplicate_replaces_value),
                cmocka_unit_test(test_baggage_all_invalid_is_empty),
                cmocka_unit_test(test_baggage_keeps_64_members),
                cmocka_unit_test(test_baggage_drops_members_beyond_64),
                cmocka_unit_test(test_baggage_keeps_what_fits_in_8192_bytes),
                cmocka_unit_test(test_baggage_keeps_exactly_8192_bytes),
                cmocka_unit_test(test_baggage_drops_single_member_over_8192_bytes),
                cmocka_unit_test(test_baggage_byte_limit_counts_encoded_size),
                cmocka_unit_test(test_baggage_header_percent_encodes_value),
                cmocka_unit_test(test_baggage_header_includes_properties),
                cmocka_unit_test(test_baggage_header_is_null_when_empty),
                cmocka_unit_test(test_baggage_percent_encoding_round_trips),
                cmocka_unit_test(test_baggage_header_of_parsed_baggage_reparses_identically),
                cmocka_unit_test(test_baggage_set_adds_entry_and_leaves_original_unchanged),
                cmocka_unit_test(test_baggage_set_replaces_existing_key_in_place),
                cmocka_unit_test(test_baggage_set_rejects_invalid_key),
                cmocka_unit_test(test_baggage_set_rejects_invalid_metadata),
                cmocka_unit_test(test_baggage_set_treats_empty_metadata_as_none),
                cmocka_unit_test(test_baggage_set_rejects_invalid_utf8_value),
                cmocka_unit_test(test_baggage_header_honours_member_limit),
                cmocka_unit_test(test_baggage_header_honours_byte_limit),
                cmocka_unit_test(test_baggage_ref_keeps_it_alive),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
