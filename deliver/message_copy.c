/*
 * message_copy: builds a recipient's copy from the spool (see
 * message_copy.h). Line ends are converted by a small state machine that
 * remembers a CR across chunk boundaries.
 */
#include "deliver/message_copy.h"
#include "common/fd_io.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct line_end_writer {
    enum line_ends mode;
    bool pending_cr; /* LF mode: a CR held back until we see what follows */
    bool last_cr;    /* CRLF mode: the previous byte written was CR */
    copy_sink_fn sink;
    void *arg;
    char out[16384];
    size_t out_len;
};

static int lew_flush(struct line_end_writer *w)
{
    if (w->out_len == 0)
        return 0;
    int rc = w->sink(w->arg, w->out, w->out_len);
    w->out_len = 0;
    return rc;
}

static int lew_byte(struct line_end_writer *w, char c)
{
    if (w->out_len + 2 > sizeof(w->out) && lew_flush(w) < 0)
        return -1;
    if (w->mode == LINE_ENDS_LF) {
        if (w->pending_cr) {
            w->pending_cr = false;
            if (c != '\n')
                w->out[w->out_len++] = '\r';
        }
        if (c == '\r')
            w->pending_cr = true;
        else
            w->out[w->out_len++] = c;
    } else {
        if (c == '\n' && !w->last_cr)
            w->out[w->out_len++] = '\r';
        w->out[w->out_len++] = c;
        w->last_cr = c == '\r';
    }
    return 0;
}

/* Copies runs without line-end bytes in one go; only CR and LF go
 * through the byte-wise state machine. */
static int lew_write(struct line_end_writer *w, const char *p, size_t len)
{
    while (len > 0) {
        size_t run = 0;
        if (!w->pending_cr) {
            const char *stop =
                w->mode == LINE_ENDS_LF ? memchr(p, '\r', len) : memchr(p, '\n', len);
            run = stop ? (size_t)(stop - p) : len;
        }
        if (run > 0) {
            if (w->mode == LINE_ENDS_CRLF)
                w->last_cr = p[run - 1] == '\r';
            while (run > 0) {
                if (w->out_len == sizeof(w->out) && lew_flush(w) < 0)
                    return -1;
                size_t n = sizeof(w->out) - w->out_len;
                if (n > run)
                    n = run;
                memcpy(w->out + w->out_len, p, n);
                w->out_len += n;
                p += n;
                len -= n;
                run -= n;
            }
            continue;
        }
        if (lew_byte(w, *p) < 0)
            return -1;
        p++;
        len--;
    }
    return 0;
}

static int lew_finish(struct line_end_writer *w)
{
    if (w->pending_cr) {
        w->pending_cr = false;
        w->out[w->out_len++] = '\r';
    }
    return lew_flush(w);
}

/* Is [off, off+len) inside a range to skip? Returns the end of that
 * range, or 0 when off is not skipped. */
static uint64_t skip_end(const struct message_copy *mc, uint64_t off)
{
    const struct message_header *h = mc->header;
    for (size_t i = 0; i < h->n_drop; i++)
        if (off >= h->drop[i].off && off < h->drop[i].off + h->drop[i].len)
            return h->drop[i].off + h->drop[i].len;
    if (mc->drop_subject && h->subject.len > 0 && off >= h->subject.off &&
        off < h->subject.off + h->subject.len)
        return h->subject.off + h->subject.len;
    return 0;
}

/* The next offset at or after off where a skipped range begins. */
static uint64_t next_skip(const struct message_copy *mc, uint64_t off, uint64_t limit)
{
    const struct message_header *h = mc->header;
    uint64_t next = limit;
    for (size_t i = 0; i < h->n_drop; i++)
        if (h->drop[i].off >= off && h->drop[i].off < next)
            next = h->drop[i].off;
    if (mc->drop_subject && h->subject.len > 0 && h->subject.off >= off && h->subject.off < next)
        next = h->subject.off;
    return next;
}

int message_copy_write(const struct message_copy *mc, copy_sink_fn sink, void *arg)
{
    struct line_end_writer w = {.mode = mc->line_ends, .sink = sink, .arg = arg};
    if (lew_write(&w, mc->prepend, mc->prepend_len) < 0)
        return -1;
    uint64_t size = spool_size(mc->msg);
    uint64_t off = 0;
    char buf[65536];
    while (off < size) {
        uint64_t end = skip_end(mc, off);
        if (end != 0) {
            off = end;
            continue;
        }
        uint64_t stop = next_skip(mc, off, size);
        uint64_t want = stop - off < sizeof(buf) ? stop - off : sizeof(buf);
        ssize_t n = spool_pread(mc->msg, buf, (size_t)want, off);
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        if (lew_write(&w, buf, (size_t)n) < 0)
            return -1;
        off += (uint64_t)n;
    }
    return lew_finish(&w);
}

int copy_sink_fd(void *arg, const char *data, size_t len)
{
    return write_all(*(int *)arg, data, len);
}
