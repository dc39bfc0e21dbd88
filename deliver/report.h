/*
 * report: the XML audit report of one transaction (SPEC section 8),
 * report.dir/YYYY-MM-DD/MAIL_ID.xml (UTC date of reception), valid
 * against conf/report.xsd (namespace urn:lmtpscan:report:1). Written with
 * libxml2's xmlTextWriter from text that went through xml_text first, so
 * it is well-formed UTF-8 whatever bytes the mail held; stored with
 * durable_file (temporary name, fsync, rename, fsync of the directory).
 * Releases from the quarantine are appended to the existing report as
 * <release> elements (parse, add, rewrite atomically).
 *
 * Failure modes: -1 with a reason in err (I/O, libxml2). Nothing is
 * written when report.dir is empty. All functions are thread-safe.
 */
#ifndef LMTPSCAN_REPORT_H
#define LMTPSCAN_REPORT_H

#include "common/config.h"
#include "common/envelope.h"
#include "common/message_header.h"
#include "common/spool.h"
#include "common/scan_result.h"

#include <stddef.h>
#include <time.h>

#define REPORT_NAMESPACE "urn:lmtpscan:report:1"

/* Bounds of the header values in <message> (bytes of UTF-8). */
#define REPORT_SUBJECT_MAX    8192
#define REPORT_FROM_MAX       2048
#define REPORT_MESSAGE_ID_MAX 1024
#define REPORT_DATE_MAX       256

/*
 * Writes the report of a finished transaction: env with every recipient's
 * verdict, action, outcome and destination set. mh: the message's header
 * (NULL or zeroed when it was not read); msg: the finished spool, or NULL
 * when the data did not arrive whole (no size and digest then); res: the
 * scan results (zeroed when nothing ran); smtp_reply: the one reply an
 * SMTP client got, NULL for LMTP. On success path gets the file's path
 * ("" when reports are off).
 */
int report_write(const struct config *cfg, const struct envelope *env,
                 const struct message_header *mh, const struct spool *msg,
                 const struct scan_result *res, const char *smtp_reply, char *path, size_t path_len,
                 char *err, size_t err_len);

/* Finds report.dir/ * /MAIL_ID.xml. 0 and path, or -1 with errno (ENOENT:
 * no such report or reports off; EINVAL: not a mail id). */
int report_find(const struct config *cfg, const char *mail_id, char *path, size_t path_len);

struct report_release {
    time_t at;
    const char *by;          /* who released it (user name), or NULL */
    const char *rcpt;        /* the recipient released to */
    const char *reply;       /* the delivery's reply / outcome line */
    const char *destination; /* where it went (Maildir file, relay reply), or NULL */
};

/* Appends a <release> element to the message's existing report. -1 with
 * err when there is no report or it cannot be rewritten. */
int report_add_release(const struct config *cfg, const char *mail_id,
                       const struct report_release *rel, char *err, size_t err_len);

#endif
