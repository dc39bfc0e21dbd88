/*
 * xml_text: byte string -> XML-safe UTF-8 (see xml_text.h). The decoder
 * follows the table of well-formed UTF-8 byte sequences (Unicode, table
 * 3-7), which also yields the maximal subpart of an ill-formed sequence.
 */
#include "deliver/xml_text.h"
#include "common/xalloc.h"

#include <string.h>

/* Allowed range of the second byte for a lead byte; 0/0 = invalid lead. */
static void second_range(unsigned char lead, unsigned char *lo, unsigned char *hi, size_t *need)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        *need = 2;
    } else if (lead == 0xE0) {
        *lo = 0xA0;
        *need = 3;
    } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
        *need = 3;
    } else if (lead == 0xED) {
        *hi = 0x9F; /* no surrogates */
        *need = 3;
    } else if (lead == 0xF0) {
        *lo = 0x90;
        *need = 4;
    } else if (lead >= 0xF1 && lead <= 0xF3) {
        *need = 4;
    } else if (lead == 0xF4) {
        *hi = 0x8F; /* nothing past U+10FFFF */
        *need = 4;
    } else {
        *lo = *hi = 0;
        *need = 0;
    }
}

size_t xml_text_utf8_next(const unsigned char *p, size_t len, uint32_t *cp)
{
    unsigned char lead = p[0];
    if (lead < 0x80) {
        *cp = lead;
        return 1;
    }
    unsigned char lo, hi;
    size_t need;
    second_range(lead, &lo, &hi, &need);
    *cp = UINT32_MAX;
    if (need == 0)
        return 1;
    if (len < 2 || p[1] < lo || p[1] > hi)
        return 1;
    uint32_t v = (uint32_t)(lead & (0xFF >> (need + 1)));
    v = (v << 6) | (p[1] & 0x3F);
    for (size_t i = 2; i < need; i++) {
        if (i >= len || p[i] < 0x80 || p[i] > 0xBF)
            return i;
        v = (v << 6) | (p[i] & 0x3F);
    }
    *cp = v;
    return need;
}

bool xml_text_char_allowed(uint32_t cp)
{
    if (cp == '\t')
        return true;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
        return false;
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return false;
    if (cp == 0xFFFE || cp == 0xFFFF)
        return false;
    return cp <= 0x10FFFF;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int xml_text_append(struct strbuf *out, const char *in, size_t len, size_t max)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t used = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = xml_text_utf8_next(p + i, len - i, &cp);
        char enc[4];
        const char *bytes;
        size_t blen;
        if (cp == 0) {
            i += n; /* NUL: dropped */
            continue;
        }
        if (cp == UINT32_MAX || !xml_text_char_allowed(cp)) {
            blen = utf8_encode(XML_TEXT_REPLACEMENT, enc);
            bytes = enc;
        } else {
            bytes = in + i; /* well-formed: copy as is */
            blen = n;
        }
        if (used + blen > max)
            return 1;
        if (strbuf_append(out, bytes, blen) < 0)
            return -1;
        used += blen;
        i += n;
    }
    return 0;
}

char *xml_text_dup(const char *in, size_t len, size_t max, bool *truncated)
{
    struct strbuf sb;
    /* Each input byte gives at most 3 output bytes (U+FFFD). */
    size_t cap = len <= max / 3 ? len * 3 : max;
    strbuf_init(&sb, cap + 1);
    int rc = xml_text_append(&sb, in, len, max);
    if (truncated != NULL)
        *truncated = rc != 0;
    char *s = xstrndup(sb.data != NULL ? sb.data : "", sb.len);
    strbuf_free(&sb);
    return s;
}
