/*
 * address_parts: a recipient address split the way policy lookup and the
 * spamd_user template need it: lower-cased whole address, local part,
 * local part without its detail (cut at the first recipient_delimiter
 * character), domain. Pure, thread-safe.
 *
 * Failure modes: an address longer than ADDRESS_MAX (-1); a template
 * expansion that does not fit its buffer (-1).
 */
#ifndef LMTPSCAN_ADDRESS_PARTS_H
#define LMTPSCAN_ADDRESS_PARTS_H

#include "common/envelope.h"

#include <stddef.h>

struct address_parts {
    char address[ADDRESS_MAX + 1]; /* lower-cased */
    char local[ADDRESS_MAX + 1];   /* lower-cased, with detail */
    char base[ADDRESS_MAX + 1];    /* lower-cased, detail removed */
    char domain[ADDRESS_MAX + 1];  /* lower-cased, "" when none */
    int has_detail;
};

/* Splits at the last '@'; delimiters may be NULL or empty. 0 or -1. */
int address_parts_split(const char *address, const char *delimiters, struct address_parts *out);

/* Expands %u (address), %n (local part without detail), %d (domain) and
 * %% in tmpl. Other '%' sequences are copied as they are. 0 or -1. */
int address_template_expand(const char *tmpl, const struct address_parts *a, char *out,
                            size_t outlen);

#endif
