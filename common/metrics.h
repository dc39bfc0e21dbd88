/*
 * metrics: the daemon's process-wide registry of counters, gauges and
 * stage-duration histograms (SPEC section 12) and its exposition in the
 * Prometheus text format 0.0.4 or OpenMetrics 1.0.0.
 *
 * Every value is a C11 atomic updated with relaxed ordering, and the
 * per-message counters and histograms are sharded (16 cache-aligned
 * copies, a thread keeps the one it first took, a scrape sums them): the
 * per-message path takes no lock, rarely shares a cache line with another
 * thread and never waits for a scrape (tests/unit/test_metrics.c prints
 * the A/B against one mutex). A scrape reads each value once (a histogram's buckets may be a few
 * observations apart from its count during a concurrent update, as with Prometheus' own client
 * libraries). The registry is static storage: it lives as long as the process, so SIGHUP (a new
 * configuration generation) keeps every counter.
 *
 * Labels are small fixed sets (enums): protocol, verdict, action, reply
 * class, engine, stage.
 *
 * Public: metrics_count_*(), metrics_observe_stage(), metrics_sessions_add(),
 * metrics_scan_memory_add(), metrics_clamav_loaded(), metrics_render().
 * Thread-safe.
 */
#ifndef LMTPSCAN_METRICS_H
#define LMTPSCAN_METRICS_H

#include "common/envelope.h"
#include "common/strbuf.h"
#include "common/timings.h"

#include <stdbool.h>
#include <stdint.h>

enum metrics_engine { ENGINE_CLAMAV, ENGINE_SPAMD, ENGINE_RSPAMD, ENGINE_COUNT };

/* One message that reached the end of data, by its most severe verdict
 * (virus > spam > unchecked > clean), and its size in bytes. */
void metrics_count_message(enum protocol p, enum verdict v, uint64_t bytes);
/* One recipient's outcome: verdict and action. */
void metrics_count_recipient(enum protocol p, enum verdict v, enum action a);
/* One reply after the data, by class (2, 4, 5): per recipient for LMTP,
 * the one per message for SMTP. */
void metrics_count_reply(enum protocol p, int reply_class);
/* A scanner request that failed (error, timeout; not a skip). */
void metrics_count_scanner_failure(enum metrics_engine e);
/* n recipients the relay refused or could not take. */
void metrics_count_relay_failures(unsigned n);
/* One observation of a stage's duration. */
void metrics_observe_stage(enum stage s, uint64_t us);

/* Gauges. */
void metrics_sessions_add(int delta);
void metrics_scan_memory_add(int64_t delta);
void metrics_clamav_loaded(unsigned signatures, uint64_t load_us);

/* Appends the whole exposition to out: OpenMetrics 1.0.0 (ending in
 * "# EOF") when openmetrics, else the Prometheus text format 0.0.4.
 * 0, or -1 when out's limit is reached. */
int metrics_render(struct strbuf *out, bool openmetrics);

/* The Content-Type of each format. */
#define METRICS_TYPE_PROMETHEUS  "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

#endif
