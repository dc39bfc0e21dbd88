/*
 * scan_result: what the scanners said about one message, as data: the
 * ClamAV result, one spam result per distinct (engine, user) pair (spamd
 * or rspamd, mapped onto one model: score, required, rules), and which of
 * them applies to each recipient. Filled by scan/, read by the decision
 * (scan/policy.c), the report and the log; it holds no engine state.
 *
 * Public: scan_result_free(). A scan_result belongs to one caller.
 */
#ifndef LMTPSCAN_SCAN_RESULT_H
#define LMTPSCAN_SCAN_RESULT_H

#include "common/config.h"
#include "common/mail_id.h"
#include "common/file_inventory.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum clamav_status {
    CLAMAV_NOT_RUN, /* disabled, or no recipient's policy wants it */
    CLAMAV_CLEAN,
    CLAMAV_INFECTED,
    CLAMAV_LIMITS, /* a scan limit was exceeded: verdict unchecked */
    CLAMAV_ERROR,
};

struct clamav_result {
    enum clamav_status status;
    char virus[256];     /* infected: signature name(s), comma-separated */
    char reason[256];    /* limits / error: why */
    bool engine_loading; /* error because a blocking reload is loading the
                            database: 451 4.3.0 whatever scan_error_action */
    unsigned duration_ms;
    uint64_t duration_us;            /* the same, for the stage timings */
    struct file_inventory inventory; /* every file libclamav met (SPEC
                                        section 10); overflow: status is
                                        CLAMAV_LIMITS */
};

enum spamd_status { SPAMD_NOT_RUN, SPAMD_HAM, SPAMD_SPAM, SPAMD_SKIPPED, SPAMD_ERROR };

struct spamd_rule {
    char name[64];
    double score;
    bool has_score;
};

/* One spam engine's answer for one user; "spamd" in the names is
 * historical: engine says which engine answered. */
struct spamd_result {
    enum spam_engine engine;
    char user[256];
    enum spamd_status status;
    double score;
    double required;
    struct spamd_rule *rules;
    size_t n_rules;
    char error[256];
    unsigned duration_ms;
    char action[32];  /* rspamd: its action ("reject", "add header", ...); else "" */
    char version[64]; /* what the engine said of its version ("rspamd/3.4"), or "" */
    char reused_from[MAIL_ID_LEN + 1]; /* verdict reuse: the mail that was scanned, or "" */
    uint64_t wait_us;                  /* waiting for a free spamd connection */
    uint64_t request_us;               /* the request itself, after the wait */
};

/* The engine's name as the report and the log write it. */
const char *spam_engine_name(enum spam_engine e);

struct scan_result {
    struct clamav_result clamav;
    char clamav_version[64]; /* "1.4.6" */
    unsigned clamav_signatures;
    struct spamd_result *spamd; /* one per distinct spamd user */
    size_t n_spamd;
    size_t *rcpt_spamd; /* per recipient: index into spamd, or SIZE_MAX */
    uint64_t scan_us;   /* the whole scanning stage, wall time */
};

/* By name (byte order, as SpamAssassin's "tests=" list), then by score,
 * so that even a repeated name gives one order: the one order of rules
 * in reports, headers and replays, whichever engine gave them. */
void spamd_rules_sort(struct spamd_rule *rules, size_t n);
/* Frees what a scan allocated in res (spamd results and rules, the file
 * inventory); res may
 * be zeroed or NULL. */
void scan_result_free(struct scan_result *res);

#endif
