/*
 * rfc2047: encoded-word decoder (see rfc2047.h). An encoded word is
 * parsed whole (charset, encoding, text) before anything is written, so a
 * malformed one is copied through untouched.
 */
#include "deliver/rfc2047.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define CHARSET_MAX 64

enum charset { CS_UNKNOWN, CS_UTF8, CS_ASCII, CS_LATIN1, CS_CP1252 };

static enum charset charset_lookup(const char *name, size_t len)
{
    static const struct {
        const char *name;
        enum charset cs;
    } names[] = {
        {"utf-8", CS_UTF8},          {"utf8", CS_UTF8},         {"us-ascii", CS_ASCII},
        {"ascii", CS_ASCII},         {"iso-8859-1", CS_LATIN1}, {"iso8859-1", CS_LATIN1},
        {"iso_8859-1", CS_LATIN1},   {"latin1", CS_LATIN1},     {"l1", CS_LATIN1},
        {"windows-1252", CS_CP1252}, {"cp1252", CS_CP1252},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].name) == len && strncasecmp(names[i].name, name, len) == 0)
            return names[i].cs;
    return CS_UNKNOWN;
}

/* Windows-1252 0x80..0x9F; 0 = undefined there. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

static int put_cp(struct strbuf *out, uint32_t cp)
{
    char b[3];
    if (cp < 0x80) {
        b[0] = (char)cp;
        return strbuf_append(out, b, 1);
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return strbuf_append(out, b, 2);
    }
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    return strbuf_append(out, b, 3);
}

static int put_byte(struct strbuf *out, enum charset cs, unsigned char c)
{
    if (c < 0x80 || cs == CS_UTF8)
        return strbuf_append(out, &c, 1);
    switch (cs) {
    case CS_LATIN1:
        return put_cp(out, c);
    case CS_CP1252:
        if (c >= 0x80 && c <= 0x9F)
            return put_cp(out, cp1252_high[c - 0x80] ? cp1252_high[c - 0x80] : 0xFFFD);
        return put_cp(out, c);
    default:
        return put_cp(out, 0xFFFD); /* 8-bit byte in US-ASCII text */
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Checks the encoded text; with out != NULL also writes the decoding. */
static int decode_q(const char *t, size_t len, enum charset cs, struct strbuf *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '_') {
            c = ' ';
        } else if (c == '=') {
            if (i + 2 >= len)
                return -1;
            int hi = hex_value(t[i + 1]), lo = hex_value(t[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (c <= ' ' || c >= 127) {
            return -1;
        }
        if (out != NULL && put_byte(out, cs, c) < 0)
            return -2;
    }
    return 0;
}

static int decode_b(const char *t, size_t len, enum charset cs, struct strbuf *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t pad = 0, data = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '=') {
            pad++;
            continue;
        }
        int v = b64_value(t[i]);
        if (v < 0 || pad > 0)
            return -1; /* not base64, or data after padding */
        data++;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            unsigned char c = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
            if (out != NULL && put_byte(out, cs, c) < 0)
                return -2;
        }
    }
    if (data % 4 == 1 || pad > 2)
        return -1;
    return 0;
}

struct encoded_word {
    size_t end; /* offset just past "?=" */
    enum charset cs;
    char enc;
    const char *text;
    size_t text_len;
};

/* Parses an encoded word starting at in[i] ("=?"). True when it is one
 * this decoder can decode. */
static bool parse_word(const char *in, size_t len, size_t i, struct encoded_word *w)
{
    if (i + 2 > len || in[i] != '=' || in[i + 1] != '?')
        return false;
    size_t p = i + 2, cs_start = p;
    while (p < len && in[p] != '?' && (unsigned char)in[p] > ' ' && in[p] != 127)
        p++;
    if (p >= len || in[p] != '?' || p == cs_start || p - cs_start > CHARSET_MAX)
        return false;
    size_t cs_len = p - cs_start;
    const char *star = memchr(in + cs_start, '*', cs_len);
    if (star != NULL)
        cs_len = (size_t)(star - (in + cs_start));
    w->cs = charset_lookup(in + cs_start, cs_len);
    if (w->cs == CS_UNKNOWN)
        return false;
    p++;
    if (p + 2 > len || in[p + 1] != '?')
        return false;
    w->enc = in[p];
    if (w->enc != 'B' && w->enc != 'b' && w->enc != 'Q' && w->enc != 'q')
        return false;
    p += 2;
    size_t t_start = p;
    while (p + 1 < len && !(in[p] == '?' && in[p + 1] == '=')) {
        if ((unsigned char)in[p] <= ' ' || in[p] == 127)
            return false;
        p++;
    }
    if (p + 1 >= len)
        return false;
    w->text = in + t_start;
    w->text_len = p - t_start;
    w->end = p + 2;
    int rc = (w->enc == 'B' || w->enc == 'b') ? decode_b(w->text, w->text_len, w->cs, NULL)
                                              : decode_q(w->text, w->text_len, w->cs, NULL);
    return rc == 0;
}

static int emit_word(const struct encoded_word *w, struct strbuf *out)
{
    int rc = (w->enc == 'B' || w->enc == 'b') ? decode_b(w->text, w->text_len, w->cs, out)
                                              : decode_q(w->text, w->text_len, w->cs, out);
    return rc == 0 ? 0 : -1;
}

static bool is_lwsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int rfc2047_decode(const char *in, size_t len, struct strbuf *out)
{
    size_t i = 0;
    bool after_word = false;
    while (i < len) {
        struct encoded_word w;
        if (in[i] == '=' && parse_word(in, len, i, &w)) {
            if (emit_word(&w, out) < 0)
                return -1;
            i = w.end;
            after_word = true;
            continue;
        }
        if (is_lwsp(in[i])) {
            size_t k = i;
            while (k < len && is_lwsp(in[k]))
                k++;
            if (after_word && k < len && parse_word(in, len, k, &w)) {
                i = k; /* whitespace between two encoded words goes */
                continue;
            }
            if (strbuf_append(out, in + i, k - i) < 0)
                return -1;
            i = k;
            after_word = false;
            continue;
        }
        if (strbuf_append(out, in + i, 1) < 0)
            return -1;
        after_word = false;
        i++;
    }
    return 0;
}
