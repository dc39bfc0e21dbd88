/*
 * verdict_cache: the verdicts of [scan] verdict_reuse (SPEC section 11).
 * A spam engine's answer for a byte-identical message (its SHA-256) to
 * the same engine and the same user, given again within the reuse time,
 * is copied instead of asking the engine: Postfix retries and recipient
 * splits send the same message again in new transactions.
 *
 * Bounds: a fixed table of VERDICT_CACHE_SLOTS entries, allocated on the
 * first store; a verdict with more than VERDICT_CACHE_RULES rules is not
 * kept. A full table replaces an expired entry, else the least recently
 * used one. Only answers (ham or spam) are kept, never errors or skips.
 *
 * Never reused: across engines or users (both are part of the key);
 * after the engine reported another version than the one the entry was
 * stored under (a store with a new version drops that engine's entries;
 * rspamd names its version in the Server field; spamd reports none, so
 * for spamd only the time bound applies); past the reuse time; after
 * verdict_cache_clear() (configuration reload).
 *
 * Public: verdict_cache_new/free/clear/get/put. Thread-safe (one mutex).
 */
#ifndef LMTPSCAN_VERDICT_CACHE_H
#define LMTPSCAN_VERDICT_CACHE_H

#include "common/scan_result.h"

#include <stdbool.h>

#define VERDICT_CACHE_SLOTS 512
#define VERDICT_CACHE_RULES 64

struct verdict_cache;

struct verdict_cache *verdict_cache_new(void);
void verdict_cache_free(struct verdict_cache *vc);
void verdict_cache_clear(struct verdict_cache *vc);

/* On a hit within ttl seconds: copies the stored answer into out (status,
 * score, required, rules (allocated), action, version), sets
 * out->reused_from to the mail id that was scanned, and returns true.
 * out->engine and out->user are the key. */
bool verdict_cache_get(struct verdict_cache *vc, const char *sha256_hex, unsigned ttl,
                       struct spamd_result *out);

/* Stores res (an answer of res->engine for res->user) for the message
 * sha256_hex scanned as mail_id. */
void verdict_cache_put(struct verdict_cache *vc, const char *sha256_hex, const char *mail_id,
                       const struct spamd_result *res);

#endif
