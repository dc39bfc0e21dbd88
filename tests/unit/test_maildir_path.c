/*
 * test_maildir_path: maildir_path_expand() of canonical addresses (parsed
 * by address_parse() as at RCPT) against a table of ordinary and hostile
 * addresses (traversal, dot files, slashes, control bytes, '%', quoted
 * local parts, UTF-8, details with one or several delimiters), the output
 * limit and NAME_MAX, maildir_root(), and an exhaustive check over short
 * generated addresses that no accepted result ever leaves the template's
 * directory structure.
 */
#include "deliver/maildir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define OUT_MAX 512

/* The address does not parse: refused at RCPT before any template. */
#define NOT_PARSED (-1)

struct path_case {
    const char *template;
    const char *address;
    const char *delimiters;
    int result;           /* enum maildir_path_result or NOT_PARSED */
    const char *expected; /* for MAILDIR_PATH_OK */
};

/* Parses address as RCPT does, then expands template for it. */
static int expand(const char *template, const char *address, const char *delimiters, char *out,
                  size_t out_len)
{
    struct address a;
    if (address_parse(&a, address, strlen(address), delimiters, NULL) != ADDRESS_OK) {
        if (out_len > 0)
            out[0] = '\0';
        return NOT_PARSED;
    }
    return (int)maildir_path_expand(template, &a, out, out_len);
}

static const struct path_case cases[] = {
    /* ordinary addresses, lower-cased parts, template case kept */
    {"/v/%d/%n/Maildir", "User@Example.COM", "+", MAILDIR_PATH_OK, "/v/example.com/user/Maildir"},
    {"/V/%n/Maildir", "a@x", "+", MAILDIR_PATH_OK, "/V/a/Maildir"},
    {"/v/%u", "User@X.Org", "+", MAILDIR_PATH_OK, "/v/user@x.org"},
    {"/v/%u", "a+b@x", "+", MAILDIR_PATH_OK, "/v/a+b@x"},
    {"/v/%%/%n", "a@x", "+", MAILDIR_PATH_OK, "/v/%/a"},
    {"/v/%n.%d", "a.@x", "+", MAILDIR_PATH_OK, "/v/a..x"},
    {"/v/%n", "a.b@x", "+", MAILDIR_PATH_OK, "/v/a.b"},
    {"/v/%d/%n", "a@b@x", "+", NOT_PARSED, NULL},
    {"/v/shared", "anything", "+", MAILDIR_PATH_OK, "/v/shared"},
    {"/v/shared", "../x@y", "+", MAILDIR_PATH_OK, "/v/shared"},
    {"", "a@x", "+", MAILDIR_PATH_OK, ""},
    {"/v/%x/%n%", "a@x", "+", MAILDIR_PATH_OK, "/v/%x/a%"},

    /* detail */
    {"/v/%d/%n", "user+tag@x.org", "+", MAILDIR_PATH_OK, "/v/x.org/user"},
    {"/v/%n/%e", "user+Tag@x", "+", MAILDIR_PATH_OK, "/v/user/tag"},
    {"/v/%n/%e", "user+a+b@x", "+", MAILDIR_PATH_OK, "/v/user/a+b"},
    {"/v/%n/%e", "user@x", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%n/%e", "user+@x", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%n", "+tag@x", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%e", "+tag@x", "+", MAILDIR_PATH_OK, "/v/tag"},
    {"/v/%n/%e", "a-b+c@x", "+-", MAILDIR_PATH_OK, "/v/a/b+c"},
    {"/v/%n/%e", "a+b-c@x", "+-", MAILDIR_PATH_OK, "/v/a/b-c"},
    {"/v/%n/%e", "a+b-c@x", "-+", MAILDIR_PATH_OK, "/v/a/b-c"},
    {"/v/%n", "a+b@x", "", MAILDIR_PATH_OK, "/v/a+b"},
    {"/v/%n", "a+b@x", NULL, MAILDIR_PATH_OK, "/v/a+b"},
    {"/v/%n", "a+b@x", "-", MAILDIR_PATH_OK, "/v/a+b"},
    {"/v/%d", "a+b@x+y", "+", MAILDIR_PATH_OK, "/v/x+y"},
    {"/v/%n", "a+../x@y", "+", MAILDIR_PATH_OK, "/v/a"},
    {"/v/%n/%e", "a+../x@y", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%e", "a+.x@y", "+", MAILDIR_PATH_UNSAFE, NULL},

    /* traversal and unsafe bytes in a used part */
    {"/v/%d/%n", "../x@y", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%d", "../x@y", "+", MAILDIR_PATH_OK, "/v/y"},
    {"/v/%d/%n", "a@../../etc", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "a@../../etc", "+", MAILDIR_PATH_OK, "/v/a"},
    {"/v/%n", "..@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", ".@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", ".hidden@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "a..b@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "a/b@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%d", "a@b/c", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%d", "a@.x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%u", "../x@y", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%u", "a@b/c", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%u", "a@x/..", "+", MAILDIR_PATH_UNSAFE, NULL},
    /* control bytes: the parser refuses them before any template */
    {"/v/%n",
     "a\x01"
     "b@x",
     "+", NOT_PARSED, NULL},
    {"/v/%n", "a\x1f@x", "+", NOT_PARSED, NULL},
    {"/v/%n", "a\x7f@x", "+", NOT_PARSED, NULL},
    {"/v/%n", "a\nb@x", "+", NOT_PARSED, NULL},
    {"/v/%n", "a\tb@x", "+", NOT_PARSED, NULL},
    {"/v/%n", "a\rb@x", "+", NOT_PARSED, NULL},
    {"/v/%d", "a@x\x1b", "+", NOT_PARSED, NULL},
    {"/v/%e", "a+b\x01@x", "+", NOT_PARSED, NULL},
    {"/v/shared", "a\nb@x", "+", NOT_PARSED, NULL},
    {"/v/%n", "a\\b@x", "+", MAILDIR_PATH_OK, "/v/a\\b"},

    /* '%' in the address is a plain byte, never expanded again */
    {"/v/%n", "a%d@x", "+", MAILDIR_PATH_OK, "/v/a%d"},
    {"/v/%n", "50%@x", "+", MAILDIR_PATH_OK, "/v/50%"},
    {"/v/%d/%n", "%n%u@%d", "+", MAILDIR_PATH_OK, "/v/%d/%n%u"},

    /* UTF-8: bytes >= 0x80 are kept as they are */
    {"/v/%n", "J\xc3\xb6rg@x", "+", MAILDIR_PATH_OK, "/v/j\xc3\xb6rg"},
    {"/v/%n", "\xc3\x96\xe2\x82\xac@x", "+", MAILDIR_PATH_OK, "/v/\xc3\x96\xe2\x82\xac"},
    {"/v/%d", "a@\xe4\xbe\x8b\xe3\x81\x88.jp", "+", MAILDIR_PATH_OK,
     "/v/\xe4\xbe\x8b\xe3\x81\x88.jp"},

    /* missing or empty parts */
    {"/v/%n", "postmaster", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%d", "postmaster", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%e", "a+b", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%u", "Postmaster", "+", MAILDIR_PATH_OK, "/v/postmaster"},
    {"/v/%u", "", "+", NOT_PARSED, NULL},
    {"/v/%n", "@x", "+", NOT_PARSED, NULL},
    {"/v/%d", "a@", "+", NOT_PARSED, NULL},
    {"/v/%n", "a@", "+", NOT_PARSED, NULL},

    /* quoted local parts: unquoted, then the same rules */
    {"/v/%n", "\"A B\"@x", "+", MAILDIR_PATH_OK, "/v/a b"},
    {"/v/%u", "\"A B\"@x", "+", MAILDIR_PATH_OK, "/v/a b@x"},
    {"/v/%n", "\"a@b\"@x", "+", MAILDIR_PATH_OK, "/v/a@b"},
    {"/v/%n", "\"a\\\"b\"@x", "+", MAILDIR_PATH_OK, "/v/a\"b"},
    {"/v/%n/%e", "\"a+b c\"@x", "+", MAILDIR_PATH_OK, "/v/a/b c"},
    {"/v/%n", "\"../x\"@y", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "\".x\"@y", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "\"a\\/b\"@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "\"a/b\"@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "\"a\\\x01\"@x", "+", NOT_PARSED, NULL},
    {"/v/%n", "\"\"@x", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%n", "\"a\"b\"@x", "+", NOT_PARSED, NULL},
    {"/v/%n", "\"a\\\"@x", "+", NOT_PARSED, NULL},
    {"/v/%d", "\"a\"b\"@x", "+", NOT_PARSED, NULL},
    {"/v/shared", "\"a\"b\"@x", "+", NOT_PARSED, NULL},
    {"/v/%d/%n", "\"CEO\"@Example.com", "+", MAILDIR_PATH_OK, "/v/example.com/ceo"},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct path_case *c = &cases[i];
        char out[OUT_MAX];
        memset(out, 'Z', sizeof out);
        int rc = expand(c->template, c->address, c->delimiters, out, sizeof out);
        if (rc != c->result || (c->expected && strcmp(out, c->expected) != 0) ||
            (!c->expected && out[0] != '\0')) {
            print_error("case %zu: template \"%s\" address \"%s\": got %d \"%s\", want %d "
                        "\"%s\"\n",
                        i, c->template, c->address, (int)rc, out, (int)c->result,
                        c->expected ? c->expected : "");
            fail();
        }
    }
}

static void test_output_limit(void **state)
{
    (void)state;
    char out[8];
    /* "/v/abc" is 6 bytes: 7 with the NUL fit exactly, 6 do not */
    assert_int_equal(expand("/v/%n", "abc@x", "+", out, 7), MAILDIR_PATH_OK);
    assert_string_equal(out, "/v/abc");
    memset(out, 'Z', sizeof out);
    assert_int_equal(expand("/v/%n", "abc@x", "+", out, 6), MAILDIR_PATH_TOO_LONG);
    assert_string_equal(out, "");
    assert_int_equal(expand("/verylongroot/", "abc@x", "+", out, sizeof out),
                     MAILDIR_PATH_TOO_LONG);
    assert_string_equal(out, "");
    assert_int_equal(expand("%%", "a@x", "+", out, 2), MAILDIR_PATH_OK);
    assert_string_equal(out, "%");
    assert_int_equal(expand("/v", "a@x", "+", out, 0), MAILDIR_PATH_TOO_LONG);

    /* an absurdly long address never overflows anything */
    static char huge[20000];
    memset(huge, 'a', sizeof huge - 3);
    memcpy(huge + sizeof huge - 3, "@x", 3);
    char big[OUT_MAX];
    assert_int_not_equal(expand("/v/%n", huge, "+", big, sizeof big), MAILDIR_PATH_OK);
    assert_string_equal(big, "");
}

/* Builds n bytes of c followed by tail into out. */
static const char *repeat(char *out, size_t out_len, char c, size_t n, const char *tail)
{
    assert_true(n + strlen(tail) < out_len);
    memset(out, c, n);
    snprintf(out + n, out_len - n, "%s", tail);
    return out;
}

/* A directory name longer than NAME_MAX cannot exist: refused up front
 * (550 5.1.3 at RCPT) instead of failing at every delivery. */
static void test_name_max(void **state)
{
    (void)state;
    char addr[600], domain[300], out[OUT_MAX];
    /* a 255-byte domain: a valid directory name ... */
    repeat(domain, sizeof domain, 'd', 251, ".org");
    snprintf(addr, sizeof addr, "a@%s", domain);
    assert_int_equal(expand("/v/%d/%n", addr, "+", out, sizeof out), MAILDIR_PATH_OK);
    /* ... but not once the template adds to the same component */
    assert_int_equal(expand("/v/%d.d/%n", addr, "+", out, sizeof out), MAILDIR_PATH_TOO_LONG);
    assert_string_equal(out, "");
    /* %u of a long local part and domain: over NAME_MAX */
    repeat(addr, sizeof addr, 'l', 64, "@");
    snprintf(addr + 65, sizeof addr - 65, "%s", domain);
    assert_int_equal(expand("/v/%n", addr, "+", out, sizeof out), MAILDIR_PATH_OK);
    assert_int_equal(expand("/v/%u", addr, "+", out, sizeof out), MAILDIR_PATH_TOO_LONG);
    /* a local part over 64 octets does not even parse (RFC 5321 4.5.3.1.1) */
    repeat(addr, sizeof addr, 'l', 65, "@x");
    assert_int_equal(expand("/v/%n", addr, "+", out, sizeof out), NOT_PARSED);
    repeat(addr, sizeof addr, 'l', 300, "@x");
    assert_int_equal(expand("/v/shared", addr, "+", out, sizeof out), NOT_PARSED);
}

static void test_root(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"/var/vmail/%d/%n/Maildir", "/var/vmail"},
        {"/var/vmail/d-%d/%n", "/var/vmail"},
        {"/var/vmail/shared/Maildir", "/var/vmail/shared"},
        {"/%d/%n", "/"},
        {"/v/%%/%n", "/v"},
        {"%d", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        maildir_root(cases[i][0], out, sizeof out);
        assert_string_equal(out, cases[i][1]);
    }
    char small[4];
    maildir_root("/var/vmail/%d", small, sizeof small);
    assert_string_equal(small, "");
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

/* True when a '/'-separated component of s is "." or "..". */
static int has_dot_component(const char *s)
{
    const char *p = s;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/*
 * Every address of up to 5 bytes from a hostile alphabet, against several
 * templates: whatever is accepted adds no directory level, no "."/".."
 * component and no control byte to the template's structure.
 */
static void test_never_escapes(void **state)
{
    (void)state;
    static const char alphabet[] = {'a', '.', '/', '@', '+', '%', '"', '\\', '\x01', 'B'};
    static const char *const templates[] = {"/v/%d/%n/Maildir", "/v/%u", "/v/%n%e/x", "/v/%d/%n.%e",
                                            "/v/.%e"};
    const size_t k = sizeof alphabet;
    size_t accepted = 0;
    for (size_t len = 0; len <= 5; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++)
            total *= k;
        for (size_t n = 0; n < total; n++) {
            char address[8];
            size_t v = n;
            for (size_t i = 0; i < len; i++) {
                address[i] = alphabet[v % k];
                v /= k;
            }
            address[len] = '\0';
            for (size_t t = 0; t < sizeof templates / sizeof templates[0]; t++) {
                char out[OUT_MAX];
                if (expand(templates[t], address, "+", out, sizeof out) != MAILDIR_PATH_OK)
                    continue;
                accepted++;
                if (count_char(out, '/') != count_char(templates[t], '/') ||
                    has_dot_component(out) || strchr(out, '\x01')) {
                    print_error("template \"%s\" address \"%s\" gave \"%s\"\n", templates[t],
                                address, out);
                    fail();
                }
            }
        }
    }
    assert_true(accepted > 1000); /* the check did look at real results */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),         cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_name_max),      cmocka_unit_test(test_root),
        cmocka_unit_test(test_never_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
