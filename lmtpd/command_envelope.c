/*
 * command_envelope: the parsers of MAIL FROM and RCPT TO (see command.h):
 * the reverse and forward paths (RFC 5321 4.1.2, RFC 6531 UTF-8) and
 * their ESMTP parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH, NOTIFY,
 * ORCPT). Pure: bytes in, struct or error out.
 */
#include "lmtpd/command.h"
#include "lmtpd/command_lex.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ENVID_MAX 100 /* RFC 3461 4.4 */
#define ORCPT_MAX 500 /* RFC 3461 4.2 */

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

    if (lex_prefix_ieq(s, len, "IPV6:")) {
        s += 5;
        len -= 5;
        family = AF_INET6;
    }
    if (len == 0 || lex_copy_field(buf, sizeof(buf), s, len) < 0)
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
        while (i < len && (lex_is_alnum(s[i]) || s[i] == '-' || s[i] >= 0x80 ||
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
    if (i - start > 255 || !lex_utf8_valid(s + start, i - start))
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
    while (i < len && (lex_is_atext(s[i]) || s[i] == '.')) {
        if (s[i] == '.' && !(flags & PATH_LENIENT) &&
            (i == start || s[i - 1] == '.' || i + 1 >= len || !lex_is_atext(s[i + 1])))
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
        lex_word_ieq(s + mailbox, at - mailbox, "POSTMASTER")) {
        i = at;
    } else {
        if (s[at] != '@')
            return 0;
        i = parse_domain(s, len, at + 1, flags);
        if (i == 0 || i >= len || s[i] != '>')
            return 0;
    }
    if (!lex_utf8_valid(s + mailbox, i - mailbox) ||
        lex_copy_field(out, ADDRESS_MAX + 1, s + mailbox, i - mailbox) < 0)
        return 0;
    return i + 1;
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

    if (lex_word_ieq(p->key, p->key_len, "SIZE"))
        bit = MP_SIZE;
    else if (lex_word_ieq(p->key, p->key_len, "BODY"))
        bit = MP_BODY;
    else if (lex_word_ieq(p->key, p->key_len, "SMTPUTF8"))
        bit = MP_SMTPUTF8;
    else if (lex_word_ieq(p->key, p->key_len, "RET"))
        bit = MP_RET;
    else if (lex_word_ieq(p->key, p->key_len, "ENVID"))
        bit = MP_ENVID;
    else if (lex_word_ieq(p->key, p->key_len, "AUTH"))
        bit = MP_AUTH;
    else
        return lex_unknown_param(err);
    if (*seen & bit)
        return lex_duplicate_param(err);
    *seen |= bit;

    if (bit == MP_SMTPUTF8) {
        if (v != NULL)
            return lex_fail(err, 501, "5.5.4", "SMTPUTF8 takes no value");
        m->smtputf8 = true;
        return 0;
    }
    if (v == NULL)
        return lex_fail(err, 501, "5.5.4", "Parameter value required");

    switch (bit) {
    case MP_SIZE:
        switch (lex_parse_uint64(v, n, &m->size)) {
        case 0:
            return 0;
        case -2:
            return lex_fail(err, 552, "5.3.4", "Message size exceeds fixed limit");
        default:
            return lex_fail(err, 501, "5.5.4", "Bad SIZE value");
        }
    case MP_BODY:
        if (lex_word_ieq(v, n, "7BIT"))
            m->body = BODY_7BIT;
        else if (lex_word_ieq(v, n, "8BITMIME"))
            m->body = BODY_8BITMIME;
        else if (lex_word_ieq(v, n, "BINARYMIME"))
            m->body = BODY_BINARYMIME;
        else
            return lex_fail(err, 501, "5.5.4", "Bad BODY value");
        return 0;
    case MP_RET:
        if (lex_word_ieq(v, n, "FULL"))
            m->ret = DSN_RET_FULL;
        else if (lex_word_ieq(v, n, "HDRS"))
            m->ret = DSN_RET_HDRS;
        else
            return lex_fail(err, 501, "5.5.4", "Bad RET value");
        return 0;
    case MP_ENVID:
        if (n == 0 || n > ENVID_MAX || !lex_xtext_valid(v, n) ||
            lex_copy_field(m->envid, sizeof(m->envid), v, n) < 0)
            return lex_fail(err, 501, "5.5.4", "Bad ENVID value");
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
    if (!lex_prefix_ieq(s, len, "FROM:"))
        return lex_fail(err, 501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]");
    while (i < len && lex_is_blank(s[i]))
        i++;
    used = parse_path(s + i, len - i, PATH_ALLOW_NULL | PATH_LENIENT, m.from, &is_null);
    if (used == 0)
        return lex_fail(err, 501, "5.1.7", "Bad sender address syntax");
    i += used;
    if (i < len && !lex_is_blank(s[i]))
        return lex_fail(err, 501, "5.1.7", "Bad sender address syntax");
    while ((r = lex_next_param(s, len, &i, &p)) > 0) {
        if (mail_param(&p, &m, &seen, err) < 0)
            return -1;
    }
    if (r < 0)
        return lex_bad_param_syntax(err);
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
        return lex_fail(err, 501, "5.5.4", "Bad NOTIFY value");
    while (i <= n) {
        size_t start = i;
        unsigned bit;
        while (i < n && v[i] != ',')
            i++;
        if (lex_word_ieq(v + start, i - start, "NEVER"))
            bit = DSN_NOTIFY_NEVER;
        else if (lex_word_ieq(v + start, i - start, "SUCCESS"))
            bit = DSN_NOTIFY_SUCCESS;
        else if (lex_word_ieq(v + start, i - start, "FAILURE"))
            bit = DSN_NOTIFY_FAILURE;
        else if (lex_word_ieq(v + start, i - start, "DELAY"))
            bit = DSN_NOTIFY_DELAY;
        else
            return lex_fail(err, 501, "5.5.4", "Bad NOTIFY value");
        bits |= bit;
        i++; /* past the ',' (or past the end) */
    }
    if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
        return lex_fail(err, 501, "5.5.4", "NOTIFY=NEVER cannot be combined");
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
        return lex_fail(err, 501, "5.5.4", "Bad ORCPT value");
    semi = memchr(v, ';', n);
    if (semi == NULL)
        return lex_fail(err, 501, "5.5.4", "Bad ORCPT value");
    type_len = (size_t)(semi - v);
    ok = type_len > 0 && type_len + 1 < n;
    for (size_t i = 0; ok && i < type_len; i++)
        ok = lex_is_alnum(v[i]) || v[i] == '-';
    if (ok && lex_word_ieq(v, type_len, "UTF-8"))
        ok = lex_unitext_valid(semi + 1, n - type_len - 1);
    else if (ok)
        ok = lex_xtext_valid(semi + 1, n - type_len - 1);
    if (!ok)
        return lex_fail(err, 501, "5.5.4", "Bad ORCPT value");
    return lex_copy_field(out, size, v, n) < 0 ? lex_fail(err, 501, "5.5.4", "Bad ORCPT value") : 0;
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
    if (!lex_prefix_ieq(s, len, "TO:"))
        return lex_fail(err, 501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]");
    while (i < len && lex_is_blank(s[i]))
        i++;
    used = parse_path(s + i, len - i, PATH_ALLOW_NULL | PATH_ALLOW_POSTMASTER, rc.to, &is_null);
    if (used != 0 && is_null)
        return lex_fail(err, 501, "5.1.3", "Null recipient not allowed");
    if (used == 0 || (i + used < len && !lex_is_blank(s[i + used])))
        return lex_fail(err, 550, "5.1.3", "Bad recipient address syntax");
    i += used;
    while ((r = lex_next_param(s, len, &i, &p)) > 0) {
        if (lex_word_ieq(p.key, p.key_len, "NOTIFY")) {
            if (seen_notify)
                return lex_duplicate_param(err);
            seen_notify = true;
            if (parse_notify(p.value, p.value_len, &rc.notify, err) < 0)
                return -1;
        } else if (lex_word_ieq(p.key, p.key_len, "ORCPT")) {
            if (seen_orcpt)
                return lex_duplicate_param(err);
            seen_orcpt = true;
            if (parse_orcpt(p.value, p.value_len, rc.orcpt, sizeof(rc.orcpt), err) < 0)
                return -1;
        } else {
            return lex_unknown_param(err);
        }
    }
    if (r < 0)
        return lex_bad_param_syntax(err);
    *out = rc;
    return 0;
}
