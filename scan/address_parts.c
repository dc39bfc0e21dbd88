/*
 * address_parts: splitting and template expansion of recipient addresses
 * (see address_parts.h). ASCII case folding only, independent of locale.
 */
#include "scan/address_parts.h"

#include <string.h>

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int address_parts_split(const char *address, const char *delimiters, struct address_parts *out)
{
    size_t n = strlen(address);
    const char *at;
    size_t local_len;

    memset(out, 0, sizeof(*out));
    if (n > ADDRESS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        out->address[i] = lower(address[i]);
    out->address[n] = '\0';

    at = strrchr(out->address, '@');
    local_len = at != NULL ? (size_t)(at - out->address) : n;
    memcpy(out->local, out->address, local_len);
    out->local[local_len] = '\0';
    if (at != NULL)
        strcpy(out->domain, at + 1); /* shorter than address: fits */

    size_t base_len = local_len;
    if (delimiters != NULL && delimiters[0] != '\0') {
        size_t cut = strcspn(out->local, delimiters);
        if (cut < local_len) {
            base_len = cut;
            out->has_detail = 1;
        }
    }
    memcpy(out->base, out->local, base_len);
    out->base[base_len] = '\0';
    return 0;
}

static int put(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
    if (n >= outlen - *pos)
        return -1;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
    return 0;
}

int address_template_expand(const char *tmpl, const struct address_parts *a, char *out,
                            size_t outlen)
{
    size_t pos = 0;

    if (outlen == 0)
        return -1;
    out[0] = '\0';
    for (const char *p = tmpl; *p != '\0'; p++) {
        const char *s = p;
        size_t n = 1;
        if (p[0] == '%' && p[1] != '\0') {
            switch (p[1]) {
            case 'u':
                s = a->address, n = strlen(s), p++;
                break;
            case 'n':
                s = a->base, n = strlen(s), p++;
                break;
            case 'd':
                s = a->domain, n = strlen(s), p++;
                break;
            case '%':
                n = 1, p++;
                break;
            default:
                break;
            }
        }
        if (put(out, outlen, &pos, s, n) < 0)
            return -1;
    }
    return 0;
}
