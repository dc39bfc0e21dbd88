/*
 * fuzz_message_copy: libFuzzer target for the header scanner and the
 * per-recipient copy (common/message_header.h, deliver/message_copy.h).
 * The input is a message (in memory: under the spool's memory part). The
 * first byte picks whether the Subject is replaced. Checks on the copies:
 * the CRLF copy holds no CR or LF outside a CRLF pair, the LF copy no CR,
 * both have the same lines; the header of each (up to its first empty
 * line, lines split at its own line ends) holds no field named
 * X-Spam-Flag, -Status, -Score, -Level, -Report or X-Virus-Scanned
 * (blanks before the colon allowed) after the prepended block, and its
 * first line does not continue the prepended block's last field; the drop
 * ranges are sorted, disjoint and bounded.
 */
#include "common/message_header.h"
#include "common/spool.h"
#include "common/strbuf.h"
#include "deliver/message_copy.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int sink(void *arg, const char *data, size_t len)
{
    return strbuf_append(arg, data, len);
}

static bool verdict_field(const char *line, size_t len)
{
    static const char *const names[] = {"x-spam-flag",  "x-spam-status", "x-spam-score",
                                        "x-spam-level", "x-spam-report", "x-virus-scanned"};
    const char *colon = memchr(line, ':', len);
    if (colon == NULL)
        return false;
    size_t n = (size_t)(colon - line);
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && strncasecmp(names[i], line, n) == 0)
            return true;
    return false;
}

/* Walks the header of out (lines ending in eol) after skip bytes. */
static void check_header(const char *out, size_t len, size_t skip, const char *eol)
{
    size_t eol_len = strlen(eol);
    size_t p = skip;
    if (p < len && (out[p] == ' ' || out[p] == '\t'))
        abort(); /* it would continue the last prepended field */
    while (p < len) {
        const char *end = NULL;
        for (size_t k = p; k + eol_len <= len; k++)
            if (memcmp(out + k, eol, eol_len) == 0) {
                end = out + k;
                break;
            }
        size_t line_len = end ? (size_t)(end - (out + p)) : len - p;
        if (line_len == 0)
            return; /* the empty line: the body follows */
        if (out[p] != ' ' && out[p] != '\t' && verdict_field(out + p, line_len))
            abort();
        p += line_len + eol_len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > SPOOL_MEMORY)
        return 0;
    bool drop_subject = data[0] & 1;
    const char *msg = (const char *)data + 1;
    size_t len = size - 1;
    struct spool *sp = spool_new("/nonexistent");
    if (sp == NULL)
        abort();
    if (spool_write(sp, msg, len) < 0 || spool_finish(sp) < 0)
        abort();
    struct message_header mh;
    if (message_header_read(sp, &mh) < 0)
        abort();
    if (mh.n_drop_ranges > MESSAGE_HEADER_DROP_RANGES || mh.n_drop + 1 < mh.n_drop_ranges ||
        mh.header_len > len)
        abort();
    for (size_t i = 0; i < mh.n_drop_ranges; i++) {
        const struct header_range *r = &mh.drop[i];
        if (r->len == 0 || r->off + r->len > mh.header_len ||
            (i > 0 && r->off <= mh.drop[i - 1].off + mh.drop[i - 1].len))
            abort();
    }

    const char *prepend = "Received: by fuzz\r\n";
    struct strbuf out[2];
    for (int k = 0; k < 2; k++) {
        strbuf_init(&out[k], 2 * len + 64);
        struct message_copy mc = {
            .msg = sp,
            .header = &mh,
            .prepend = prepend,
            .prepend_len = strlen(prepend),
            .drop_subject = drop_subject,
            .line_ends = k == 0 ? LINE_ENDS_LF : LINE_ENDS_CRLF,
        };
        if (message_copy_write(&mc, sink, &out[k]) < 0)
            abort();
    }
    const char *lf = out[0].data ? out[0].data : "";
    const char *crlf = out[1].data ? out[1].data : "";
    if (memchr(lf, '\r', out[0].len) != NULL)
        abort();
    size_t j = 0;
    for (size_t i = 0; i < out[1].len; i++) {
        if ((crlf[i] == '\r') != (i + 1 < out[1].len && crlf[i + 1] == '\n') ||
            (crlf[i] == '\n' && (i == 0 || crlf[i - 1] != '\r')))
            abort();
        if (crlf[i] == '\r')
            continue;
        if (j >= out[0].len || lf[j++] != crlf[i])
            abort(); /* the same lines in both copies */
    }
    if (j != out[0].len)
        abort();
    check_header(lf, out[0].len, strlen(prepend) - 1, "\n");
    check_header(crlf, out[1].len, strlen(prepend), "\r\n");
    strbuf_free(&out[0]);
    strbuf_free(&out[1]);
    message_header_free(&mh);
    spool_free(sp);
    return 0;
}
