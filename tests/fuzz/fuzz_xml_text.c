/*
 * fuzz_xml_text: libFuzzer target for the report text sanitiser
 * (deliver/xml_text.h). The first input byte picks the byte bound; the
 * rest is arbitrary bytes from a mail. Checks on the output: it fits the
 * bound, holds no NUL, is well-formed UTF-8 made only of characters XML
 * 1.0 allows (re-decoded with the module's own decoder and, independently,
 * with a strict decoder here), and sanitising it again changes nothing.
 */
#include "common/strbuf.h"
#include "deliver/xml_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Strict UTF-8 check of one sequence; returns its length or 0. */
static size_t strict_utf8(const unsigned char *p, size_t len, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static bool xml_char(uint32_t cp)
{
    if (cp == 0x9 || cp == 0xA || cp == 0xD)
        return true;
    if (cp < 0x20)
        return false;
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return false;
    if (cp == 0xFFFE || cp == 0xFFFF)
        return false;
    return cp <= 0x10FFFF;
}

static void check_output(const char *out, size_t len)
{
    const unsigned char *p = (const unsigned char *)out;
    size_t i = 0;
    while (i < len) {
        uint32_t cp = 0, cp2 = 0;
        size_t n = strict_utf8(p + i, len - i, &cp);
        if (n == 0 || !xml_char(cp))
            abort();
        size_t n2 = xml_text_utf8_next(p + i, len - i, &cp2);
        if (n2 != n || cp2 != cp || !xml_text_char_allowed(cp))
            abort();
        i += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max = (size_t)data[0] * 4 + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, in, len);

    bool truncated = false;
    char *out = xml_text_dup(copy, len, max, &truncated);
    size_t out_len = strlen(out);
    if (out_len > max)
        abort();
    check_output(out, out_len);

    /* Sanitising is idempotent on its own output. */
    struct strbuf sb;
    strbuf_init(&sb, 4 * len + 64);
    int rc = xml_text_append(&sb, out, out_len, out_len);
    if (rc != 0 || sb.len != out_len)
        abort();
    /* (an empty strbuf may have no data array at all) */
    if (out_len > 0 &&
        (memcmp(sb.data, out, out_len) != 0 || memchr(sb.data, '\0', sb.len) != NULL))
        abort();
    strbuf_free(&sb);

    /* With room for every byte to become U+FFFD nothing is cut. */
    char *full = xml_text_dup(copy, len, 3 * len + 16, &truncated);
    if (truncated)
        abort();
    check_output(full, strlen(full));
    if (!(strlen(full) >= out_len && memcmp(full, out, out_len) == 0))
        abort();
    free(full);
    free(out);
    free(copy);
    return 0;
}
