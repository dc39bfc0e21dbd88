/*
 * dsn: the delivery status notification (RFC 3464 multipart/report) that
 * lmtpscan owes the sender when it accepted a message over SMTP (one reply
 * for all recipients) and the relay then refused some recipients with a
 * 5xx, or a recipient's Maildir vanished: over LMTP the 5xx goes back to
 * Postfix per recipient instead, and Postfix bounces. Sent from the null
 * sender through the relay.
 *
 * Public: dsn_send_failures(), dsn_failed_recipient(), dsn_encoding().
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

/* True for a recipient that failed permanently after acceptance (relay
 * 5xx, vanished Maildir: outcome_is_delivery_failure()) and asked for
 * failure notifications (no NOTIFY, or NOTIFY with FAILURE). */
bool dsn_failed_recipient(const struct recipient *r);

/* How the DSN for env must be sent: SMTPUTF8 when the sender, a failed
 * recipient or its ORCPT is UTF-8; 8-bit (BODY=8BITMIME) then too, or
 * when the original or a relay text is 8-bit. Pure but for reading msg. */
void dsn_encoding(const struct envelope *env, const struct spool *msg, bool *smtputf8,
                  bool *eight_bit);

/* Sends one DSN to env->mail_from for every dsn_failed_recipient(), with
 * the original message (or, for RET=HDRS or a message over 256 KiB, its
 * header). 0 when sent or nothing was due (null sender, no such
 * recipient), -1 when the relay did not take it. */
int dsn_send_failures(const struct config *cfg, const struct envelope *env,
                      const struct spool *msg);

#endif
