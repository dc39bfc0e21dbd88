/*
 * stream: buffered socket I/O with a per-call timeout (see stream.h).
 * Failure modes: timeout, peer closed, socket error; the session then ends.
 */
#include "lmtpd/stream.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STREAM_OUTPUT_MAX (64 * 1024)

void stream_init(struct stream *st, int fd, int timeout_ms, int stop_fd)
{
    st->fd = fd;
    st->stop_fd = stop_fd;
    st->timeout_ms = timeout_ms;
    st->in_start = st->in_end = 0;
    strbuf_init(&st->out, STREAM_OUTPUT_MAX);
}

void stream_free(struct stream *st)
{
    strbuf_free(&st->out);
}

static enum stream_status stream_wait(struct stream *st, short events, bool stoppable)
{
    struct pollfd pfd[2] = {{.fd = st->fd, .events = events},
                            {.fd = st->stop_fd, .events = POLLIN}};
    nfds_t n_fds = stoppable && st->stop_fd >= 0 ? 2 : 1;
    for (;;) {
        int n = poll(pfd, n_fds, st->timeout_ms);
        if (n > 0 && pfd[0].revents)
            return STREAM_OK;
        if (n > 0)
            return STREAM_STOPPING;
        if (n == 0)
            return STREAM_TIMEOUT;
        if (errno != EINTR)
            return STREAM_ERROR;
    }
}

/* Reads more input after what is buffered. */
static enum stream_status stream_fill(struct stream *st, bool stoppable)
{
    if (st->in_start > 0) {
        memmove(st->in, st->in + st->in_start, st->in_end - st->in_start);
        st->in_end -= st->in_start;
        st->in_start = 0;
    }
    if (st->in_end == sizeof(st->in))
        return STREAM_OK;
    for (;;) {
        enum stream_status w = stream_wait(st, POLLIN, stoppable);
        if (w != STREAM_OK)
            return w;
        ssize_t n = read(st->fd, st->in + st->in_end, sizeof(st->in) - st->in_end);
        if (n > 0) {
            st->in_end += (size_t)n;
            return STREAM_OK;
        }
        if (n == 0)
            return STREAM_EOF;
        if (errno != EINTR && errno != EAGAIN)
            return STREAM_ERROR;
    }
}

bool stream_has_input(const struct stream *st)
{
    return st->in_end > st->in_start;
}

static enum stream_status stream_peek_mode(struct stream *st, const char **data, size_t *len,
                                          bool stoppable)
{
    if (!stream_has_input(st)) {
        enum stream_status s = stream_fill(st, stoppable);
        if (s != STREAM_OK)
            return s;
    }
    *data = st->in + st->in_start;
    *len = st->in_end - st->in_start;
    return STREAM_OK;
}

enum stream_status stream_peek(struct stream *st, const char **data, size_t *len)
{
    return stream_peek_mode(st, data, len, false);
}

void stream_consume(struct stream *st, size_t n)
{
    st->in_start += n;
    if (st->in_start >= st->in_end)
        st->in_start = st->in_end = 0;
}

enum stream_status stream_read_line(struct stream *st, char *line, size_t max, size_t *len)
{
    size_t have = 0;
    bool too_long = false;
    for (;;) {
        const char *data;
        size_t avail;
        /* Only the wait for the first byte of a command may be cut short. */
        enum stream_status s = stream_peek_mode(st, &data, &avail, have == 0 && !too_long);
        if (s != STREAM_OK)
            return s;
        const char *lf = memchr(data, '\n', avail);
        size_t take = lf ? (size_t)(lf - data) + 1 : avail;
        if (!too_long && have + take <= max) {
            memcpy(line + have, data, take);
            have += take;
        } else {
            too_long = true;
        }
        stream_consume(st, take);
        if (lf == NULL)
            continue;
        if (too_long)
            return STREAM_TOO_LONG;
        have--; /* the LF */
        if (have > 0 && line[have - 1] == '\r')
            have--;
        line[have] = '\0';
        *len = have;
        return STREAM_OK;
    }
}

enum stream_status stream_flush(struct stream *st)
{
    size_t off = 0;
    while (off < st->out.len) {
        ssize_t n = send(st->fd, st->out.data + off, st->out.len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            enum stream_status w = stream_wait(st, POLLOUT, false);
            if (w != STREAM_OK)
                return w;
            continue;
        }
        return STREAM_ERROR;
    }
    strbuf_reset(&st->out);
    return STREAM_OK;
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
    if (strbuf_append(&st->out, line, len) < 0) {
        enum stream_status s = stream_flush(st);
        if (s != STREAM_OK)
            return s;
        if (strbuf_append(&st->out, line, len) < 0)
            return STREAM_ERROR;
    }
    return STREAM_OK;
}
