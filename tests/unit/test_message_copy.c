/*
 * test_message_copy: the header scanner (common/message_header.c) and the
 * per-recipient copy (deliver/message_copy.c), table-driven: which fields
 * are dropped, the Subject range, header values, the header/body boundary
 * for odd messages, and the exact bytes of LF and CRLF copies with a
 * prepended block, for in-memory and on-disk spools, with the output
 * delivered in tiny and large sink pieces alike; bare CR as a line end;
 * many removed fields (exact output, the range bound) and the CPU time of
 * copies of a 10 MB header made only of verdict fields.
 */
#include "common/message_header.h"
#include "common/spool.h"
#include "common/strbuf.h"
#include "deliver/message_copy.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    /* CRLF, bare LF and bare CR are each one line end */
    {"A: 1\r\n\r\nx\ry\nz\r\n", "", false, LINE_ENDS_CRLF, "A: 1\r\n\r\nx\r\ny\r\nz\r\n"},
    {"A: 1\r\n\r\nx\ry\nz\r\n", "", false, LINE_ENDS_LF, "A: 1\n\nx\ny\nz\n"},
    {"A: 1\r\n\r\nends with CR\r", "", false, LINE_ENDS_LF, "A: 1\n\nends with CR\n"},
    {"A: 1\r\n\r\nends with CR\r", "", false, LINE_ENDS_CRLF, "A: 1\r\n\r\nends with CR\r\n"},
    /* a smuggled end of data after a bare CR becomes a dot line the
     * relay client stuffs; CR CR LF is two line ends */
    {"A: 1\r\n\r\nhello\r.\r\nMAIL FROM:<e@x>\r\n", "", false, LINE_ENDS_CRLF,
     "A: 1\r\n\r\nhello\r\n.\r\nMAIL FROM:<e@x>\r\n"},
    {"A: 1\r\n\r\na\r\r\nb\r\r\r\n", "", false, LINE_ENDS_CRLF,
     "A: 1\r\n\r\na\r\n\r\nb\r\n\r\n\r\n"},
    {"A: 1\r\n\r\na\r\r\nb\n\r", "", false, LINE_ENDS_LF, "A: 1\n\na\n\nb\n\n"},
    /* a verdict field after a bare CR is a field in every copy: removed */
    {"A: x\rX-Spam-Flag: YES\r\nB: y\r\n\r\nbody\r\n", "", false, LINE_ENDS_CRLF,
     "A: x\r\nB: y\r\n\r\nbody\r\n"},
    {"A: x\rX-Spam-Flag: YES\r\nB: y\r\n\r\nbody\r\n", "", false, LINE_ENDS_LF,
     "A: x\nB: y\n\nbody\n"},
    /* the bare CR before a removed field stays a line end of its own: the
     * empty line after the field still ends the header */
    {"A: x\rX-Spam-Flag: YES\n\nX-Spam-Flag: body\n", "", false, LINE_ENDS_CRLF,
     "A: x\r\n\r\nX-Spam-Flag: body\r\n"},
    {"A: x\rX-Spam-Flag: YES\n\nX-Spam-Flag: body\n", "", false, LINE_ENDS_LF,
     "A: x\n\nX-Spam-Flag: body\n"},
    /* CR CR LF in the header is an empty line: what follows is body */
    {"A: b\r\r\nX-Spam-Flag: body\r\n", "", false, LINE_ENDS_LF, "A: b\n\nX-Spam-Flag: body\n"},
    /* folded after a bare CR: a continuation, in every copy */
    {"A: x\r X-Spam-Flag: YES\r\n\r\n", "", false, LINE_ENDS_CRLF,
     "A: x\r\n X-Spam-Flag: YES\r\n\r\n"},
    /* a blank-led first line would continue the block's last field */
    {" Yes, tests=FORGED\r\nA: 1\r\n\r\n b\r\n", "X-Spam-Status: No\r\n", false, LINE_ENDS_LF,
     "X-Spam-Status: No\nA: 1\n\n b\n"},
    /* blanks before the colon (RFC 5322 obsolete syntax) */
    {"X-Spam-Flag : YES\r\nX-Spam-Status\t: Yes, score=9\r\n\tx\r\nX-Spam-Level \t :*\r\n"
     "X-Virus-Scanned  : ok\r\nA: 1\r\n\r\nb\r\n",
     "", false, LINE_ENDS_CRLF, "A: 1\r\n\r\nb\r\n"},
    {"Subject : old\r\nA: 1\r\n\r\nb\r\n", "Subject: [S] old\r\n", true, LINE_ENDS_LF,
     "Subject: [S] old\nA: 1\n\nb\n"},
    /* a tagged Subject between removed fields, all adjacent */
    {"X-Spam-Flag: YES\r\nSubject: s\r\nX-Spam-Score: 9\r\nA: 1\r\n\r\n", "Subject: [S] s\r\n",
     true, LINE_ENDS_CRLF, "Subject: [S] s\r\nA: 1\r\n\r\n"},
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

/* A copy of in (with a header read from it) in the given line ends. */
static void copy_of(struct spool *sp, const struct message_header *mh, const char *prepend,
                    enum line_ends ends, struct strbuf *out)
{
    struct message_copy mc = {
        .msg = sp,
        .header = mh,
        .prepend = prepend,
        .prepend_len = strlen(prepend),
        .line_ends = ends,
    };
    assert_int_equal(message_copy_write(&mc, sink_strbuf, out), 0);
}

/* Thousands of verdict fields, each between two kept fields, below the
 * range bound: every verdict field goes, every other field stays. */
static void test_copy_many_dropped_fields(void **state)
{
    (void)state;
    struct strbuf in, want;
    strbuf_init(&in, 1 << 24);
    strbuf_init(&want, 1 << 24);
    size_t n = MESSAGE_HEADER_DROP_RANGES - 1;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strbuf_printf(&in, "K-%zu: v\r\nX-Spam-Flag: YES\r\n", i), 0);
        assert_int_equal(strbuf_printf(&want, "K-%zu: v\n", i), 0);
    }
    /* 5000 adjacent ones merge into one range */
    for (size_t i = 0; i < 5000; i++)
        assert_int_equal(strbuf_puts(&in, i % 2 ? "X-Spam-Score: 1\r\n" : "X-Spam-Flag : Y\r\n"),
                         0);
    assert_int_equal(strbuf_puts(&in, "Last: 1\r\n\r\nX-Spam-Flag: body\r\n"), 0);
    assert_int_equal(strbuf_puts(&want, "Last: 1\n\nX-Spam-Flag: body\n"), 0);
    struct spool *sp = spool_of(in.data, in.len);
    struct message_header mh;
    assert_int_equal(message_header_read(sp, &mh), 0);
    assert_int_equal(mh.n_drop, n + 5000);
    assert_int_equal(mh.n_drop_ranges, n);
    struct strbuf out;
    strbuf_init(&out, 1 << 24);
    copy_of(sp, &mh, "", LINE_ENDS_LF, &out);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.data, want.data, want.len);
    strbuf_free(&out);
    message_header_free(&mh);
    spool_free(sp);
    strbuf_free(&in);
    strbuf_free(&want);
}

/* Past the range bound the last range stretches over every further
 * verdict field: the fields before it stay, no verdict field is left, and
 * what follows the last one stays. */
static void test_copy_range_bound(void **state)
{
    (void)state;
    struct strbuf in;
    strbuf_init(&in, 1 << 24);
    size_t n = MESSAGE_HEADER_DROP_RANGES + 500;
    assert_int_equal(strbuf_puts(&in, "Received: first\r\n"), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(strbuf_printf(&in, "X-Spam-Flag: YES\r\nK-%zu: v\r\n", i), 0);
    assert_int_equal(strbuf_puts(&in, "Subject: s\r\n\r\nbody\r\n"), 0);
    struct spool *sp = spool_of(in.data, in.len);
    struct message_header mh;
    assert_int_equal(message_header_read(sp, &mh), 0);
    assert_int_equal(mh.n_drop, n);
    assert_int_equal(mh.n_drop_ranges, MESSAGE_HEADER_DROP_RANGES);
    assert_true(mh.cap_drop_ranges <= 2 * MESSAGE_HEADER_DROP_RANGES);
    struct strbuf out;
    strbuf_init(&out, 1 << 24);
    copy_of(sp, &mh, "", LINE_ENDS_CRLF, &out);
    assert_int_equal(strbuf_append(&out, "", 1), 0);
    assert_null(strstr(out.data, "X-Spam"));
    assert_true(strncmp(out.data, "Received: first\r\nK-0: v\r\n", 25) == 0);
    char last_kept[64];
    snprintf(last_kept, sizeof(last_kept), "K-%d: v\r\n", MESSAGE_HEADER_DROP_RANGES - 2);
    assert_non_null(strstr(out.data, last_kept));
    size_t len = out.len - 1;
    char tail[64];
    snprintf(tail, sizeof(tail), "K-%zu: v\r\nSubject: s\r\n\r\nbody\r\n", n - 1);
    assert_true(len > strlen(tail));
    assert_string_equal(out.data + len - strlen(tail), tail);
    strbuf_free(&out);
    message_header_free(&mh);
    spool_free(sp);
    strbuf_free(&in);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sink_count(void *arg, const char *data, size_t len)
{
    (void)data;
    *(size_t *)arg += len;
    return 0;
}

/* Runs in a child: 10 MB of verdict fields (unit: the header line(s)),
 * read once and copied in both line-end forms; exit 0 when each copy took
 * under 2 s of CPU and held just the prepended block. */
static int child_copies(const char *unit)
{
    size_t unit_len = strlen(unit), size = 10u * 1024 * 1024;
    char *msg = malloc(size + unit_len);
    if (msg == NULL)
        return 2;
    size_t len = 0;
    while (len < size) {
        memcpy(msg + len, unit, unit_len);
        len += unit_len;
    }
    struct spool *sp = spool_new("/tmp");
    if (sp == NULL || spool_write(sp, msg, len) < 0 || spool_finish(sp) < 0)
        return 2;
    free(msg);
    double t0 = cpu_seconds();
    struct message_header mh;
    if (message_header_read(sp, &mh) < 0)
        return 3;
    if (cpu_seconds() - t0 > 2.0)
        return 4;
    for (int k = 0; k < 4; k++) {
        struct message_copy mc = {
            .msg = sp,
            .header = &mh,
            .prepend = "X-A: 1\r\n",
            .prepend_len = 8,
            .line_ends = k % 2 ? LINE_ENDS_CRLF : LINE_ENDS_LF,
        };
        size_t got = 0;
        t0 = cpu_seconds();
        if (message_copy_write(&mc, sink_count, &got) < 0)
            return 5;
        if (cpu_seconds() - t0 > 2.0)
            return 6;
        /* everything was verdict fields, or (interleaved) at most the kept
         * fields before the range bound */
        if (got < 7 || got > 7 + 1 + 11u * MESSAGE_HEADER_DROP_RANGES)
            return 7;
    }
    if (mh.n_drop_ranges > MESSAGE_HEADER_DROP_RANGES)
        return 8;
    message_header_free(&mh);
    spool_free(sp);
    return 0;
}

/* The copy is linear: 10 MB of `X-Spam-Flag: YES` lines (one header of
 * verdict fields), and the same with a kept field after each, are read
 * and copied in a few tenths of a second each; the bound is generous (2 s
 * of CPU per copy). The work runs in a child killed after 60 s of wall
 * time, so a quadratic copy fails instead of hanging. */
static void test_copy_ten_megabytes_of_verdict_fields(void **state)
{
    (void)state;
    const char *units[] = {"X-Spam-Flag: YES\r\n", "X-Spam-Flag: YES\r\nA: b\r\n"};
    for (size_t u = 0; u < 2; u++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(child_copies(units[u]));
        int status = 0;
        pid_t got = 0;
        for (int i = 0; i < 600 && got == 0; i++) {
            got = waitpid(pid, &status, WNOHANG);
            if (got == 0)
                usleep(100 * 1000);
        }
        if (got == 0) {
            kill(pid, SIGKILL);
            (void)waitpid(pid, &status, 0);
            fail_msg("unit %zu: copies still running after 60 s", u);
        }
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 0)
            fail_msg("unit %zu: child failed with %d (6: a copy over 2 s CPU)", u,
                     WEXITSTATUS(status));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_table),
        cmocka_unit_test(test_copy_large_on_disk),
        cmocka_unit_test(test_header_values),
        cmocka_unit_test(test_header_huge_value_truncated),
        cmocka_unit_test(test_copy_many_dropped_fields),
        cmocka_unit_test(test_copy_range_bound),
        cmocka_unit_test(test_copy_ten_megabytes_of_verdict_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
