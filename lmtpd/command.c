/*
 * command: the pure LMTP/SMTP command-line parsers (see command.h).
 *
 * Public: command_parse (verb and arguments), command_parse_mail,
 * command_parse_rcpt, command_parse_bdat, command_parse_xforward.
 *
 * Input is a byte range that may hold any byte (it is not NUL-terminated);
 * output is a filled struct, or -1 and a struct command_error naming the
 * reply: 501 5.5.4 bad syntax or parameter value, 501 5.1.7 bad sender,
 * 550 5.1.3 bad recipient, 501 5.1.3 null recipient, 555 5.5.4 unknown or
 * duplicate parameter, 552 5.3.4 SIZE beyond any limit. On error the output
 * struct is left unchanged. No I/O, no allocation, no mutable global state.
 */
#include "lmtpd/command.h"
#include "common/text.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ENVID_MAX 100 /* RFC 3461 4.4 */
#define ORCPT_MAX 500 /* RFC 3461 4.2 */

/* ---- bytes ---- */

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

static unsigned char ascii_upper(unsigned char c)
{
    return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
}

/* RFC 5322 atext, plus the 8-bit bytes of SMTPUTF8 (checked as UTF-8 later). */
static bool is_atext(unsigned char c)
{
    return is_alnum(c) || c >= 0x80 || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Hex digit value, or -1. Lower case only when lower_ok. */
static int hex_value(unsigned char c, bool lower_ok)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (lower_ok && c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* True when s[0..len) equals the upper-case ASCII word, ignoring case. */
static bool word_ieq(const unsigned char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ascii_upper(s[i]) != (unsigned char)word[i])
            return false;
    }
    return true;
}

/* True when s[0..len) starts with the upper-case ASCII prefix, ignoring case. */
static bool prefix_ieq(const unsigned char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && word_ieq(s, n, prefix);
}

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
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

static bool utf8_valid(const unsigned char *s, size_t len)
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

/* Copies s[0..len) into dst[size] with a NUL; -1 when it does not fit. */
static int copy_field(char *dst, size_t size, const unsigned char *s, size_t len)
{
    if (len >= size)
        return -1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int fail(struct command_error *err, int code, const char *status, const char *text)
{
    err->code = code;
    err->status = status;
    err->text = text;
    return -1;
}

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

    while (verb_end < len && !is_blank(s[verb_end]))
        verb_end++;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (word_ieq(s, verb_end, verbs[i].name)) {
            out->verb = verbs[i].verb;
            break;
        }
    }

    start = verb_end;
    while (start < len && is_blank(s[start]))
        start++;
    while (end > start && is_blank(s[end - 1]))
        end--;
    out->args = line + start;
    out->args_len = end - start;
}

/* ---- paths (RFC 5321 4.1.2, RFC 6531) ---- */

enum path_flag {
    PATH_ALLOW_NULL = 1 << 0,       /* "<>" is the null sender */
    PATH_ALLOW_POSTMASTER = 1 << 1, /* "<postmaster>" without a domain */
    PATH_LENIENT = 1 << 2,          /* dots anywhere in a dot-atom, '_' and
                                       edge '-' in domain labels */
};

/* An address literal's inside ("1.2.3.4" or "IPv6:..."). */
static bool address_literal_valid(const unsigned char *s, size_t len)
{
    char buf[64];
    unsigned char addr[16];
    int family = AF_INET;

    if (prefix_ieq(s, len, "IPV6:")) {
        s += 5;
        len -= 5;
        family = AF_INET6;
    }
    if (len == 0 || copy_field(buf, sizeof(buf), s, len) < 0)
        return false;
    return inet_pton(family, buf, addr) == 1;
}

/*
 * A domain at s[i..len): a hostname (labels of letters, digits, '-' and
 * UTF-8) or an address literal. Returns the index after it, or 0.
 */
static size_t parse_domain(const unsigned char *s, size_t len, size_t i, unsigned flags)
{
    size_t start = i;

    if (i < len && s[i] == '[') {
        size_t close = i + 1;
        while (close < len && s[close] != ']' && s[close] != '[' && !is_control_byte(s[close]))
            close++;
        if (close >= len || s[close] != ']' || !address_literal_valid(s + i + 1, close - i - 1))
            return 0;
        return close + 1;
    }
    for (;;) {
        size_t label = i;
        while (i < len && (is_alnum(s[i]) || s[i] == '-' || s[i] >= 0x80 ||
                           ((flags & PATH_LENIENT) && s[i] == '_')))
            i++;
        if (i == label)
            return 0;
        if (!(flags & PATH_LENIENT) && (s[label] == '-' || s[i - 1] == '-'))
            return 0;
        if (i < len && s[i] == '.') {
            i++;
            continue;
        }
        break;
    }
    if (i - start > 255 || !utf8_valid(s + start, i - start))
        return 0;
    return i;
}

/* A local part at s[i..len): dot-atom or quoted string. Index after, or 0. */
static size_t parse_local_part(const unsigned char *s, size_t len, size_t i, unsigned flags)
{
    size_t start = i;

    if (i < len && s[i] == '"') {
        for (i++; i < len; i++) {
            if (s[i] == '"')
                return i + 1;
            if (s[i] == '\\') {
                i++;
                if (i >= len || s[i] < 0x20 || s[i] > 0x7e)
                    return 0;
            } else if (is_control_byte(s[i])) {
                return 0;
            }
        }
        return 0;
    }
    while (i < len && (is_atext(s[i]) || s[i] == '.')) {
        if (s[i] == '.' && !(flags & PATH_LENIENT) &&
            (i == start || s[i - 1] == '.' || i + 1 >= len || !is_atext(s[i + 1])))
            return 0;
        i++;
    }
    return i == start ? 0 : i;
}

/*
 * A path at s[0..len): "<>" (when allowed) or "<" [source route] mailbox
 * ">". The mailbox (without source route) goes to out[ADDRESS_MAX + 1],
 * empty for the null path. Returns the bytes consumed, or 0.
 */
static size_t parse_path(const unsigned char *s, size_t len, unsigned flags, char *out,
                         bool *is_null)
{
    size_t i = 1, mailbox, at;

    *is_null = false;
    if (len < 2 || s[0] != '<')
        return 0;
    if (s[1] == '>') {
        if (!(flags & PATH_ALLOW_NULL))
            return 0;
        *is_null = true;
        out[0] = '\0';
        return 2;
    }
    if (s[i] == '@') { /* source route "@a,@b:", discarded */
        for (;;) {
            i = parse_domain(s, len, i + 1, flags);
            if (i == 0 || i >= len)
                return 0;
            if (s[i] == ':') {
                i++;
                break;
            }
            if (s[i] != ',' || i + 1 >= len || s[i + 1] != '@')
                return 0;
            i++;
        }
    }
    mailbox = i;
    at = parse_local_part(s, len, i, flags);
    if (at == 0 || at >= len)
        return 0;
    if (s[at] == '>' && (flags & PATH_ALLOW_POSTMASTER) && i == 1 &&
        word_ieq(s + mailbox, at - mailbox, "POSTMASTER")) {
        i = at;
    } else {
        if (s[at] != '@')
            return 0;
        i = parse_domain(s, len, at + 1, flags);
        if (i == 0 || i >= len || s[i] != '>')
            return 0;
    }
    if (!utf8_valid(s + mailbox, i - mailbox) ||
        copy_field(out, ADDRESS_MAX + 1, s + mailbox, i - mailbox) < 0)
        return 0;
    return i + 1;
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
static int next_param(const unsigned char *s, size_t len, size_t *pos, struct param *p)
{
    size_t i = *pos, start, eq;

    while (i < len && is_blank(s[i]))
        i++;
    if (i >= len) {
        *pos = i;
        return 0;
    }
    start = i;
    while (i < len && !is_blank(s[i])) {
        if (is_control_byte(s[i]))
            return -1;
        i++;
    }
    *pos = i;
    for (eq = start; eq < i && s[eq] != '='; eq++) {
        if (!is_alnum(s[eq]) && (s[eq] != '-' || eq == start))
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
static bool xtext_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            if (len - i < 3 || hex_value(s[i + 1], false) < 0 || hex_value(s[i + 2], false) < 0)
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
static bool unitext_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] >= 0x80) {
            size_t n = utf8_seq_len(s + i, len - i);
            if (n == 0)
                return false;
            i += n;
        } else if (s[i] == '\\') {
            size_t digits = 0;
            if (len - i < 4 || s[i + 1] != 'x' || s[i + 2] != '{')
                return false;
            for (i += 3; i < len && hex_value(s[i], false) >= 0; i++)
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
static int parse_uint64(const unsigned char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (!is_digit(s[i]))
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int unknown_param(struct command_error *err)
{
    return fail(err, 555, "5.5.4", "Unsupported parameter");
}

static int duplicate_param(struct command_error *err)
{
    return fail(err, 555, "5.5.4", "Duplicate parameter");
}

static int bad_param_syntax(struct command_error *err)
{
    return fail(err, 501, "5.5.4", "Bad parameter syntax");
}

/* ---- MAIL ---- */

enum mail_param {
    MP_SIZE = 1 << 0,
    MP_BODY = 1 << 1,
    MP_SMTPUTF8 = 1 << 2,
    MP_RET = 1 << 3,
    MP_ENVID = 1 << 4,
    MP_AUTH = 1 << 5,
};

static int mail_param(const struct param *p, struct mail_args *m, unsigned *seen,
                      struct command_error *err)
{
    unsigned bit;
    const unsigned char *v = p->value;
    size_t n = p->value_len;

    if (word_ieq(p->key, p->key_len, "SIZE"))
        bit = MP_SIZE;
    else if (word_ieq(p->key, p->key_len, "BODY"))
        bit = MP_BODY;
    else if (word_ieq(p->key, p->key_len, "SMTPUTF8"))
        bit = MP_SMTPUTF8;
    else if (word_ieq(p->key, p->key_len, "RET"))
        bit = MP_RET;
    else if (word_ieq(p->key, p->key_len, "ENVID"))
        bit = MP_ENVID;
    else if (word_ieq(p->key, p->key_len, "AUTH"))
        bit = MP_AUTH;
    else
        return unknown_param(err);
    if (*seen & bit)
        return duplicate_param(err);
    *seen |= bit;

    if (bit == MP_SMTPUTF8) {
        if (v != NULL)
            return fail(err, 501, "5.5.4", "SMTPUTF8 takes no value");
        m->smtputf8 = true;
        return 0;
    }
    if (v == NULL)
        return fail(err, 501, "5.5.4", "Parameter value required");

    switch (bit) {
    case MP_SIZE:
        switch (parse_uint64(v, n, &m->size)) {
        case 0:
            return 0;
        case -2:
            return fail(err, 552, "5.3.4", "Message size exceeds fixed limit");
        default:
            return fail(err, 501, "5.5.4", "Bad SIZE value");
        }
    case MP_BODY:
        if (word_ieq(v, n, "7BIT"))
            m->body = BODY_7BIT;
        else if (word_ieq(v, n, "8BITMIME"))
            m->body = BODY_8BITMIME;
        else if (word_ieq(v, n, "BINARYMIME"))
            m->body = BODY_BINARYMIME;
        else
            return fail(err, 501, "5.5.4", "Bad BODY value");
        return 0;
    case MP_RET:
        if (word_ieq(v, n, "FULL"))
            m->ret = DSN_RET_FULL;
        else if (word_ieq(v, n, "HDRS"))
            m->ret = DSN_RET_HDRS;
        else
            return fail(err, 501, "5.5.4", "Bad RET value");
        return 0;
    case MP_ENVID:
        if (n == 0 || n > ENVID_MAX || !xtext_valid(v, n) ||
            copy_field(m->envid, sizeof(m->envid), v, n) < 0)
            return fail(err, 501, "5.5.4", "Bad ENVID value");
        return 0;
    default: /* MP_AUTH: accepted and ignored */
        return 0;
    }
}

int command_parse_mail(const char *args, size_t len, struct mail_args *out,
                       struct command_error *err)
{
    const unsigned char *s = (const unsigned char *)args;
    struct mail_args m;
    struct param p;
    size_t i = 5, used;
    unsigned seen = 0;
    bool is_null;
    int r;

    memset(&m, 0, sizeof(m));
    if (!prefix_ieq(s, len, "FROM:"))
        return fail(err, 501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]");
    while (i < len && is_blank(s[i]))
        i++;
    used = parse_path(s + i, len - i, PATH_ALLOW_NULL | PATH_LENIENT, m.from, &is_null);
    if (used == 0)
        return fail(err, 501, "5.1.7", "Bad sender address syntax");
    i += used;
    if (i < len && !is_blank(s[i]))
        return fail(err, 501, "5.1.7", "Bad sender address syntax");
    while ((r = next_param(s, len, &i, &p)) > 0) {
        if (mail_param(&p, &m, &seen, err) < 0)
            return -1;
    }
    if (r < 0)
        return bad_param_syntax(err);
    *out = m;
    return 0;
}

/* ---- RCPT ---- */

static int parse_notify(const unsigned char *v, size_t n, unsigned *notify,
                        struct command_error *err)
{
    unsigned bits = 0;
    size_t i = 0;

    if (v == NULL || n == 0)
        return fail(err, 501, "5.5.4", "Bad NOTIFY value");
    while (i <= n) {
        size_t start = i;
        unsigned bit;
        while (i < n && v[i] != ',')
            i++;
        if (word_ieq(v + start, i - start, "NEVER"))
            bit = DSN_NOTIFY_NEVER;
        else if (word_ieq(v + start, i - start, "SUCCESS"))
            bit = DSN_NOTIFY_SUCCESS;
        else if (word_ieq(v + start, i - start, "FAILURE"))
            bit = DSN_NOTIFY_FAILURE;
        else if (word_ieq(v + start, i - start, "DELAY"))
            bit = DSN_NOTIFY_DELAY;
        else
            return fail(err, 501, "5.5.4", "Bad NOTIFY value");
        bits |= bit;
        i++; /* past the ',' (or past the end) */
    }
    if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
        return fail(err, 501, "5.5.4", "NOTIFY=NEVER cannot be combined");
    *notify = bits;
    return 0;
}

/* "addr-type;value": rfc822-style types take xtext, utf-8 takes unitext. */
static int parse_orcpt(const unsigned char *v, size_t n, char *out, size_t size,
                       struct command_error *err)
{
    const unsigned char *semi;
    size_t type_len;
    bool ok;

    if (v == NULL || n == 0 || n > ORCPT_MAX || n >= size)
        return fail(err, 501, "5.5.4", "Bad ORCPT value");
    semi = memchr(v, ';', n);
    if (semi == NULL)
        return fail(err, 501, "5.5.4", "Bad ORCPT value");
    type_len = (size_t)(semi - v);
    ok = type_len > 0 && type_len + 1 < n;
    for (size_t i = 0; ok && i < type_len; i++)
        ok = is_alnum(v[i]) || v[i] == '-';
    if (ok && word_ieq(v, type_len, "UTF-8"))
        ok = unitext_valid(semi + 1, n - type_len - 1);
    else if (ok)
        ok = xtext_valid(semi + 1, n - type_len - 1);
    if (!ok)
        return fail(err, 501, "5.5.4", "Bad ORCPT value");
    return copy_field(out, size, v, n) < 0 ? fail(err, 501, "5.5.4", "Bad ORCPT value") : 0;
}

int command_parse_rcpt(const char *args, size_t len, struct rcpt_args *out,
                       struct command_error *err)
{
    const unsigned char *s = (const unsigned char *)args;
    struct rcpt_args rc;
    struct param p;
    size_t i = 3, used;
    bool seen_notify = false, seen_orcpt = false, is_null;
    int r;

    memset(&rc, 0, sizeof(rc));
    if (!prefix_ieq(s, len, "TO:"))
        return fail(err, 501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]");
    while (i < len && is_blank(s[i]))
        i++;
    used = parse_path(s + i, len - i, PATH_ALLOW_NULL | PATH_ALLOW_POSTMASTER, rc.to, &is_null);
    if (used != 0 && is_null)
        return fail(err, 501, "5.1.3", "Null recipient not allowed");
    if (used == 0 || (i + used < len && !is_blank(s[i + used])))
        return fail(err, 550, "5.1.3", "Bad recipient address syntax");
    i += used;
    while ((r = next_param(s, len, &i, &p)) > 0) {
        if (word_ieq(p.key, p.key_len, "NOTIFY")) {
            if (seen_notify)
                return duplicate_param(err);
            seen_notify = true;
            if (parse_notify(p.value, p.value_len, &rc.notify, err) < 0)
                return -1;
        } else if (word_ieq(p.key, p.key_len, "ORCPT")) {
            if (seen_orcpt)
                return duplicate_param(err);
            seen_orcpt = true;
            if (parse_orcpt(p.value, p.value_len, rc.orcpt, sizeof(rc.orcpt), err) < 0)
                return -1;
        } else {
            return unknown_param(err);
        }
    }
    if (r < 0)
        return bad_param_syntax(err);
    *out = rc;
    return 0;
}

/* ---- BDAT ---- */

int command_parse_bdat(const char *args, size_t len, uint64_t *size, bool *last,
                       struct command_error *err)
{
    const unsigned char *s = (const unsigned char *)args;
    size_t digits = 0, word, end = len;
    uint64_t v;

    while (digits < len && is_digit(s[digits]))
        digits++;
    if (parse_uint64(s, digits, &v) < 0)
        return fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
    word = digits;
    while (word < len && is_blank(s[word]))
        word++;
    while (end > word && is_blank(s[end - 1]))
        end--;
    if (word == end) {
        *size = v;
        *last = false;
        return 0;
    }
    if (word == digits || !word_ieq(s + word, end - word, "LAST"))
        return fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
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
            if (len - i < 3 || (hi = hex_value(s[i + 1], true)) < 0 ||
                (lo = hex_value(s[i + 2], true)) < 0)
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
        if (word_ieq(p->key, p->key_len, fields[i].name)) {
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

    while ((r = next_param(s, len, &i, &p)) > 0) {
        char value[256];
        const unsigned char *d = (const unsigned char *)value;
        size_t size, n;
        char *field = xforward_field(&x, &p, &size);

        if (field == NULL)
            return fail(err, 501, "5.5.4", "Unknown XFORWARD attribute");
        count++;
        if (p.value == NULL || p.value_len == 0 ||
            xtext_decode(p.value, p.value_len, value, sizeof(value)) < 0)
            return fail(err, 501, "5.5.4", "Bad XFORWARD attribute value");
        n = strlen(value);
        if (word_ieq(d, n, "[UNAVAILABLE]") || word_ieq(d, n, "[TEMPUNAVAIL]")) {
            field[0] = '\0';
            continue;
        }
        if (field == x.addr && prefix_ieq(d, n, "IPV6:")) {
            d += 5;
            n -= 5;
        }
        if (copy_field(field, size, d, n) < 0)
            return fail(err, 501, "5.5.4", "XFORWARD attribute value too long");
    }
    if (r < 0 || count == 0)
        return fail(err, 501, "5.5.4", "Syntax: XFORWARD attribute=value...");
    *xf = x;
    return 0;
}
