/*
 * fd_stream: buffered socket I/O against deadlines (see fd_stream.h).
 * Reads and writes are tried first and waited for in poll() only when the
 * socket has nothing to give or no room, each wait bounded by the
 * deadline and the idle limit.
 */
#include "common/fd_stream.h"

#include "common/clock.h"
#include "common/xalloc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void fd_stream_init(struct fd_stream *s, int fd, size_t in_size, size_t out_max, size_t flush_at)
{
    s->fd = fd;
    s->stop_fd = -1;
    s->idle_ms = 0;
    s->in_size = in_size > 0 ? in_size : 1;
    s->in = xmalloc(s->in_size);
    s->in_start = s->in_end = 0;
    strbuf_init(&s->out, out_max);
    s->flush_at = flush_at > 0 && flush_at <= out_max ? flush_at : out_max;
    s->err_op = "";
    s->err_no = 0;
}

void fd_stream_free(struct fd_stream *s)
{
    free(s->in);
    s->in = NULL;
    s->in_size = s->in_start = s->in_end = 0;
    strbuf_free(&s->out);
}

static enum fd_stream_status fail(struct fd_stream *s, const char *op, int err)
{
    s->err_op = op;
    s->err_no = err;
    return FDS_ERROR;
}

/* Waits until fd has events, the deadline or the idle limit passes, or
 * (stoppable) stop_fd becomes readable. */
static enum fd_stream_status wait_ready(struct fd_stream *s, short events, struct timespec deadline,
                                        bool stoppable)
{
    struct timespec until = deadline;
    if (s->idle_ms > 0)
        until = deadline_min(deadline, deadline_after_ms((uint64_t)s->idle_ms));
    struct pollfd pfd[2] = {{.fd = s->fd, .events = events}, {.fd = s->stop_fd, .events = POLLIN}};
    nfds_t n_fds = stoppable && s->stop_fd >= 0 ? 2 : 1;
    for (;;) {
        int ms = deadline_remaining_ms(until);
        if (ms == 0)
            return FDS_TIMEOUT;
        int n = poll(pfd, n_fds, ms);
        if (n > 0 && pfd[0].revents)
            return FDS_OK;
        if (n > 0)
            return FDS_STOPPED;
        if (n < 0 && errno != EINTR)
            return fail(s, "poll", errno);
    }
}

bool fd_stream_has_input(const struct fd_stream *s)
{
    return s->in_end > s->in_start;
}

/* Reads more input after what is buffered. */
static enum fd_stream_status fill(struct fd_stream *s, struct timespec deadline, bool stoppable)
{
    if (s->in_start > 0) {
        memmove(s->in, s->in + s->in_start, s->in_end - s->in_start);
        s->in_end -= s->in_start;
        s->in_start = 0;
    }
    if (s->in_end == s->in_size)
        return FDS_OK;
    for (;;) {
        ssize_t n = recv(s->fd, s->in + s->in_end, s->in_size - s->in_end, MSG_DONTWAIT);
        if (n > 0) {
            s->in_end += (size_t)n;
            return FDS_OK;
        }
        if (n == 0)
            return FDS_EOF;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail(s, "read", errno);
        enum fd_stream_status w = wait_ready(s, POLLIN, deadline, stoppable);
        if (w != FDS_OK)
            return w;
    }
}

enum fd_stream_status fd_stream_peek(struct fd_stream *s, const char **data, size_t *len,
                                     struct timespec deadline)
{
    if (!fd_stream_has_input(s)) {
        enum fd_stream_status st = fill(s, deadline, false);
        if (st != FDS_OK)
            return st;
    }
    *data = s->in + s->in_start;
    *len = s->in_end - s->in_start;
    return FDS_OK;
}

void fd_stream_consume(struct fd_stream *s, size_t n)
{
    s->in_start += n;
    if (s->in_start >= s->in_end)
        s->in_start = s->in_end = 0;
}

enum fd_stream_status fd_stream_read_line(struct fd_stream *s, char *line, size_t max, size_t *len,
                                          struct timespec deadline)
{
    size_t have = 0;
    for (;;) {
        if (!fd_stream_has_input(s)) {
            /* Only the wait for the first byte of a line may be stopped. */
            enum fd_stream_status st = fill(s, deadline, have == 0);
            if (st != FDS_OK)
                return st;
        }
        const char *data = s->in + s->in_start;
        size_t avail = s->in_end - s->in_start;
        const char *lf = memchr(data, '\n', avail);
        size_t take = lf ? (size_t)(lf - data) + 1 : avail;
        /* Without its LF yet, max bytes already mean a longer line. */
        if (take > max - have || (lf == NULL && take == max - have)) {
            fd_stream_consume(s, lf ? take - 1 : take);
            return FDS_TOO_LONG;
        }
        memcpy(line + have, data, take);
        have += take;
        fd_stream_consume(s, take);
        if (lf == NULL)
            continue;
        have--; /* the LF */
        if (have > 0 && line[have - 1] == '\r')
            have--;
        line[have] = '\0';
        *len = have;
        return FDS_OK;
    }
}

enum fd_stream_status fd_stream_skip_line(struct fd_stream *s, struct timespec deadline)
{
    for (;;) {
        if (!fd_stream_has_input(s)) {
            enum fd_stream_status st = fill(s, deadline, false);
            if (st != FDS_OK)
                return st;
        }
        const char *data = s->in + s->in_start;
        size_t avail = s->in_end - s->in_start;
        const char *lf = memchr(data, '\n', avail);
        fd_stream_consume(s, lf ? (size_t)(lf - data) + 1 : avail);
        if (lf != NULL)
            return FDS_OK;
    }
}

enum fd_stream_status fd_stream_read(struct fd_stream *s, void *buf, size_t n,
                                     struct timespec deadline)
{
    char *p = buf;
    while (n > 0) {
        const char *data;
        size_t avail;
        enum fd_stream_status st = fd_stream_peek(s, &data, &avail, deadline);
        if (st != FDS_OK)
            return st;
        size_t take = avail < n ? avail : n;
        memcpy(p, data, take);
        fd_stream_consume(s, take);
        p += take;
        n -= take;
    }
    return FDS_OK;
}

/* Writes len bytes of data; *done says how many went out. */
static enum fd_stream_status send_bytes(struct fd_stream *s, const char *data, size_t len,
                                        size_t *done, struct timespec deadline)
{
    *done = 0;
    while (*done < len) {
        ssize_t n = send(s->fd, data + *done, len - *done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            *done += (size_t)n;
            continue;
        }
        if (n == 0)
            return fail(s, "write", EPIPE);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail(s, "write", errno);
        enum fd_stream_status w = wait_ready(s, POLLOUT, deadline, false);
        if (w != FDS_OK)
            return w;
    }
    return FDS_OK;
}

enum fd_stream_status fd_stream_flush(struct fd_stream *s, struct timespec deadline)
{
    size_t done;
    enum fd_stream_status st = send_bytes(s, s->out.data, s->out.len, &done, deadline);
    strbuf_consume(&s->out, done);
    return st;
}

enum fd_stream_status fd_stream_queue(struct fd_stream *s, const void *data, size_t len,
                                      struct timespec deadline)
{
    const char *p = data;
    if (s->flush_at == 0) /* no output buffer */
        return fd_stream_write_all(s, data, len, deadline);
    while (len > 0) {
        size_t room = s->flush_at > s->out.len ? s->flush_at - s->out.len : 0;
        if (room == 0) {
            enum fd_stream_status st = fd_stream_flush(s, deadline);
            if (st != FDS_OK)
                return st;
            continue;
        }
        size_t n = len < room ? len : room;
        if (strbuf_append(&s->out, p, n) < 0)
            return fail(s, "write", ENOBUFS);
        p += n;
        len -= n;
    }
    if (s->out.len >= s->flush_at)
        return fd_stream_flush(s, deadline);
    return FDS_OK;
}

enum fd_stream_status fd_stream_write_all(struct fd_stream *s, const void *data, size_t len,
                                          struct timespec deadline)
{
    size_t done;
    if (s->out.len > 0) {
        enum fd_stream_status st = fd_stream_flush(s, deadline);
        if (st != FDS_OK)
            return st;
    }
    return send_bytes(s, data, len, &done, deadline);
}

enum fd_stream_status fd_stream_send_spool(struct fd_stream *s, const struct spool *msg,
                                           struct timespec deadline)
{
    enum { PIECE = 64 * 1024 };
    uint64_t size = spool_size(msg), off = 0;
    enum fd_stream_status st = FDS_OK;
    char *buf = xmalloc(PIECE);
    while (off < size && st == FDS_OK) {
        size_t want = size - off > PIECE ? PIECE : (size_t)(size - off);
        ssize_t n = spool_pread(msg, buf, want, off);
        if (n <= 0) {
            s->err_op = "spool";
            s->err_no = n == 0 ? EIO : errno;
            st = FDS_ERROR;
            break;
        }
        st = fd_stream_write_all(s, buf, (size_t)n, deadline);
        off += (uint64_t)n;
    }
    free(buf);
    return st;
}

const char *fd_stream_error(const struct fd_stream *s, enum fd_stream_status st)
{
    if (st == FDS_TIMEOUT)
        return "timeout";
    if (st == FDS_ERROR)
        return strerror(s->err_no);
    return "connection closed";
}
