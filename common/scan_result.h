/*
 * scan_result: what the scanners said about one message, as data: the
 * ClamAV result, one spamd result per distinct spamd user, and which of
 * them applies to each recipient. Filled by scan/, read by the decision
 * (scan/policy.c), the report and the log; it holds no engine state.
 *
 * Public: scan_result_free(). A scan_result belongs to one caller.
 */
#ifndef LMTPSCAN_SCAN_RESULT_H
#define LMTPSCAN_SCAN_RESULT_H

#include "common/file_inventory.h"

#include <stdbool.h>
#include <stddef.h>

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

struct spamd_result {
    char user[256];
    enum spamd_status status;
    double score;
    double required;
    struct spamd_rule *rules;
    size_t n_rules;
    char error[256];
    unsigned duration_ms;
};

struct scan_result {
    struct clamav_result clamav;
    char clamav_version[64]; /* "1.4.6" */
    unsigned clamav_signatures;
    struct spamd_result *spamd; /* one per distinct spamd user */
    size_t n_spamd;
    size_t *rcpt_spamd; /* per recipient: index into spamd, or SIZE_MAX */
};

/* Frees what a scan allocated in res (spamd results and rules, the file
 * inventory); res may
 * be zeroed or NULL. */
void scan_result_free(struct scan_result *res);

#endif
