/*
 * fd_stream: a buffered, deadline-aware stream over a socket, the one I/O
 * layer under the LMTP/SMTP session (lmtpd/stream.h), the relay's SMTP
 * client (deliver/smtp_client.h) and the spamd client
 * (scan/spamd_client.h). It owns a fixed input buffer (constant memory,
 * sized at init) and a bounded output buffer (a strbuf); it does not own
 * the descriptor (fd_stream_free does not close it).
 *
 * Time: every call that may block takes an absolute deadline
 * (common/clock.h; deadline_never() for none) and returns FDS_TIMEOUT
 * once it passes. An idle limit (idle_ms > 0) also ends any wait that
 * sees no progress for that long, so a stream can bound each step (the
 * session's per-command timeout) rather than the whole call.
 *
 * Stopping: while fd_stream_read_line() waits for the first byte of a
 * line with nothing buffered, a readable stop_fd (>= 0) ends the wait with
 * FDS_STOPPED; no other wait is cut short.
 *
 * Public: fd_stream_init(), fd_stream_free(), fd_stream_has_input(),
 * fd_stream_peek(), fd_stream_consume(), fd_stream_read_line(),
 * fd_stream_skip_line(), fd_stream_read(), fd_stream_queue(),
 * fd_stream_flush(), fd_stream_write_all(), fd_stream_send_spool(),
 * fd_stream_error().
 *
 * Failure modes: FDS_TIMEOUT (deadline or idle limit), FDS_EOF (the peer
 * closed its end), FDS_ERROR (a poll, recv or send error: err_op and
 * err_no say which; a peer gone while writing is EPIPE), FDS_TOO_LONG (a
 * line over its bound), FDS_STOPPED. After a failed read the input is
 * out of step (a partial line is lost): only a last reply may still be
 * written before the stream is given up. The descriptor must be a socket;
 * reads and writes never block (MSG_DONTWAIT) and never raise SIGPIPE.
 *
 * Not thread-safe: one owner at a time.
 */
#ifndef LMTPSCAN_FD_STREAM_H
#define LMTPSCAN_FD_STREAM_H

#include "common/spool.h"
#include "common/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum fd_stream_status {
    FDS_OK,
    FDS_TOO_LONG, /* line over its bound: its end is still unread */
    FDS_EOF,
    FDS_TIMEOUT,
    FDS_ERROR,
    FDS_STOPPED, /* stop_fd became readable between lines */
};

struct fd_stream {
    int fd;
    int stop_fd; /* see above; -1 for none */
    int idle_ms; /* a wait without progress ends after this; 0: none */
    char *in;    /* in_size bytes; [in_start, in_end) is unread input */
    size_t in_size;
    size_t in_start;
    size_t in_end;
    struct strbuf out;  /* queued output */
    size_t flush_at;    /* fd_stream_queue writes out at this many bytes */
    const char *err_op; /* FDS_ERROR: "poll", "read" or "write" */
    int err_no;         /* FDS_ERROR: the errno */
};

/* in_size: input buffer bytes (> 0). out_max: most output queued (0:
 * none, fd_stream_queue then writes at once); flush_at (<= out_max, 0 for
 * out_max): fd_stream_queue writes out when it holds that much. The stream
 * starts with no stop_fd and no idle limit. Out of memory is fatal
 * (xalloc). */
void fd_stream_init(struct fd_stream *s, int fd, size_t in_size, size_t out_max, size_t flush_at);
void fd_stream_free(struct fd_stream *s);

/* True when unread input is buffered. */
bool fd_stream_has_input(const struct fd_stream *s);

/* Returns buffered input (at least one byte, reading if none is
 * buffered) without consuming it. */
enum fd_stream_status fd_stream_peek(struct fd_stream *s, const char **data, size_t *len,
                                     struct timespec deadline);
void fd_stream_consume(struct fd_stream *s, size_t n);

/* Reads one line ending in LF of at most max bytes including the line end
 * into line (which holds max bytes); the LF and one CR before it are
 * removed, *len is what is left, and line is NUL-terminated (it may hold
 * other NUL bytes). FDS_TOO_LONG as soon as the line cannot fit: the
 * bytes looked at are consumed, the rest of the line through its LF is
 * not (fd_stream_skip_line discards it). */
enum fd_stream_status fd_stream_read_line(struct fd_stream *s, char *line, size_t max, size_t *len,
                                          struct timespec deadline);
/* Discards input through the next LF. */
enum fd_stream_status fd_stream_skip_line(struct fd_stream *s, struct timespec deadline);
/* Reads exactly n bytes into buf (FDS_EOF if the peer closes first). */
enum fd_stream_status fd_stream_read(struct fd_stream *s, void *buf, size_t n,
                                     struct timespec deadline);

/* Appends to the output buffer, writing it out whenever it holds
 * flush_at bytes. */
enum fd_stream_status fd_stream_queue(struct fd_stream *s, const void *data, size_t len,
                                      struct timespec deadline);
/* Writes out everything queued. */
enum fd_stream_status fd_stream_flush(struct fd_stream *s, struct timespec deadline);
/* Writes out what is queued, then all of data, without copying it. */
enum fd_stream_status fd_stream_write_all(struct fd_stream *s, const void *data, size_t len,
                                          struct timespec deadline);

/* What went wrong, for a message: "timeout", the socket (or spool)
 * error's text, or "connection closed". */
const char *fd_stream_error(const struct fd_stream *s, enum fd_stream_status st);

/* Writes the whole spooled message (in 64 KiB pieces read from the
 * spool, never whole in memory) before deadline. FDS_OK; FDS_ERROR with
 * err_op "spool" when the spool cannot be read (err_no says why); or the
 * write's status. */
enum fd_stream_status fd_stream_send_spool(struct fd_stream *s, const struct spool *msg,
                                           struct timespec deadline);

#endif
