/*
 * dsn: the delivery status notification (RFC 3464 multipart/report) that
 * lmtpscan owes the sender when it accepted a message over SMTP (one reply
 * for all recipients) and the relay then refused some recipients with a
 * 5xx: over LMTP the 5xx goes back to Postfix per recipient instead, and
 * Postfix bounces. Sent from the null sender through the relay.
 *
 * Public: dsn_send_failures(), dsn_failed_recipient().
 *
 * Failure modes: -1 when the relay did not accept the notification (the
 * caller then tempfails the message, so the sender's MTA retries and the
 * failure is reported again: duplicates for the other recipients, never a
 * lost bounce). Thread-safe.
 */
#ifndef LMTPSCAN_DSN_H
#define LMTPSCAN_DSN_H

#include "common/config.h"
#include "common/envelope.h"
#include "common/spool.h"

#include <stdbool.h>

/* True for a recipient the relay refused permanently (its action was
 * deliver or junk and its reply is 5xx) that asked for failure
 * notifications (no NOTIFY, or NOTIFY with FAILURE). */
bool dsn_failed_recipient(const struct recipient *r);

/* Sends one DSN to env->mail_from for every dsn_failed_recipient(), with
 * the original message (or, for RET=HDRS or a message over 256 KiB, its
 * header). 0 when sent or nothing was due (null sender, no such
 * recipient), -1 when the relay did not take it. */
int dsn_send_failures(const struct config *cfg, const struct envelope *env,
                      const struct spool *msg);

#endif
