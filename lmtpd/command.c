/*
 * command: the pure LMTP/SMTP command-line parsers (see command.h): the
 * verb, BDAT and XFORWARD here; MAIL and RCPT in command_envelope.c.
 *
 * Input is a byte range that may hold any byte (it is not NUL-terminated);
 * output is a filled struct, or -1 and a struct command_error naming the
 * reply: 501 5.5.4 bad syntax or parameter value, 501 5.1.7 bad sender,
 * 550 5.1.3 bad recipient, 501 5.1.3 null recipient, 555 5.5.4 unknown or
 * duplicate parameter, 552 5.3.4 SIZE beyond any limit. On error the output
 * struct is left unchanged. No I/O, no allocation, no mutable global state.
 */
#include "lmtpd/command.h"
#include "lmtpd/command_lex.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- verb ---- */

static const struct {
    const char *name;
    enum command_verb verb;
} verbs[] = {
    {"LHLO", CMD_LHLO}, {"EHLO", CMD_EHLO}, {"HELO", CMD_HELO}, {"MAIL", CMD_MAIL},
    {"RCPT", CMD_RCPT}, {"DATA", CMD_DATA}, {"BDAT", CMD_BDAT}, {"RSET", CMD_RSET},
    {"NOOP", CMD_NOOP}, {"QUIT", CMD_QUIT}, {"VRFY", CMD_VRFY}, {"XFORWARD", CMD_XFORWARD},
    {"AUTH", CMD_AUTH},
};

void command_parse(const char *line, size_t len, struct command *out)
{
    const unsigned char *s = (const unsigned char *)line;
    size_t verb_end = 0, start, end = len;

    out->verb = CMD_UNKNOWN;
    out->args = line;
    out->args_len = 0;
    if (len > 0 && memchr(line, '\0', len) != NULL)
        return;

    while (verb_end < len && !lex_is_blank(s[verb_end]))
        verb_end++;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (lex_word_ieq(s, verb_end, verbs[i].name)) {
            out->verb = verbs[i].verb;
            break;
        }
    }

    start = verb_end;
    while (start < len && lex_is_blank(s[start]))
        start++;
    while (end > start && lex_is_blank(s[end - 1]))
        end--;
    out->args = line + start;
    out->args_len = end - start;
}

/* ---- BDAT ---- */

int command_parse_bdat(const char *args, size_t len, uint64_t *size, bool *last,
                       struct command_error *err)
{
    const unsigned char *s = (const unsigned char *)args;
    size_t digits = 0, word, end = len;
    uint64_t v;

    while (digits < len && lex_is_digit(s[digits]))
        digits++;
    if (lex_parse_uint64(s, digits, &v) < 0)
        return lex_fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
    word = digits;
    while (word < len && lex_is_blank(s[word]))
        word++;
    while (end > word && lex_is_blank(s[end - 1]))
        end--;
    if (word == end) {
        *size = v;
        *last = false;
        return 0;
    }
    if (word == digits || !lex_word_ieq(s + word, end - word, "LAST"))
        return lex_fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
    *size = v;
    *last = true;
    return 0;
}

/* ---- XFORWARD ---- */

/* Decodes xtext ("+HH", either case) into dst[size]; -1 if bad or too long. */
static int xtext_decode(const unsigned char *s, size_t len, char *dst, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '+') {
            int hi, lo;
            if (len - i < 3 || (hi = lex_hex_value(s[i + 1], true)) < 0 ||
                (lo = lex_hex_value(s[i + 2], true)) < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (is_control_byte(c) || o + 1 >= size)
            return -1;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return 0;
}

/* The field of x named by an attribute keyword, or NULL. */
static char *xforward_field(struct xforward *x, const struct param *p, size_t *size)
{
    static const struct {
        const char *name;
        size_t offset, size;
    } fields[] = {
        {"NAME", offsetof(struct xforward, name), sizeof(((struct xforward *)0)->name)},
        {"ADDR", offsetof(struct xforward, addr), sizeof(((struct xforward *)0)->addr)},
        {"PORT", offsetof(struct xforward, port), sizeof(((struct xforward *)0)->port)},
        {"PROTO", offsetof(struct xforward, proto), sizeof(((struct xforward *)0)->proto)},
        {"HELO", offsetof(struct xforward, helo), sizeof(((struct xforward *)0)->helo)},
        {"IDENT", offsetof(struct xforward, ident), sizeof(((struct xforward *)0)->ident)},
        {"SOURCE", offsetof(struct xforward, source), sizeof(((struct xforward *)0)->source)},
    };

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (lex_word_ieq(p->key, p->key_len, fields[i].name)) {
            *size = fields[i].size;
            return (char *)x + fields[i].offset;
        }
    }
    return NULL;
}

int command_parse_xforward(const char *args, size_t len, struct xforward *xf,
                           struct command_error *err)
{
    const unsigned char *s = (const unsigned char *)args;
    struct xforward x = *xf;
    struct param p;
    size_t i = 0, count = 0;
    int r;

    while ((r = lex_next_param(s, len, &i, &p)) > 0) {
        char value[256];
        const unsigned char *d = (const unsigned char *)value;
        size_t size, n;
        char *field = xforward_field(&x, &p, &size);

        if (field == NULL)
            return lex_fail(err, 501, "5.5.4", "Unknown XFORWARD attribute");
        count++;
        if (p.value == NULL || p.value_len == 0 ||
            xtext_decode(p.value, p.value_len, value, sizeof(value)) < 0)
            return lex_fail(err, 501, "5.5.4", "Bad XFORWARD attribute value");
        n = strlen(value);
        if (lex_word_ieq(d, n, "[UNAVAILABLE]") || lex_word_ieq(d, n, "[TEMPUNAVAIL]")) {
            field[0] = '\0';
            continue;
        }
        if (field == x.addr && lex_prefix_ieq(d, n, "IPV6:")) {
            d += 5;
            n -= 5;
        }
        if (lex_copy_field(field, size, d, n) < 0)
            return lex_fail(err, 501, "5.5.4", "XFORWARD attribute value too long");
    }
    if (r < 0 || count == 0)
        return lex_fail(err, 501, "5.5.4", "Syntax: XFORWARD attribute=value...");
    *xf = x;
    return 0;
}
