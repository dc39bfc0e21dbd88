/*
 * fuzz_rfc2047: libFuzzer target for the encoded-word decoder
 * (deliver/rfc2047.h). The input is a header value. Checks: the result
 * equals a plain, slow decoder written here from the module's contract
 * (an encoded word =?charset?B|Q?text?= in a known charset with valid
 * text is decoded, anything else is copied, blanks between two decoded
 * words go); with a smaller output limit the result is a prefix of the
 * full one and the call says the limit was reached.
 */
#include "common/strbuf.h"
#include "deliver/rfc2047.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b64v(char c)
{
    const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(abc, c) : NULL;
    return p ? (int)(p - abc) : -1;
}

/* 1 UTF-8, 2 ASCII, 3 Latin-1, 4 Windows-1252, 0 unknown */
static int charset(const char *s, size_t n)
{
    const char *star = memchr(s, '*', n);
    if (star)
        n = (size_t)(star - s);
    static const char *const names[] = {"utf-8",      "utf8",         "us-ascii",   "ascii",
                                        "iso-8859-1", "iso8859-1",    "iso_8859-1", "latin1",
                                        "l1",         "windows-1252", "cp1252"};
    static const int kinds[] = {1, 1, 2, 2, 3, 3, 3, 3, 3, 4, 4};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strlen(names[i]) == n && strncasecmp(names[i], s, n) == 0)
            return kinds[i];
    return 0;
}

static void put_cp(struct strbuf *o, uint32_t cp)
{
    char b[3];
    if (cp < 0x80) {
        b[0] = (char)cp;
        (void)strbuf_append(o, b, 1);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        (void)strbuf_append(o, b, 2);
    } else {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        (void)strbuf_append(o, b, 3);
    }
}

static void put(struct strbuf *o, int cs, unsigned char c)
{
    static const uint16_t w1252[32] = {
        0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};
    if (c < 0x80 || cs == 1)
        (void)strbuf_append(o, &c, 1);
    else if (cs == 3)
        put_cp(o, c);
    else if (cs == 4)
        put_cp(o, c < 0xA0 ? (w1252[c - 0x80] ? w1252[c - 0x80] : 0xFFFD) : c);
    else
        put_cp(o, 0xFFFD);
}

/* Decodes text t[0..n) into o (may be NULL); false when it is invalid. */
static bool text(const char *t, size_t n, char enc, int cs, struct strbuf *o)
{
    if (enc == 'q' || enc == 'Q') {
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)t[i];
            if (c <= ' ' || c >= 127)
                return false;
            if (c == '=') {
                if (i + 2 >= n || hexv(t[i + 1]) < 0 || hexv(t[i + 2]) < 0)
                    return false;
                c = (unsigned char)(hexv(t[i + 1]) * 16 + hexv(t[i + 2]));
                i += 2;
            } else if (c == '_') {
                c = ' ';
            }
            if (o)
                put(o, cs, c);
        }
        return true;
    }
    size_t data = 0, pad = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '=') {
            pad++;
            continue;
        }
        if (b64v(t[i]) < 0 || pad > 0)
            return false;
        data++;
        acc = (acc << 6) | (uint32_t)b64v(t[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o)
                put(o, cs, (unsigned char)(acc >> bits));
            acc &= (1u << bits) - 1;
        }
    }
    return data % 4 != 1 && pad <= 2;
}

/* The word at in[i], decoded into o (may be NULL); its end, or 0. */
static size_t word(const char *in, size_t len, size_t i, struct strbuf *o)
{
    if (i + 1 >= len || in[i] != '=' || in[i + 1] != '?')
        return 0;
    size_t p = i + 2;
    while (p < len && in[p] != '?')
        p++;
    if (p >= len || p == i + 2 || p - (i + 2) > 64)
        return 0;
    for (size_t k = i + 2; k < p; k++)
        if ((unsigned char)in[k] <= ' ' || (unsigned char)in[k] >= 127)
            return 0;
    int cs = charset(in + i + 2, p - (i + 2));
    if (cs == 0 || p + 2 >= len || in[p + 2] != '?' || !strchr("BbQq", in[p + 1]) ||
        in[p + 1] == '\0')
        return 0;
    char enc = in[p + 1];
    size_t t = p + 3, e = t;
    while (e + 1 < len && !(in[e] == '?' && in[e + 1] == '='))
        e++;
    if (e + 1 >= len || !text(in + t, e - t, enc, cs, NULL))
        return 0;
    if (o)
        (void)text(in + t, e - t, enc, cs, o);
    return e + 2;
}

static bool lwsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void reference(const char *in, size_t len, struct strbuf *o)
{
    bool after = false;
    for (size_t i = 0; i < len;) {
        size_t end = word(in, len, i, o);
        if (end) {
            i = end;
            after = true;
            continue;
        }
        size_t k = i;
        while (k < len && lwsp(in[k]))
            k++;
        if (k > i) {
            if (!(after && word(in, len, k, NULL)))
                (void)strbuf_append(o, in + i, k - i);
            i = k;
            after = after && k < len && word(in, len, k, NULL);
            continue;
        }
        (void)strbuf_append(o, in + i, 1);
        after = false;
        i++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct strbuf got, want, cut;
    strbuf_init(&got, 3 * size + 16);
    strbuf_init(&want, 3 * size + 16);
    if (rfc2047_decode(in, size, &got) != 0)
        abort();
    reference(in, size, &want);
    if (got.len != want.len || (got.len > 0 && memcmp(got.data, want.data, got.len) != 0))
        abort();
    if (got.len > 0) {
        size_t limit = size % got.len;
        strbuf_init(&cut, limit);
        if (rfc2047_decode(in, size, &cut) != -1 || cut.len > limit ||
            (cut.len > 0 && memcmp(cut.data, got.data, cut.len) != 0))
            abort();
        strbuf_free(&cut);
    }
    strbuf_free(&got);
    strbuf_free(&want);
    return 0;
}
