/*
 * outcome: what happened to one recipient of a message, as data (kind,
 * reply code, enhanced status code, detail), filled by the pipeline's
 * stages and turned into a protocol line only at the edge that speaks the
 * protocol: the LMTP reply per recipient, the one SMTP reply per message,
 * the report's <reply>, the log and the admin tool all format it here.
 *
 * Public: outcome_set(), outcome_set_relay(), outcome_format(),
 * outcome_class(), outcome_is_policy(), outcome_is_delivery_failure(),
 * outcome_smtp_summary(). Pure, thread-safe.
 */
#ifndef LMTPSCAN_OUTCOME_H
#define LMTPSCAN_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#define OUTCOME_DETAIL_MAX 320
#define OUTCOME_LINE_MAX   512 /* a formatted reply line, no CRLF */

enum outcome_kind {
    OUTCOME_NONE,               /* not decided (never sent) */
    OUTCOME_DELIVERED,          /* 250 2.0.0 stored in the Maildir */
    OUTCOME_RELAYED,            /* 250 2.0.0 the relay took it; detail: its text */
    OUTCOME_QUARANTINED,        /* 250 2.7.0 */
    OUTCOME_DISCARDED,          /* 250 2.7.0 */
    OUTCOME_REJECTED_VIRUS,     /* 554 5.7.0; detail: the virus name(s) */
    OUTCOME_REJECTED_SPAM,      /* 554 5.7.1 */
    OUTCOME_REJECTED_UNCHECKED, /* 554 5.7.0; detail: why the scan was cut short */
    OUTCOME_REJECTED_BANNED,    /* 554 5.7.0; detail: the banned file's path */
    OUTCOME_REJECTED_ENCRYPTED, /* 554 5.7.0; detail: the encrypted file's path */
    OUTCOME_SCAN_FAILED,        /* 451 4.3.0 a scanner failed (tempfail) */
    OUTCOME_DEFERRED,           /* 451 4.3.0 SMTP: held back because another
                                   recipient's outcome was a 4xx known before
                                   anything was stored */
    OUTCOME_TOO_BIG,            /* 552 5.3.4 */
    OUTCOME_NO_MAILBOX,         /* 550 5.1.1 the Maildir vanished (create = no) */
    OUTCOME_DISK_FULL,          /* 452 4.3.1 */
    OUTCOME_LOCAL_ERROR,        /* 451 4.3.0; detail: for the log only */
    OUTCOME_RELAY_REFUSED,      /* the relay's own code and status; detail: its text */
    OUTCOME_RELAY_UNAVAILABLE,  /* 451 4.4.1; detail: for the log only */
};

struct outcome {
    enum outcome_kind kind;
    int code;                        /* 250, 451, 554, ... */
    char enhanced[16];               /* "2.0.0" */
    char detail[OUTCOME_DETAIL_MAX]; /* see the kinds; "" when none */
};

/* Sets kind with its fixed code and enhanced code; detail may be NULL. */
void outcome_set(struct outcome *o, enum outcome_kind kind, const char *detail);
/* A local failure from errno: ENOSPC/EDQUOT disk full, else local error. */
void outcome_set_errno(struct outcome *o, int err, const char *detail);
/* The relay refused: its code (4xx/5xx), its enhanced status (or "" for
 * X.0.0) and its reply text. */
void outcome_set_relay(struct outcome *o, int code, const char *enhanced, const char *text);

/* 2, 4 or 5 (0 for OUTCOME_NONE). */
int outcome_class(const struct outcome *o);
/* A refusal by policy (virus, spam, unchecked mail rejected), not a
 * delivery failure. */
bool outcome_is_policy(const struct outcome *o);
/* A permanent failure after the message was accepted (relay 5xx, vanished
 * Maildir): such recipients are owed a DSN when the client gets 250. */
bool outcome_is_delivery_failure(const struct outcome *o);

/* The recipient's reply line (no CRLF), e.g.
 * "250 2.7.0 <ADDR> quarantined MAIL_ID"; out_len >= OUTCOME_LINE_MAX. */
void outcome_format(const struct outcome *o, const char *address, const char *mail_id, char *out,
                    size_t out_len);

struct envelope;

/*
 * SMTP (SPEC section 4): the one reply for the message: the first 4xx
 * recipient's line when any is 4xx, 552 when the message was too big,
 * 554 when all are rejected (naming the reason when they share one
 * enhanced code), else "250 2.0.0 Ok: queued as MAIL_ID", or, when
 * dsn_failed (a DSN owed for a delivery failure could not be sent), 451
 * so that the client retries rather than a bounce being lost.
 */
void outcome_smtp_summary(const struct envelope *env, bool dsn_failed, char *out, size_t out_len);

#endif
