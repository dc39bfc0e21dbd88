/*
 * fuzz_spamd_reply: libFuzzer target for the parser of spamd's SPAMC/1.5
 * REPORT answer (scan/spamd_reply.h). The input is the whole answer as it
 * came off the socket. Checks: failure leaves an error message; success
 * gives at most SPAMD_MAX_RULES rules, each with a NUL-terminated name,
 * and finite scores; the result is freed without leaks.
 */
#include "scan/spamd_reply.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy of exactly size bytes (no NUL after it), so ASan
     * catches a parser that reads past the reply. */
    char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);

    struct spamd_reply r;
    char err[256];
    err[0] = '\0';
    if (spamd_reply_parse(copy, size, &r, err, sizeof(err)) == 0) {
        if (r.n_rules > SPAMD_MAX_RULES || (r.n_rules > 0 && r.rules == NULL))
            abort();
        if (!isfinite(r.score) || !isfinite(r.required))
            abort();
        for (size_t i = 0; i < r.n_rules; i++) {
            if (memchr(r.rules[i].name, '\0', sizeof(r.rules[i].name)) == NULL)
                abort();
            if (r.rules[i].has_score && !isfinite(r.rules[i].score))
                abort();
        }
        spamd_reply_free(&r);
    } else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
        abort();
    }
    free(copy);
    return 0;
}
