/*
 * relay: delivery over SMTP to deliver.relay, the re-injection listener
 * of the content-filter loop (Postfix's 127.0.0.1:10025). One SMTP
 * transaction per call, for a group of recipients whose copies are
 * identical (SPEC section 7): EHLO, SMTP AUTH when
 * relay_sasl_username is set, XFORWARD of the original client when the
 * relay offers it, MAIL with SIZE/BODY/SMTPUTF8/RET/ENVID, RCPT with
 * NOTIFY/ORCPT, DATA with dot-stuffing; pipelined when offered.
 * Connections are kept in a small process-wide pool for the next message
 * (RSET probe before reuse, at most RELAY_POOL_IDLE seconds idle, dropped
 * after any error).
 *
 * Public: relay_deliver() (the pipeline), relay_send() (any message),
 * relay_send_from_null() (a DSN, a notice), relay_spool_is_8bit(), relay_pool_close_all().
 *
 * Failure modes, per recipient: the relay's 4xx/5xx at MAIL, RCPT, DATA or
 * end of data is passed through (code and enhanced status); an
 * unreachable relay, a lost connection, a timeout (server.timeout per
 * step), a 421 or failed authentication is OUTCOME_RELAY_UNAVAILABLE.
 * No recipient is OUTCOME_RELAYED unless the relay answered 250 at the
 * end of data. All functions are thread-safe.
 */
#ifndef LMTPSCAN_RELAY_H
#define LMTPSCAN_RELAY_H

#include "common/config.h"
#include "common/envelope.h"
#include "common/spool.h"
#include "deliver/message_copy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_POOL_MAX  8  /* idle connections kept */
#define RELAY_POOL_IDLE 30 /* seconds an idle connection may be reused */

/*
 * Relays the copy mc (built with line_ends = LINE_ENDS_CRLF) to the n
 * recipients env->rcpts[rcpt_idx[0..n-1]] in one transaction, and sets
 * each one's outcome: OUTCOME_RELAYED (detail: the relay's reply text,
 * destination: its reply line), OUTCOME_RELAY_REFUSED (the relay's code,
 * status and text) or OUTCOME_RELAY_UNAVAILABLE (detail: why, for the
 * log). XFORWARD carries the envelope's client, none when it has none.
 */
void relay_deliver(const struct config *cfg, struct envelope *env, const size_t *rcpt_idx, size_t n,
                   const struct message_copy *mc);

enum relay_status { RELAY_PENDING, RELAY_ACCEPTED, RELAY_REFUSED, RELAY_UNAVAILABLE };

struct relay_rcpt {
    const char *address;
    const char *orcpt; /* DSN ORCPT as received (xtext), "" or NULL: none */
    unsigned notify;   /* DSN_NOTIFY_* bits, 0: none */
    /* results */
    enum relay_status status;
    int code;          /* the relay's reply code (0 when unavailable) */
    char enhanced[16]; /* the relay's enhanced status, or derived X.0.0 */
    char text[320];    /* the relay's reply after the code, "" if none */
};

struct relay_job {
    const char *log_id;    /* for log lines, e.g. the MAIL_ID */
    const char *mail_from; /* "" for the null sender */
    uint64_t size;         /* SIZE= estimate, 0: none */
    bool eight_bit;        /* BODY=8BITMIME */
    bool smtputf8;
    enum dsn_ret ret;
    const char *envid;               /* xtext as received, "" or NULL: none */
    const struct xforward *xforward; /* NULL: no XFORWARD */
    struct relay_rcpt *rcpts;
    size_t n_rcpts;
    /* Writes the message content (CRLF line ends, not dot-stuffed). */
    int (*write_body)(void *arg, copy_sink_fn sink, void *sink_arg);
    void *body_arg;
    char error[256]; /* out: why recipients are RELAY_UNAVAILABLE */
};

/* Runs one transaction; every recipient ends ACCEPTED, REFUSED or
 * UNAVAILABLE. Never fails as a whole. */
void relay_send(const struct config *cfg, struct relay_job *job);

/* One message from the null sender (a DSN, a notice) to to->address, in
 * its own transaction through cfg's relay: no XFORWARD, no DSN
 * parameters. *to gets the result; error (error_len bytes) why it could
 * not be sent when to->status is RELAY_UNAVAILABLE. */
void relay_send_from_null(const struct config *cfg, const char *log_id, struct relay_rcpt *to,
                          uint64_t size, bool eight_bit, bool smtputf8,
                          int (*write_body)(void *arg, copy_sink_fn sink, void *sink_arg),
                          void *body_arg, char *error, size_t error_len);

/* True when the message holds a byte >= 0x80 (read once from the spool;
 * a read error counts as 8-bit). */
bool relay_spool_is_8bit(const struct spool *msg);

/* Closes the pooled idle connections (at exit). */
void relay_pool_close_all(void);

#endif
