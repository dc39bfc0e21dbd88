/*
 * test_message_copy: the header scanner (common/message_header.c) and the
 * per-recipient copy (deliver/message_copy.c), table-driven: which fields
 * are dropped, the Subject range, header values, the header/body boundary
 * for odd messages, and the exact bytes of LF and CRLF copies with a
 * prepended block, for in-memory and on-disk spools, with the output
 * delivered in tiny and large sink pieces alike.
 */
#include "common/message_header.h"
#include "common/spool.h"
#include "common/strbuf.h"
#include "deliver/message_copy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct spool *spool_of(const char *data, size_t len)
{
    struct spool *sp = spool_new("/tmp");
    assert_int_equal(spool_write(sp, data, len), 0);
    assert_int_equal(spool_finish(sp), 0);
    return sp;
}

static int sink_strbuf(void *arg, const char *data, size_t len)
{
    return strbuf_append(arg, data, len);
}

struct copy_case {
    const char *in;
    const char *prepend;
    bool drop_subject;
    enum line_ends ends;
    const char *out;
};

static const struct copy_case copy_cases[] = {
    {"Subject: hi\r\n\r\nbody\r\n", "", false, LINE_ENDS_LF, "Subject: hi\n\nbody\n"},
    {"Subject: hi\r\n\r\nbody\r\n", "X-A: 1\r\n", false, LINE_ENDS_CRLF,
     "X-A: 1\r\nSubject: hi\r\n\r\nbody\r\n"},
    {"X-Spam-Flag: YES\r\nSubject: hi\r\nX-Spam-Status: Yes,\r\n\tscore=99\r\n\r\nX-Spam-Flag: "
     "body\r\n",
     "X-Spam-Flag: NO\r\n", false, LINE_ENDS_LF,
     "X-Spam-Flag: NO\nSubject: hi\n\nX-Spam-Flag: body\n"},
    {"x-virus-scanned: forged\nSubject: hi\n\nbody", "", false, LINE_ENDS_CRLF,
     "Subject: hi\r\n\r\nbody"},
    {"From: a\r\nSubject: old\r\n continued\r\nTo: b\r\n\r\nb\r\n", "Subject: [S] old\r\n", true,
     LINE_ENDS_LF, "Subject: [S] old\nFrom: a\nTo: b\n\nb\n"},
    /* bare CR stays, CRLF split by nothing special, bare LF to CRLF */
    {"A: 1\r\n\r\nx\ry\nz\r\n", "", false, LINE_ENDS_CRLF, "A: 1\r\n\r\nx\ry\r\nz\r\n"},
    {"A: 1\r\n\r\nx\ry\nz\r\n", "", false, LINE_ENDS_LF, "A: 1\n\nx\ry\nz\n"},
    {"A: 1\r\n\r\nends with CR\r", "", false, LINE_ENDS_LF, "A: 1\n\nends with CR\r"},
    /* a line that is not a field does not end the header */
    {"From x\r\nX-Spam-Flag: YES\r\n\r\nX-Spam-Flag: body\r\n", "", false, LINE_ENDS_LF,
     "From x\n\nX-Spam-Flag: body\n"},
    {"no colon here\r\nX-Spam-Flag: YES\r\n", "", false, LINE_ENDS_LF, "no colon here\n"},
    {"", "R: 1\r\n", false, LINE_ENDS_LF, "R: 1\n"},
};

static void check_copy(const struct copy_case *c, struct spool *sp)
{
    struct message_header mh;
    assert_int_equal(message_header_read(sp, &mh), 0);
    struct message_copy mc = {
        .msg = sp,
        .header = &mh,
        .prepend = c->prepend,
        .prepend_len = strlen(c->prepend),
        .drop_subject = c->drop_subject,
        .line_ends = c->ends,
    };
    struct strbuf out;
    strbuf_init(&out, 1 << 24);
    assert_int_equal(message_copy_write(&mc, sink_strbuf, &out), 0);
    assert_int_equal(out.len, strlen(c->out));
    assert_memory_equal(out.data ? out.data : "", c->out, out.len);
    strbuf_free(&out);
    message_header_free(&mh);
}

static void test_copy_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(copy_cases) / sizeof(copy_cases[0]); i++) {
        struct spool *sp = spool_of(copy_cases[i].in, strlen(copy_cases[i].in));
        check_copy(&copy_cases[i], sp);
        spool_free(sp);
    }
}

/* A message far larger than the in-memory part, with the line end pair
 * falling on every kind of chunk boundary. */
static void test_copy_large_on_disk(void **state)
{
    (void)state;
    struct strbuf in, want;
    strbuf_init(&in, 1 << 24);
    strbuf_init(&want, 1 << 24);
    assert_int_equal(strbuf_puts(&in, "X-Spam-Level: ***\r\nSubject: big\r\n\r\n"), 0);
    assert_int_equal(strbuf_puts(&want, "Subject: big\n\n"), 0);
    for (int i = 0; i < 40000; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "line %d %.*s\r\n", i, i % 7, "abcdefg");
        assert_int_equal(strbuf_append(&in, line, (size_t)n), 0);
        line[n - 2] = '\n';
        assert_int_equal(strbuf_append(&want, line, (size_t)n - 1), 0);
    }
    struct spool *sp = spool_of(in.data, in.len);
    assert_true(spool_fd(sp) >= 0);
    struct copy_case c = {in.data, "", false, LINE_ENDS_LF, want.data};
    check_copy(&c, sp);
    spool_free(sp);
    strbuf_free(&in);
    strbuf_free(&want);
}

static void test_header_values(void **state)
{
    (void)state;
    const char *msg = "From: Alice <a@x>\r\nSubject: =?UTF-8?B?w6k=?=\r\n  more\r\n"
                      "Message-ID: <id@x>\r\nDate: Mon, 1 Jan 2026 00:00:00 +0000\r\n"
                      "Subject: second\r\n\r\nbody";
    struct spool *sp = spool_of(msg, strlen(msg));
    struct message_header mh;
    assert_int_equal(message_header_read(sp, &mh), 0);
    char v[256];
    header_value_unfold(&mh.from, v, sizeof(v));
    assert_string_equal(v, "Alice <a@x>");
    header_value_unfold(&mh.subject_value, v, sizeof(v));
    assert_string_equal(v, "=?UTF-8?B?w6k=?=  more");
    header_value_unfold(&mh.message_id, v, sizeof(v));
    assert_string_equal(v, "<id@x>");
    header_value_unfold(&mh.date, v, sizeof(v));
    assert_string_equal(v, "Mon, 1 Jan 2026 00:00:00 +0000");
    assert_int_equal(mh.subject.off, strlen("From: Alice <a@x>\r\n"));
    assert_int_equal(mh.subject.len, strlen("Subject: =?UTF-8?B?w6k=?=\r\n  more\r\n"));
    assert_int_equal(mh.header_len, strlen(msg) - 4);
    assert_int_equal(mh.n_drop, 0);
    message_header_free(&mh);
    spool_free(sp);
}

static void test_header_huge_value_truncated(void **state)
{
    (void)state;
    size_t n = MESSAGE_HEADER_VALUE_MAX + 1000;
    char *msg = malloc(n + 64);
    assert_non_null(msg);
    size_t len = (size_t)sprintf(msg, "Subject: ");
    memset(msg + len, 'a', n);
    len += n;
    len += (size_t)sprintf(msg + len, "\r\n\r\nbody");
    struct spool *sp = spool_of(msg, len);
    struct message_header mh;
    assert_int_equal(message_header_read(sp, &mh), 0);
    assert_true(mh.subject_value.truncated);
    assert_int_equal(mh.subject_value.len, MESSAGE_HEADER_VALUE_MAX);
    assert_int_equal(mh.header_len, len - 4);
    message_header_free(&mh);
    spool_free(sp);
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_table),
        cmocka_unit_test(test_copy_large_on_disk),
        cmocka_unit_test(test_header_values),
        cmocka_unit_test(test_header_huge_value_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
