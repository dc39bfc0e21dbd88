/*
 * policy: which [policy] applies to a recipient, and what happens to the
 * recipient given the scan result (verdict and action of SPEC section 5).
 * Pure, thread-safe.
 */
#ifndef LMTPSCAN_POLICY_H
#define LMTPSCAN_POLICY_H

#include "common/config.h"
#include "common/envelope.h"
#include "common/strbuf.h"
#include "common/scan_result.h"

/* Lookup of the canonical address: mailbox, mailbox without detail,
 * @domain, then "default"; case-insensitive (the address and the
 * [recipients] keys are lower-cased). Never NULL. */
const struct policy *policy_lookup(const struct config *cfg, const struct address *addr);

/* Sets verdict and action of every recipient of env (each one's policy
 * must be set: it is resolved once, at RCPT), and the outcome of those
 * whose action stores nothing and says why (reject: virus, spam or
 * unchecked; tempfail: scan failed). */
void policy_decide(struct envelope *env, const struct scan_result *res);

/* Why the quarantined recipients' copy is held, one line for the
 * quarantine's envelope: "virus NAME", "spam" or "unchecked: REASON". */
void policy_quarantine_reason(const struct envelope *env, const struct scan_result *res, char *out,
                              size_t out_len);

/*
 * Appends the header fields of SPEC section 6 for recipient i
 * (X-Virus-Scanned, X-Spam-*), each ending in CRLF, to out. When the
 * recipient's subject tag applies, also appends "Subject: TAG<original>"
 * (original_subject: the raw value after "Subject:" as in the message,
 * folding kept, without the final line end; NULL when the message has
 * none) and sets *subject_replaced so the copy drops the original field.
 * Returns 0, or -1 when out's limit is reached.
 */
int policy_headers(const struct envelope *env, size_t i, const struct scan_result *res,
                   const char *hostname, const char *original_subject, struct strbuf *out,
                   bool *subject_replaced);

#endif
