/*
 * spam_call: one request to a spam engine over a socket, the part spamd
 * and rspamd share: skip a message over max_size, build the request head
 * (before waiting for anything, so a bad head fails at once), wait for a
 * slot of the engine's gate (timed: the spam-engine wait), connect, send
 * the head and the spooled message (never whole in memory), read the
 * reply up to a bound, and parse it. Every step is bounded by the
 * request's deadline (the earlier of the engine's timeout and the scan
 * deadline), through common/fd_stream.h.
 *
 * The engine's own parts come as a struct spam_protocol: its request head,
 * whether it half-closes after the message (spamd), when its reply is
 * whole (rspamd's Content-Length; spamd closes), and the reply parser.
 *
 * Public: spam_call_run(). Thread-safe (out belongs to the caller).
 * Failure modes, all SPAMD_ERROR with a reason naming the engine: a bad
 * request head, no free slot before the deadline, connect failure, I/O
 * error or timeout, a reply too large or that does not parse. A message
 * over max_size is SPAMD_SKIPPED without connecting.
 */
#ifndef LMTPSCAN_SPAM_CALL_H
#define LMTPSCAN_SPAM_CALL_H

#include "common/gate.h"
#include "common/net_address.h"
#include "common/scan_result.h"
#include "common/spool.h"
#include "common/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct spam_protocol {
    const char *name; /* "spamd", "rspamd": in error texts */
    size_t head_max;  /* bytes of the request head at most */
    size_t reply_max; /* bytes of the reply at most */
    bool half_close;  /* shutdown(SHUT_WR) after the message */
    /* The head for a message of size bytes into head; -1 with why. */
    int (*head)(const void *req, uint64_t size, struct strbuf *head, char *why, size_t why_len);
    /* True when reply[0..len) is whole; NULL: the engine closes after it. */
    bool (*complete)(const char *reply, size_t len);
    /* Fills out's status, score, required, rules (and what else the
     * engine tells) from the whole reply; -1 with err. */
    int (*parse)(const char *reply, size_t len, struct spamd_result *out, char *err,
                 size_t err_len);
};

struct spam_call {
    const struct net_address *address;
    const struct spool *msg;  /* finished */
    uint64_t max_size;        /* larger messages are skipped; 0 = no limit */
    unsigned timeout;         /* seconds; 0 = only the deadline */
    struct timespec deadline; /* CLOCK_MONOTONIC: the scan deadline */
    struct gate *limit;       /* requests in flight; may be NULL */
    const void *req;          /* the engine's request, for head() */
};

/* Runs the call; fills out's status, score, required, rules, error,
 * wait_us, request_us and duration_ms, and what parse() adds (engine and
 * user are the caller's). */
void spam_call_run(const struct spam_protocol *p, const struct spam_call *c,
                   struct spamd_result *out);

#endif
