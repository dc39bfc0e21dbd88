/*
 * test_command: table-driven tests of the command-line parsers
 * (lmtpd/command.c): verbs, MAIL, RCPT, BDAT and XFORWARD arguments with
 * the reply codes of their errors.
 */
#include "lmtpd/command.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Bytes with an explicit length, so tables can hold NULs. */
#define B(lit) lit, sizeof(lit) - 1

/* ---- command_parse ---- */

struct verb_case {
    const char *line;
    size_t len;
    enum command_verb verb;
    const char *args; /* expected arguments */
};

static const struct verb_case verb_cases[] = {
    {B("LHLO client.example"), CMD_LHLO, "client.example"},
    {B("lhlo client.example"), CMD_LHLO, "client.example"},
    {B("EHLO x"), CMD_EHLO, "x"},
    {B("HeLo x"), CMD_HELO, "x"},
    {B("MAIL FROM:<a@b.c> SIZE=1"), CMD_MAIL, "FROM:<a@b.c> SIZE=1"},
    {B("mail\tFROM:<>"), CMD_MAIL, "FROM:<>"},
    {B("RCPT TO:<a@b.c>"), CMD_RCPT, "TO:<a@b.c>"},
    {B("DATA"), CMD_DATA, ""},
    {B("data   "), CMD_DATA, ""},
    {B("BDAT 10 LAST"), CMD_BDAT, "10 LAST"},
    {B("RSET"), CMD_RSET, ""},
    {B("NOOP  hello there \t "), CMD_NOOP, "hello there"},
    {B("QUIT"), CMD_QUIT, ""},
    {B("VRFY user"), CMD_VRFY, "user"},
    {B("XFORWARD NAME=x"), CMD_XFORWARD, "NAME=x"},
    {B("xforward NAME=x"), CMD_XFORWARD, "NAME=x"},
    {B("AUTH PLAIN"), CMD_AUTH, "PLAIN"},
    {B(" \t MAIL \t FROM:<>"), CMD_UNKNOWN, "MAIL \t FROM:<>"},
    {B("MAILX FROM:<>"), CMD_UNKNOWN, "FROM:<>"},
    {B("MAI"), CMD_UNKNOWN, ""},
    {B("MAIL:FROM:<>"), CMD_UNKNOWN, ""},
    {B("STARTTLS"), CMD_UNKNOWN, ""},
    {B(""), CMD_UNKNOWN, ""},
    {B("   "), CMD_UNKNOWN, ""},
    {B("DATA\0"), CMD_UNKNOWN, ""},
    {B("MAIL FROM:<a\0@b>"), CMD_UNKNOWN, ""},
    {B("\0QUIT"), CMD_UNKNOWN, ""},
    {B("NOOP \xff\xfe"), CMD_NOOP, "\xff\xfe"},
    {B("QUIT\r"), CMD_UNKNOWN, ""}, /* CR is not a blank: verb "QUIT\r" */
};

static void test_verbs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(verb_cases) / sizeof(verb_cases[0]); i++) {
        const struct verb_case *c = &verb_cases[i];
        struct command cmd;

        command_parse(c->line, c->len, &cmd);
        if (cmd.verb != c->verb)
            fail_msg("case %zu: verb %d, want %d", i, (int)cmd.verb, (int)c->verb);
        if (c->verb != CMD_UNKNOWN || c->args[0] != '\0') {
            if (cmd.args_len != strlen(c->args) || memcmp(cmd.args, c->args, cmd.args_len) != 0)
                fail_msg("case %zu: args \"%.*s\", want \"%s\"", i, (int)cmd.args_len, cmd.args,
                         c->args);
        }
        assert_true(cmd.args >= c->line && cmd.args + cmd.args_len <= c->line + c->len);
    }
}

static void test_verb_max_line(void **state)
{
    char line[COMMAND_LINE_MAX - 2];
    struct command cmd;
    (void)state;

    memset(line, 'x', sizeof(line));
    memcpy(line, "NOOP ", 5);
    command_parse(line, sizeof(line), &cmd);
    assert_int_equal(cmd.verb, CMD_NOOP);
    assert_int_equal(cmd.args_len, sizeof(line) - 5);
    assert_ptr_equal(cmd.args, line + 5);
}

/* ---- MAIL ---- */

struct mail_case {
    const char *args;
    size_t len;
    int code; /* 0 = accepted */
    const char *status;
    const char *from; /* when accepted */
};

static const struct mail_case mail_cases[] = {
    {B("FROM:<user@example.com>"), 0, NULL, "user@example.com"},
    {B("from:<user@example.com>"), 0, NULL, "user@example.com"},
    {B("From:<User@Example.COM>"), 0, NULL, "User@Example.COM"},
    {B("FROM: <user@example.com>"), 0, NULL, "user@example.com"},
    {B("FROM:\t <user@example.com>"), 0, NULL, "user@example.com"},
    {B("FROM:<>"), 0, NULL, ""},
    {B("FROM: <>"), 0, NULL, ""},
    {B("FROM:<first.last+tag@sub.example.co.uk>"), 0, NULL, "first.last+tag@sub.example.co.uk"},
    {B("FROM:<!#$%&'*+-/=?^_`{|}~@example.com>"), 0, NULL, "!#$%&'*+-/=?^_`{|}~@example.com"},
    {B("FROM:<\"john doe\"@example.com>"), 0, NULL, "\"john doe\"@example.com"},
    {B("FROM:<\"a\\\"b\\\\c\"@example.com>"), 0, NULL, "\"a\\\"b\\\\c\"@example.com"},
    {B("FROM:<\"\"@example.com>"), 0, NULL, "\"\"@example.com"},
    {B("FROM:<\"a>b\"@example.com>"), 0, NULL, "\"a>b\"@example.com"},
    {B("FROM:<user@[192.0.2.1]>"), 0, NULL, "user@[192.0.2.1]"},
    {B("FROM:<user@[IPv6:2001:db8::1]>"), 0, NULL, "user@[IPv6:2001:db8::1]"},
    {B("FROM:<user@[ipv6:::ffff:192.0.2.1]>"), 0, NULL, "user@[ipv6:::ffff:192.0.2.1]"},
    {B("FROM:<@relay.example,@[192.0.2.9]:user@example.com>"), 0, NULL, "user@example.com"},
    {B("FROM:<@relay.example:user@example.com>"), 0, NULL, "user@example.com"},
    {B("FROM:<j\xc3\xb6rg@b\xc3\xbc\x63her.example>"), 0, NULL,
     "j\xc3\xb6rg@b\xc3\xbc\x63her.example"},
    {B("FROM:<\"\xe7\x94\xb0\xe4\xb8\xad\"@example.jp>"), 0, NULL,
     "\"\xe7\x94\xb0\xe4\xb8\xad\"@example.jp"},
    /* senders Postfix relays although the dots are not RFC 5321 */
    {B("FROM:<foo..bar@docomo.example>"), 0, NULL, "foo..bar@docomo.example"},
    {B("FROM:<foo.@example.com>"), 0, NULL, "foo.@example.com"},
    {B("FROM:<u@my_host.example>"), 0, NULL, "u@my_host.example"},
    {B("FROM:<user@example.com> "), 0, NULL, "user@example.com"},
    /* syntax */
    {B(""), 501, "5.5.4", NULL},
    {B("FROM"), 501, "5.5.4", NULL},
    {B("FROM <a@b.c>"), 501, "5.5.4", NULL},
    {B("TO:<a@b.c>"), 501, "5.5.4", NULL},
    {B(" FROM:<a@b.c>"), 501, "5.5.4", NULL},
    /* addresses */
    {B("FROM:"), 501, "5.1.7", NULL},
    {B("FROM:user@example.com"), 501, "5.1.7", NULL},
    {B("FROM:<user@example.com"), 501, "5.1.7", NULL},
    {B("FROM:<<user@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<user@example.com>>"), 501, "5.1.7", NULL},
    {B("FROM:<user@example.com>x"), 501, "5.1.7", NULL},
    {B("FROM:<user>"), 501, "5.1.7", NULL},
    {B("FROM:<postmaster>"), 501, "5.1.7", NULL},
    {B("FROM:<@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<user@>"), 501, "5.1.7", NULL},
    {B("FROM:<user@@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<us er@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<user @example.com>"), 501, "5.1.7", NULL},
    {B("FROM:< user@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<user@example.com >"), 501, "5.1.7", NULL},
    {B("FROM:<user@exa mple.com>"), 501, "5.1.7", NULL},
    {B("FROM:<user@example..com>"), 501, "5.1.7", NULL},
    {B("FROM:<user@example.com.>"), 501, "5.1.7", NULL},
    {B("FROM:<user@.example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<us\x01r@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<user@exa\x7fmple.com>"), 501, "5.1.7", NULL},
    {B("FROM:<us\0r@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<\"a\x01\"@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<\"unterminated@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<\"a\\\x01\"@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<a(comment)@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<a,b@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<user@[192.0.2.256]>"), 501, "5.1.7", NULL},
    {B("FROM:<user@[192.0.2]>"), 501, "5.1.7", NULL},
    {B("FROM:<user@[IPv6:2001:db8::g]>"), 501, "5.1.7", NULL},
    {B("FROM:<user@[2001:db8::1]>"), 501, "5.1.7", NULL},
    {B("FROM:<user@[192.0.2.1>"), 501, "5.1.7", NULL},
    {B("FROM:<user@[]>"), 501, "5.1.7", NULL},
    {B("FROM:<@relay.example user@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<@relay.example,user@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<@:user@example.com>"), 501, "5.1.7", NULL},
    /* malformed UTF-8: lone continuation, overlong, surrogate, truncated */
    {B("FROM:<\x80@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<\xc0\xaf@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<\xed\xa0\x80@example.com>"), 501, "5.1.7", NULL},
    {B("FROM:<user@b\xc3>"), 501, "5.1.7", NULL},
    {B("FROM:<\xff@example.com>"), 501, "5.1.7", NULL},
};

static void test_mail_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mail_cases) / sizeof(mail_cases[0]); i++) {
        const struct mail_case *c = &mail_cases[i];
        struct mail_args m;
        struct command_error err = {0, NULL, NULL};
        int r;

        memset(&m, 0x55, sizeof(m));
        r = command_parse_mail(c->args, c->len, &m, &err);
        if (c->code == 0) {
            if (r != 0)
                fail_msg("MAIL case %zu: refused %d %s %s", i, err.code, err.status, err.text);
            if (strcmp(m.from, c->from) != 0)
                fail_msg("MAIL case %zu: from \"%s\", want \"%s\"", i, m.from, c->from);
            assert_int_equal(m.size, 0);
            assert_int_equal(m.body, BODY_UNSPECIFIED);
            assert_false(m.smtputf8);
            assert_int_equal(m.ret, DSN_RET_UNSPECIFIED);
            assert_string_equal(m.envid, "");
        } else {
            if (r != -1 || err.code != c->code || strcmp(err.status, c->status) != 0)
                fail_msg("MAIL case %zu: got %d %d %s, want %d %s", i, r, err.code,
                         err.status ? err.status : "-", c->code, c->status);
            assert_non_null(err.text);
            /* the output is untouched on error */
            assert_int_equal((unsigned char)m.from[0], 0x55);
        }
    }
}

struct mail_param_case {
    const char *args;
    int code;
    const char *status;
    uint64_t size;
    enum body_type body;
    bool smtputf8;
    enum dsn_ret ret;
    const char *envid;
};

static const struct mail_param_case mail_param_cases[] = {
    {"FROM:<a@b.c> SIZE=12345", 0, NULL, 12345, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> size=0", 0, NULL, 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> SIZE=18446744073709551615", 0, NULL, UINT64_MAX, BODY_UNSPECIFIED, false,
     DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> SIZE=18446744073709551616", 552, "5.3.4", 0, BODY_UNSPECIFIED, false,
     DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SIZE=99999999999999999999999", 552, "5.3.4", 0, BODY_UNSPECIFIED, false,
     DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SIZE=", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SIZE", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SIZE=-1", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SIZE=+1", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SIZE=1k", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SIZE=1 SIZE=2", 555, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     NULL},
    {"FROM:<a@b.c> BODY=7BIT", 0, NULL, 0, BODY_7BIT, false, DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> body=8bitmime", 0, NULL, 0, BODY_8BITMIME, false, DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> BODY=BinaryMIME", 0, NULL, 0, BODY_BINARYMIME, false, DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> BODY=8BIT", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> BODY=", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SMTPUTF8", 0, NULL, 0, BODY_UNSPECIFIED, true, DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> smtputf8", 0, NULL, 0, BODY_UNSPECIFIED, true, DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> SMTPUTF8=yes", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     NULL},
    {"FROM:<a@b.c> SMTPUTF8 SMTPUTF8", 555, "5.5.4", 0, BODY_UNSPECIFIED, false,
     DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> RET=FULL", 0, NULL, 0, BODY_UNSPECIFIED, false, DSN_RET_FULL, ""},
    {"FROM:<a@b.c> ret=hdrs", 0, NULL, 0, BODY_UNSPECIFIED, false, DSN_RET_HDRS, ""},
    {"FROM:<a@b.c> RET=ALL", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> RET=FULL RET=HDRS", 555, "5.5.4", 0, BODY_UNSPECIFIED, false,
     DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> ENVID=QQ314159", 0, NULL, 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     "QQ314159"},
    {"FROM:<a@b.c> ENVID=a+2Bb+3Dc", 0, NULL, 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     "a+2Bb+3Dc"},
    {"FROM:<a@b.c> ENVID=a+2bb", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     NULL},
    {"FROM:<a@b.c> ENVID=a+2", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> ENVID=a+", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> ENVID=a+GG", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     NULL},
    {"FROM:<a@b.c> ENVID=a=b", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> ENVID=\xc3\xa9", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     NULL},
    {"FROM:<a@b.c> ENVID=", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> ENVID=a ENVID=b", 555, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     NULL},
    {"FROM:<a@b.c> AUTH=<>", 0, NULL, 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> AUTH=user+40example.com", 0, NULL, 0, BODY_UNSPECIFIED, false,
     DSN_RET_UNSPECIFIED, ""},
    {"FROM:<a@b.c> AUTH=<> AUTH=<>", 555, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     NULL},
    {"FROM:<a@b.c> FOO=bar", 555, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> XYZ", 555, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> =x", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SI_ZE=1", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> -SIZE=1", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED, NULL},
    {"FROM:<a@b.c> SIZE=1\x01", 501, "5.5.4", 0, BODY_UNSPECIFIED, false, DSN_RET_UNSPECIFIED,
     NULL},
    {"FROM:<> SIZE=100 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x AUTH=<>", 0, NULL, 100,
     BODY_8BITMIME, true, DSN_RET_HDRS, "x"},
    {"FROM:<a@b.c>  \t SIZE=7 \t  body=7bit   ", 0, NULL, 7, BODY_7BIT, false, DSN_RET_UNSPECIFIED,
     ""},
};

static void test_mail_params(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mail_param_cases) / sizeof(mail_param_cases[0]); i++) {
        const struct mail_param_case *c = &mail_param_cases[i];
        struct mail_args m;
        struct command_error err = {0, NULL, NULL};
        int r = command_parse_mail(c->args, strlen(c->args), &m, &err);

        if (c->code == 0) {
            if (r != 0)
                fail_msg("param case %zu: refused %d %s %s", i, err.code, err.status, err.text);
            assert_int_equal(m.size, c->size);
            assert_int_equal(m.body, c->body);
            assert_int_equal(m.smtputf8, c->smtputf8);
            assert_int_equal(m.ret, c->ret);
            assert_string_equal(m.envid, c->envid);
        } else if (r != -1 || err.code != c->code || strcmp(err.status, c->status) != 0) {
            fail_msg("param case %zu (%s): got %d %d %s, want %d %s", i, c->args, r, err.code,
                     err.status ? err.status : "-", c->code, c->status);
        }
    }
}

static void test_mail_envid_length(void **state)
{
    char args[200];
    struct mail_args m;
    struct command_error err;
    int n;
    (void)state;

    n = snprintf(args, sizeof(args), "FROM:<a@b.c> ENVID=%0100d", 0);
    assert_int_equal(command_parse_mail(args, (size_t)n, &m, &err), 0);
    assert_int_equal(strlen(m.envid), 100);
    n = snprintf(args, sizeof(args), "FROM:<a@b.c> ENVID=%0101d", 0);
    assert_int_equal(command_parse_mail(args, (size_t)n, &m, &err), -1);
    assert_int_equal(err.code, 501);
    assert_string_equal(err.status, "5.5.4");
}

/*
 * prefix + "<" + mailbox + ">" where the mailbox is exactly total bytes: a
 * domain of up to 255 bytes (labels of 49) and a local part for the rest
 * (longer than 64 when total > 320: SRS and VERP senders exceed it).
 */
static size_t make_long_path(char *buf, size_t bufsize, const char *prefix, size_t total)
{
    size_t n = strlen(prefix), domain, local;
    assert_true(total >= 8 && n + total + 3 < bufsize);
    domain = total >= 128 ? 255 : total / 2;
    local = total - 1 - domain;
    memcpy(buf, prefix, n);
    buf[n++] = '<';
    for (size_t i = 0; i < local; i++)
        buf[n++] = 'l';
    buf[n++] = '@';
    for (size_t i = 0; i < domain; i++)
        buf[n++] = (i % 50 == 49) ? '.' : 'd';
    buf[n++] = '>';
    buf[n] = '\0';
    return n;
}

static void test_mail_long_address(void **state)
{
    char args[1024];
    struct mail_args m;
    struct command_error err;
    size_t n;
    (void)state;

    n = make_long_path(args, sizeof(args), "FROM:", ADDRESS_MAX);
    assert_int_equal(command_parse_mail(args, n, &m, &err), 0);
    assert_int_equal(strlen(m.from), ADDRESS_MAX);
    assert_memory_equal(m.from, args + 6, ADDRESS_MAX);

    n = make_long_path(args, sizeof(args), "FROM:", ADDRESS_MAX + 1);
    assert_int_equal(command_parse_mail(args, n, &m, &err), -1);
    assert_int_equal(err.code, 501);
    assert_string_equal(err.status, "5.1.7");

    /* a source route does not count against the mailbox limit */
    n = make_long_path(args, sizeof(args), "FROM:", ADDRESS_MAX);
    {
        char routed[1100];
        int rn = snprintf(routed, sizeof(routed), "FROM:<@relay.example:%s", args + 6);
        assert_true(rn > 0 && (size_t)rn < sizeof(routed));
        assert_int_equal(command_parse_mail(routed, (size_t)rn, &m, &err), 0);
        assert_int_equal(strlen(m.from), ADDRESS_MAX);
    }
}

static void test_mail_long_domain(void **state)
{
    char args[600];
    struct mail_args m;
    struct command_error err;
    int n;
    (void)state;

    /* 256-byte domain: too long even though the mailbox fits */
    char domain[300];
    memset(domain, 'd', 256);
    for (size_t i = 40; i < 256; i += 41)
        domain[i] = '.';
    domain[256] = '\0';
    n = snprintf(args, sizeof(args), "FROM:<a@%s>", domain);
    assert_int_equal(command_parse_mail(args, (size_t)n, &m, &err), -1);
    assert_int_equal(err.code, 501);
    domain[255] = '\0';
    n = snprintf(args, sizeof(args), "FROM:<a@%s>", domain);
    assert_int_equal(command_parse_mail(args, (size_t)n, &m, &err), 0);
}

/* ---- RCPT ---- */

struct rcpt_case {
    const char *args;
    size_t len;
    int code;
    const char *status;
    const char *to;
    unsigned notify;
    const char *orcpt;
};

static const struct rcpt_case rcpt_cases[] = {
    {B("TO:<user@example.com>"), 0, NULL, "user@example.com", 0, ""},
    {B("to:<user@example.com>"), 0, NULL, "user@example.com", 0, ""},
    {B("To: <user@example.com>"), 0, NULL, "user@example.com", 0, ""},
    {B("TO:<postmaster>"), 0, NULL, "postmaster", 0, ""},
    {B("TO:<PostMaster>"), 0, NULL, "PostMaster", 0, ""},
    {B("TO:<postmaster@example.com>"), 0, NULL, "postmaster@example.com", 0, ""},
    {B("TO:<@hop1,@hop2:user@example.com>"), 0, NULL, "user@example.com", 0, ""},
    {B("TO:<user@[IPv6:::1]>"), 0, NULL, "user@[IPv6:::1]", 0, ""},
    {B("TO:<\xd0\xb8\xd0\xbc\xd1\x8f@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.example>"), 0,
     NULL, "\xd0\xb8\xd0\xbc\xd1\x8f@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.example", 0,
     ""},
    {B("TO:<a@b.c> NOTIFY=NEVER"), 0, NULL, "a@b.c", DSN_NOTIFY_NEVER, ""},
    {B("TO:<a@b.c> notify=success"), 0, NULL, "a@b.c", DSN_NOTIFY_SUCCESS, ""},
    {B("TO:<a@b.c> NOTIFY=SUCCESS,FAILURE,DELAY"), 0, NULL, "a@b.c",
     DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, ""},
    {B("TO:<a@b.c> NOTIFY=delay,Failure"), 0, NULL, "a@b.c", DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY,
     ""},
    {B("TO:<a@b.c> ORCPT=rfc822;user+40example.com"), 0, NULL, "a@b.c", 0,
     "rfc822;user+40example.com"},
    {B("TO:<a@b.c> ORCPT=RFC822;a+2Bb@example.com NOTIFY=FAILURE"), 0, NULL, "a@b.c",
     DSN_NOTIFY_FAILURE, "RFC822;a+2Bb@example.com"},
    {B("TO:<a@b.c> ORCPT=utf-8;j\xc3\xb6rg@example.com"), 0, NULL, "a@b.c", 0,
     "utf-8;j\xc3\xb6rg@example.com"},
    {B("TO:<a@b.c> ORCPT=utf-8;j\\x{F6}rg@example.com"), 0, NULL, "a@b.c", 0,
     "utf-8;j\\x{F6}rg@example.com"},
    /* syntax */
    {B("<a@b.c>"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO <a@b.c>"), 501, "5.5.4", NULL, 0, NULL},
    {B("FROM:<a@b.c>"), 501, "5.5.4", NULL, 0, NULL},
    {B(""), 501, "5.5.4", NULL, 0, NULL},
    /* null path */
    {B("TO:<>"), 501, "5.1.3", NULL, 0, NULL},
    {B("TO: <>"), 501, "5.1.3", NULL, 0, NULL},
    /* bad addresses: 550 5.1.3 */
    {B("TO:"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:user@example.com"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<user@example.com"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<user>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<postmasterx>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<@hop:postmaster>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a..b@example.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<.a@example.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a.@example.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a@-example.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a@example-.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a@ex_ample.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a b@example.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a\tb@example.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a\0b@example.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a\nb@example.com>"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<a@b.c>junk"), 550, "5.1.3", NULL, 0, NULL},
    {B("TO:<\xc3\x28@example.com>"), 550, "5.1.3", NULL, 0, NULL},
    /* parameters */
    {B("TO:<a@b.c> NOTIFY=NEVER,SUCCESS"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> NOTIFY=FAILURE,NEVER"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> NOTIFY="), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> NOTIFY"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> NOTIFY=SUCCESS,"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> NOTIFY=,SUCCESS"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> NOTIFY=SOMETIMES"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> NOTIFY=NEVER NOTIFY=NEVER"), 555, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=rfc822"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=rfc822;"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=;a@b.c"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=rfc822;a+4"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=rfc822;a+40b+zz"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=rfc822;a=b"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=rfc822;j\xc3\xb6rg@example.com"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=rfc 822;a"), 501, "5.5.4", NULL, 0, NULL}, /* "822;a" becomes a keyword */
    {B("TO:<a@b.c> ORCPT=utf-8;a\\x{}b"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=utf-8;a\\b"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=utf-8;\xc3"), 501, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> ORCPT=rfc822;a ORCPT=rfc822;b"), 555, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> SIZE=10"), 555, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> FOO"), 555, "5.5.4", NULL, 0, NULL},
    {B("TO:<a@b.c> =x"), 501, "5.5.4", NULL, 0, NULL},
};

static void test_rcpt_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++) {
        const struct rcpt_case *c = &rcpt_cases[i];
        struct rcpt_args rc;
        struct command_error err = {0, NULL, NULL};
        int r;

        memset(&rc, 0x55, sizeof(rc));
        r = command_parse_rcpt(c->args, c->len, &rc, &err);
        if (c->code == 0) {
            if (r != 0)
                fail_msg("RCPT case %zu: refused %d %s %s", i, err.code, err.status, err.text);
            if (strcmp(rc.to, c->to) != 0)
                fail_msg("RCPT case %zu: to \"%s\", want \"%s\"", i, rc.to, c->to);
            assert_int_equal(rc.notify, c->notify);
            assert_string_equal(rc.orcpt, c->orcpt);
        } else {
            if (r != -1 || err.code != c->code || strcmp(err.status, c->status) != 0)
                fail_msg("RCPT case %zu: got %d %d %s, want %d %s", i, r, err.code,
                         err.status ? err.status : "-", c->code, c->status);
            assert_int_equal((unsigned char)rc.to[0], 0x55);
        }
    }
}

static void test_rcpt_long(void **state)
{
    char args[1200];
    struct rcpt_args rc;
    struct command_error err;
    size_t n;
    int m;
    (void)state;

    n = make_long_path(args, sizeof(args), "TO:", ADDRESS_MAX);
    assert_int_equal(command_parse_rcpt(args, n, &rc, &err), 0);
    assert_int_equal(strlen(rc.to), ADDRESS_MAX);

    n = make_long_path(args, sizeof(args), "TO:", ADDRESS_MAX + 1);
    assert_int_equal(command_parse_rcpt(args, n, &rc, &err), -1);
    assert_int_equal(err.code, 550);
    assert_string_equal(err.status, "5.1.3");

    /* ORCPT: the longest value the field holds, then one byte more */
    {
        size_t max = sizeof(rc.orcpt) - 1;
        char value[600];
        memcpy(value, "rfc822;", 7);
        memset(value + 7, 'x', sizeof(value) - 7);
        value[max] = '\0';
        m = snprintf(args, sizeof(args), "TO:<a@b.c> ORCPT=%s", value);
        assert_int_equal(command_parse_rcpt(args, (size_t)m, &rc, &err), 0);
        assert_int_equal(strlen(rc.orcpt), max);
        value[max] = 'x';
        value[max + 1] = '\0';
        m = snprintf(args, sizeof(args), "TO:<a@b.c> ORCPT=%s", value);
        assert_int_equal(command_parse_rcpt(args, (size_t)m, &rc, &err), -1);
        assert_int_equal(err.code, 501);
        assert_string_equal(err.status, "5.5.4");
        value[501] = '\0';
        m = snprintf(args, sizeof(args), "TO:<a@b.c> ORCPT=%s", value);
        assert_int_equal(command_parse_rcpt(args, (size_t)m, &rc, &err), -1);
        assert_int_equal(err.code, 501);
    }
}

/* ---- BDAT ---- */

struct bdat_case {
    const char *args;
    int ok;
    uint64_t size;
    bool last;
};

static const struct bdat_case bdat_cases[] = {
    {"0", 1, 0, false},
    {"1000", 1, 1000, false},
    {"1000 LAST", 1, 1000, true},
    {"1000 last", 1, 1000, true},
    {"1000 LaSt", 1, 1000, true},
    {"0 LAST", 1, 0, true},
    {"1000 \t LAST", 1, 1000, true},
    {"1000 LAST  ", 1, 1000, true},
    {"1000   ", 1, 1000, false},
    {"18446744073709551615", 1, UINT64_MAX, false},
    {"18446744073709551616", 0, 0, false},
    {"99999999999999999999999 LAST", 0, 0, false},
    {"", 0, 0, false},
    {"LAST", 0, 0, false},
    {"-1", 0, 0, false},
    {"+1", 0, 0, false},
    {"1000LAST", 0, 0, false},
    {"1000 LASTX", 0, 0, false},
    {"1000 LAS", 0, 0, false},
    {"1000 LAST LAST", 0, 0, false},
    {"1000 FIRST", 0, 0, false},
    {"10.5", 0, 0, false},
    {"0x10", 0, 0, false},
    {" 1000", 0, 0, false},
};

static void test_bdat(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bdat_cases) / sizeof(bdat_cases[0]); i++) {
        const struct bdat_case *c = &bdat_cases[i];
        uint64_t size = 77;
        bool last = false;
        struct command_error err = {0, NULL, NULL};
        int r = command_parse_bdat(c->args, strlen(c->args), &size, &last, &err);

        if (c->ok) {
            if (r != 0)
                fail_msg("BDAT case %zu (%s) refused", i, c->args);
            assert_int_equal(size, c->size);
            assert_int_equal(last, c->last);
        } else {
            if (r != -1 || err.code != 501 || strcmp(err.status, "5.5.4") != 0)
                fail_msg("BDAT case %zu (%s): got %d %d", i, c->args, r, err.code);
            assert_int_equal(size, 77);
        }
    }
    {
        uint64_t size;
        bool last;
        struct command_error err;
        assert_int_equal(command_parse_bdat("10\0", 3, &size, &last, &err), -1);
        assert_int_equal(command_parse_bdat("10 LAST\0", 8, &size, &last, &err), -1);
    }
}

/* ---- XFORWARD ---- */

static void test_xforward_fields(void **state)
{
    struct xforward xf;
    struct command_error err;
    const char *all = "NAME=mail.example.org ADDR=192.0.2.7 PORT=4711 PROTO=ESMTP "
                      "HELO=helo.example.org IDENT=4F2A1 SOURCE=REMOTE";
    (void)state;

    memset(&xf, 0, sizeof(xf));
    assert_int_equal(command_parse_xforward(all, strlen(all), &xf, &err), 0);
    assert_string_equal(xf.name, "mail.example.org");
    assert_string_equal(xf.addr, "192.0.2.7");
    assert_string_equal(xf.port, "4711");
    assert_string_equal(xf.proto, "ESMTP");
    assert_string_equal(xf.helo, "helo.example.org");
    assert_string_equal(xf.ident, "4F2A1");
    assert_string_equal(xf.source, "REMOTE");

    /* merged: later commands change only what they name */
    const char *more = "name=other.example addr=IPV6:2001:db8::5";
    assert_int_equal(command_parse_xforward(more, strlen(more), &xf, &err), 0);
    assert_string_equal(xf.name, "other.example");
    assert_string_equal(xf.addr, "2001:db8::5");
    assert_string_equal(xf.helo, "helo.example.org");

    /* [UNAVAILABLE] and [TEMPUNAVAIL] clear */
    const char *clear = "NAME=[UNAVAILABLE] HELO=[TEMPUNAVAIL] IDENT=[unavailable]";
    assert_int_equal(command_parse_xforward(clear, strlen(clear), &xf, &err), 0);
    assert_string_equal(xf.name, "");
    assert_string_equal(xf.helo, "");
    assert_string_equal(xf.ident, "");
    assert_string_equal(xf.addr, "2001:db8::5");

    /* xtext decoding, upper or lower case hex */
    const char *x = "HELO=[192.0.2.1]+20x+2b+3D IDENT=a+2Bb";
    assert_int_equal(command_parse_xforward(x, strlen(x), &xf, &err), 0);
    assert_string_equal(xf.helo, "[192.0.2.1] x+=");
    assert_string_equal(xf.ident, "a+b");

    /* UTF-8 in a value passes */
    const char *u = "HELO=b+C3+BCcher.example";
    assert_int_equal(command_parse_xforward(u, strlen(u), &xf, &err), 0);
    assert_string_equal(xf.helo, "b\xc3\xbc"
                                 "cher.example");
}

struct xforward_bad {
    const char *args;
    size_t len;
};

static const struct xforward_bad xforward_bad_cases[] = {
    {B("")},
    {B("   ")},
    {B("NAME")},
    {B("NAME=")},
    {B("=x")},
    {B("FOO=bar")},
    {B("NAME=a FOO=bar")},
    {B("NAME=a+0Db")},     /* CR after decoding */
    {B("NAME=a+00b")},     /* NUL after decoding */
    {B("NAME=a+7F")},      /* DEL */
    {B("NAME=a\x01")},     /* raw control byte */
    {B("NAME=a\0b")},      /* raw NUL */
    {B("NAME=a+4")},       /* truncated hex */
    {B("NAME=a+zz")},      /* not hex */
    {B("PORT=123456789")}, /* longer than the field */
    {B("SOURCE=REMOTEXXX")},
    {B("ADDR=IPV6:2001:0db8:0000:0000:0000:0000:0000:0001+20+20+20+20+20+20+20+20+20+20+20+20+20+"
       "20+20+20+20+20+20+20+20+20+20+20+20+20")},
};

static void test_xforward_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(xforward_bad_cases) / sizeof(xforward_bad_cases[0]); i++) {
        const struct xforward_bad *c = &xforward_bad_cases[i];
        struct xforward xf, before;
        struct command_error err = {0, NULL, NULL};

        memset(&xf, 0, sizeof(xf));
        strcpy(xf.name, "kept.example");
        before = xf;
        if (command_parse_xforward(c->args, c->len, &xf, &err) != -1 || err.code != 501 ||
            strcmp(err.status, "5.5.4") != 0)
            fail_msg("XFORWARD bad case %zu accepted or wrong code %d", i, err.code);
        /* nothing is merged from a refused command */
        assert_memory_equal(&xf, &before, sizeof(xf));
    }
}

static void test_xforward_lengths(void **state)
{
    char args[700];
    struct xforward xf;
    struct command_error err;
    char value[300];
    int n;
    (void)state;

    memset(&xf, 0, sizeof(xf));
    memset(value, 'h', sizeof(value));
    value[255] = '\0';
    n = snprintf(args, sizeof(args), "NAME=%s", value);
    assert_int_equal(command_parse_xforward(args, (size_t)n, &xf, &err), 0);
    assert_int_equal(strlen(xf.name), 255);
    value[255] = 'h';
    value[256] = '\0';
    n = snprintf(args, sizeof(args), "NAME=%s", value);
    assert_int_equal(command_parse_xforward(args, (size_t)n, &xf, &err), -1);
    assert_int_equal(err.code, 501);

    /* the length counts decoded bytes: 7 "+41" fit in PORT[8] */
    n = snprintf(args, sizeof(args), "PORT=+41+41+41+41+41+41+41");
    assert_int_equal(command_parse_xforward(args, (size_t)n, &xf, &err), 0);
    assert_string_equal(xf.port, "AAAAAAA");
    n = snprintf(args, sizeof(args), "PORT=+41+41+41+41+41+41+41+41");
    assert_int_equal(command_parse_xforward(args, (size_t)n, &xf, &err), -1);

    /* ADDR: the IPV6: prefix does not count */
    memset(value, 'a', sizeof(value));
    value[63] = '\0';
    n = snprintf(args, sizeof(args), "ADDR=IPv6:%s", value);
    assert_int_equal(command_parse_xforward(args, (size_t)n, &xf, &err), 0);
    assert_int_equal(strlen(xf.addr), 63);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verbs),
        cmocka_unit_test(test_verb_max_line),
        cmocka_unit_test(test_mail_table),
        cmocka_unit_test(test_mail_params),
        cmocka_unit_test(test_mail_envid_length),
        cmocka_unit_test(test_mail_long_address),
        cmocka_unit_test(test_mail_long_domain),
        cmocka_unit_test(test_rcpt_table),
        cmocka_unit_test(test_rcpt_long),
        cmocka_unit_test(test_bdat),
        cmocka_unit_test(test_xforward_fields),
        cmocka_unit_test(test_xforward_bad),
        cmocka_unit_test(test_xforward_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
