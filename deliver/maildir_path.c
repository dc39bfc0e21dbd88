/*
 * maildir_path: the recipient's Maildir from the configured template and
 * the canonical address (common/address.h), and the template's trusted
 * root.
 *
 * Public: maildir_path_expand(), maildir_root() (see maildir.h).
 *
 * The parts come from the canonical address: decoded, lower-cased, the
 * detail cut at the recipient delimiter. A part the template uses is
 * refused when it is empty or, for %n %d %e, when the address has no
 * domain (MAILDIR_PATH_BAD_ADDRESS), and when it contains '/', "..",
 * starts with '.', or holds a byte 0x00-0x1F or 0x7F
 * (MAILDIR_PATH_UNSAFE). A backslash, a space or bytes >= 0x80 (UTF-8)
 * are ordinary file name bytes. Because no used part may be empty, contain
 * '/' or start with '.', a substituted part can never form a "." or ".."
 * path component or an extra level, so the result stays below the
 * template's fixed prefix. A result that does not fit out_len, or with a
 * path component longer than NAME_MAX (no file system could make that
 * directory), is MAILDIR_PATH_TOO_LONG.
 *
 * On any failure out is set to the empty string. Pure and thread-safe.
 */
#include "deliver/maildir.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static int check_part(const struct address *a, char escape, const char *part, void *arg)
{
    (void)arg;
    if (escape != 'u' && a->domain[0] == '\0')
        return MAILDIR_PATH_BAD_ADDRESS;
    if (part[0] == '\0')
        return MAILDIR_PATH_BAD_ADDRESS;
    if (part[0] == '.')
        return MAILDIR_PATH_UNSAFE;
    for (const char *p = part; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '/')
            return MAILDIR_PATH_UNSAFE;
        if (c == '.' && p[1] == '.')
            return MAILDIR_PATH_UNSAFE;
    }
    return MAILDIR_PATH_OK;
}

/* True when some '/'-separated component of path is over NAME_MAX. */
static bool has_long_component(const char *path)
{
    size_t run = 0;
    for (const char *p = path; *p != '\0'; p++) {
        run = *p == '/' ? 0 : run + 1;
        if (run > NAME_MAX)
            return true;
    }
    return false;
}

enum maildir_path_result maildir_path_expand(const char *template, const struct address *a,
                                             char *out, size_t out_len)
{
    if (out_len > 0)
        out[0] = '\0';
    if (!template || !a)
        return MAILDIR_PATH_BAD_ADDRESS;
    int rc = address_expand(template, a, check_part, NULL, out, out_len);
    if (rc < 0 || (rc == 0 && has_long_component(out)))
        rc = MAILDIR_PATH_TOO_LONG;
    if (rc != MAILDIR_PATH_OK && out_len > 0)
        out[0] = '\0';
    return (enum maildir_path_result)rc;
}

void maildir_root(const char *template, char *out, size_t out_len)
{
    if (out_len == 0)
        return;
    size_t n = strcspn(template, "%");
    while (n > 0 && template[n - 1] != '/')
        n--;
    /* n: up to and with the last '/' of the fixed prefix */
    if (n > 1)
        n--; /* without that '/', except for the root directory itself */
    if (n >= out_len)
        n = 0; /* cannot hold it: no root rather than a shorter one */
    memcpy(out, template, n);
    out[n] = '\0';
}
