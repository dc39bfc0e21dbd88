/*
 * fuzz_data_reader: libFuzzer target for the DATA state machine
 * (lmtpd/data_reader.h). The first input bytes choose how the rest is cut
 * into pieces; the rest is fed once whole and once in those pieces.
 * Checks, per call: no more output than input + 2 bytes (the reader's
 * documented bound), all input consumed unless the end was found, and
 * "done" only right after CR LF "." CR LF (counting the CRLF that ended
 * the DATA command). Over the whole stream: the split feed gives the same
 * bytes, the same end position and the same "done" as the one-shot feed.
 */
#include "lmtpd/data_reader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CUTS 64

struct run {
    char *out;
    size_t out_len;
    size_t consumed;
    bool done;
};

/* "\r\n.\r\n" ends exactly at stream[0..end), with "\r\n" before the data. */
static bool ends_with_terminator(const uint8_t *stream, size_t end)
{
    static const char term[] = "\r\n.\r\n";
    /* virtual prefix "\r\n" (the DATA command's line end) */
    for (size_t i = 0; i < 5; i++) {
        size_t back = 5 - i; /* term[i] is at position end - back */
        char c;
        if (end >= back)
            c = (char)stream[end - back];
        else if (back - end <= 2)
            c = "\r\n"[2 - (back - end)];
        else
            return false;
        if (c != term[i])
            return false;
    }
    return true;
}

static void feed(const uint8_t *in, size_t len, const size_t *cuts, size_t n_cuts, struct run *r)
{
    struct data_reader dr;
    data_reader_init(&dr);
    r->out = malloc(len + 2 * (n_cuts + 1) + 1);
    if (r->out == NULL)
        abort();
    r->out_len = 0;
    r->consumed = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n_cuts && !dr.done; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        if (end < start)
            continue;
        size_t piece = end - start;
        /* a private buffer of exactly piece + 2 bytes for ASan */
        char *buf = malloc(piece + 2);
        if (buf == NULL)
            abort();
        size_t got = 0;
        size_t used = data_reader_feed(&dr, (const char *)in + start, piece, buf, &got);
        if (got > piece + 2 || used > piece)
            abort();
        if (!dr.done && used != piece)
            abort();
        if (dr.done && !ends_with_terminator(in, start + used))
            abort();
        memcpy(r->out + r->out_len, buf, got);
        r->out_len += got;
        free(buf);
        start += used;
        if (dr.done)
            break;
        start = end;
    }
    r->consumed = start;
    r->done = dr.done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* First byte: number of cuts; then that many bytes of cut positions
     * (relative steps), then the stream. */
    size_t n_cuts = data[0] % MAX_CUTS;
    if (size < 1 + n_cuts)
        return 0;
    const uint8_t *steps = data + 1;
    const uint8_t *stream = data + 1 + n_cuts;
    size_t len = size - 1 - n_cuts;

    size_t cuts[MAX_CUTS];
    size_t pos = 0;
    for (size_t i = 0; i < n_cuts; i++) {
        pos += steps[i] % 17;
        cuts[i] = pos < len ? pos : len;
    }

    struct run whole, split;
    feed(stream, len, NULL, 0, &whole);
    feed(stream, len, cuts, n_cuts, &split);
    if (whole.done != split.done || whole.consumed != split.consumed ||
        whole.out_len != split.out_len || memcmp(whole.out, split.out, whole.out_len) != 0)
        abort();
    /* Unstuffing and holding back never add bytes. */
    if (whole.out_len > whole.consumed)
        abort();
    free(whole.out);
    free(split.out);
    return 0;
}
