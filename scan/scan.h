/*
 * scan: the scanning stage, between reception and delivery. It owns the
 * long-lived scanners (the shared libclamav engine, the spamd request
 * limit), runs ClamAV once per message and spamd once per distinct spamd
 * user, concurrently, within scan_timeout, and returns what they said.
 * Nothing here knows about sockets to clients or about delivery.
 *
 * scan_engine_* calls are thread-safe; a scan_result belongs to one caller.
 */
#ifndef LMTPSCAN_SCAN_H
#define LMTPSCAN_SCAN_H

#include "common/config.h"
#include "common/envelope.h"
#include "common/spool.h"

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

struct scan_engine;

/* Loads the signatures (when clamav is enabled). NULL with err on failure. */
struct scan_engine *scan_engine_new(const struct config *cfg, char *err, size_t err_len);
/* Rebuilds for a new configuration / changed database (SIGHUP); on failure
 * the running engine is kept and err says why. */
int scan_engine_reload(struct scan_engine *se, const struct config *cfg, char *err, size_t err_len);
void scan_engine_free(struct scan_engine *se);

/*
 * Scans the finished spool for the envelope's recipients (their policy
 * must be set). Returns 0; scanner failures are reported in the result,
 * never as clean.
 */
int scan_message(struct scan_engine *se, const struct config *cfg, const struct envelope *env,
                 const struct spool *msg, struct scan_result *out);
void scan_result_free(struct scan_result *res);

#endif
