/*
 * test_maildir_path: maildir_path_expand() against a table of ordinary and
 * hostile addresses (traversal, dot files, slashes, control bytes, '%',
 * quoted local parts, UTF-8, details with one or several delimiters), the
 * output limit, and an exhaustive check over short generated addresses that
 * no accepted result ever leaves the template's directory structure.
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

struct path_case {
    const char *template;
    const char *address;
    const char *delimiters;
    enum maildir_path_result result;
    const char *expected; /* for MAILDIR_PATH_OK */
};

static const struct path_case cases[] = {
    /* ordinary addresses, lower-cased parts, template case kept */
    {"/v/%d/%n/Maildir", "User@Example.COM", "+", MAILDIR_PATH_OK, "/v/example.com/user/Maildir"},
    {"/V/%n/Maildir", "a@x", "+", MAILDIR_PATH_OK, "/V/a/Maildir"},
    {"/v/%u", "User@X.Org", "+", MAILDIR_PATH_OK, "/v/user@x.org"},
    {"/v/%u", "a+b@x", "+", MAILDIR_PATH_OK, "/v/a+b@x"},
    {"/v/%%/%n", "a@x", "+", MAILDIR_PATH_OK, "/v/%/a"},
    {"/v/%n.%d", "a.@x", "+", MAILDIR_PATH_OK, "/v/a..x"},
    {"/v/%n", "a.b@x", "+", MAILDIR_PATH_OK, "/v/a.b"},
    {"/v/%d/%n", "a@b@x", "+", MAILDIR_PATH_OK, "/v/x/a@b"},
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
    {"/v/%n",
     "a\x01"
     "b@x",
     "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "a\x1f@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "a\x7f@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "a\nb@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "a\tb@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "a\rb@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%d", "a@x\x1b", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%e", "a+b\x01@x", "+", MAILDIR_PATH_UNSAFE, NULL},
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
    {"/v/%u", "", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%n", "@x", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%d", "a@", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%n", "a@", "+", MAILDIR_PATH_OK, "/v/a"},

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
    {"/v/%n", "\"a\\\x01\"@x", "+", MAILDIR_PATH_UNSAFE, NULL},
    {"/v/%n", "\"\"@x", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%n", "\"a\"b\"@x", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%n", "\"a\\\"@x", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/%d", "\"a\"b\"@x", "+", MAILDIR_PATH_BAD_ADDRESS, NULL},
    {"/v/shared", "\"a\"b\"@x", "+", MAILDIR_PATH_OK, "/v/shared"},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct path_case *c = &cases[i];
        char out[OUT_MAX];
        memset(out, 'Z', sizeof out);
        enum maildir_path_result rc =
            maildir_path_expand(c->template, c->address, c->delimiters, out, sizeof out);
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
    assert_int_equal(maildir_path_expand("/v/%n", "abc@x", "+", out, 7), MAILDIR_PATH_OK);
    assert_string_equal(out, "/v/abc");
    memset(out, 'Z', sizeof out);
    assert_int_equal(maildir_path_expand("/v/%n", "abc@x", "+", out, 6), MAILDIR_PATH_TOO_LONG);
    assert_string_equal(out, "");
    assert_int_equal(maildir_path_expand("/verylongroot/", "abc@x", "+", out, sizeof out),
                     MAILDIR_PATH_TOO_LONG);
    assert_string_equal(out, "");
    assert_int_equal(maildir_path_expand("%%", "a@x", "+", out, 2), MAILDIR_PATH_OK);
    assert_string_equal(out, "%");
    assert_int_equal(maildir_path_expand("/v", "a@x", "+", out, 0), MAILDIR_PATH_TOO_LONG);

    /* an absurdly long address never overflows anything */
    static char huge[20000];
    memset(huge, 'a', sizeof huge - 3);
    memcpy(huge + sizeof huge - 3, "@x", 3);
    char big[OUT_MAX];
    assert_int_not_equal(maildir_path_expand("/v/%n", huge, "+", big, sizeof big), MAILDIR_PATH_OK);
    assert_string_equal(big, "");
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
                if (maildir_path_expand(templates[t], address, "+", out, sizeof out) !=
                    MAILDIR_PATH_OK)
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
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_never_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
