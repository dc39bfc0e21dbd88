/*
 * rspamd_client: one POST /checkv2 request to rspamd's normal worker
 * (HTTP/1.1). The envelope goes as rspamd's request header fields (From,
 * one Rcpt per recipient of the request, and IP, Helo, Hostname and
 * Queue-Id from XFORWARD when the client sent them), the per-user
 * identity as Deliver-To, which rspamd's settings module can match
 * (request_header) to apply per-user settings. The identity is not sent
 * as User: rspamd takes User for an SMTP-authenticated sender and then
 * skips or changes checks. The message is streamed from the spool with
 * spool_pread under a Content-Length (never held whole in memory); the
 * reply is read up to RSPAMD_REPLY_MAX bytes and parsed by
 * rspamd_reply_parse.
 *
 * Connections: rspamd's normal worker answers every request with
 * "Connection: close" (rspamd 3.4, checked), so each request has its own
 * connection and says "Connection: close" itself; a pool would only hold
 * sockets the worker has already closed.
 *
 * Time and limits: every socket operation (common/fd_stream.h) waits at
 * most until the request's deadline (the earlier of [rspamd] timeout and
 * the scan deadline); a process-wide gate (common/gate.h, one unit per
 * request) bounds the requests in flight ([rspamd] connections).
 *
 * Public: rspamd_check. Thread-safe (a spamd_result belongs to its
 * caller). Failure modes, all SPAMD_ERROR with a reason: no free slot
 * before the deadline, connect failure (refused, timeout), I/O error or
 * timeout, a reply that is too large, malformed or not 200, a request
 * header that would carry control characters (identity) or be too large.
 * A message over max_size is SPAMD_SKIPPED without connecting.
 */
#ifndef LMTPSCAN_RSPAMD_CLIENT_H
#define LMTPSCAN_RSPAMD_CLIENT_H

#include "common/envelope.h"
#include "common/gate.h"
#include "common/net_address.h"
#include "common/scan_result.h"
#include "common/spool.h"
#include "common/strbuf.h"

#include <stdint.h>
#include <time.h>

#define RSPAMD_HEAD_MAX (1024 * 1024) /* request header bytes at most */

struct rspamd_request {
    const struct net_address *address;
    const char *user;           /* Deliver-To; "" = none */
    const struct envelope *env; /* From and the XFORWARD data */
    const char *const *rcpts;   /* the recipients this request is for */
    size_t n_rcpts;
    const struct spool *msg;  /* finished */
    uint64_t max_size;        /* larger messages are skipped; 0 = no limit */
    unsigned timeout;         /* seconds; 0 = only the deadline */
    struct timespec deadline; /* CLOCK_MONOTONIC: the scan deadline */
    struct gate *limit;       /* may be NULL */
};

/* Runs the request and fills status, score, required, rules, action,
 * version, error and duration_ms of out (engine and user are the
 * caller's). */
void rspamd_check(const struct rspamd_request *req, struct spamd_result *out);

/* The request header for req and a body of size bytes into head (which
 * bounds it); 0, or -1 when a value holds control characters or head is
 * full (why says which). Pure: exposed for tests. */
int rspamd_request_head(const struct rspamd_request *req, uint64_t size, struct strbuf *head,
                        char *why, size_t why_len);

#endif
