/*
 * transaction: the data path after the final dot (or BDAT LAST), as one
 * straight line: finish the spool -> read the header -> scan -> decide
 * per recipient -> prepare each copy -> dispatch (store) -> log -> report.
 * It takes only what it needs (configuration, scan engine, envelope,
 * spool), knows no session and writes no protocol line: every recipient
 * ends with its outcome set, and, for SMTP, the one reply for the message
 * is formatted (SPEC section 4). Testable without a socket. It completes
 * env->timings (common/timings.h: receive from the data start the
 * session set, scan from the result, total) for the log line and the
 * report, and counts the message in common/metrics.h after the report.
 *
 * Failure modes: every local failure becomes a 4xx outcome for the
 * recipients it touches (452 4.3.1 disk full, 451 4.3.0 otherwise), so the
 * client retries; nothing is reported stored that is not fsync'ed or
 * accepted by the relay. SMTP: a 4xx known before anything is stored (a
 * scanner failure with tempfail) stores nothing for anyone.
 * Thread-safe per call (one envelope and spool per caller).
 */
#ifndef LMTPSCAN_TRANSACTION_H
#define LMTPSCAN_TRANSACTION_H

#include "common/config.h"
#include "common/envelope.h"
#include "common/spool.h"

#include <stddef.h>

struct scan_engine;

/* How the message data ended. */
enum data_status {
    DATA_OK,
    DATA_TOO_BIG,     /* over max_message_size: 552 per recipient */
    DATA_SPOOL_ERROR, /* spool write failed: errno in spool_errno */
};

struct transaction {
    const struct config *cfg;
    struct scan_engine *scan; /* NULL: nothing is scanned */
    struct envelope *env;     /* recipients with their policy set */
    struct spool *spool;      /* the message data as received */
};

/* Runs the data path; sets env->mail_id, env->received and every
 * recipient's outcome; for SMTP (env->protocol) writes the message's one
 * reply into smtp_reply (else leaves it empty). */
void transaction_run(const struct transaction *t, enum data_status status, int spool_errno,
                     char *smtp_reply, size_t smtp_reply_len);

#endif
