/*
 * cmd_data: DATA. The data runs through the dot-unstuffing state machine
 * into the spool in constant memory; past max_message_size the bytes are
 * read and dropped so the client gets its 552 replies at the end. A
 * connection that fails before the final dot delivers nothing.
 */
#include "common/clock.h"
#include "lmtpd/data_reader.h"
#include "lmtpd/session.h"

#include <errno.h>

/* Reads the message into the spool up to the final dot (bytes past
 * limit are counted, not kept). false when the session ended
 * first. Its own frame (the 32 KB buffer) is gone before the transaction
 * runs, so a session thread's stack holds one or the other, not both. */
static __attribute__((noinline)) bool receive(struct session *s, uint64_t limit, uint64_t *total,
                                              int *spool_errno)
{
    struct data_reader dr;
    data_reader_init(&dr);
    char out[STREAM_INPUT_SIZE + 2];
    while (!dr.done) {
        const char *in;
        size_t in_len;
        if (!session_peek_data(s, &in, &in_len))
            return false;
        size_t out_len;
        size_t used = data_reader_feed(&dr, in, in_len, out, &out_len);
        stream_consume(&s->st, used);
        *total += out_len;
        if (*total <= limit && *spool_errno == 0 && spool_write(s->spool, out, out_len) < 0)
            *spool_errno = errno ? errno : EIO;
    }
    return true;
}

void cmd_data(struct session *s, const struct command *c)
{
    if (c->args_len != 0) {
        session_reply(s, "501 5.5.4 Syntax: DATA");
        return;
    }
    if (!session_may_transfer(s))
        return;
    session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
    s->env.timings.data_start = mono_now(); /* the receive stage */
    if (stream_flush(&s->st) != STREAM_OK) {
        s->quit = true;
        return;
    }

    uint64_t limit = s->cfg->server.max_message_size;
    uint64_t total = 0;
    int spool_errno = 0;
    if (!receive(s, limit, &total, &spool_errno))
        return;
    s->replying_outcomes = true; /* per-recipient outcomes are no command errors */
    if (spool_errno != 0)
        session_end_of_data(s, DATA_SPOOL_ERROR, spool_errno);
    else
        session_end_of_data(s, total > limit ? DATA_TOO_BIG : DATA_OK, 0);
    s->replying_outcomes = false;
}
