/*
 * maildir_path: expands the Maildir template for one recipient address.
 *
 * Public: maildir_path_expand() (see maildir.h).
 *
 * The address is split at its last '@'. A quoted local part ("a b"@x) is
 * unquoted first (backslash pairs decoded); the safety rules then apply to
 * the decoded bytes, which are what lands in the path. The detail starts at
 * the first byte of the local part that is one of `delimiters`.
 *
 * Failure modes: MAILDIR_PATH_BAD_ADDRESS (no '@' while %n/%d/%e is used,
 * a malformed quoted local part, or an empty part the template uses),
 * MAILDIR_PATH_UNSAFE (a used part contains '/', "..", starts with '.', or
 * holds a byte 0x00-0x1F or 0x7F), MAILDIR_PATH_TOO_LONG (the result and
 * its NUL do not fit out_len). Only these bytes are refused: a backslash,
 * a space or bytes >= 0x80 (UTF-8) are ordinary file name bytes. Because
 * no used part may be empty, contain '/' or start with '.', a substituted
 * part can never form a "." or ".." path component or an extra level, so
 * the result stays below the template's fixed prefix.
 *
 * An unknown escape ("%x", a trailing '%') is copied unchanged; the
 * configuration check is the place to refuse such a template.
 *
 * On any failure out is set to the empty string. Pure and thread-safe.
 */
#include "deliver/maildir.h"

#include "common/strbuf.h"

#include <stdbool.h>
#include <string.h>

/* A bound on the decoded address; real addresses are at most 320 bytes. */
#define MAILDIR_ADDRESS_LIMIT 4096

struct address_parts {
    struct strbuf whole;  /* decoded local "@" domain (or the address) */
    struct strbuf local;  /* decoded local part, detail included */
    struct strbuf user;   /* local part without its detail */
    struct strbuf detail; /* detail without its delimiter */
    struct strbuf domain;
    bool has_at;
    /* Why the address cannot be split; reported only if a part is used. */
    enum maildir_path_result error;
};

static void parts_init(struct address_parts *p)
{
    strbuf_init(&p->whole, MAILDIR_ADDRESS_LIMIT);
    strbuf_init(&p->local, MAILDIR_ADDRESS_LIMIT);
    strbuf_init(&p->user, MAILDIR_ADDRESS_LIMIT);
    strbuf_init(&p->detail, MAILDIR_ADDRESS_LIMIT);
    strbuf_init(&p->domain, MAILDIR_ADDRESS_LIMIT);
    p->has_at = false;
    p->error = MAILDIR_PATH_OK;
}

static void parts_free(struct address_parts *p)
{
    strbuf_free(&p->whole);
    strbuf_free(&p->local);
    strbuf_free(&p->user);
    strbuf_free(&p->detail);
    strbuf_free(&p->domain);
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Appends s[0..len) lower-cased; -1 when over the limit. */
static int append_lower(struct strbuf *sb, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = ascii_lower(s[i]);
        if (strbuf_append(sb, &c, 1) < 0)
            return -1;
    }
    return 0;
}

/*
 * Decodes the local part s[0..len) into out, lower-cased: a quoted string
 * loses its quotes and backslash escapes. -1 on a malformed quoted string
 * or when over the limit.
 */
static int decode_local(const char *s, size_t len, struct strbuf *out)
{
    if (len < 2 || s[0] != '"' || s[len - 1] != '"')
        return append_lower(out, s, len);
    for (size_t i = 1; i < len - 1; i++) {
        char c = s[i];
        if (c == '"')
            return -1; /* an unescaped quote inside */
        if (c == '\\') {
            if (i + 1 >= len - 1)
                return -1; /* the closing quote is escaped */
            c = s[++i];
        }
        if (append_lower(out, &c, 1) < 0)
            return -1;
    }
    return 0;
}

/* Fills p from address; MAILDIR_PATH_OK or the reason it cannot be used. */
static enum maildir_path_result split_address(const char *address, const char *delimiters,
                                              struct address_parts *p)
{
    size_t len = strnlen(address, MAILDIR_ADDRESS_LIMIT + 1);
    if (len > MAILDIR_ADDRESS_LIMIT)
        return MAILDIR_PATH_TOO_LONG;

    const char *at = memrchr(address, '@', len);
    if (!at) {
        /* Only %u can use such an address: it is taken as it is. */
        if (append_lower(&p->whole, address, len) < 0)
            return MAILDIR_PATH_TOO_LONG;
        return MAILDIR_PATH_OK;
    }
    p->has_at = true;
    size_t local_len = (size_t)(at - address);
    if (decode_local(address, local_len, &p->local) < 0)
        return MAILDIR_PATH_BAD_ADDRESS;
    if (append_lower(&p->domain, at + 1, len - local_len - 1) < 0)
        return MAILDIR_PATH_TOO_LONG;

    const char *local = p->local.len ? p->local.data : "";
    size_t cut = p->local.len;
    if (delimiters && *delimiters) {
        for (size_t i = 0; i < p->local.len; i++) {
            if (local[i] != '\0' && strchr(delimiters, local[i])) {
                cut = i;
                break;
            }
        }
    }
    if (strbuf_append(&p->user, local, cut) < 0)
        return MAILDIR_PATH_TOO_LONG;
    if (cut < p->local.len &&
        strbuf_append(&p->detail, local + cut + 1, p->local.len - cut - 1) < 0)
        return MAILDIR_PATH_TOO_LONG;

    if (strbuf_append(&p->whole, local, p->local.len) < 0 || strbuf_puts(&p->whole, "@") < 0 ||
        strbuf_append(&p->whole, p->domain.data, p->domain.len) < 0)
        return MAILDIR_PATH_TOO_LONG;
    return MAILDIR_PATH_OK;
}

/* Checks one part the template uses. */
static enum maildir_path_result check_part(const struct strbuf *part)
{
    if (part->len == 0)
        return MAILDIR_PATH_BAD_ADDRESS;
    const char *s = part->data;
    if (s[0] == '.')
        return MAILDIR_PATH_UNSAFE;
    for (size_t i = 0; i < part->len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/')
            return MAILDIR_PATH_UNSAFE;
        if (c == '.' && i + 1 < part->len && s[i + 1] == '.')
            return MAILDIR_PATH_UNSAFE;
    }
    return MAILDIR_PATH_OK;
}

/* The part an escape letter names, or NULL for an unknown escape. */
static const struct strbuf *part_for(const struct address_parts *p, char letter)
{
    switch (letter) {
    case 'u':
        return &p->whole;
    case 'n':
        return &p->user;
    case 'd':
        return &p->domain;
    case 'e':
        return &p->detail;
    default:
        return NULL;
    }
}

static enum maildir_path_result expand(const char *template, const struct address_parts *p,
                                       struct strbuf *out)
{
    for (const char *t = template; *t; t++) {
        if (*t != '%' || t[1] == '\0') {
            if (strbuf_append(out, t, 1) < 0)
                return MAILDIR_PATH_TOO_LONG;
            continue;
        }
        char letter = *++t;
        if (letter == '%') {
            if (strbuf_append(out, "%", 1) < 0)
                return MAILDIR_PATH_TOO_LONG;
            continue;
        }
        const struct strbuf *part = part_for(p, letter);
        if (!part) {
            char unknown[2] = {'%', letter};
            if (strbuf_append(out, unknown, sizeof unknown) < 0)
                return MAILDIR_PATH_TOO_LONG;
            continue;
        }
        if (p->error != MAILDIR_PATH_OK)
            return p->error;
        if (letter != 'u' && !p->has_at)
            return MAILDIR_PATH_BAD_ADDRESS;
        enum maildir_path_result rc = check_part(part);
        if (rc != MAILDIR_PATH_OK)
            return rc;
        if (strbuf_append(out, part->data, part->len) < 0)
            return MAILDIR_PATH_TOO_LONG;
    }
    return MAILDIR_PATH_OK;
}

enum maildir_path_result maildir_path_expand(const char *template, const char *address,
                                             const char *delimiters, char *out, size_t out_len)
{
    if (out_len > 0)
        out[0] = '\0';
    if (!template || !address)
        return MAILDIR_PATH_BAD_ADDRESS;
    if (out_len == 0)
        return MAILDIR_PATH_TOO_LONG;

    struct address_parts p;
    parts_init(&p);
    struct strbuf result;
    strbuf_init(&result, out_len - 1);

    p.error = split_address(address, delimiters, &p);
    enum maildir_path_result rc = expand(template, &p, &result);
    if (rc == MAILDIR_PATH_OK && result.len > 0)
        memcpy(out, result.data, result.len + 1);

    strbuf_free(&result);
    parts_free(&p);
    return rc;
}
