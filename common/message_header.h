/*
 * message_header: one pass over the header section of a spooled message.
 * It finds the fields lmtpscan must remove before delivery (incoming
 * X-Spam-Flag, -Status, -Score, -Level, -Report and X-Virus-Scanned, so no
 * sender can forge a verdict), where the Subject field is, and the values
 * the report and the subject tag need. Only the header is read; values
 * are kept up to a bound (longer ones are truncated and flagged).
 *
 * Lines: a line ends at CRLF, at a bare LF or at a bare CR, and the copies
 * (deliver/message_copy.h) write every one of these as a line end, so the
 * Maildir copy, the relay copy and this scanner all see the same lines and
 * no field can hide from the scanner behind a line end only a reader
 * downstream would honour. A field name may be followed by blanks before
 * the colon (RFC 5322 obsolete syntax: a reader that follows it takes
 * the name without them), so "X-Spam-Flag : YES" is removed as well. Lines that open
 * the message with a blank are removed too: in a copy they would follow
 * the fields lmtpscan prepends and continue the last one (X-Spam-Status).
 *
 * Memory is bounded: the fields to remove are kept as sorted, disjoint
 * byte ranges, adjacent fields merged into one range, and at most
 * MESSAGE_HEADER_DROP_RANGES ranges. When a header needs more (only a
 * hostile one does: thousands of verdict fields, each between kept
 * fields), the last range is stretched over every further verdict field,
 * so the fields between them go too. That may remove some of the sender's
 * own fields in such a header, never leaves a verdict field in; fields
 * other MTAs add above the header or at its end are outside the stretch.
 *
 * Thread-safe per instance; the spool must be finished.
 */
#ifndef LMTPSCAN_MESSAGE_HEADER_H
#define LMTPSCAN_MESSAGE_HEADER_H

#include "common/spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MESSAGE_HEADER_VALUE_MAX   (256 * 1024)
#define MESSAGE_HEADER_DROP_RANGES 1024

struct header_range {
    uint64_t off; /* first byte of the field name */
    uint64_t len; /* through the field's last line end */
};

struct header_value {
    char *raw; /* bytes after the colon, folding kept, no final line end */
    size_t len;
    bool truncated; /* longer than MESSAGE_HEADER_VALUE_MAX */
};

struct message_header {
    uint64_t header_len;       /* bytes of the header section incl. blank line */
    struct header_range *drop; /* bytes to remove: sorted, disjoint, not adjacent */
    size_t n_drop_ranges;      /* at most MESSAGE_HEADER_DROP_RANGES */
    size_t cap_drop_ranges;
    size_t n_drop;               /* verdict fields removed (for the log) */
    struct header_range subject; /* len 0: no Subject field */
    struct header_value subject_value;
    struct header_value from;
    struct header_value message_id;
    struct header_value date;
};

/* 0 on success, -1 on a spool read error (errno set). Linear in the
 * header size. */
int message_header_read(const struct spool *msg, struct message_header *out);
void message_header_free(struct message_header *mh);
/* Unfolds a raw value into out (CR/LF removed, leading blanks trimmed). */
void header_value_unfold(const struct header_value *v, char *out, size_t out_len);

#endif
