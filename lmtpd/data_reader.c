/*
 * data_reader: the DATA state machine (see data_reader.h).
 *
 * Public: data_reader_init, data_reader_feed.
 *
 * The state says where the previous byte left us: at a line start after a
 * CRLF (or at the very beginning) or after a bare LF; inside a line (just
 * after a CR or not); or holding back a line-start "." or ".\r" that may
 * be the end of data, a dot-stuffing dot to drop, or (after a bare LF, or
 * when a bare LF follows) a lone "." line passed through unchanged. Only
 * CR LF "." CR LF ends the data. Inside a line, runs up to the next LF
 * are copied with memchr/memcpy. Cannot fail; no allocation, no globals.
 */
#include "lmtpd/data_reader.h"

#include <string.h>

enum dr_state {
    DR_START_CRLF,        /* line start after CRLF, or the beginning */
    DR_START_LF,          /* line start after a bare LF */
    DR_TEXT,              /* inside a line, previous byte not CR */
    DR_TEXT_CR,           /* inside a line, previous byte CR (emitted) */
    DR_DOT_AFTER_CRLF,    /* "." held at a DR_START_CRLF line start */
    DR_DOT_AFTER_LF,      /* "." held at a DR_START_LF line start */
    DR_DOT_CR_AFTER_CRLF, /* ".\r" held at a DR_START_CRLF line start */
    DR_DOT_CR_AFTER_LF,   /* ".\r" held at a DR_START_LF line start */
};

void data_reader_init(struct data_reader *dr)
{
    dr->state = DR_START_CRLF;
    dr->done = false;
}

/* The state after emitting byte c inside a line. */
static int text_state(unsigned char c)
{
    if (c == '\n')
        return DR_START_LF;
    return c == '\r' ? DR_TEXT_CR : DR_TEXT;
}

size_t data_reader_feed(struct data_reader *dr, const char *in, size_t in_len, char *out,
                        size_t *out_len)
{
    int state = dr->state;
    size_t i = 0, o = 0;

    *out_len = 0;
    if (dr->done)
        return 0;

    while (i < in_len) {
        unsigned char c = (unsigned char)in[i];

        switch (state) {
        case DR_TEXT:
        case DR_TEXT_CR: {
            /* fast path: copy through the next LF (or the whole rest) */
            const char *lf = memchr(in + i, '\n', in_len - i);
            size_t n = lf != NULL ? (size_t)(lf - (in + i)) + 1 : in_len - i;
            bool cr_before;

            memcpy(out + o, in + i, n);
            o += n;
            i += n;
            if (lf == NULL) {
                state = in[i - 1] == '\r' ? DR_TEXT_CR : DR_TEXT;
                break;
            }
            cr_before = n >= 2 ? in[i - 2] == '\r' : state == DR_TEXT_CR;
            state = cr_before ? DR_START_CRLF : DR_START_LF;
            break;
        }

        case DR_START_CRLF:
        case DR_START_LF:
            i++;
            if (c == '.') {
                state = state == DR_START_CRLF ? DR_DOT_AFTER_CRLF : DR_DOT_AFTER_LF;
                break;
            }
            out[o++] = (char)c;
            state = text_state(c);
            break;

        case DR_DOT_AFTER_CRLF:
        case DR_DOT_AFTER_LF:
            if (c == '\r') {
                i++;
                state = state == DR_DOT_AFTER_CRLF ? DR_DOT_CR_AFTER_CRLF : DR_DOT_CR_AFTER_LF;
            } else if (c == '\n') {
                /* a lone "." ended by a bare LF: kept as it is */
                i++;
                out[o++] = '.';
                out[o++] = '\n';
                state = DR_START_LF;
            } else {
                /* a stuffing dot: drop it, the byte is ordinary text */
                state = DR_TEXT;
            }
            break;

        case DR_DOT_CR_AFTER_CRLF:
        case DR_DOT_CR_AFTER_LF:
            if (c == '\n' && state == DR_DOT_CR_AFTER_CRLF) {
                i++;
                dr->done = true;
                dr->state = DR_START_CRLF;
                *out_len = o;
                return i;
            }
            if (c == '\n') {
                /* LF "." CR LF: not an end, kept as it is */
                i++;
                out[o++] = '.';
                out[o++] = '\r';
                out[o++] = '\n';
                state = DR_START_CRLF;
            } else {
                /* a stuffing dot before a CR: drop it, keep the CR */
                out[o++] = '\r';
                state = DR_TEXT_CR;
            }
            break;
        }
    }
    dr->state = state;
    *out_len = o;
    return i;
}
