/*
 * test_rfc2047: the encoded-word decoder against a table: B and Q in each
 * supported charset, aliases and case, language suffixes, whitespace
 * between adjacent words (removed) and next to text (kept), a character
 * split across two words, and malformed or unsupported words (kept as
 * they are), plus the output limit, and the time taken on half a
 * megabyte of words that never end or end far away (linear, not
 * quadratic).
 */
#include "deliver/rfc2047.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

struct decode_case {
    const char *in;
    const char *out;
    size_t out_len; /* 0: strlen(out) */
};

static const struct decode_case cases[] = {
    {"", "", 0},
    {"plain text", "plain text", 0},
    {"=?UTF-8?B?w6k=?=", "\xC3\xA9", 0},
    {"=?utf-8?b?w6k?=", "\xC3\xA9", 0}, /* no padding, lower case */
    {"=?UTF8?Q?caf=C3=A9?=", "caf\xC3\xA9", 0},
    {"=?ISO-8859-1?Q?caf=E9?=", "caf\xC3\xA9", 0},
    {"=?iso-8859-1?q?a_b?=", "a b", 0},
    {"=?latin1?B?6Q==?=", "\xC3\xA9", 0},
    {"=?windows-1252?Q?=80_=93x=94?=", "\xE2\x82\xAC \xE2\x80\x9Cx\xE2\x80\x9D", 0},
    {"=?cp1252?Q?=81?=", "\xEF\xBF\xBD", 0}, /* undefined in 1252 */
    {"=?Windows-1252?Q?=E9?=", "\xC3\xA9", 0},
    {"=?us-ascii?Q?abc?=", "abc", 0},
    {"=?US-ASCII?Q?=E9?=", "\xEF\xBF\xBD", 0},
    {"=?UTF-8*en?Q?hi?=", "hi", 0}, /* RFC 2231 language */
    {"=?UTF-8?Q?a=3F=3Db?=", "a?=b", 0},
    {"=?UTF-8?Q?a?b?=", "a?b", 0},

    /* whitespace between words goes, next to text stays */
    {"=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab", 0},
    {"=?UTF-8?Q?a?=\t \t=?UTF-8?Q?b?=", "ab", 0},
    {"=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", "ab", 0},
    {"=?UTF-8?Q?a?= b", "a b", 0},
    {"x =?UTF-8?Q?a?=", "x a", 0},
    {"x =?UTF-8?Q?a?= y =?UTF-8?Q?b?= z", "x a y b z", 0},
    {"=?UTF-8?Q?a?= =?KOI8-R?Q?b?=", "a =?KOI8-R?Q?b?=", 0},
    {"=?UTF-8?B?ww==?= =?UTF-8?B?qQ==?=", "\xC3\xA9", 0}, /* split character */
    {"[SPAM] =?UTF-8?B?w6k=?=", "[SPAM] \xC3\xA9", 0},

    /* left as they are */
    {"=?KOI8-R?B?8NLJ18XU?=", "=?KOI8-R?B?8NLJ18XU?=", 0},
    {"=?UTF-8?B?@@@@?=", "=?UTF-8?B?@@@@?=", 0},
    {"=?UTF-8?B?w?=", "=?UTF-8?B?w?=", 0},               /* 1 char: not base64 */
    {"=?UTF-8?B?w6k=w6k=?=", "=?UTF-8?B?w6k=w6k=?=", 0}, /* data after padding */
    {"=?UTF-8?Q?=G1?=", "=?UTF-8?Q?=G1?=", 0},
    {"=?UTF-8?Q?=4?=", "=?UTF-8?Q?=4?=", 0},
    {"=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=", 0},
    {"=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=", 0},
    {"=?UTF-8?Q?abc", "=?UTF-8?Q?abc", 0},
    {"=?UTF-8?Q?", "=?UTF-8?Q?", 0},
    {"=?UTF-8", "=?UTF-8", 0},
    {"=?", "=?", 0},
    {"=??Q?a?=", "=??Q?a?=", 0},
    {"a=b", "a=b", 0},
    {"</subject>]]>", "</subject>]]>", 0},

    /* words that do not end where they seem to: the first end counts */
    {"=?utf-8?q?a=?utf-8?q?a", "=?utf-8?q?a=?utf-8?q?a", 0},
    {"=?utf-8?q?a=?utf-8?q?b?=", "=?utf-8?q?ab", 0},
    {"=?utf-8?q?==?utf-8?q?=41?=", "=?utf-8?q?=A", 0},
    {"=?utf-8?b?QQ==?utf-8?b?QQ==?=", "=?utf-8?b?QQ=A", 0},
    {"=?utf-8?b?QQ=?utf-8?b?QUI=?=", "=?utf-8?b?QQAB", 0},
    {"=?utf-8?q?a?= =?utf-8?q?b =?utf-8?q?c?=", "a =?utf-8?q?b c", 0},
    {"=?utf-8?b?QUJD?= =?utf-8?b?QQ===?=", "ABC =?utf-8?b?QQ===?=", 0},
    {"=?utf-8?b?=?=", "", 0},
    {"=?utf-8?q?\?=", "", 0},
    {"=?utf-8?q?a_=3f?==?utf-8?q?=?=", "a ?=?utf-8?q?=?=", 0},

    /* decoded bytes are not judged here (xml_text does that) */
    {"=?UTF-8?Q?a=00b?=", "a\0b", 3},
    {"=?UTF-8?B?/w==?=", "\xFF", 0},
    {"=?UTF-8?Q?=0D=0A?=", "\r\n", 0},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct decode_case *c = &cases[i];
        size_t want_len = c->out_len ? c->out_len : strlen(c->out);
        struct strbuf sb;
        strbuf_init(&sb, 4096);
        int rc = rfc2047_decode(c->in, strlen(c->in), &sb);
        const char *got = sb.data ? sb.data : "";
        if (rc != 0 || sb.len != want_len || memcmp(got, c->out, want_len) != 0)
            fail_msg("case %zu \"%s\": rc %d, got \"%s\" (%zu bytes)", i, c->in, rc, got, sb.len);
        strbuf_free(&sb);
    }
}

static void test_limit(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 3);
    assert_int_equal(rfc2047_decode("abcdef", 6, &sb), -1);
    assert_int_equal(sb.len, 3);
    strbuf_free(&sb);

    strbuf_init(&sb, 4);
    assert_int_equal(rfc2047_decode("=?UTF-8?Q?abcdef?=", 18, &sb), -1);
    assert_true(sb.len <= 4);
    strbuf_free(&sb);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* unit repeated to 512 KB, then tail; decoded in well under a second of
 * CPU (the bound is generous: linear takes about a millisecond, the
 * quadratic decoder took several seconds) to exactly want_tail after the
 * repeats. */
static void check_fast(const char *unit, const char *tail, const char *want_tail)
{
    size_t unit_len = strlen(unit), n = 512 * 1024 / unit_len;
    size_t tail_len = strlen(tail), len = n * unit_len + tail_len;
    char *in = malloc(len + 1);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        memcpy(in + i * unit_len, unit, unit_len);
    memcpy(in + n * unit_len, tail, tail_len + 1);
    struct strbuf sb;
    strbuf_init(&sb, 3 * len + 16);
    double t0 = cpu_seconds();
    assert_int_equal(rfc2047_decode(in, len, &sb), 0);
    double took = cpu_seconds() - t0;
    if (took > 1.0)
        fail_msg("\"%s\" x %zu: %.2f s of CPU", unit, n, took);
    size_t want_len = n * unit_len + strlen(want_tail);
    assert_int_equal(sb.len, want_len);
    assert_memory_equal(sb.data, in, n * unit_len);
    assert_memory_equal(sb.data + n * unit_len, want_tail, strlen(want_tail));
    strbuf_free(&sb);
    free(in);
}

static void test_linear_time(void **state)
{
    (void)state;
    check_fast("=?utf-8?q?a", "", "");                 /* never ends */
    check_fast("=?utf-8?q?=", "?=", "?=");             /* ends far, bad Q */
    check_fast("=?utf-8?b?QQ==", "x?=", "x?=");        /* ends far, bad B */
    check_fast("=?utf-8?q?a", "=?utf-8?q?b?=", "b");   /* the last one is a word */
    check_fast("=?utf-8?q?a?b", "=?utf-8?q?c?=", "c"); /* "?" everywhere */
    check_fast("=?utf-8*", "", "");                    /* charsets that never end */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_linear_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
