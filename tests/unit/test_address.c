/*
 * test_address: address_parse() against a table of plain, quoted,
 * detailed, domainless, over-long and malformed addresses (every part of
 * the result checked), and address_expand() with the template escapes, a
 * small output buffer and a refusing part check.
 */
#include "common/address.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct parse_case {
    const char *in;
    const char *delimiters;
    const char *default_domain;
    enum address_status status;
    /* for ADDRESS_OK: */
    const char *mailbox, *local, *base, *detail, *domain;
};

static const struct parse_case parse_cases[] = {
    /* plain addresses: lower-cased parts, the given text kept */
    {"user@example.com", "+", NULL, ADDRESS_OK, "user@example.com", "user", "user", "",
     "example.com"},
    {"User@Example.COM", "+", NULL, ADDRESS_OK, "user@example.com", "user", "user", "",
     "example.com"},
    {"a.b@x", "+", NULL, ADDRESS_OK, "a.b@x", "a.b", "a.b", "", "x"},
    {"a@[192.0.2.1]", "+", NULL, ADDRESS_OK, "a@[192.0.2.1]", "a", "a", "", "[192.0.2.1]"},
    {"a@[IPv6:2001:db8::1]", "+", NULL, ADDRESS_OK, "a@[ipv6:2001:db8::1]", "a", "a", "",
     "[ipv6:2001:db8::1]"},
    /* UTF-8 is kept as it is; only ASCII is folded */
    {"J\xc3\x96rg@X", "+", NULL, ADDRESS_OK, "j\xc3\x96rg@x", "j\xc3\x96rg", "j\xc3\x96rg", "",
     "x"},

    /* detail: the first delimiter byte of the decoded local part */
    {"User+Tag@x", "+", NULL, ADDRESS_OK, "user+tag@x", "user+tag", "user", "tag", "x"},
    {"u+a+b@x", "+", NULL, ADDRESS_OK, "u+a+b@x", "u+a+b", "u", "a+b", "x"},
    {"u-a+b@x", "+-", NULL, ADDRESS_OK, "u-a+b@x", "u-a+b", "u", "a+b", "x"},
    {"u+a-b@x", "-+", NULL, ADDRESS_OK, "u+a-b@x", "u+a-b", "u", "a-b", "x"},
    {"u+@x", "+", NULL, ADDRESS_OK, "u+@x", "u+", "u", "", "x"},
    {"+t@x", "+", NULL, ADDRESS_OK, "+t@x", "+t", "", "t", "x"},
    {"u+t@x", "", NULL, ADDRESS_OK, "u+t@x", "u+t", "u+t", "", "x"},
    {"u+t@x", NULL, NULL, ADDRESS_OK, "u+t@x", "u+t", "u+t", "", "x"},
    {"u+t@x+y", "+", NULL, ADDRESS_OK, "u+t@x+y", "u+t", "u", "t", "x+y"},

    /* quoted local parts are decoded: "ceo" is ceo */
    {"\"ceo\"@example.com", "+", NULL, ADDRESS_OK, "ceo@example.com", "ceo", "ceo", "",
     "example.com"},
    {"\"CEO\"@Example.com", "+", NULL, ADDRESS_OK, "ceo@example.com", "ceo", "ceo", "",
     "example.com"},
    {"\"A B\"@x", "+", NULL, ADDRESS_OK, "a b@x", "a b", "a b", "", "x"},
    {"\"a@b\"@x", "+", NULL, ADDRESS_OK, "a@b@x", "a@b", "a@b", "", "x"},
    {"\"a\\\"b\"@x", "+", NULL, ADDRESS_OK, "a\"b@x", "a\"b", "a\"b", "", "x"},
    {"\"a\\\\b\"@x", "+", NULL, ADDRESS_OK, "a\\b@x", "a\\b", "a\\b", "", "x"},
    {"\"c\\eo\"@x", "+", NULL, ADDRESS_OK, "ceo@x", "ceo", "ceo", "", "x"},
    {"\"u+t\"@x", "+", NULL, ADDRESS_OK, "u+t@x", "u+t", "u", "t", "x"},
    {"\"\"@x", "+", NULL, ADDRESS_OK, "@x", "", "", "", "x"},

    /* domainless: <postmaster>, qualified only when a default is given */
    {"Postmaster", "+", NULL, ADDRESS_OK, "postmaster", "postmaster", "postmaster", "", ""},
    {"Postmaster", "+", "Mail.Example", ADDRESS_OK, "postmaster@mail.example", "postmaster",
     "postmaster", "", "mail.example"},
    {"a@x", "+", "other.example", ADDRESS_OK, "a@x", "a", "a", "", "x"},
    {"\"po stmaster\"", "+", NULL, ADDRESS_OK, "po stmaster", "po stmaster", "po stmaster", "", ""},

    /* malformed */
    {"", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"a@", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"a@b@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"\"a\"b@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"\"a\"b\"@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"\"abc@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"\"a\\\"@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"\"a\\", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"a\r\nb@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"a@x\n", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"\"a\\\x01\"@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"a\x7f@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
    {"a\tb@x", "+", NULL, ADDRESS_SYNTAX, NULL, NULL, NULL, NULL, NULL},
};

static void check_parse_case(size_t i, const struct parse_case *c)
{
    struct address a;
    memset(&a, 'Z', sizeof a);
    enum address_status st =
        address_parse(&a, c->in, strlen(c->in), c->delimiters, c->default_domain);
    if (st != c->status)
        fail_msg("case %zu \"%s\": status %d, want %d", i, c->in, (int)st, (int)c->status);
    if (st != ADDRESS_OK) {
        static const struct address empty;
        assert_memory_equal(&a, &empty, sizeof a); /* nothing half-filled */
        return;
    }
    const char *got[] = {a.mailbox, a.local, a.base, a.detail, a.domain};
    const char *want[] = {c->mailbox, c->local, c->base, c->detail, c->domain};
    static const char *const names[] = {"mailbox", "local", "base", "detail", "domain"};
    for (size_t k = 0; k < 5; k++)
        if (strcmp(got[k], want[k]) != 0)
            fail_msg("case %zu \"%s\": %s \"%s\", want \"%s\"", i, c->in, names[k], got[k],
                     want[k]);
    assert_string_equal(a.given, c->in);
    /* has_detail: a delimiter was found, even with an empty detail */
    bool delimited = c->delimiters != NULL && c->delimiters[0] != '\0' &&
                     strcspn(c->local, c->delimiters) < strlen(c->local);
    assert_int_equal(a.has_detail, delimited);
}

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++)
        check_parse_case(i, &parse_cases[i]);
}

/* Builds n bytes of c followed by tail into out. */
static const char *repeat(char *out, size_t out_len, char c, size_t n, const char *tail)
{
    assert_true(n + strlen(tail) < out_len);
    memset(out, c, n);
    snprintf(out + n, out_len - n, "%s", tail);
    return out;
}

/* RFC 5321 4.5.3.1: local part 64, domain 255, path 320 octets at most. */
static void test_lengths(void **state)
{
    (void)state;
    char buf[1024], domain[300];
    struct address a;

    /* 64 bytes of local part: fine; 65: too long, also when quoted */
    repeat(buf, sizeof buf, 'l', 64, "@x");
    assert_int_equal(address_parse(&a, buf, strlen(buf), "+", NULL), ADDRESS_OK);
    assert_int_equal(strlen(a.local), 64);
    repeat(buf, sizeof buf, 'l', 65, "@x");
    assert_int_equal(address_parse(&a, buf, strlen(buf), "+", NULL), ADDRESS_TOO_LONG);
    buf[0] = '"';
    memcpy(buf + 63, "\"@x", 4); /* "62 bytes": 64 octets as sent */
    assert_int_equal(address_parse(&a, buf, strlen(buf), "+", NULL), ADDRESS_OK);
    assert_int_equal(strlen(a.local), 62);
    repeat(buf, sizeof buf, 'l', 64, "\"@x");
    buf[0] = '"'; /* 65 octets as sent, 63 decoded: still too long */
    assert_int_equal(address_parse(&a, buf, strlen(buf), "+", NULL), ADDRESS_TOO_LONG);
    repeat(buf, sizeof buf, 'l', 300, "@x");
    assert_int_equal(address_parse(&a, buf, strlen(buf), "+", NULL), ADDRESS_TOO_LONG);

    /* a 255-byte domain: fine, and the mailbox holds all 320 bytes */
    repeat(domain, sizeof domain, 'd', 251, ".org");
    repeat(buf, sizeof buf, 'l', 64, "@");
    snprintf(buf + 65, sizeof buf - 65, "%s", domain);
    assert_int_equal(strlen(buf), ADDRESS_MAX);
    assert_int_equal(address_parse(&a, buf, strlen(buf), "+", NULL), ADDRESS_OK);
    assert_string_equal(a.mailbox, buf);
    /* 256: too long, as a given domain or as the default */
    repeat(domain, sizeof domain, 'd', 252, ".org");
    snprintf(buf, sizeof buf, "a@%s", domain);
    assert_int_equal(address_parse(&a, buf, strlen(buf), "+", NULL), ADDRESS_TOO_LONG);
    assert_int_equal(address_parse(&a, "postmaster", 10, "+", domain), ADDRESS_TOO_LONG);

    /* the length given is what counts, not a NUL further on */
    assert_int_equal(address_parse(&a, "ab@x.org", 4, "+", NULL), ADDRESS_OK);
    assert_string_equal(a.mailbox, "ab@x");
    assert_int_equal(address_parse(&a, "a\0b@x", 5, "+", NULL), ADDRESS_SYNTAX);
}

static void test_expand(void **state)
{
    (void)state;
    static const char *const cases[][4] = {
        /* template, address, delimiters, expected */
        {"%u", "User+Tag@Example.COM", "+", "user+tag@example.com"},
        {"%n", "User+Tag@Example.COM", "+", "user"},
        {"%n", "User-Tag@Example.COM", "+-", "user"},
        {"%d", "User+Tag@Example.COM", "+", "example.com"},
        {"%e", "User+Tag@Example.COM", "+", "tag"},
        {"%n@%d", "a+b@x.org", "+", "a@x.org"},
        {"100%%-%n", "a@x.org", "", "100%-a"},
        {"%x%", "a@x.org", "", "%x%"},
        {"%%u", "a@x.org", "", "%u"},
        {"spam", "a@x.org", "", "spam"},
        {"%u", "postmaster", "+", "postmaster"},
        {"%u", "\"ceo\"@Example.com", "+", "ceo@example.com"},
        {"%n", "\"a%d\"@x", "+", "a%d"}, /* a '%' from the address is not expanded again */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct address a;
        char out[256];
        assert_int_equal(address_parse(&a, cases[i][1], strlen(cases[i][1]), cases[i][2], NULL),
                         ADDRESS_OK);
        assert_int_equal(address_expand(cases[i][0], &a, NULL, NULL, out, sizeof(out)), 0);
        if (strcmp(out, cases[i][3]) != 0)
            fail_msg("%s for %s: \"%s\", want \"%s\"", cases[i][0], cases[i][1], out, cases[i][3]);
    }

    struct address a;
    char small[8];
    assert_int_equal(address_parse(&a, "longer-than-8@example.com", 25, "", NULL), ADDRESS_OK);
    assert_int_equal(address_expand("%u", &a, NULL, NULL, small, sizeof(small)), -1);
    assert_string_equal(small, "");
    assert_int_equal(address_expand("%d", &a, NULL, NULL, small, 0), -1);
}

/* A check that refuses the detail; counts what it saw. */
static int refuse_detail(const struct address *a, char escape, const char *part, void *arg)
{
    (void)a;
    (void)part;
    (*(int *)arg)++;
    return escape == 'e' ? 7 : 0;
}

static void test_expand_check(void **state)
{
    (void)state;
    struct address a;
    char out[64];
    int seen = 0;
    assert_int_equal(address_parse(&a, "u+t@x", 5, "+", NULL), ADDRESS_OK);
    assert_int_equal(address_expand("/v/%d/%n", &a, refuse_detail, &seen, out, sizeof out), 0);
    assert_string_equal(out, "/v/x/u");
    assert_int_equal(seen, 2);
    assert_int_equal(address_expand("/v/%n/%e", &a, refuse_detail, &seen, out, sizeof out), 7);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_expand_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
