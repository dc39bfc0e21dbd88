/*
 * stream: the session's side of the client socket, a thin layer over
 * common/fd_stream.h. Reads fill a fixed input buffer (constant memory);
 * replies collect in a bounded output buffer and go out in one write when
 * the session has no more pipelined input to answer. Every blocking call
 * waits at most the stream's timeout without progress (fd_stream's idle
 * limit; no overall deadline). Not thread-safe: one session owns it.
 *
 * Public: stream_init(), stream_free(), stream_set_timeout(),
 * stream_read_line(), stream_peek(),
 * stream_consume(), stream_has_input(), stream_reply(), stream_flush().
 * Failure modes: the enum stream_status values below; after any but
 * STREAM_OK and STREAM_TOO_LONG the session ends.
 */
#ifndef LMTPSCAN_STREAM_H
#define LMTPSCAN_STREAM_H

#include "common/fd_stream.h"

#include <stdbool.h>
#include <stddef.h>

#define STREAM_INPUT_SIZE (32 * 1024)

enum stream_status {
    STREAM_OK,
    STREAM_TOO_LONG, /* line over the limit: discarded through its LF */
    STREAM_EOF,
    STREAM_TIMEOUT,
    STREAM_ERROR,
    STREAM_STOPPING, /* the daemon is stopping: only between commands */
};

struct stream {
    int fd;              /* the client socket (the same as io.fd) */
    struct fd_stream io; /* stop_fd: readable once the daemon stops */
};

void stream_init(struct stream *st, int fd, int timeout_ms, int stop_fd);
void stream_free(struct stream *st);
/* Sets the timeout of each later wait (at least 1 ms). */
void stream_set_timeout(struct stream *st, int timeout_ms);

/*
 * Reads one line ending in LF (a CR before it is removed) of at most max
 * bytes including the line end into line (which holds max bytes). *len is
 * the length without the line end; the line is NUL-terminated for
 * convenience but may contain NUL bytes. While waiting for a new line
 * with nothing buffered, a stop of the daemon returns STREAM_STOPPING.
 */
enum stream_status stream_read_line(struct stream *st, char *line, size_t max, size_t *len);

/* Makes input available: returns buffered bytes (at least one, waiting
 * for them if needed) without consuming them. */
enum stream_status stream_peek(struct stream *st, const char **data, size_t *len);
void stream_consume(struct stream *st, size_t n);

/* True when input is already buffered (pipelined commands to answer). */
bool stream_has_input(const struct stream *st);

/* Queues a reply line (CRLF added); flushes when the buffer is full. */
enum stream_status stream_reply(struct stream *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum stream_status stream_flush(struct stream *st);

#endif
