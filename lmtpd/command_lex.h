/*
 * command_lex: the byte classes, bounded copies, error helper and ESMTP
 * parameter tokenizer that the command parsers share (command.c,
 * command_envelope.c). Private to lmtpd/'s parsers; pure, no state.
 */
#ifndef LMTPSCAN_COMMAND_LEX_H
#define LMTPSCAN_COMMAND_LEX_H

#include "common/text.h"
#include "lmtpd/command.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- bytes ---- */

static inline bool lex_is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static inline bool lex_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline bool lex_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool lex_is_alnum(unsigned char c)
{
    return lex_is_alpha(c) || lex_is_digit(c);
}

static inline unsigned char lex_ascii_upper(unsigned char c)
{
    return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
}

/* RFC 5322 atext, plus the 8-bit bytes of SMTPUTF8 (checked as UTF-8 later). */
static inline bool lex_is_atext(unsigned char c)
{
    return lex_is_alnum(c) || c >= 0x80 || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Hex digit value, or -1. Lower case only when lower_ok. */
static inline int lex_hex_value(unsigned char c, bool lower_ok)
{
    if (lex_is_digit(c))
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (lower_ok && c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* True when s[0..len) equals the upper-case ASCII word, ignoring case. */
static inline bool lex_word_ieq(const unsigned char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (lex_ascii_upper(s[i]) != (unsigned char)word[i])
            return false;
    }
    return true;
}

/* True when s[0..len) starts with the upper-case ASCII prefix, ignoring case. */
static inline bool lex_prefix_ieq(const unsigned char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && lex_word_ieq(s, n, prefix);
}

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0. */
static inline size_t lex_utf8_seq_len(const unsigned char *s, size_t len)
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

static inline bool lex_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = lex_utf8_seq_len(s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* Copies s[0..len) into dst[size] with a NUL; -1 when it does not fit. */
static inline int lex_copy_field(char *dst, size_t size, const unsigned char *s, size_t len)
{
    if (len >= size)
        return -1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static inline int lex_fail(struct command_error *err, int code, const char *status,
                           const char *text)
{
    err->code = code;
    err->status = status;
    err->text = text;
    return -1;
}

/* ---- parameters ---- */

/* One "KEYWORD[=value]" token of an ESMTP parameter list. */
struct param {
    const unsigned char *key;
    size_t key_len;
    const unsigned char *value; /* NULL when there is no '=' */
    size_t value_len;
};

/*
 * Takes the next parameter from s[*pos..len), skipping blanks. Returns 1
 * with p filled, 0 at the end, -1 on bad syntax (bad keyword, control byte).
 */
static inline int lex_next_param(const unsigned char *s, size_t len, size_t *pos, struct param *p)
{
    size_t i = *pos, start, eq;

    while (i < len && lex_is_blank(s[i]))
        i++;
    if (i >= len) {
        *pos = i;
        return 0;
    }
    start = i;
    while (i < len && !lex_is_blank(s[i])) {
        if (is_control_byte(s[i]))
            return -1;
        i++;
    }
    *pos = i;
    for (eq = start; eq < i && s[eq] != '='; eq++) {
        if (!lex_is_alnum(s[eq]) && (s[eq] != '-' || eq == start))
            return -1;
    }
    if (eq == start)
        return -1;
    p->key = s + start;
    p->key_len = eq - start;
    p->value = eq < i ? s + eq + 1 : NULL;
    p->value_len = eq < i ? i - eq - 1 : 0;
    return 1;
}

/* RFC 3461 xtext: chars 33..126 except '+' and '=', or "+HH" (upper hex). */
static inline bool lex_xtext_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            if (len - i < 3 || lex_hex_value(s[i + 1], false) < 0 ||
                lex_hex_value(s[i + 2], false) < 0)
                return false;
            i += 2;
        } else if (s[i] < 33 || s[i] > 126 || s[i] == '=') {
            return false;
        }
    }
    return true;
}

/*
 * RFC 6533 utf-8-addr-unitext: QCHAR (33..126 except '+', '=', '\'),
 * UTF-8 beyond ASCII, or "\x{HEX}".
 */
static inline bool lex_unitext_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] >= 0x80) {
            size_t n = lex_utf8_seq_len(s + i, len - i);
            if (n == 0)
                return false;
            i += n;
        } else if (s[i] == '\\') {
            size_t digits = 0;
            if (len - i < 4 || s[i + 1] != 'x' || s[i + 2] != '{')
                return false;
            for (i += 3; i < len && lex_hex_value(s[i], false) >= 0; i++)
                digits++;
            if (digits < 1 || digits > 6 || i >= len || s[i] != '}')
                return false;
            i++;
        } else if (s[i] < 33 || s[i] > 126 || s[i] == '+' || s[i] == '=') {
            return false;
        } else {
            i++;
        }
    }
    return true;
}

/* Decimal digits only into a uint64_t. 0 ok, -1 syntax, -2 overflow. */
static inline int lex_parse_uint64(const unsigned char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (!lex_is_digit(s[i]))
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static inline int lex_unknown_param(struct command_error *err)
{
    return lex_fail(err, 555, "5.5.4", "Unsupported parameter");
}

static inline int lex_duplicate_param(struct command_error *err)
{
    return lex_fail(err, 555, "5.5.4", "Duplicate parameter");
}

static inline int lex_bad_param_syntax(struct command_error *err)
{
    return lex_fail(err, 501, "5.5.4", "Bad parameter syntax");
}

#endif
