/*
 * rfc2047: encoded-word decoder (see rfc2047.h). An encoded word is
 * checked whole (charset, encoding, text) before anything is written, so a
 * malformed one is copied through untouched. Linear in the input length.
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

/* Writes the decoding of Q text already checked by q_bad(). */
static int decode_q(const char *t, size_t len, enum charset cs, struct strbuf *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '_') {
            c = ' ';
        } else if (c == '=' && i + 2 < len) {
            c = (unsigned char)(hex_value(t[i + 1]) * 16 + hex_value(t[i + 2]));
            i += 2;
        }
        if (put_byte(out, cs, c) < 0)
            return -1;
    }
    return 0;
}

/* Writes the decoding of B text already checked by b_text_ok(). */
static int decode_b(const char *t, size_t len, enum charset cs, struct strbuf *out)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len && t[i] != '='; i++) {
        acc = (acc << 6) | (uint32_t)b64_value(t[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            unsigned char c = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
            if (put_byte(out, cs, c) < 0)
                return -1;
        }
    }
    return 0;
}

/*
 * Linear time: words that never end ("=?utf-8?q?a" repeated) or end far
 * away must not be rescanned from every "=?". Each question "where is the
 * next X at or after p" goes to a finder that remembers its last answer;
 * the decoder asks at positions that only grow, so every byte is looked
 * at a bounded number of times.
 */
typedef bool (*hit_fn)(const char *in, size_t len, size_t p);

struct finder {
    hit_fn hit;
    bool valid;
    size_t from, at; /* no hit in [from, at); at: a hit, or len */
};

static size_t find_next(struct finder *f, const char *in, size_t len, size_t q)
{
    if (f->valid && q >= f->from && q <= f->at)
        return f->at;
    size_t stop = f->valid && q < f->from ? f->from : len;
    size_t p = q;
    while (p < stop && !f->hit(in, len, p))
        p++;
    if (p == stop && stop != len)
        p = f->at; /* none before the part already known to hold none */
    f->valid = true;
    f->from = q;
    f->at = p;
    return p;
}

/* "?=", the end of an encoded word */
static bool word_end(const char *in, size_t len, size_t p)
{
    return in[p] == '?' && p + 1 < len && in[p + 1] == '=';
}

static bool ctl_or_space(unsigned char c)
{
    return c <= ' ' || c >= 127;
}

/* A byte no Q text may hold from there on: blanks, controls, 8-bit, and
 * "=" without two hex digits (the "?" ending the word is no hex digit, so
 * an escape cut by the end counts too). */
static bool q_bad(const char *in, size_t len, size_t p)
{
    if (ctl_or_space((unsigned char)in[p]))
        return true;
    return in[p] == '=' && !(p + 2 < len && hex_value(in[p + 1]) >= 0 && hex_value(in[p + 2]) >= 0);
}

/* Not a base64 letter ("=" included: the padding is checked apart). */
static bool b_bad(const char *in, size_t len, size_t p)
{
    (void)len;
    return b64_value(in[p]) < 0;
}

struct decoder {
    const char *in;
    size_t len;
    struct finder end, q, b;
};

/* Base64 text in [t, e): letters, then at most two "=", and no length
 * that leaves a single letter over. */
static bool b_text_ok(struct decoder *d, size_t t, size_t e)
{
    size_t z = e, pad = 0;
    while (z > t && d->in[z - 1] == '=' && pad < 3) {
        z--;
        pad++;
    }
    if (pad > 2 || find_next(&d->b, d->in, d->len, t) < z)
        return false;
    return (z - t) % 4 != 1;
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
static bool parse_word(struct decoder *d, size_t i, struct encoded_word *w)
{
    const char *in = d->in;
    size_t len = d->len;
    if (i + 2 > len || in[i] != '=' || in[i + 1] != '?')
        return false;
    size_t p = i + 2, cs_start = p;
    while (p < len && p - cs_start <= CHARSET_MAX && in[p] != '?' &&
           !ctl_or_space((unsigned char)in[p]))
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
    size_t e = find_next(&d->end, in, len, p);
    if (e >= len)
        return false;
    bool ok =
        (w->enc == 'B' || w->enc == 'b') ? b_text_ok(d, p, e) : find_next(&d->q, in, len, p) >= e;
    if (!ok)
        return false;
    w->text = in + p;
    w->text_len = e - p;
    w->end = e + 2;
    return true;
}

static int emit_word(const struct encoded_word *w, struct strbuf *out)
{
    return (w->enc == 'B' || w->enc == 'b') ? decode_b(w->text, w->text_len, w->cs, out)
                                            : decode_q(w->text, w->text_len, w->cs, out);
}

static bool is_lwsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int rfc2047_decode(const char *in, size_t len, struct strbuf *out)
{
    struct decoder d = {.in = in, .len = len};
    d.end.hit = word_end;
    d.q.hit = q_bad;
    d.b.hit = b_bad;
    size_t i = 0;
    bool after_word = false;
    while (i < len) {
        struct encoded_word w;
        if (in[i] == '=' && parse_word(&d, i, &w)) {
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
            if (after_word && k < len && parse_word(&d, k, &w)) {
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
