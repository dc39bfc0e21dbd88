/*
 * test_log: log_value(), table-driven: what a client sends becomes one
 * blank-free token with no control byte, and a value that does not fit
 * ends in "..." without half an escape.
 */
#include "common/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_escapes(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"user@example.com", "user@example.com"},
        {"", ""},
        {"\"x> rcpt=<v@x> verdict=clean\"@d", "\\\"x>\\x20rcpt=<v@x>\\x20verdict=clean\\\"@d"},
        {"a\\b", "a\\\\b"},
        {"\x1b[2J\r\n\t\x7f", "\\x1B[2J\\x0D\\x0A\\x09\\x7F"},
        {"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9\\x20\xe2\x82\xac"}, /* UTF-8 kept */
        {"\xff\xc3(\xed\xa0\x80", "\\xFF\\xC3(\\xED\\xA0\\x80"},      /* not UTF-8 */
        {"\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!"},
        {"\xe2\x82", "\\xE2\\x82"}, /* truncated sequence */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[LOG_VALUE_SIZE(64)];
        const char *got = log_value(cases[i].in, buf, sizeof(buf));
        assert_ptr_equal(got, buf);
        assert_string_equal(got, cases[i].out);
    }
    char buf[8];
    assert_string_equal(log_value(NULL, buf, sizeof(buf)), "");
}

static void test_truncation(void **state)
{
    (void)state;
    char buf[10]; /* room for 6 bytes of output plus "..." */
    assert_string_equal(log_value("abcdefghij", buf, sizeof(buf)), "abcdef...");
    assert_string_equal(log_value("abc\x01xyz", buf, sizeof(buf)), "abc...");
    assert_string_equal(log_value("ab\x01xyz", buf, sizeof(buf)), "ab\\x01...");
    /* worst case: every byte escaped still fits LOG_VALUE_SIZE */
    char in[65], out[LOG_VALUE_SIZE(64)];
    memset(in, 0x01, 64);
    in[64] = '\0';
    log_value(in, out, sizeof(out));
    assert_int_equal(strlen(out), 4 * 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
