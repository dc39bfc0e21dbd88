/*
 * stream: a buffered, deadline-aware socket stream for one session. Reads
 * fill a fixed input buffer (constant memory); replies collect in a bounded
 * output buffer and go out in one write when the session has no more
 * pipelined input to answer. Every blocking call waits at most the
 * stream's timeout. Not thread-safe: one session owns it.
 */
#ifndef LMTPSCAN_STREAM_H
#define LMTPSCAN_STREAM_H

#include "common/strbuf.h"

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
    int fd;
    int stop_fd; /* readable once the daemon stops; -1 for none */
    int timeout_ms;
    char in[STREAM_INPUT_SIZE];
    size_t in_start;
    size_t in_end;
    struct strbuf out;
};

void stream_init(struct stream *st, int fd, int timeout_ms, int stop_fd);
void stream_free(struct stream *st);

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
