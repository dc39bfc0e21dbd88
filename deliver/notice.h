/*
 * notice: builds the text of one notice about a held or blocked message
 * (SPEC section 13): a plain-text UTF-8 MIME message from the configured
 * sender, Auto-Submitted: auto-generated, naming the MAIL_ID, the
 * verdict, the reason and the original From/Subject/Date/Message-ID, and
 * how to release the message. The held content is never in it.
 *
 * Every value taken from the mail is sanitised before use: folding and
 * every control byte removed (a CR or LF in a hostile Subject cannot
 * start a header of its own), encoded words decoded, ill-formed UTF-8
 * replaced, cut at NOTICE_VALUE_MAX bytes. The notice's own Subject
 * carries the original one, as RFC 2047 encoded words when it is not
 * plain ASCII.
 *
 * Pure (data in, bytes out), thread-safe.
 */
#ifndef LMTPSCAN_NOTICE_H
#define LMTPSCAN_NOTICE_H

#include "common/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define NOTICE_VALUE_MAX 300 /* bytes of one original value shown */
#define NOTICE_MAX       (64 * 1024)

struct notice {
    const char *hostname;
    const char *from; /* the notice's sender address (From:) */
    const char *to;   /* who gets it */
    bool admin;       /* the administrator's notice, else the recipient's */
    unsigned seq;     /* tells apart the notices of one message */
    const char *mail_id;
    const char *verdict; /* "virus", "spam", ... */
    const char *action;  /* "quarantine", "discard", "reject" */
    const char *reason;  /* "virus NAME", "spam score 17.0 >= 15.0", ... */
    bool releasable;     /* kept in the quarantine */
    time_t received;
    time_t now;
    /* the original header values as received (raw, folded, any bytes);
     * NULL when absent */
    const char *orig_from;
    const char *orig_subject;
    const char *orig_date;
    const char *orig_message_id;
    /* the envelope recipients the notice is about */
    const char *const *rcpts;
    size_t n_rcpts;
};

/* Appends the whole notice (CRLF line ends, not dot-stuffed) to out.
 * 0, or -1 when out's limit was reached. */
int notice_build(const struct notice *n, struct strbuf *out);

/* Appends the sanitised form of a raw header value (see above). */
int notice_sanitise(const char *raw, size_t len, struct strbuf *out);

/* Appends value as the value of a "Subject: " field: as it is (folded
 * at blanks) when it is printable ASCII without "=?" or overlong words,
 * else as RFC 2047 "B" encoded words of UTF-8 (each at most 75
 * characters, one a line, folded with CRLF SP). Lines stay within 78
 * characters. value must be valid UTF-8 without control characters
 * (notice_sanitise()'s). */
int notice_header_encode(const char *value, struct strbuf *out);

#endif
