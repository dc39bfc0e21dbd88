/*
 * address: parsing and template expansion of recipient addresses (see
 * address.h).
 *
 * The RFC 5321 syntax (dot-atoms, domain labels, address literals) has
 * been checked by the RCPT parser already; this parser checks what its
 * own results depend on: the structure (a quoted local part ends with its
 * closing quote, then '@' or the end; one '@' before the domain), the
 * lengths, and that no byte is a control byte (0x00-0x1F, 0x7F), so no
 * part can carry a line break into a spamd request, a log or a path.
 */
#include "common/address.h"

#include <string.h>

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Copies s[0..n) lower-cased into out (room for n + 1). */
static void copy_lower(char *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ascii_lower(s[i]);
    out[n] = '\0';
}

/*
 * Decodes the local part at s[0..len) into out[ADDRESS_LOCAL_MAX + 1],
 * lower-cased. *end gets the index after the local part. ADDRESS_OK or
 * the error.
 */
static enum address_status parse_local(const char *s, size_t len, char *out, size_t *end)
{
    size_t i = 0, o = 0;

    if (len > 0 && s[0] == '"') {
        for (i = 1; i < len && s[i] != '"'; i++) {
            if (s[i] == '\\' && ++i >= len)
                return ADDRESS_SYNTAX; /* a backslash at the very end */
            if (o >= ADDRESS_LOCAL_MAX)
                return ADDRESS_TOO_LONG;
            out[o++] = ascii_lower(s[i]);
        }
        if (i >= len)
            return ADDRESS_SYNTAX; /* no closing quote */
        i++;
    } else {
        for (; i < len && s[i] != '@'; i++) {
            if (o >= ADDRESS_LOCAL_MAX)
                return ADDRESS_TOO_LONG;
            out[o++] = ascii_lower(s[i]);
        }
        if (i == 0)
            return ADDRESS_SYNTAX;
    }
    if (i > ADDRESS_LOCAL_MAX)
        return ADDRESS_TOO_LONG; /* counted as sent, quotes included */
    out[o] = '\0';
    *end = i;
    return ADDRESS_OK;
}

/* Splits out->local at the first delimiter byte into base and detail. */
static void split_detail(struct address *out, const char *delimiters)
{
    size_t n = strlen(out->local);
    size_t cut = n;

    if (delimiters != NULL && delimiters[0] != '\0')
        cut = strcspn(out->local, delimiters);
    memcpy(out->base, out->local, cut);
    out->base[cut] = '\0';
    out->has_detail = cut < n;
    if (out->has_detail)
        memcpy(out->detail, out->local + cut + 1, n - cut); /* with the NUL */
}

static enum address_status parse(struct address *out, const char *s, size_t len,
                                 const char *delimiters, const char *default_domain)
{
    size_t end = 0;
    enum address_status st;

    if (len == 0)
        return ADDRESS_SYNTAX;
    if (len > ADDRESS_MAX)
        return ADDRESS_TOO_LONG;
    for (size_t i = 0; i < len; i++)
        if (is_control((unsigned char)s[i]))
            return ADDRESS_SYNTAX;
    memcpy(out->given, s, len);
    out->given[len] = '\0';

    st = parse_local(s, len, out->local, &end);
    if (st != ADDRESS_OK)
        return st;
    if (end < len) {
        const char *domain = s + end + 1;
        size_t n = len - end - 1;
        if (s[end] != '@' || n == 0 || memchr(domain, '@', n) != NULL)
            return ADDRESS_SYNTAX;
        if (n > ADDRESS_DOMAIN_MAX)
            return ADDRESS_TOO_LONG;
        copy_lower(out->domain, domain, n);
    } else if (default_domain != NULL && default_domain[0] != '\0') {
        size_t n = strnlen(default_domain, ADDRESS_DOMAIN_MAX + 1);
        if (n > ADDRESS_DOMAIN_MAX)
            return ADDRESS_TOO_LONG;
        copy_lower(out->domain, default_domain, n);
    }
    split_detail(out, delimiters);

    /* local <= 64 and domain <= 255 bytes: the mailbox fits its 320 */
    size_t ln = strlen(out->local), dn = strlen(out->domain);
    memcpy(out->mailbox, out->local, ln);
    if (dn > 0) {
        out->mailbox[ln] = '@';
        memcpy(out->mailbox + ln + 1, out->domain, dn + 1);
    } else {
        out->mailbox[ln] = '\0';
    }
    return ADDRESS_OK;
}

enum address_status address_parse(struct address *out, const char *s, size_t len,
                                  const char *delimiters, const char *default_domain)
{
    memset(out, 0, sizeof(*out));
    enum address_status st = parse(out, s, len, delimiters, default_domain);
    if (st != ADDRESS_OK)
        memset(out, 0, sizeof(*out));
    return st;
}

/* The part an escape letter names, or NULL for an unknown escape. */
static const char *part_for(const struct address *a, char escape)
{
    switch (escape) {
    case 'u':
        return a->mailbox;
    case 'n':
        return a->base;
    case 'd':
        return a->domain;
    case 'e':
        return a->detail;
    default:
        return NULL;
    }
}

/* Appends s[0..n) to out[out_len] at *pos; -1 when it does not fit. */
static int put(char *out, size_t out_len, size_t *pos, const char *s, size_t n)
{
    if (n >= out_len - *pos)
        return -1;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
    return 0;
}

static int expand(const char *tmpl, const struct address *a, address_part_check_fn check, void *arg,
                  char *out, size_t out_len)
{
    size_t pos = 0;

    for (const char *t = tmpl; *t != '\0'; t++) {
        const char *s = t;
        size_t n = 1;
        if (t[0] == '%' && t[1] == '%') {
            t++;
        } else if (t[0] == '%' && t[1] != '\0') {
            const char *part = part_for(a, t[1]);
            if (part != NULL) {
                int rc = check != NULL ? check(a, t[1], part, arg) : 0;
                if (rc != 0)
                    return rc;
                s = part;
                n = strlen(part);
                t++;
            }
        }
        if (put(out, out_len, &pos, s, n) < 0)
            return -1;
    }
    return 0;
}

int address_expand(const char *tmpl, const struct address *a, address_part_check_fn check,
                   void *arg, char *out, size_t out_len)
{
    if (out_len == 0)
        return -1;
    out[0] = '\0';
    int rc = expand(tmpl, a, check, arg, out, out_len);
    if (rc != 0)
        out[0] = '\0';
    return rc;
}
