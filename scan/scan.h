/*
 * scan: the scanning stage, between reception and delivery. It owns the
 * long-lived scanners (the shared libclamav engine, the spamd and rspamd
 * request limits, the verdict cache of verdict_reuse), runs
 * ClamAV once per message and the policies' spam engine (spamd or rspamd)
 * once per distinct (engine, user), concurrently, within scan_timeout, and
 * returns what they said.
 * Nothing here knows about sockets to clients or about delivery.
 *
 * scan_engine_* calls are thread-safe; a scan_result belongs to one caller.
 */
#ifndef LMTPSCAN_SCAN_H
#define LMTPSCAN_SCAN_H

#include "common/config.h"
#include "common/envelope.h"
#include "common/scan_result.h"
#include "common/spool.h"

#include <stdbool.h>
#include <stddef.h>

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

#endif
