/*
 * address: the one canonical form of a recipient address, made once at
 * RCPT and used by the policy lookup, the spamd_user template and the
 * Maildir template alike, so they can never disagree on who a recipient is.
 *
 * address_parse() is a pure parser: bytes in, struct address or an error
 * out. It splits at the '@' that ends the local part (a quoted local part
 * may hold '@'), decodes an RFC 5321 quoted local part ("a b"@x gives
 * `a b`, "ceo"@x the same `ceo` as ceo@x), lower-cases the parts (ASCII
 * only, independent of locale) and cuts the detail at the first byte of
 * the decoded local part that is one of the recipient delimiters.
 *
 * address_expand() fills a template from those parts: %u the mailbox
 * (local "@" domain, or the local part alone when there is no domain), %n
 * the local part without its detail, %d the domain, %e the detail, %% a
 * percent sign; any other '%' sequence is copied as it is (the
 * configuration check refuses the escapes a template may not use).
 *
 * Failure modes: ADDRESS_SYNTAX (empty, a control byte, a malformed or
 * unterminated quoted string, an empty local part or domain, '@' in the
 * domain), ADDRESS_TOO_LONG (over ADDRESS_MAX, a local part over 64 or a
 * domain over 255 octets: RFC 5321 4.5.3.1). address_expand: -1 when the
 * result does not fit, or the code of the caller's part check.
 *
 * Thread-safe: no state.
 */
#ifndef LMTPSCAN_ADDRESS_H
#define LMTPSCAN_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#define ADDRESS_MAX        320 /* RFC 5321 path limits: 64 + 1 + 255 */
#define ADDRESS_LOCAL_MAX  64  /* RFC 5321 4.5.3.1.1, octets as sent */
#define ADDRESS_DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2 */

enum address_status {
    ADDRESS_OK,
    ADDRESS_SYNTAX,
    ADDRESS_TOO_LONG,
};

struct address {
    char given[ADDRESS_MAX + 1];         /* as received, without <> */
    char mailbox[ADDRESS_MAX + 1];       /* local "@" domain: the lookup key */
    char local[ADDRESS_LOCAL_MAX + 1];   /* quoting decoded, detail included */
    char base[ADDRESS_LOCAL_MAX + 1];    /* local part without its detail */
    char detail[ADDRESS_LOCAL_MAX + 1];  /* after the delimiter, "" when none */
    char domain[ADDRESS_DOMAIN_MAX + 1]; /* "" for a domainless address */
    bool has_detail;
};

/*
 * Parses s[0..len) (the address without <>) into out. delimiters: the
 * recipient_delimiter characters, NULL or "" for none. default_domain:
 * the domain of an address given without one (RFC 5321's <postmaster>),
 * NULL or "" to keep it domainless; `given` stays as received either way.
 * On an error out is all empty.
 */
enum address_status address_parse(struct address *out, const char *s, size_t len,
                                  const char *delimiters, const char *default_domain);

/* Checks one part before it goes into an expansion (escape: 'u', 'n',
 * 'd' or 'e'): 0 to use it, or a positive code that stops the expansion. */
typedef int (*address_part_check_fn)(const struct address *a, char escape, const char *part,
                                     void *arg);

/*
 * Expands tmpl for a into out[out_len] (see the top of this file); check
 * may be NULL. Returns 0, -1 when the result and its NUL do not fit, or
 * the check's code; out is empty on any failure.
 */
int address_expand(const char *tmpl, const struct address *a, address_part_check_fn check,
                   void *arg, char *out, size_t out_len);

#endif
