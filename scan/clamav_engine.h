/*
 * clamav_engine: the one libclamav engine of the process, shared by all
 * sessions and reference-counted. A scan takes a reference to the current
 * engine under a mutex and drops it when done; a reload builds a new
 * engine and swaps the pointer under the mutex (reload = concurrent), or
 * drops the old one first and reports "engine loading" until the new one
 * is ready (reload = blocking). An engine is freed when its last user lets
 * go. With reload_check > 0 a watcher thread polls the database directory
 * (cl_statchkdir) and reloads on change.
 *
 * Public: clamav_engine_new/reload/free, clamav_engine_acquire/release,
 * clamav_ref_scan, clamav_engine_scan, clamav_engine_info.
 * All functions are thread-safe. Failure modes: the database does not load
 * (new/reload return -1 with err; reload keeps the running engine in
 * concurrent mode), no engine while loading or after a failed blocking
 * reload (scans report CLAMAV_ERROR), libclamav scan errors (CLAMAV_ERROR),
 * scan limits (CLAMAV_LIMITS).
 * The engine has libclamav's file-inspection and metadata callbacks set
 * (banned content, SPEC section 10) and its clean-file cache off, so
 * every scan sees every file.
 */
#ifndef LMTPSCAN_CLAMAV_ENGINE_H
#define LMTPSCAN_CLAMAV_ENGINE_H

#include "common/config.h"
#include "common/spool.h"
#include "scan/scan.h"

#include <stddef.h>

/* What the engine is built from: the [clamav] section plus scan_timeout. */
struct clamav_settings {
    struct clamav_config clamav;
    unsigned scan_timeout; /* seconds: CL_ENGINE_MAX_SCANTIME */
};

void clamav_settings_from_config(const struct config *cfg, struct clamav_settings *out);

struct clamav_engine;
struct clamav_ref; /* one loaded cl_engine, held by a scan */

/* Loads the database when s->enabled; starts the watcher when
 * s->reload_check > 0. NULL with err when the database does not load. */
struct clamav_engine *clamav_engine_new(const struct clamav_settings *s, char *err, size_t errlen);
/* Rebuilds the engine from s (NULL: the current settings). 0, or -1 with
 * err; on failure the running engine is kept (concurrent mode) or there is
 * none until a later reload succeeds (blocking mode). */
int clamav_engine_reload(struct clamav_engine *ce, const struct clamav_settings *s, char *err,
                         size_t errlen);
/* Stops the watcher and drops the engine. Call only when no scan is
 * running any more (shutdown): scans release through ce. */
void clamav_engine_free(struct clamav_engine *ce);

/* The current engine with a reference taken, or NULL (disabled, loading,
 * failed) with the reason in why. */
struct clamav_ref *clamav_engine_acquire(struct clamav_engine *ce, char *why, size_t whylen,
                                         bool *loading);
void clamav_engine_release(struct clamav_engine *ce, struct clamav_ref *ref);
unsigned clamav_ref_signatures(const struct clamav_ref *ref);

/* Scans the finished spool with ref; fills status, virus/reason and
 * out->inventory (every file libclamav met, bounded by max_files; past
 * the bound the status is CLAMAV_LIMITS). The inventory's storage is
 * freed first and belongs to out afterwards: free it with
 * file_inventory_free() or scan_result_free(). */
void clamav_ref_scan(const struct clamav_ref *ref, const struct spool *msg,
                     struct clamav_result *out);

/* acquire + scan + release; also fills the signature count of the engine
 * used. */
void clamav_engine_scan(struct clamav_engine *ce, const struct spool *msg,
                        struct clamav_result *out, unsigned *signatures);

/* libclamav's version string ("1.4.6"). */
const char *clamav_version(void);

#endif
