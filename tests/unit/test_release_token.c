/*
 * test_release_token: the signed release tokens of the digest links. A
 * token verifies with its key and fields, expires at its expiry, and
 * fails (forged) when any byte of the MAIL_ID, recipient or expiry
 * changes, when the MAC or the key changes; malformed input (bad
 * characters, lengths) is refused; the key file is made 0600 when
 * missing and read back.
 */
#include "common/release_token.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const unsigned char KEY[] = "0123456789abcdef0123456789abcdef";
#define KEY_LEN (sizeof(KEY) - 1)
#define ID      "k3j9x0aa12bc"
#define RCPT    "bob@example.test"
#define EXPIRY  ((int64_t)1800000000)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void decode(const char *tok, unsigned char *raw, size_t *n)
{
    uint32_t acc = 0;
    int bits = 0;
    *n = 0;
    for (const char *p = tok; *p; p++) {
        acc = (acc << 6) | (uint32_t)(strchr(b64url, *p) - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[(*n)++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
}

static void encode(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

static enum release_token_status check(const char *tok, int64_t now)
{
    char id[MAIL_ID_LEN + 1], rcpt[ADDRESS_MAX + 1];
    int64_t exp;
    return release_token_verify(KEY, KEY_LEN, tok, now, id, rcpt, &exp);
}

static void test_roundtrip(void **state)
{
    (void)state;
    char tok[RELEASE_TOKEN_MAX];
    assert_int_equal(release_token_make(KEY, KEY_LEN, ID, RCPT, EXPIRY, tok, sizeof(tok)), 0);
    for (const char *p = tok; *p; p++)
        assert_non_null(strchr(b64url, *p)); /* URL-safe, no padding */
    char id[MAIL_ID_LEN + 1], rcpt[ADDRESS_MAX + 1];
    int64_t exp;
    assert_int_equal(release_token_verify(KEY, KEY_LEN, tok, EXPIRY - 1, id, rcpt, &exp),
                     RELEASE_TOKEN_OK);
    assert_string_equal(id, ID);
    assert_string_equal(rcpt, RCPT);
    assert_int_equal(exp, EXPIRY);
}

static void test_expires(void **state)
{
    (void)state;
    char tok[RELEASE_TOKEN_MAX];
    assert_int_equal(release_token_make(KEY, KEY_LEN, ID, RCPT, EXPIRY, tok, sizeof(tok)), 0);
    assert_int_equal(check(tok, EXPIRY), RELEASE_TOKEN_EXPIRED);
    assert_int_equal(check(tok, EXPIRY + 86400), RELEASE_TOKEN_EXPIRED);
    assert_int_equal(check(tok, EXPIRY - 1), RELEASE_TOKEN_OK);
}

/* Every byte of every field, and of the MAC, changed in turn: forged. */
static void test_any_byte_changed(void **state)
{
    (void)state;
    char tok[RELEASE_TOKEN_MAX];
    assert_int_equal(release_token_make(KEY, KEY_LEN, ID, RCPT, EXPIRY, tok, sizeof(tok)), 0);
    unsigned char raw[512];
    size_t n;
    decode(tok, raw, &n);
    assert_int_equal(n, MAIL_ID_LEN + 8 + strlen(RCPT) + 32);
    for (size_t i = 0; i < n; i++) {
        for (unsigned flip = 1; flip < 256; flip <<= 1) {
            unsigned char bad[512];
            memcpy(bad, raw, n);
            bad[i] ^= (unsigned char)flip;
            char t[RELEASE_TOKEN_MAX];
            encode(bad, n, t);
            enum release_token_status s = check(t, EXPIRY - 100);
            if (s != RELEASE_TOKEN_FORGED)
                fail_msg("byte %zu ^ %#x: status %d", i, flip, (int)s);
        }
    }
    /* a longer expiry, a different recipient, re-encoded without a new
     * MAC: forged too */
    unsigned char later[512];
    memcpy(later, raw, n);
    later[MAIL_ID_LEN + 3] = 0x7f;
    char t[RELEASE_TOKEN_MAX];
    encode(later, n, t);
    assert_int_equal(check(t, EXPIRY - 100), RELEASE_TOKEN_FORGED);
    /* cut or extended */
    encode(raw, n - 1, t);
    assert_int_equal(check(t, EXPIRY - 100), RELEASE_TOKEN_FORGED);
}

static void test_other_key(void **state)
{
    (void)state;
    char tok[RELEASE_TOKEN_MAX];
    static const unsigned char other[] = "0123456789abcdef0123456789abcdeF";
    assert_int_equal(release_token_make(other, KEY_LEN, ID, RCPT, EXPIRY, tok, sizeof(tok)), 0);
    assert_int_equal(check(tok, EXPIRY - 1), RELEASE_TOKEN_FORGED);
}

static void test_malformed(void **state)
{
    (void)state;
    assert_int_equal(check("", 0), RELEASE_TOKEN_MALFORMED);
    assert_int_equal(check("abc", 0), RELEASE_TOKEN_MALFORMED);
    assert_int_equal(check("a+b/c=", 0), RELEASE_TOKEN_MALFORMED);
    char tok[RELEASE_TOKEN_MAX];
    assert_int_equal(release_token_make(KEY, KEY_LEN, ID, RCPT, EXPIRY, tok, sizeof(tok)), 0);
    tok[5] = '%';
    assert_int_equal(check(tok, 0), RELEASE_TOKEN_MALFORMED);
    char big[2 * RELEASE_TOKEN_MAX];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(check(big, 0), RELEASE_TOKEN_MALFORMED);
    /* what make refuses */
    assert_int_equal(release_token_make(KEY, KEY_LEN, "short", RCPT, EXPIRY, tok, sizeof(tok)), -1);
    assert_int_equal(release_token_make(KEY, KEY_LEN, ID, "", EXPIRY, tok, sizeof(tok)), -1);
    assert_int_equal(release_token_make(KEY, KEY_LEN, ID, "a b@x", EXPIRY, tok, sizeof(tok)), -1);
    assert_int_equal(release_token_make(KEY, 8, ID, RCPT, EXPIRY, tok, sizeof(tok)), -1);
    assert_int_equal(release_token_make(KEY, KEY_LEN, ID, RCPT, EXPIRY, tok, 10), -1);
}

static void test_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_release_token.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/web.key", dir);
    unsigned char key[RELEASE_KEY_MAX];
    size_t len = 0;
    char err[256];
    assert_int_equal(release_key_load(path, false, key, &len, err, sizeof(err)), -1);
    assert_int_equal(release_key_load(path, true, key, &len, err, sizeof(err)), 0);
    assert_int_equal(len, 64);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    unsigned char again[RELEASE_KEY_MAX];
    size_t len2 = 0;
    assert_int_equal(release_key_load(path, true, again, &len2, err, sizeof(err)), 0);
    assert_int_equal(len2, len);
    assert_memory_equal(again, key, len); /* not made anew */
    /* too short */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("short\n", f);
    fclose(f);
    assert_int_equal(release_key_load(path, true, key, &len, err, sizeof(err)), -1);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),        cmocka_unit_test(test_expires),
        cmocka_unit_test(test_any_byte_changed), cmocka_unit_test(test_other_key),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
