/*
 * spamd_client: one SPAMC/1.5 REPORT request to spamd. The message is
 * streamed from the spool with spool_pread (never held whole in memory),
 * the reply is read up to SPAMD_REPLY_MAX bytes and parsed by
 * spamd_reply_parse. Every socket operation (common/fd_stream.h) waits at
 * most until the request's deadline (the earlier of [spamd] timeout and
 * the scan deadline). A process-wide spamd_limit, a common/gate.h gate of
 * one unit per request, bounds the requests in flight ([spamd]
 * connections).
 *
 * Public: spamd_limit_*, spamd_check. Thread-safe (a spamd_result belongs
 * to its caller). Failure modes, all SPAMD_ERROR with a reason: no free
 * slot before the deadline, connect failure (refused, timeout), I/O error
 * or timeout, a reply that is too large or malformed, a spamd error status.
 * A message over max_size is SPAMD_SKIPPED without connecting.
 */
#ifndef LMTPSCAN_SPAMD_CLIENT_H
#define LMTPSCAN_SPAMD_CLIENT_H

#include "common/gate.h"
#include "common/net_address.h"
#include "common/spool.h"
#include "scan/scan.h"

#include <stdint.h>
#include <time.h>

struct spamd_limit {
    struct gate gate; /* capacity: max requests, 0 for no limit */
};

void spamd_limit_init(struct spamd_limit *l, unsigned max);
void spamd_limit_destroy(struct spamd_limit *l);
void spamd_limit_set_max(struct spamd_limit *l, unsigned max);
/* 0 with a slot taken, or -1 when the deadline (CLOCK_MONOTONIC) passed. */
int spamd_limit_acquire(struct spamd_limit *l, const struct timespec *deadline);
void spamd_limit_release(struct spamd_limit *l);

struct spamd_request {
    const struct net_address *address;
    const char *user;          /* User header; "" = none */
    const struct spool *msg;   /* finished */
    uint64_t max_size;         /* larger messages are skipped; 0 = no limit */
    unsigned timeout;          /* seconds; 0 = only the deadline */
    struct timespec deadline;  /* CLOCK_MONOTONIC: the scan deadline */
    struct spamd_limit *limit; /* may be NULL */
};

/* Runs the request and fills status, score, required, rules, error and
 * duration_ms of out (user is the caller's). */
void spamd_check(const struct spamd_request *req, struct spamd_result *out);

#endif
