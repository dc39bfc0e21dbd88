/*
 * cmd_bdat: BDAT (RFC 3030 CHUNKING). Each chunk's bytes go to the spool
 * as they are, no dot-unstuffing; the last chunk ends the transfer and
 * gets the per-recipient replies. Size and spool errors are remembered and
 * reported at the last chunk; the chunk data is always read so the stream
 * stays in sync.
 */
#include "lmtpd/session.h"

#include <errno.h>

/* Reads exactly size bytes of chunk data; 0 on success, -1 if the
 * connection failed (the session then ends, nothing is delivered). */
static int bdat_read_chunk(struct session *s, uint64_t size)
{
    uint64_t limit = s->cfg->server.max_message_size;
    while (size > 0) {
        const char *in;
        size_t in_len;
        if (!session_peek_data(s, &in, &in_len))
            return -1;
        size_t n = in_len < size ? in_len : (size_t)size;
        if (s->bdat_size + n > limit)
            s->bdat_too_big = true;
        if (!s->bdat_too_big && s->bdat_errno == 0 && spool_write(s->spool, in, n) < 0)
            s->bdat_errno = errno ? errno : EIO;
        s->bdat_size += n;
        stream_consume(&s->st, n);
        size -= n;
    }
    return 0;
}

void cmd_bdat(struct session *s, const struct command *c)
{
    uint64_t size;
    bool last;
    struct command_error err;
    if (command_parse_bdat(c->args, c->args_len, &size, &last, &err) != 0) {
        /* The chunk size is unknown, so the stream cannot be resynchronised. */
        session_reply_error(s, &err);
        s->quit = true;
        return;
    }
    bool may = s->bdat_active || session_may_transfer(s);
    if (may)
        s->bdat_active = true;
    /* The chunk is read even when refused, to stay in sync with the client. */
    if (bdat_read_chunk(s, size) < 0)
        return;
    if (!may) {
        spool_reset(s->spool);
        s->bdat_size = 0;
        return;
    }
    if (!last) {
        session_reply(s, "250 2.0.0 %llu bytes received", (unsigned long long)size);
        return;
    }
    s->replying_outcomes = true; /* per-recipient outcomes are no command errors */
    if (s->bdat_errno != 0)
        session_end_of_data(s, DATA_SPOOL_ERROR, s->bdat_errno);
    else
        session_end_of_data(s, s->bdat_too_big ? DATA_TOO_BIG : DATA_OK, 0);
    s->replying_outcomes = false;
}
