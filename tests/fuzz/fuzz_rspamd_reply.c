/*
 * fuzz_rspamd_reply: libFuzzer target for the parser of rspamd's
 * /checkv2 HTTP reply (scan/rspamd_reply.h). The input is the whole reply
 * as it came off the socket. Checks: rspamd_reply_complete never reads
 * past the input; failure leaves an error message and no rules; success
 * gives at most SPAMD_MAX_RULES rules sorted by name, each with a
 * NUL-terminated name, finite scores within RSPAMD_SCORE_MAX, a
 * NUL-terminated action and version, and is freed without leaks.
 */
#include "scan/rspamd_reply.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool bounded(double v)
{
    return isfinite(v) && v <= RSPAMD_SCORE_MAX && v >= -RSPAMD_SCORE_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy of exactly size bytes (no NUL after it), so ASan
     * catches a parser that reads past the reply. */
    char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);

    (void)rspamd_reply_complete(copy, size);
    struct rspamd_reply r;
    char err[256];
    err[0] = '\0';
    if (rspamd_reply_parse(copy, size, &r, err, sizeof(err)) == 0) {
        if (r.n_rules > SPAMD_MAX_RULES || (r.n_rules > 0 && r.rules == NULL))
            abort();
        if (!bounded(r.score) || !bounded(r.required))
            abort();
        if (memchr(r.action, '\0', sizeof(r.action)) == NULL || r.action[0] == '\0' ||
            memchr(r.version, '\0', sizeof(r.version)) == NULL)
            abort();
        for (size_t i = 0; i < r.n_rules; i++) {
            if (memchr(r.rules[i].name, '\0', sizeof(r.rules[i].name)) == NULL)
                abort();
            if (r.rules[i].has_score && !bounded(r.rules[i].score))
                abort();
            if (i > 0 && strcmp(r.rules[i - 1].name, r.rules[i].name) > 0)
                abort();
        }
        rspamd_reply_free(&r);
    } else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0' || r.rules != NULL) {
        abort();
    }
    free(copy);
    return 0;
}
