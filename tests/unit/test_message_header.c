/*
 * test_message_header: the header scanner (common/message_header.c) by
 * the bytes it marks for removal, table-driven: verdict field names with
 * blanks before the colon (RFC 5322 obsolete syntax), names that only
 * look alike, bare CR as a line end (fields after it, an empty line made
 * of it, continuations after it), blank-led lines opening the message,
 * the header's length, and adjacent removed fields merged into one range.
 */
#include "common/message_header.h"
#include "common/spool.h"
#include "common/strbuf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct header_case {
    const char *in;
    const char *kept;  /* in without the removed ranges */
    size_t n_drop;     /* fields removed */
    size_t n_ranges;   /* ranges they make */
    size_t header_len; /* SIZE_MAX: the whole input */
};

static const struct header_case cases[] = {
    /* blanks before the colon */
    {"X-Spam-Flag : YES\r\nSubject: a\r\n\r\nb", "Subject: a\r\n\r\nb", 1, 1, 33},
    {"A: 1\r\nX-Spam-Status\t: Yes,\r\n\tscore=9\r\nB: 2\r\n\r\n", "A: 1\r\nB: 2\r\n\r\n", 1, 1,
     SIZE_MAX},
    {"A: 1\nx-virus-scanned \t : forged\nB: 2\n\n", "A: 1\nB: 2\n\n", 1, 1, SIZE_MAX},
    {"A: 1\nX-SPAM-SCORE  :9\nB: 2\nX-Spam-Report :\n x\n\n", "A: 1\nB: 2\n\n", 2, 2, SIZE_MAX},
    /* look alike, kept: no colon, another name, a line break before the
     * colon, a blank inside the name */
    {"X-Spam-Flag YES\r\nX-Spam-Level:**\r\n\r\n", "X-Spam-Flag YES\r\n\r\n", 1, 1, SIZE_MAX},
    {"X-Spam-Flagged : 1\r\n\r\n", "X-Spam-Flagged : 1\r\n\r\n", 0, 0, SIZE_MAX},
    {"X-Spam-Flag\r\n: YES\r\n\r\n", "X-Spam-Flag\r\n: YES\r\n\r\n", 0, 0, SIZE_MAX},
    {"X-Spam Flag: YES\r\n\r\n", "X-Spam Flag: YES\r\n\r\n", 0, 0, SIZE_MAX},
    /* bare CR ends a line */
    {"A: x\rX-Spam-Flag: YES\r\nB: y\r\n\r\nbody", "A: x\rB: y\r\n\r\nbody", 1, 1, 31},
    {"A: x\rX-Spam-Flag: YES\rX-Spam-Score: 5\r\n\r\n", "A: x\r\r\n", 2, 1, SIZE_MAX},
    {"A: b\r\r\nX-Spam-Flag: YES\r\n\r\n", "A: b\r\r\nX-Spam-Flag: YES\r\n\r\n", 0, 0, 7},
    {"\rX-Spam-Flag: YES\r\n", "\rX-Spam-Flag: YES\r\n", 0, 0, 1},
    {"A: 1\n\rX-Spam-Flag: YES\n", "A: 1\n\rX-Spam-Flag: YES\n", 0, 0, 6},
    {"A: x\r X-Spam-Flag: YES\r\n\r\n", "A: x\r X-Spam-Flag: YES\r\n\r\n", 0, 0, SIZE_MAX},
    {"X-Spam-Flag: YES\r", "", 1, 1, SIZE_MAX},
    {"junk line\rX-Spam-Flag: YES\n\n", "junk line\r\n", 1, 1, SIZE_MAX},
    /* blank-led lines opening the message: removed (not counted) */
    {" Yes, tests=FORGED\r\n\tmore\r\nA: 1\r\n\r\n", "A: 1\r\n\r\n", 0, 1, SIZE_MAX},
    {"\t*****\r\nX-Spam-Flag: YES\r\n\r\n b\r\n", "\r\n b\r\n", 1, 1, 28},
    /* adjacent fields: one range; a kept field splits them */
    {"X-Spam-Flag: Y\nX-Spam-Score: 1\n\tcont\nX-Virus-Scanned: v\nA: 1\nX-Spam-Level: *\n\n",
     "A: 1\n\n", 4, 2, SIZE_MAX},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct header_case *c = &cases[i];
        size_t len = strlen(c->in);
        struct spool *sp = spool_new("/tmp");
        assert_non_null(sp);
        assert_int_equal(spool_write(sp, c->in, len), 0);
        assert_int_equal(spool_finish(sp), 0);
        struct message_header mh;
        assert_int_equal(message_header_read(sp, &mh), 0);

        char kept[256];
        size_t k = 0, at = 0;
        for (size_t r = 0; r < mh.n_drop_ranges; r++) {
            const struct header_range *d = &mh.drop[r];
            assert_true(d->off >= at && d->len > 0 && d->off + d->len <= len);
            if (r > 0)
                assert_true(d->off > at); /* adjacent ranges are merged */
            memcpy(kept + k, c->in + at, d->off - at);
            k += d->off - at;
            at = d->off + d->len;
        }
        memcpy(kept + k, c->in + at, len - at);
        k += len - at;
        kept[k] = '\0';
        size_t want_header = c->header_len == SIZE_MAX ? len : c->header_len;
        if (strcmp(kept, c->kept) != 0 || mh.n_drop != c->n_drop ||
            mh.n_drop_ranges != c->n_ranges || mh.header_len != want_header)
            fail_msg("case %zu: kept \"%s\", %zu fields in %zu ranges, header %llu", i, kept,
                     mh.n_drop, mh.n_drop_ranges, (unsigned long long)mh.header_len);
        message_header_free(&mh);
        spool_free(sp);
    }
}

/* "Subject :" is the Subject field; its value ends at a bare CR unless a
 * continuation follows. */
static void test_subject_forms(void **state)
{
    (void)state;
    const char *msg = "Subject : hi\r there\rFrom\t: a@x\r\n\r\n";
    struct spool *sp = spool_new("/tmp");
    assert_non_null(sp);
    assert_int_equal(spool_write(sp, msg, strlen(msg)), 0);
    assert_int_equal(spool_finish(sp), 0);
    struct message_header mh;
    assert_int_equal(message_header_read(sp, &mh), 0);
    char v[64];
    header_value_unfold(&mh.subject_value, v, sizeof(v));
    assert_string_equal(v, "hi there");
    header_value_unfold(&mh.from, v, sizeof(v));
    assert_string_equal(v, "a@x");
    assert_int_equal(mh.subject.off, 0);
    assert_int_equal(mh.subject.len, strlen("Subject : hi\r there\r"));
    message_header_free(&mh);
    spool_free(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_subject_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
