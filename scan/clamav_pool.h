/*
 * clamav_pool: the threads that run libclamav scans. Sessions hand their
 * scan to one of a fixed number of scan threads and wait for it, so at
 * most that many scans run at once whatever the number of sessions, and
 * libclamav's per-scan allocations stay in the memory of those few
 * threads instead of in every session thread's malloc arena (each one
 * kept its own high-water mark: about 1 MB a session).
 *
 * Public: clamav_pool_new(), clamav_pool_set_threads(), clamav_pool_free(),
 * clamav_pool_scan(), clamav_pool_run(), clamav_pool_default_threads().
 *
 * Rules: threads start on the first scan and grow or shrink to the
 * configured number (a reload); surplus threads leave when idle. Jobs are
 * taken in arrival order. A job waits for a thread until its deadline;
 * once a thread has taken it, the caller waits for the scan to end
 * (libclamav's own CL_ENGINE_MAX_SCANTIME bounds it), since the scan reads
 * the caller's spool and writes its result.
 *
 * Failure modes: clamav_pool_scan() returns -1 when the deadline passed
 * before a thread took the job (nothing ran), or when no thread could be
 * started (logged). Thread-safe.
 */
#ifndef LMTPSCAN_CLAMAV_POOL_H
#define LMTPSCAN_CLAMAV_POOL_H

#include "common/scan_result.h"
#include "common/spool.h"
#include "scan/clamav_engine.h"

#include <time.h>

struct clamav_pool;

/* threads: how many scans run at once (0: clamav_pool_default_threads()). */
struct clamav_pool *clamav_pool_new(unsigned threads);
void clamav_pool_set_threads(struct clamav_pool *p, unsigned threads);
/* Waits for the running scans to end and the threads to leave. */
void clamav_pool_free(struct clamav_pool *p);
/* clamav_ref_scan(ref, msg, out) on a scan thread. 0 when it ran, -1 when
 * no thread took it before deadline (CLOCK_MONOTONIC). */
int clamav_pool_scan(struct clamav_pool *p, const struct clamav_ref *ref, const struct spool *msg,
                     struct clamav_result *out, const struct timespec *deadline);
/* fn(arg) on a pool thread, as clamav_pool_scan() runs a scan. */
int clamav_pool_run(struct clamav_pool *p, void (*fn)(void *), void *arg,
                    const struct timespec *deadline);
/* The online CPUs, at least 2, at most 64: libclamav is CPU-bound
 * when its temporary files are on a tmpfs. */
unsigned clamav_pool_default_threads(void);

#endif
