/*
 * test_data_reader: the DATA state machine (lmtpd/data_reader.c). A table
 * of inputs with their unstuffed output and end position, each also fed
 * byte by byte and in every 2- and 3-chunk split; exhaustive short inputs
 * checked against a lookahead reference; a 1 MB line; bytes after the end.
 */
#include "lmtpd/data_reader.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define B(lit) lit, sizeof(lit) - 1

struct result {
    char *out;
    size_t out_len;
    size_t consumed;
    bool done;
};

static void result_free(struct result *r)
{
    free(r->out);
    r->out = NULL;
}

/*
 * Feeds in[0..len) in chunks ending at the given cut points (ascending),
 * the way a session does: each chunk into a fresh out buffer of exactly
 * chunk + 2 bytes (so ASan catches an overrun), stopping at the end.
 */
static struct result feed_split(const char *in, size_t len, const size_t *cuts, size_t n_cuts)
{
    struct data_reader dr;
    struct result r;
    size_t pos = 0;

    data_reader_init(&dr);
    r.out = malloc(len + 3 * (n_cuts + 1) + 1);
    assert_non_null(r.out);
    r.out_len = 0;
    r.consumed = 0;
    for (size_t k = 0; k <= n_cuts && !dr.done; k++) {
        size_t end = k < n_cuts ? cuts[k] : len;
        size_t chunk = end - pos, got, used;
        char *buf = malloc(chunk + 2);
        const char *src = in + pos;
        char *copy = malloc(chunk + 1); /* the exact chunk, for ASan */

        assert_non_null(buf);
        assert_non_null(copy);
        memcpy(copy, src, chunk);
        used = data_reader_feed(&dr, copy, chunk, buf, &got);
        assert_true(used <= chunk);
        assert_true(got <= chunk + 2);
        if (!dr.done)
            assert_int_equal(used, chunk);
        memcpy(r.out + r.out_len, buf, got);
        r.out_len += got;
        r.consumed += used;
        pos = end;
        free(buf);
        free(copy);
    }
    r.done = dr.done;
    return r;
}

static struct result feed_once(const char *in, size_t len)
{
    return feed_split(in, len, NULL, 0);
}

static void assert_same(const struct result *a, const struct result *b, const char *what,
                        size_t case_no)
{
    if (a->done != b->done || a->consumed != b->consumed || a->out_len != b->out_len ||
        memcmp(a->out, b->out, a->out_len) != 0)
        fail_msg("case %zu: %s differs from one-shot (done %d/%d consumed %zu/%zu out %zu/%zu)",
                 case_no, what, a->done, b->done, a->consumed, b->consumed, a->out_len, b->out_len);
}

/* Every split of one input agrees with feeding it at once. */
static void check_splits(const char *in, size_t len, const struct result *once, size_t case_no)
{
    size_t *cuts = malloc((len + 2) * sizeof(*cuts));
    struct result r;

    assert_non_null(cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    r = feed_split(in, len, cuts, len > 0 ? len - 1 : 0); /* byte by byte */
    assert_same(&r, once, "byte-by-byte", case_no);
    result_free(&r);
    for (size_t a = 0; a <= len; a++) {
        cuts[0] = a;
        r = feed_split(in, len, cuts, 1);
        assert_same(&r, once, "2-chunk split", case_no);
        result_free(&r);
        for (size_t b = a; b <= len && len <= 40; b++) {
            cuts[1] = b;
            r = feed_split(in, len, cuts, 2);
            assert_same(&r, once, "3-chunk split", case_no);
            result_free(&r);
        }
    }
    free(cuts);
}

struct dr_case {
    const char *in;
    size_t in_len;
    const char *out;
    size_t out_len;
    long consumed; /* -1: everything, data not ended */
};

static const struct dr_case dr_cases[] = {
    /* empty message */
    {B(".\r\n"), B(""), 3},
    /* simple message */
    {B("Subject: hi\r\n\r\nbody\r\n.\r\n"), B("Subject: hi\r\n\r\nbody\r\n"), 24},
    {B("\r\n.\r\n"), B("\r\n"), 5},
    /* dot-stuffing */
    {B("..\r\n.\r\n"), B(".\r\n"), 7},
    {B("a\r\n..b\r\n...\r\n.\r\n"), B("a\r\n.b\r\n..\r\n"), 16},
    {B(".x\r\n.\r\n"), B("x\r\n"), 7},
    {B(".\rx\r\n.\r\n"), B("\rx\r\n"), 8},
    {B(".\r.\r\n.\r\n"), B("\r.\r\n"), 8},
    {B("a\r\n.\r\r\n.\r\n"), B("a\r\n\r\r\n"), 10},
    {B("..\n.\r\n"), B(".\n.\r\n"), -1},
    {B("a\n..\nb\r\n.\r\n"), B("a\n.\nb\r\n"), 11},
    /* bare LF lines are kept */
    {B("a\nb\r\n.\r\n"), B("a\nb\r\n"), 8},
    {B("\n.\r\n"), B("\n.\r\n"), -1},
    {B("a\n\r\n.\r\n"), B("a\n\r\n"), 7},
    {B("a\r\r\n.\r\n"), B("a\r\r\n"), 7},
    {B("\r.\r\n.\r\n"), B("\r.\r\n"), 7},
    /* no smuggling: LF . LF, LF . CR LF, CR LF . LF never end */
    {B("a\n.\nb\r\n.\r\n"), B("a\n.\nb\r\n"), 10},
    {B("a\n.\r\nb\r\n.\r\n"), B("a\n.\r\nb\r\n"), 11},
    {B("a\r\n.\nb\r\n.\r\n"), B("a\r\n.\nb\r\n"), 11},
    {B("\n.\n"), B("\n.\n"), -1},
    {B("x\n.\r\n"), B("x\n.\r\n"), -1},
    {B("x\r\n.\n"), B("x\r\n.\n"), -1},
    {B(".\n"), B(".\n"), -1},
    {B("a\r\n.\r"), B("a\r\n"), -1},        /* ".\r" held back */
    {B("a\r\n."), B("a\r\n"), -1},          /* "." held back */
    {B("a\n.\r\n.\r\n"), B("a\n.\r\n"), 8}, /* the LF . CR LF line ends in CRLF */
    /* bytes after the end are not consumed */
    {B(".\r\nRSET\r\n"), B(""), 3},
    {B("x\r\n.\r\nQUIT\r\n"), B("x\r\n"), 6},
    {B("x\r\n.\r\n.\r\n"), B("x\r\n"), 6},
    /* NUL and 0xFF pass through */
    {B("\0\xff\r\n.\0\r\n\xff\r\n.\r\n"), B("\0\xff\r\n\0\r\n\xff\r\n"), 14},
    {B("\xff\xfe\0\n\0.\r\n.\r\n"), B("\xff\xfe\0\n\0.\r\n"), 11},
    {B(""), B(""), -1},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(dr_cases) / sizeof(dr_cases[0]); i++) {
        const struct dr_case *c = &dr_cases[i];
        struct result once = feed_once(c->in, c->in_len);
        size_t want_consumed = c->consumed < 0 ? c->in_len : (size_t)c->consumed;

        if (once.out_len != c->out_len || memcmp(once.out, c->out, c->out_len) != 0)
            fail_msg("case %zu: output of %zu bytes differs (want %zu)", i, once.out_len,
                     c->out_len);
        if (once.consumed != want_consumed || once.done != (c->consumed >= 0))
            fail_msg("case %zu: consumed %zu done %d, want %zu %d", i, once.consumed, once.done,
                     want_consumed, c->consumed >= 0);
        check_splits(c->in, c->in_len, &once, i);
        result_free(&once);
    }
}

static void test_after_done(void **state)
{
    struct data_reader dr;
    char out[16];
    size_t got = 99;
    (void)state;

    data_reader_init(&dr);
    assert_int_equal(data_reader_feed(&dr, B(".\r\nMAIL"), out, &got), 3);
    assert_true(dr.done);
    assert_int_equal(got, 0);
    got = 99;
    assert_int_equal(data_reader_feed(&dr, B("MAIL"), out, &got), 0);
    assert_int_equal(got, 0);

    /* init starts a new message */
    data_reader_init(&dr);
    assert_false(dr.done);
    assert_int_equal(data_reader_feed(&dr, B("x\r\n"), out, &got), 3);
    assert_int_equal(got, 3);
    assert_memory_equal(out, "x\r\n", 3);
}

/* A held-back ".\r" after a bare LF is released with 3 bytes for 1. */
static void test_out_bound(void **state)
{
    struct data_reader dr;
    char out[3];
    size_t got;
    (void)state;

    data_reader_init(&dr);
    assert_int_equal(data_reader_feed(&dr, B("\n"), out, &got), 1);
    assert_int_equal(got, 1);
    assert_int_equal(data_reader_feed(&dr, B(".\r"), out, &got), 2);
    assert_int_equal(got, 0);
    assert_int_equal(data_reader_feed(&dr, B("\n"), out, &got), 1);
    assert_int_equal(got, 3);
    assert_memory_equal(out, ".\r\n", 3);
    assert_false(dr.done);
}

/*
 * Reference: the rules written with lookahead over the whole input. Fills
 * out (held-back bytes at the very end are not output); returns consumed
 * and sets *done.
 */
static size_t reference(const char *in, size_t len, char *out, size_t *out_len, bool *done)
{
    size_t i = 0, o = 0;
    bool line_start = true, after_crlf = true;

    *done = false;
    while (i < len) {
        char c = in[i];
        if (line_start && c == '.') {
            if (i + 1 >= len || (in[i + 1] == '\r' && i + 2 >= len))
                break; /* held back at the end of input */
            if (in[i + 1] == '\r' && in[i + 2] == '\n') {
                if (after_crlf) {
                    *done = true;
                    i += 3;
                    break;
                }
                memcpy(out + o, ".\r\n", 3);
                o += 3;
                i += 3;
                after_crlf = true;
                continue;
            }
            if (in[i + 1] == '\n') {
                memcpy(out + o, ".\n", 2);
                o += 2;
                i += 2;
                after_crlf = false;
                continue;
            }
            i++; /* stuffing dot */
            line_start = false;
            continue;
        }
        out[o++] = c;
        if (c == '\n') {
            after_crlf = i > 0 && in[i - 1] == '\r' && !line_start;
            line_start = true;
        } else {
            line_start = false;
        }
        i++;
    }
    *out_len = o;
    return len == 0 ? 0 : (*done ? i : len);
}

/* Every string of up to 7 bytes over {'.', CR, LF, 'a'}. */
static void test_exhaustive_short(void **state)
{
    static const char alphabet[] = {'.', '\r', '\n', 'a'};
    char in[8], ref_out[32];
    size_t checked = 0;
    (void)state;

    for (size_t len = 0; len <= 7; len++) {
        size_t total = 1;
        for (size_t k = 0; k < len; k++)
            total *= 4;
        for (size_t code = 0; code < total; code++) {
            size_t x = code, ref_len, ref_consumed;
            bool ref_done;
            struct result once;

            for (size_t k = 0; k < len; k++) {
                in[k] = alphabet[x % 4];
                x /= 4;
            }
            ref_consumed = reference(in, len, ref_out, &ref_len, &ref_done);
            once = feed_once(in, len);
            if (once.done != ref_done || once.consumed != ref_consumed || once.out_len != ref_len ||
                memcmp(once.out, ref_out, ref_len) != 0)
                fail_msg("input #%zu of length %zu differs from the reference", code, len);
            if (len <= 5)
                check_splits(in, len, &once, code);
            result_free(&once);
            checked++;
        }
    }
    assert_true(checked > 20000);
}

static void test_one_megabyte_line(void **state)
{
    const size_t line = 1024 * 1024;
    size_t len = line + 2 + 3 + 4;
    char *in = malloc(len);
    struct result once, r;
    size_t cuts[64], n_cuts = 0;
    (void)state;

    assert_non_null(in);
    for (size_t i = 0; i < line; i++)
        in[i] = (char)('A' + i % 26);
    in[0] = '.'; /* stuffed */
    in[1] = '.';
    memcpy(in + line, "\r\n.\r\nQUIT", 9);

    once = feed_once(in, len);
    assert_true(once.done);
    assert_int_equal(once.consumed, line + 5);
    assert_int_equal(once.out_len, line + 1);
    assert_int_equal(once.out[0], '.');
    assert_memory_equal(once.out + 1, in + 2, line - 2);
    assert_memory_equal(once.out + line - 1, "\r\n", 2);

    /* 64 KiB chunks, plus cuts inside the final CR LF . CR LF */
    for (size_t c = 65536; c < line; c += 65536)
        cuts[n_cuts++] = c;
    cuts[n_cuts++] = line + 1;
    cuts[n_cuts++] = line + 3;
    r = feed_split(in, len, cuts, n_cuts);
    assert_same(&r, &once, "64 KiB chunks", 0);
    result_free(&r);
    result_free(&once);

    /* a 1 MB line of bare LF-separated dots stays unchanged */
    for (size_t i = 0; i < line; i += 2)
        memcpy(in + i, ".\n", 2);
    once = feed_once(in, line);
    assert_false(once.done);
    assert_int_equal(once.out_len, line);
    assert_memory_equal(once.out, in, line);
    result_free(&once);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_after_done),
        cmocka_unit_test(test_out_bound),
        cmocka_unit_test(test_exhaustive_short),
        cmocka_unit_test(test_one_megabyte_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
