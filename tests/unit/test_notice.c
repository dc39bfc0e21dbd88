/*
 * test_notice: the notice builder. A hostile Subject (raw CR/LF, or CR/LF
 * hidden in an encoded word) adds no header field; a non-ASCII Subject
 * becomes RFC 2047 encoded words that decode back and keep lines short;
 * broken UTF-8 comes out valid; the fields a notice must carry are there
 * and the release hint depends on who gets it and on the verdict.
 */
#include "deliver/notice.h"
#include "common/rfc2047.h"
#include "deliver/xml_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *const one_rcpt[] = {"bob@example.test"};

static struct notice base(void)
{
    return (struct notice){
        .hostname = "mx.example.test",
        .from = "postmaster@mx.example.test",
        .to = "bob@example.test",
        .admin = false,
        .seq = 1,
        .mail_id = "abcdefghij12",
        .verdict = "spam",
        .action = "quarantine",
        .reason = "spam, score 17.0 (required 5.0)",
        .releasable = true,
        .received = 1700000000,
        .now = 1700000005,
        .orig_from = "Mallory <mallory@evil.test>",
        .orig_subject = "hello",
        .orig_date = "Tue, 14 Nov 2023 22:13:20 +0000",
        .orig_message_id = "<1@evil.test>",
        .rcpts = one_rcpt,
        .n_rcpts = 1,
    };
}

static char *build(const struct notice *n)
{
    struct strbuf sb;
    strbuf_init(&sb, NOTICE_MAX);
    assert_int_equal(notice_build(n, &sb), 0);
    return sb.data; /* owned by the caller now */
}

/* The header section: every line is a continuation or one of the fields
 * the builder writes; returns the unfolded Subject value. */
static void check_header(const char *msg, char *subject, size_t subject_len)
{
    static const char *const allowed[] = {
        "From:",
        "To:",
        "Subject:",
        "Date:",
        "Message-ID:",
        "Auto-Submitted:",
        "X-Lmtpscan-Mail-ID:",
        "MIME-Version:",
        "Content-Type:",
        "Content-Transfer-Encoding:",
    };
    const char *end = strstr(msg, "\r\n\r\n");
    assert_non_null(end);
    subject[0] = '\0';
    bool in_subject = false;
    for (const char *line = msg; line < end + 2;) {
        const char *eol = strstr(line, "\r\n");
        assert_non_null(eol);
        size_t len = (size_t)(eol - line);
        assert_true(len <= 78);
        for (const char *c = line; c < eol; c++)
            assert_true(*c != '\r' && *c != '\n');
        if (line[0] == ' ' || line[0] == '\t') {
            assert_true(in_subject || len == 0);
            if (in_subject)
                strncat(subject, line + 1,
                        len - 1 < subject_len - strlen(subject) - 1
                            ? len - 1
                            : subject_len - strlen(subject) - 1);
        } else {
            bool ok = false;
            for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
                ok |= strncmp(line, allowed[i], strlen(allowed[i])) == 0;
            if (!ok)
                fail_msg("unexpected header line: %.*s", (int)len, line);
            in_subject = strncmp(line, "Subject: ", 9) == 0;
            if (in_subject)
                snprintf(subject, subject_len, "%.*s", (int)len - 9, line + 9);
        }
        line = eol + 2;
    }
}

static void count_fields(const char *msg, const char *name, int expect)
{
    const char *end = strstr(msg, "\r\n\r\n");
    int n = strncmp(msg, name, strlen(name)) == 0;
    char needle[64];
    snprintf(needle, sizeof(needle), "\r\n%s", name);
    for (const char *p = msg; (p = strstr(p, needle)) != NULL && p < end; p++)
        n++;
    assert_int_equal(n, expect);
}

static void test_hostile_subject_raw(void **state)
{
    (void)state;
    struct notice n = base();
    n.orig_subject = "hi\r\nBcc: victim@example.test\r\nX-Evil: 1\r\n\r\nbody?";
    n.orig_from = "a\r\nTo: other@example.test";
    char *msg = build(&n);
    char subject[1024];
    check_header(msg, subject, sizeof(subject));
    count_fields(msg, "Bcc:", 0);
    count_fields(msg, "X-Evil:", 0);
    count_fields(msg, "To:", 1);
    count_fields(msg, "Subject:", 1);
    free(msg);
}

static void test_hostile_subject_encoded(void **state)
{
    (void)state;
    struct notice n = base();
    n.orig_subject = "=?UTF-8?Q?hi=0D=0ABcc:_victim@example.test=0D=0A?=";
    char *msg = build(&n);
    char subject[1024];
    check_header(msg, subject, sizeof(subject));
    count_fields(msg, "Bcc:", 0);
    /* and in the body, no line starts a header-like "Bcc:" either */
    assert_null(strstr(msg, "\nBcc:"));
    free(msg);
}

static void test_rfc2047_subject(void **state)
{
    (void)state;
    struct notice n = base();
    /* long and non-ASCII: several encoded words, each within 75 chars */
    n.orig_subject = "Gr\xC3\xBC\xC3\x9F"
                     "e aus K\xC3\xB6ln, \xE2\x82\xAC 100 "
                     "und noch viel mehr Text, damit es mehrere W\xC3\xB6rter braucht";
    char *msg = build(&n);
    char subject[2048];
    check_header(msg, subject, sizeof(subject));
    assert_non_null(strstr(subject, "=?UTF-8?B?"));
    /* each word within 75 characters */
    for (const char *w = subject; (w = strstr(w, "=?UTF-8?B?")) != NULL; w++) {
        const char *e = strstr(w + 10, "?=");
        assert_non_null(e);
        assert_true(e + 2 - w <= 75);
    }
    /* the folds' blanks between encoded words are removed by decoding */
    struct strbuf dec;
    strbuf_init(&dec, 4096);
    assert_int_equal(rfc2047_decode(subject, strlen(subject), &dec), 0);
    assert_non_null(strstr(dec.data, "Gr\xC3\xBC\xC3\x9F"
                                     "e aus K\xC3\xB6ln, \xE2\x82\xAC 100"));
    assert_non_null(strstr(dec.data, "W\xC3\xB6rter braucht"));
    assert_non_null(strstr(dec.data, "A message to you was held (spam): "));
    strbuf_free(&dec);
    free(msg);
}

static void test_plain_ascii_not_encoded(void **state)
{
    (void)state;
    struct strbuf sb;
    strbuf_init(&sb, 1024);
    assert_int_equal(notice_header_encode("plain subject", &sb), 0);
    assert_string_equal(sb.data, "plain subject");
    strbuf_reset(&sb);
    /* "=?" in plain text would be taken for an encoded word: encoded */
    assert_int_equal(notice_header_encode("a =?x?= b", &sb), 0);
    assert_memory_equal(sb.data, "=?UTF-8?B?", 10);
    strbuf_free(&sb);
}

static bool valid_utf8(const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = xml_text_utf8_next((const unsigned char *)s + i, len - i, &cp);
        if (cp == UINT32_MAX)
            return false;
        i += n;
    }
    return true;
}

static void test_broken_utf8_and_controls(void **state)
{
    (void)state;
    struct notice n = base();
    n.orig_subject = "bad \xC3\x28 \xFF\xFE bytes \x01\x1b[31m";
    n.orig_from = "\x80\x81 <x@y>";
    char *msg = build(&n);
    assert_true(valid_utf8(msg));
    const char *body = strstr(msg, "\r\n\r\n");
    for (const char *p = body; *p; p++) {
        unsigned char c = (unsigned char)*p;
        assert_true(c >= 32 || c == '\r' || c == '\n');
        if (c == '\r')
            assert_int_equal(p[1], '\n');
    }
    assert_null(strchr(msg, 0x1b));
    free(msg);
}

static void test_required_fields(void **state)
{
    (void)state;
    struct notice n = base();
    char *msg = build(&n);
    assert_non_null(strstr(msg, "From: Mail filter <postmaster@mx.example.test>\r\n"));
    assert_non_null(strstr(msg, "To: <bob@example.test>\r\n"));
    assert_non_null(strstr(msg, "Auto-Submitted: auto-generated\r\n"));
    assert_non_null(strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(msg, "MIME-Version: 1.0\r\n"));
    assert_non_null(strstr(msg, "Mail ID:    abcdefghij12"));
    assert_non_null(strstr(msg, "Verdict:    spam"));
    assert_non_null(strstr(msg, "Reason:     spam, score 17.0 (required 5.0)"));
    assert_non_null(strstr(msg, "From:       Mallory <mallory@evil.test>"));
    assert_non_null(strstr(msg, "Subject:    hello"));
    assert_non_null(strstr(msg, "Date:       Tue, 14 Nov 2023 22:13:20 +0000"));
    assert_non_null(strstr(msg, "Message-ID: <1@evil.test>"));
    assert_non_null(strstr(msg, "ask the\r\nadministrator"));
    assert_non_null(strstr(msg, "not attached"));
    free(msg);

    n.admin = true;
    n.verdict = "virus";
    n.reason = "virus Eicar-Signature";
    msg = build(&n);
    assert_non_null(strstr(msg, "lmtpscan quarantine release abcdefghij12"));
    assert_non_null(strstr(msg, "Reason:     virus Eicar-Signature"));
    free(msg);

    n.admin = false;
    msg = build(&n);
    assert_null(strstr(msg, "lmtpscan quarantine release"));
    assert_non_null(strstr(msg, "released\r\nonly by the administrator"));
    free(msg);

    n.releasable = false;
    n.orig_subject = NULL;
    msg = build(&n);
    assert_non_null(strstr(msg, "cannot be released"));
    assert_non_null(strstr(msg, "Subject:    (none)"));
    free(msg);
}

static void test_long_value_cut(void **state)
{
    (void)state;
    char *big = malloc(200000);
    memset(big, 'A', 199999);
    big[199999] = '\0';
    struct notice n = base();
    n.orig_subject = big;
    n.orig_message_id = big;
    char *msg = build(&n);
    assert_true(strlen(msg) < 8 * NOTICE_VALUE_MAX + 4096);
    free(msg);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_subject_raw),
        cmocka_unit_test(test_hostile_subject_encoded),
        cmocka_unit_test(test_rfc2047_subject),
        cmocka_unit_test(test_plain_ascii_not_encoded),
        cmocka_unit_test(test_broken_utf8_and_controls),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_long_value_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
