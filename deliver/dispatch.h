/*
 * dispatch: the delivery stage. Given the configuration, an envelope
 * whose recipients have their action decided, the spooled message and
 * each recipient's prepared copy (the header block to prepend), it
 * stores: one quarantine copy for all quarantined recipients, a Maildir
 * copy per delivered or junked recipient (maildir mode), one relay
 * transaction per group of byte-identical copies (relay mode), nothing
 * for discarded ones; and it sets each of those recipients' outcome and
 * destination, and env->timings' delivery and relay durations. Recipients whose action is reject or
 * tempfail keep the outcome the decision gave them. It knows no session and writes no reply text:
 * the daemon and `lmtpscan quarantine release` both call it.
 *
 * Also the SMTP post-step: dispatch_notify_failures() sends the DSN a
 * sender is owed when the message is accepted as a whole but some
 * recipients failed permanently after acceptance.
 *
 * Failure modes: every local failure is a 4xx outcome for the recipients
 * it touches (452 4.3.1 disk full, 451 4.3.0 otherwise), logged with the
 * reason; nothing half-written is left. Thread-safe per call.
 */
#ifndef LMTPSCAN_DISPATCH_H
#define LMTPSCAN_DISPATCH_H

#include "common/config.h"
#include "common/envelope.h"
#include "common/message_header.h"
#include "common/spool.h"

#include <stdbool.h>
#include <stddef.h>

/* One recipient's copy: header lines (CRLF-terminated) prepended to the
 * message, and whether the message's own Subject field is left out (a
 * tagged Subject is in the block). */
struct dispatch_copy {
    const char *block;
    size_t block_len;
    bool drop_subject;
};

struct dispatch {
    const struct config *cfg;
    struct envelope *env;                /* actions set; outcomes filled */
    const struct spool *msg;             /* the message as received */
    const struct message_header *header; /* its header (fields to drop) */
    const struct dispatch_copy *copies;  /* per recipient (deliver, junk) */
    const char *quarantine_reason;       /* one line, e.g. "virus NAME" */
};

/* Stores the message for every recipient whose action is deliver, junk,
 * quarantine or discard, and sets their outcome. */
void dispatch_run(const struct dispatch *d);

/* SMTP: when the message gets 250 as a whole (no 4xx, not every recipient
 * refused) and a recipient failed after acceptance (relay 5xx, vanished
 * Maildir), sends it the DSN through the relay. false when such a DSN was
 * owed and could not be sent (no relay configured, or the relay did not
 * take it): the message must then be answered 451. */
bool dispatch_notify_failures(const struct config *cfg, const struct envelope *env,
                              const struct spool *msg);

#endif
