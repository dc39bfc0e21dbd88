/*
 * notice_queue: the durable queue of notices (SPEC section 13) in
 * [notify] queue_dir. notice_queue_message() decides which notices a
 * transaction owes (the admin's, for recipients whose verdict is in
 * admin_on and whose mail was blocked; each recipient's, for a verdict in
 * recipient_on and a message kept in the quarantine; never the sender),
 * builds them with notice_build() and writes each to its own file (a
 * temporary name, fsync, rename, fsync of the directory) before the
 * mail's reply. notice_queue_send() sends one queued file over SMTP from
 * the null sender to [notify] method (deliver.relay when empty).
 *
 * File format: "lmtpscan-notice 1\n", "rcpt: ADDRESS\n", an empty line,
 * then the notice (CRLF line ends). Names: MAIL_ID-a (admin), MAIL_ID-rN
 * (recipient N); names starting with '.' are files being written.
 *
 * Failure modes: a notice that cannot be built or written is logged and
 * dropped (it never changes the mail's reply); a send that finds the
 * server down or gets 4xx leaves the file for a retry; 5xx or a file
 * that does not parse is removed with a log line. Thread-safe.
 */
#ifndef LMTPSCAN_NOTICE_QUEUE_H
#define LMTPSCAN_NOTICE_QUEUE_H

#include "common/config.h"
#include "common/envelope.h"
#include "common/message_header.h"
#include "common/scan_result.h"

#include <stddef.h>

#define NOTICE_FILE_MAX (128 * 1024)

/* Queues the notices the transaction owes; reason is the message's one
 * line reason (for verdicts without a more precise one). Returns how
 * many were queued. */
size_t notice_queue_message(const struct config *cfg, const struct envelope *env,
                            const struct message_header *mh, const struct scan_result *res,
                            const char *reason);

enum notice_send_result {
    NOTICE_SENT,
    NOTICE_DEFERRED,    /* 4xx: kept for a retry */
    NOTICE_UNREACHABLE, /* no connection, lost, timed out: kept for a retry */
    NOTICE_DROPPED,     /* 5xx or not a notice: removed */
};

struct notice_send_status {
    enum notice_send_result result; /* never NOTICE_DROPPED for a 4xx */
    char text[400];                 /* the server's reply, or why not */
};

/* Sends the message msg[0..len) (CRLF line ends, not dot-stuffed) from
 * the null sender to rcpt through [notify] method (deliver.relay when
 * empty): NOTICE_SENT, NOTICE_DEFERRED (4xx), NOTICE_UNREACHABLE or
 * NOTICE_DROPPED (5xx: refused for good). Also used by the digest. */
void notice_send(const struct config *cfg, const char *log_id, const char *rcpt, const char *msg,
                 size_t len, struct notice_send_status *st);

/* Sends queue_dir/name; removes the file when sent or dropped. */
enum notice_send_result notice_queue_send(const struct config *cfg, const char *name);

/* True when name is a queued notice (not a file being written). */
bool notice_queue_is_entry(const char *name);

#endif
