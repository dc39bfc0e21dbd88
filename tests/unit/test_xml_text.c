/*
 * test_xml_text: the report sanitiser against a table of well-formed and
 * ill-formed UTF-8 (overlongs, surrogates, past U+10FFFF, truncated and
 * stray bytes: one U+FFFD per maximal subpart), control characters, NUL,
 * noncharacters, markup (left to the writer), the byte bound (never inside
 * a character), the strbuf limit, and a random-bytes property check that
 * every output is well-formed UTF-8 of allowed characters only.
 */
#include "deliver/xml_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define R "\xEF\xBF\xBD" /* U+FFFD */

struct text_case {
    const char *in;
    size_t in_len; /* 0: strlen(in) */
    size_t max;    /* 0: unbounded */
    const char *out;
    int rc;
};

static const struct text_case cases[] = {
    /* kept as is */
    {"", 0, 0, "", 0},
    {"plain ascii", 0, 0, "plain ascii", 0},
    {"tab\there", 0, 0, "tab\there", 0},
    {"</subject><x/>", 0, 0, "</subject><x/>", 0},
    {"a]]>b & c", 0, 0, "a]]>b & c", 0},
    {"caf\xC3\xA9", 0, 0, "caf\xC3\xA9", 0},
    {"\xE2\x82\xAC", 0, 0, "\xE2\x82\xAC", 0},
    {"\xF0\x9F\x98\x80", 0, 0, "\xF0\x9F\x98\x80", 0},
    {"\xF4\x8F\xBF\xBD", 0, 0, "\xF4\x8F\xBF\xBD", 0}, /* U+10FFFD */
    {"\xEF\xBF\xBD", 0, 0, R, 0},                      /* U+FFFD itself */
    {"\xED\x9F\xBF", 0, 0, "\xED\x9F\xBF", 0},         /* U+D7FF */
    {"\xEE\x80\x80", 0, 0, "\xEE\x80\x80", 0},         /* U+E000 */
    {"\xC2\xA0", 0, 0, "\xC2\xA0", 0},                 /* U+00A0 */

    /* NUL dropped, controls replaced */
    {"a\0b", 3, 0, "ab", 0},
    {"\0\0\0", 3, 0, "", 0},
    {"a\x01z", 0, 0, "a" R "z", 0},
    {"\x1B[31m", 0, 0, R "[31m", 0},
    {"line\r\nbreak", 0, 0, "line" R R "break", 0},
    {"\x7F", 0, 0, R, 0},
    {"\xC2\x80\xC2\x9F", 0, 0, R R, 0},         /* C1 controls */
    {"\xEF\xBF\xBE\xEF\xBF\xBF", 0, 0, R R, 0}, /* U+FFFE U+FFFF */

    /* ill-formed: one U+FFFD per maximal subpart */
    {"caf\xE9", 0, 0, "caf" R, 0}, /* Latin-1 byte */
    {"\x80", 0, 0, R, 0},          /* stray continuation */
    {"\xBF\x80", 0, 0, R R, 0},
    {"\xC0\xAF", 0, 0, R R, 0}, /* overlong '/' */
    {"\xC1\xBF", 0, 0, R R, 0},
    {"\xE0\x80\xAF", 0, 0, R R R, 0},       /* overlong */
    {"\xF0\x80\x80\xAF", 0, 0, R R R R, 0}, /* overlong */
    {"\xED\xA0\x80", 0, 0, R R R, 0},       /* surrogate D800 */
    {"\xED\xBF\xBF", 0, 0, R R R, 0},       /* surrogate DFFF */
    {"\xF4\x90\x80\x80", 0, 0, R R R R, 0}, /* U+110000 */
    {"\xF5\x80", 0, 0, R R, 0},
    {"\xFE\xFF", 0, 0, R R, 0},
    {"\xE2\x82", 0, 0, R, 0}, /* truncated at end */
    {"\xE2\x82"
     "A",
     0, 0, R "A", 0}, /* truncated mid-text */
    {"\xF0\x9F\x98", 0, 0, R, 0},
    {"\xF0\x9F\x98"
     "\xF0\x9F\x98\x80",
     0, 0, R "\xF0\x9F\x98\x80", 0},
    {"\xC3", 0, 0, R, 0},
    {"\xC3\xC3\xA9", 0, 0, R "\xC3\xA9", 0},

    /* byte bound: cut before a character that does not fit */
    {"abcdef", 0, 3, "abc", 1},
    {"abc", 0, 3, "abc", 0},
    {"\xC3\xA9\xC3\xA9\xC3\xA9", 0, 5, "\xC3\xA9\xC3\xA9", 1},
    {"a\xE2\x82\xAC", 0, 3, "a", 1},
    {"ab\x01", 0, 4, "ab", 1}, /* U+FFFD needs 3 */
    {"ab\0\0", 4, 2, "ab", 0}, /* dropped NULs fit */
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct text_case *c = &cases[i];
        size_t len = c->in_len ? c->in_len : strlen(c->in);
        size_t max = c->max ? c->max : 1 << 20;
        struct strbuf sb;
        strbuf_init(&sb, 1 << 20);
        int rc = xml_text_append(&sb, c->in, len, max);
        const char *got = sb.data ? sb.data : "";
        if (rc != c->rc || sb.len != strlen(c->out) || memcmp(got, c->out, sb.len) != 0)
            fail_msg("case %zu: rc %d (want %d), got \"%s\"", i, rc, c->rc, got);
        strbuf_free(&sb);

        bool truncated = false;
        char *dup = xml_text_dup(c->in, len, max, &truncated);
        assert_string_equal(dup, c->out);
        assert_int_equal(truncated, c->rc == 1);
        free(dup);
    }
}

static void test_strbuf_limit(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 4);
    assert_int_equal(xml_text_append(&sb, "abcdef", 6, 100), -1);
    assert_int_equal(sb.len, 4);
    assert_memory_equal(sb.data, "abcd", 4);
    strbuf_free(&sb);

    /* a replacement that does not fit is not half-written */
    strbuf_init(&sb, 4);
    assert_int_equal(xml_text_append(&sb, "ab\x01", 3, 100), -1);
    assert_int_equal(sb.len, 2);
    strbuf_free(&sb);
}

static void test_utf8_next(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(xml_text_utf8_next((const unsigned char *)"A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(xml_text_utf8_next((const unsigned char *)"\xC3\xA9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(xml_text_utf8_next((const unsigned char *)"\xE2\x82\xAC", 3, &cp), 3);
    assert_int_equal(cp, 0x20AC);
    assert_int_equal(xml_text_utf8_next((const unsigned char *)"\xF0\x9F\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    /* the length limit counts: E2 82 with only 1 byte available */
    assert_int_equal(xml_text_utf8_next((const unsigned char *)"\xE2\x82\xAC", 1, &cp), 1);
    assert_int_equal(cp, UINT32_MAX);
    assert_int_equal(xml_text_utf8_next((const unsigned char *)"\xE2\x82\xAC", 2, &cp), 2);
    assert_int_equal(cp, UINT32_MAX);

    assert_true(xml_text_char_allowed('\t'));
    assert_false(xml_text_char_allowed('\n'));
    assert_false(xml_text_char_allowed(0));
    assert_true(xml_text_char_allowed(0x20));
    assert_false(xml_text_char_allowed(0xD800));
    assert_false(xml_text_char_allowed(0x110000));
    assert_true(xml_text_char_allowed(0x10FFFF));
}

/* Independent check of the output: strict UTF-8 of allowed characters. */
static void assert_clean(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) {
            cp = c;
            n = 1;
        } else if ((c & 0xE0) == 0xC0) {
            assert_true(i + 1 < len);
            cp = ((uint32_t)(c & 0x1F) << 6) | (p[i + 1] & 0x3F);
            assert_true(cp >= 0x80);
            n = 2;
        } else if ((c & 0xF0) == 0xE0) {
            assert_true(i + 2 < len);
            cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(p[i + 1] & 0x3F) << 6) |
                 (p[i + 2] & 0x3F);
            assert_true(cp >= 0x800);
            n = 3;
        } else {
            assert_int_equal(c & 0xF8, 0xF0);
            assert_true(i + 3 < len);
            cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[i + 1] & 0x3F) << 12) |
                 ((uint32_t)(p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F);
            assert_true(cp >= 0x10000);
            n = 4;
        }
        for (size_t k = 1; k < n; k++)
            assert_int_equal(p[i + k] & 0xC0, 0x80);
        assert_true(xml_text_char_allowed(cp));
        i += n;
    }
}

static void test_random_bytes(void **state)
{
    (void)state;
    unsigned seed = 12345;
    char in[64];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand_r(&seed) % sizeof(in));
        for (size_t i = 0; i < len; i++) {
            /* bias towards the interesting bytes */
            unsigned r = (unsigned)rand_r(&seed);
            static const unsigned char pick[] = {0x00, 0x01, 0x09, 0x0A, 0x3C, 0x26, 0x5D,
                                                 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED,
                                                 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
            in[i] = (char)(r & 1 ? pick[(r >> 1) % sizeof(pick)] : (r >> 8) & 0xFF);
        }
        size_t max = (size_t)(rand_r(&seed) % 80);
        struct strbuf sb;
        strbuf_init(&sb, 1024);
        int rc = xml_text_append(&sb, in, len, max);
        assert_true(rc == 0 || rc == 1);
        assert_true(sb.len <= max);
        assert_clean(sb.data ? sb.data : "", sb.len);
        if (sb.len > 0)
            assert_null(memchr(sb.data, '\0', sb.len));
        strbuf_free(&sb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_strbuf_limit),
        cmocka_unit_test(test_utf8_next),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
