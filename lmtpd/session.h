/*
 * session: one client connection speaking LMTP (RFC 2033) or SMTP
 * (RFC 5321): the command loop, the protocol state, and the handlers of
 * the cmd_*.c files that share this state. One thread runs one session;
 * nothing here is shared between sessions except the runtime.
 *
 * Public: session_run(). The rest is for the cmd_*.c and transaction.c
 * files of lmtpd/.
 */
#ifndef LMTPSCAN_SESSION_H
#define LMTPSCAN_SESSION_H

#include "common/envelope.h"
#include "common/spool.h"
#include "lmtpd/auth_server.h"
#include "lmtpd/command.h"
#include "lmtpd/deadline_watch.h"
#include "lmtpd/runtime.h"
#include "lmtpd/stream.h"
#include "lmtpd/transaction.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct session {
    struct runtime *rt;
    const struct config *cfg;
    struct stream st;
    enum protocol protocol;
    bool is_inet;
    bool greeted;           /* LHLO/EHLO/HELO seen */
    bool must_auth;         /* inet client outside allow_from with auth = yes */
    bool authenticated;     /* AUTH succeeded */
    struct sasl_conn *sasl; /* libsasl2 server connection (auth_server.h), or NULL */
    bool quit;

    /* Limits of one session ([server] session_timeout, max_errors,
     * max_auth_failures, max_commands_before_auth). */
    struct timespec deadline;    /* CLOCK_MONOTONIC: when session_timeout passes */
    struct deadline_watch watch; /* the hard end: deadline plus two idle timeouts */
    unsigned errors;             /* 4xx/5xx replies to commands */
    unsigned auth_failures;      /* AUTH credentials refused (535) */
    unsigned commands;           /* command lines read */
    bool replying_outcomes;      /* end-of-data replies: not counted as errors */

    struct envelope env;
    struct spool *spool;

    /* BDAT transfer in progress */
    bool bdat_active;
    uint64_t bdat_size;
    bool bdat_too_big;
    int bdat_errno;

    char line[COMMAND_LINE_MAX + 1];
};

/* Runs a session on a connected socket until it ends; the caller closes
 * fd afterwards. */
/* When stop_fd becomes readable, a session waiting for its next command
 * says 421 and ends; one receiving or scanning a message finishes first. */
void session_run(int fd, enum protocol protocol, const struct sockaddr *peer, socklen_t peer_len,
                 int stop_fd);

/* Command handlers, one file each. */
void cmd_lhlo(struct session *s, const struct command *c);
void cmd_mail(struct session *s, const struct command *c);
void cmd_rcpt(struct session *s, const struct command *c);
void cmd_data(struct session *s, const struct command *c);
void cmd_bdat(struct session *s, const struct command *c);
void cmd_xforward(struct session *s, const struct command *c);
void cmd_rset(struct session *s, const struct command *c);
void cmd_noop(struct session *s, const struct command *c);
void cmd_quit(struct session *s, const struct command *c);
void cmd_vrfy(struct session *s, const struct command *c);
void cmd_auth(struct session *s, const struct command *c);

/* The session's libsasl2 connection, made on first use; NULL when AUTH is
 * off for this client or libsasl2 fails. */
struct sasl_conn *session_sasl(struct session *s);
/* The SASL mechanisms to announce ("PLAIN LOGIN"), or NULL for none
 * (auth = no, a unix socket, or libsasl2 has none). */
const char *session_auth_mechs(struct session *s);

/* MAIL given and at least one recipient accepted; else replies 503. */
int session_may_transfer(struct session *s);

/* Message data (DATA or BDAT): buffered bytes, waiting for some. When
 * the connection fails or times out (421 4.4.2), the transaction is
 * dropped, nothing is delivered, the session ends, and false is returned. */
bool session_peek_data(struct session *s, const char **data, size_t *len);

/* Queues a reply; a write failure ends the session. */
void session_reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void session_reply_error(struct session *s, const struct command_error *e);
/* Ends the transaction (after data, RSET, or a failed transfer). */
void session_reset_transaction(struct session *s);

/* End of data: runs the transaction, then replies (LMTP: one line per
 * recipient in RCPT order; SMTP: one line) and ends the transaction
 * (data_end.c). */
void session_end_of_data(struct session *s, enum data_status status, int spool_errno);

#endif
