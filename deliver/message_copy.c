/*
 * message_copy: builds a recipient's copy from the spool (see
 * message_copy.h). One pass: a cursor walks the sorted ranges to skip
 * (the header's drop ranges and, when tagged, the Subject field) while
 * the spool is read in chunks, so the work is linear in the message size
 * whatever the number of ranges. Line ends are converted by a small state
 * machine that remembers a CR across chunk boundaries.
 */
#include "deliver/message_copy.h"
#include "common/fd_io.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct line_end_writer {
    const char *eol; /* "\n" or "\r\n" */
    size_t eol_len;
    bool pending_cr; /* a CR held back until we see whether LF follows */
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

static int lew_put(struct line_end_writer *w, const char *p, size_t len)
{
    while (len > 0) {
        if (w->out_len == sizeof(w->out) && lew_flush(w) < 0)
            return -1;
        size_t n = sizeof(w->out) - w->out_len;
        if (n > len)
            n = len;
        memcpy(w->out + w->out_len, p, n);
        w->out_len += n;
        p += n;
        len -= n;
    }
    return 0;
}

/* A held-back CR that no LF followed is a line end of its own. */
static int lew_break(struct line_end_writer *w)
{
    if (!w->pending_cr)
        return 0;
    w->pending_cr = false;
    return lew_put(w, w->eol, w->eol_len);
}

/* Copies runs without line-end bytes in one go; CR, LF and CR LF each
 * become one line end. */
static int lew_write(struct line_end_writer *w, const char *p, size_t len)
{
    while (len > 0) {
        if (w->pending_cr) {
            w->pending_cr = false;
            if (lew_put(w, w->eol, w->eol_len) < 0)
                return -1;
            if (*p == '\n') {
                p++;
                len--;
            }
            continue;
        }
        size_t run = 0;
        while (run < len && p[run] != '\r' && p[run] != '\n')
            run++;
        if (lew_put(w, p, run) < 0)
            return -1;
        p += run;
        len -= run;
        if (len == 0)
            break;
        if (*p == '\r') {
            w->pending_cr = true;
        } else if (lew_put(w, w->eol, w->eol_len) < 0) {
            return -1;
        }
        p++;
        len--;
    }
    return 0;
}

static int lew_finish(struct line_end_writer *w)
{
    if (lew_break(w) < 0)
        return -1;
    return lew_flush(w);
}

/* Merges the drop ranges and the Subject range, both sorted, into one
 * ascending walk. */
struct skip_cursor {
    const struct header_range *drop;
    size_t n_drop, next;
    struct header_range subject; /* len 0: none (left) */
};

/* The first range to skip that ends after off (ranges wholly before off
 * are passed for good), or false when there is none. */
static bool skip_next(struct skip_cursor *c, uint64_t off, struct header_range *r)
{
    for (;;) {
        const struct header_range *d = c->next < c->n_drop ? &c->drop[c->next] : NULL;
        bool subject_first = c->subject.len > 0 && (d == NULL || c->subject.off < d->off);
        if (subject_first) {
            if (c->subject.off + c->subject.len > off) {
                *r = c->subject;
                return true;
            }
            c->subject.len = 0;
        } else if (d != NULL) {
            if (d->off + d->len > off) {
                *r = *d;
                return true;
            }
            c->next++;
        } else {
            return false;
        }
    }
}

int message_copy_write(const struct message_copy *mc, copy_sink_fn sink, void *arg)
{
    struct line_end_writer w = {.sink = sink, .arg = arg};
    w.eol = mc->line_ends == LINE_ENDS_LF ? "\n" : "\r\n";
    w.eol_len = strlen(w.eol);
    const struct message_header *h = mc->header;
    struct skip_cursor cur = {.drop = h->drop, .n_drop = h->n_drop_ranges};
    if (mc->drop_subject)
        cur.subject = h->subject;

    if (lew_write(&w, mc->prepend, mc->prepend_len) < 0 || lew_break(&w) < 0)
        return -1;
    uint64_t size = spool_size(mc->msg);
    uint64_t off = 0;
    char buf[16384]; /* on the session thread's stack, which stays resident */
    while (off < size) {
        uint64_t stop = size;
        struct header_range r;
        if (skip_next(&cur, off, &r)) {
            if (r.off <= off) {
                /* A CR before a skipped field ended a line: it must not
                 * pair with an LF after the field. */
                if (lew_break(&w) < 0)
                    return -1;
                off = r.off + r.len;
                continue;
            }
            if (r.off < stop)
                stop = r.off;
        }
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
