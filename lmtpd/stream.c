/*
 * stream: the session's buffered socket I/O (see stream.h), mapped onto
 * common/fd_stream.h: the session timeout is the idle limit of every
 * wait, and the stop descriptor ends only the wait for a new command.
 * Failure modes: timeout, peer closed, socket error; the session then ends.
 */
#include "lmtpd/stream.h"

#include "common/clock.h"

#include <stdarg.h>
#include <stdio.h>

#define STREAM_OUTPUT_MAX (64 * 1024)

void stream_init(struct stream *st, int fd, int timeout_ms, int stop_fd)
{
    st->fd = fd;
    fd_stream_init(&st->io, fd, STREAM_INPUT_SIZE, STREAM_OUTPUT_MAX, STREAM_OUTPUT_MAX);
    st->io.stop_fd = stop_fd;
    stream_set_timeout(st, timeout_ms);
}

void stream_set_timeout(struct stream *st, int timeout_ms)
{
    /* A timeout of 0 ms would wait for nothing; 1 ms is the closest. */
    st->io.idle_ms = timeout_ms > 0 ? timeout_ms : 1;
}

void stream_free(struct stream *st)
{
    fd_stream_free(&st->io);
}

static enum stream_status status_of(enum fd_stream_status s)
{
    switch (s) {
    case FDS_OK:
        return STREAM_OK;
    case FDS_TOO_LONG:
        return STREAM_TOO_LONG;
    case FDS_EOF:
        return STREAM_EOF;
    case FDS_TIMEOUT:
        return STREAM_TIMEOUT;
    case FDS_STOPPED:
        return STREAM_STOPPING;
    case FDS_ERROR:
        break;
    }
    return STREAM_ERROR;
}

bool stream_has_input(const struct stream *st)
{
    return fd_stream_has_input(&st->io);
}

enum stream_status stream_peek(struct stream *st, const char **data, size_t *len)
{
    return status_of(fd_stream_peek(&st->io, data, len, deadline_never()));
}

void stream_consume(struct stream *st, size_t n)
{
    fd_stream_consume(&st->io, n);
}

enum stream_status stream_read_line(struct stream *st, char *line, size_t max, size_t *len)
{
    enum fd_stream_status s = fd_stream_read_line(&st->io, line, max, len, deadline_never());
    if (s != FDS_TOO_LONG)
        return status_of(s);
    /* Discard the rest of the line so the next command starts clean. */
    s = fd_stream_skip_line(&st->io, deadline_never());
    return s == FDS_OK ? STREAM_TOO_LONG : status_of(s);
}

enum stream_status stream_flush(struct stream *st)
{
    return status_of(fd_stream_flush(&st->io, deadline_never()));
}

enum stream_status stream_reply(struct stream *st, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return STREAM_ERROR;
    size_t len = (size_t)n < sizeof(line) - 2 ? (size_t)n : sizeof(line) - 3;
    line[len++] = '\r';
    line[len++] = '\n';
    return status_of(fd_stream_queue(&st->io, line, len, deadline_never()));
}
