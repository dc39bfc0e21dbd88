/*
 * message_copy: produces one recipient's copy of a message: the header
 * block lmtpscan adds, then the message as received minus the header
 * fields to drop (forged verdict fields, and the Subject when a tagged
 * one is in the block), with line ends written as LF (Maildir) or CRLF
 * (SMTP relay). All other bytes are copied unchanged. Streams from the
 * spool in fixed-size chunks; linear in the message size.
 *
 * Line ends: CRLF, a bare LF and a bare CR are each one line end, written
 * as LF or CRLF. The relay copy so never holds a bare CR or LF, and no
 * relay can read "hello CR . CR LF" as an end of data (the dot after the
 * new line end is stuffed when sent). The Maildir copy stores a bare CR as
 * LF too, although a Maildir reader would take it as an ordinary byte: the
 * header scanner (common/message_header.h) must see the lines every copy
 * shows, or a field after a bare CR would be one line in a copy and no
 * field to the scanner (or the reverse, an empty line the scanner took
 * for the header's end). A bare CR is never valid in mail (RFC 5322 2.3).
 *
 * Thread-safe per call.
 */
#ifndef LMTPSCAN_MESSAGE_COPY_H
#define LMTPSCAN_MESSAGE_COPY_H

#include "common/message_header.h"
#include "common/spool.h"

#include <stdbool.h>
#include <stddef.h>

enum line_ends { LINE_ENDS_LF, LINE_ENDS_CRLF };

struct message_copy {
    const struct spool *msg;
    const struct message_header *header;
    const char *prepend; /* CRLF-terminated header lines */
    size_t prepend_len;
    bool drop_subject;
    enum line_ends line_ends;
};

/* Receives the copy in pieces; returns 0, or -1 with errno to stop. */
typedef int (*copy_sink_fn)(void *arg, const char *data, size_t len);

/* 0 on success, -1 with errno from the spool or the sink. */
int message_copy_write(const struct message_copy *mc, copy_sink_fn sink, void *arg);

/* A copy_sink_fn writing to a file descriptor (arg: int *). */
int copy_sink_fd(void *arg, const char *data, size_t len);

#endif
