/*
 * report_reader: streams the stored XML reports (SPEC section 8) one at a
 * time for `lmtpscan report replay` and `lmtpscan stats`. Each report is
 * read with libxml2's xmlReader (no DOM, no network, no entity
 * expansion) into a stored_report, handed to a callback and freed before
 * the next one is opened, so memory is bounded by one report however many
 * days are read. The scan results are rebuilt as the daemon's own
 * scan_result (ClamAV status and virus names, one spamd result per user
 * with its score), so the daemon's decision code can run on them.
 *
 * Public: report_walk(), report_parse_since(). Not thread-safe.
 * Failure modes: an unreadable or malformed report is counted and named
 * on stderr, the walk goes on; an unreadable report directory is -1.
 */
#ifndef LMTPSCAN_REPORT_READER_H
#define LMTPSCAN_REPORT_READER_H

#include "common/envelope.h"
#include "common/scan_result.h"
#include "common/timings.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct stored_rcpt {
    char address[ADDRESS_MAX + 1];
    char policy[64];
    char spamd_user[256]; /* empty: no spamd result for this recipient */
    enum verdict verdict;
    enum action action;
};

struct stored_report {
    char mail_id[MAIL_ID_LEN + 1];
    time_t at;
    enum protocol protocol;
    bool whole; /* the data arrived whole (the message has a size) */
    bool has_timings;
    struct timings timings;
    struct scan_result res; /* rcpt_spamd: per rcpts[i], from spamd_user */
    struct stored_rcpt *rcpts;
    size_t n_rcpts;
};

/* Called once per report; a non-zero return stops the walk. */
typedef int (*report_visit)(const struct stored_report *r, void *arg);

/* Walks dir/YYYY-MM-DD/MAIL_ID.xml in date order, reports received at or
 * after since (0: all). Returns the number of unreadable reports (named
 * on stderr), or -1 with err when dir cannot be read. */
long report_walk(const char *dir, time_t since, report_visit visit, void *arg, char *err,
                 size_t err_len);

/* "7d", "24h", "30m", "90s" (a number and a unit) before now: *out.
 * 0, or -1 for a malformed value. */
int report_parse_since(const char *text, time_t now, time_t *out);

#endif
