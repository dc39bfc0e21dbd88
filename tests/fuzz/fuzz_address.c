/*
 * fuzz_address: libFuzzer target for the canonical address parser and the
 * template expansion (common/address.h) with the Maildir part checks
 * (deliver/maildir.h). The input is an address as RCPT would pass it.
 * Checks: an error leaves the struct all empty; on success every part is
 * NUL-terminated within its RFC 5321 bound, holds no control byte, the
 * mailbox is local "@" domain, base and detail come from the local part;
 * an accepted Maildir path adds no directory level and no "." or ".."
 * component to its template.
 */
#include "common/address.h"
#include "deliver/maildir.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_part(const char *s, size_t size)
{
    const char *nul = memchr(s, '\0', size);
    if (nul == NULL)
        abort();
    for (const char *p = s; p < nul; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            abort();
}

static size_t count_slashes(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '/';
    return n;
}

static void check_path(const char *tmpl, const struct address *a)
{
    char out[PATH_MAX];
    if (maildir_path_expand(tmpl, a, out, sizeof(out)) != MAILDIR_PATH_OK)
        return;
    if (count_slashes(out) != count_slashes(tmpl))
        abort();
    for (const char *p = out; p != NULL; p = strchr(p, '/')) {
        p += *p == '/';
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') || n > NAME_MAX)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exactly size bytes, no NUL after them: ASan catches an over-read */
    char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);

    static const struct address empty;
    struct address a;
    enum address_status st = address_parse(&a, copy, size, "+-", NULL);
    if (st != ADDRESS_OK) {
        if (memcmp(&a, &empty, sizeof(a)) != 0)
            abort();
        free(copy);
        return 0;
    }
    check_part(a.given, sizeof(a.given));
    check_part(a.mailbox, sizeof(a.mailbox));
    check_part(a.local, sizeof(a.local));
    check_part(a.base, sizeof(a.base));
    check_part(a.detail, sizeof(a.detail));
    check_part(a.domain, sizeof(a.domain));
    if (strlen(a.given) != size || memcmp(a.given, copy, size) != 0)
        abort();
    char mailbox[ADDRESS_MAX + 2];
    snprintf(mailbox, sizeof(mailbox), "%s%s%s", a.local, a.domain[0] ? "@" : "", a.domain);
    if (strcmp(mailbox, a.mailbox) != 0)
        abort();
    size_t bl = strlen(a.base);
    if (strncmp(a.local, a.base, bl) != 0 ||
        (a.has_detail && strcmp(a.local + bl + 1, a.detail) != 0) ||
        (!a.has_detail && (bl != strlen(a.local) || a.detail[0] != '\0')))
        abort();

    static const char *const templates[] = {"/v/%d/%n/Maildir", "/v/%u", "/v/%n%e/x",
                                            "/v/%d/%n.%e"};
    for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
        check_path(templates[i], &a);
    free(copy);
    return 0;
}
