/*
 * spamd_reply: the pure parser of spamd's answer to a SPAMC/1.5 REPORT
 * request: the status line ("SPAMD/1.1 0 EX_OK"), the headers
 * (Content-length, "Spam: True ; 15.0 / 5.0") and the report body's rule
 * table (" pts rule name  description" / "---- ----..." / one row per rule,
 * continuation lines indented). Bytes in, struct or error out; no I/O.
 * The rules come out sorted by name, whatever order spamd listed them in.
 *
 * Thread-safe. Failure modes (-1 with err): a status other than 0 EX_OK,
 * a missing or malformed Spam header, a body shorter or longer than its
 * Content-length, a malformed table row, more than SPAMD_REPLY_MAX bytes
 * or SPAMD_MAX_RULES rules.
 */
#ifndef LMTPSCAN_SPAMD_REPLY_H
#define LMTPSCAN_SPAMD_REPLY_H

#include "scan/scan.h"

#include <stdbool.h>
#include <stddef.h>

#define SPAMD_REPLY_MAX (256 * 1024)
#define SPAMD_MAX_RULES 1000

struct spamd_reply {
    bool is_spam;
    double score;
    double required;
    struct spamd_rule *rules; /* owned, sorted by name; NULL when n_rules == 0 */
    size_t n_rules;
};

/* 0 and *out filled (free with spamd_reply_free), or -1 with err. */
int spamd_reply_parse(const char *data, size_t len, struct spamd_reply *out, char *err,
                      size_t errlen);
void spamd_reply_free(struct spamd_reply *r);

#endif
