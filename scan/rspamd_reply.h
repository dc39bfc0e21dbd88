/*
 * rspamd_reply: the pure parser of rspamd's answer to POST /checkv2: the
 * HTTP status line, the header fields (Content-Length, Server: the
 * engine's version) and the JSON body (score, required_score, action,
 * symbols{NAME: {score}}), parsed with json-c. Bytes in, struct or error
 * out; no I/O. The rules come out sorted by name.
 *
 * Bounds: at most RSPAMD_REPLY_MAX bytes, RSPAMD_JSON_DEPTH levels of
 * nesting, SPAMD_MAX_RULES symbols, symbol names shorter than a rule's
 * name field, scores within +-RSPAMD_SCORE_MAX. Anything else is an error,
 * so a malformed, huge or hostile reply is a scanner failure, never clean.
 *
 * Thread-safe. Failure modes (-1 with err): a truncated reply, a status
 * other than 200 (rspamd's error text is quoted, sanitised), a body
 * shorter or longer than its Content-Length, a Transfer-Encoding (not
 * used by rspamd), JSON that does not parse or has trailing bytes, a
 * missing or non-numeric score/required_score, a missing or non-string
 * action, symbols that are not an object of objects, a bound exceeded.
 */
#ifndef LMTPSCAN_RSPAMD_REPLY_H
#define LMTPSCAN_RSPAMD_REPLY_H

#include "scan/spamd_reply.h"

#include <stdbool.h>
#include <stddef.h>

#define RSPAMD_REPLY_MAX  (1024 * 1024)
#define RSPAMD_JSON_DEPTH 8
#define RSPAMD_SCORE_MAX  1.0e6

struct rspamd_reply {
    bool is_spam; /* action: reject, add header, rewrite subject, discard, quarantine */
    double score;
    double required;          /* rspamd's required_score (its reject threshold) */
    char action[32];          /* as rspamd named it, e.g. "no action" */
    char version[64];         /* the Server field ("rspamd/3.4"), or "" */
    struct spamd_rule *rules; /* owned, sorted by name; NULL when n_rules == 0 */
    size_t n_rules;
};

/* 1 when data holds a whole reply (its header and the Content-Length
 * bytes of body after it), 0 when more is needed or it has no
 * Content-Length (then only the end of the stream ends it). Pure. */
int rspamd_reply_complete(const char *data, size_t len);

/* 0 and *out filled (free with rspamd_reply_free), or -1 with err. */
int rspamd_reply_parse(const char *data, size_t len, struct rspamd_reply *out, char *err,
                       size_t errlen);
void rspamd_reply_free(struct rspamd_reply *r);

#endif
