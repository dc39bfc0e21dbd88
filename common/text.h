/*
 * text: byte classes shared by the parsers and the log. Control bytes
 * (0x00-0x1F and 0x7F) are refused in addresses, paths, names and
 * protocol values everywhere; UTF-8 is well-formed per RFC 3629 (no
 * overlong forms, no surrogates, nothing past U+10FFFF). Pure,
 * thread-safe.
 */
#ifndef LMTPSCAN_TEXT_H
#define LMTPSCAN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

static inline bool is_control_byte(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* True when the NUL-terminated s holds a control byte. */
static inline bool text_has_control(const char *s)
{
    for (; *s; s++)
        if (is_control_byte((unsigned char)*s))
            return true;
    return false;
}

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0. */
static inline size_t utf8_seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

static inline bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* True when s[0..len) holds a byte >= 0x80. */
static inline bool text_has_8bit(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

#endif
