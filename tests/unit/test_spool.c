/*
 * test_spool: messages of every size around the spool's boundaries (its
 * first buffer, where it grows, where it moves to a file) written in
 * chunks of several sizes: the size, where the bytes live (memory or a
 * file), every byte read back, and the SHA-256 against OpenSSL's own of
 * the same bytes; and one spool reused from a large message to a small
 * one.
 */
#include "common/spool.h"

#include <openssl/sha.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *pattern(size_t len, unsigned seed)
{
    char *p = malloc(len + 1);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (char)('a' + (i * 7 + seed) % 26);
    return p;
}

static void write_and_check(struct spool *sp, size_t len, size_t chunk, unsigned seed)
{
    char *data = pattern(len, seed);
    for (size_t off = 0; off < len; off += chunk)
        assert_int_equal(spool_write(sp, data + off, len - off < chunk ? len - off : chunk), 0);
    assert_int_equal(spool_finish(sp), 0);
    assert_int_equal(spool_size(sp), len);
    if (len <= SPOOL_MEMORY) {
        assert_int_equal(spool_fd(sp), -1);
        assert_non_null(spool_memory(sp));
        assert_memory_equal(spool_memory(sp), data, len);
    } else {
        assert_true(spool_fd(sp) >= 0);
        assert_null(spool_memory(sp));
    }
    char *back = malloc(len + 1);
    assert_non_null(back);
    size_t got = 0;
    while (got < len) {
        ssize_t n = spool_pread(sp, back + got, 5000, got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_int_equal(spool_pread(sp, back, 10, len), 0);
    assert_memory_equal(back, data, len);

    unsigned char md[SHA256_DIGEST_LENGTH];
    char want[65], hex[65];
    SHA256((const unsigned char *)data, len, md);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    spool_sha256_hex(sp, hex);
    assert_string_equal(hex, want);
    free(back);
    free(data);
}

static void test_sizes_and_chunks(void **state)
{
    (void)state;
    const size_t sizes[] = {0,
                            1,
                            SPOOL_MEMORY_FIRST - 1,
                            SPOOL_MEMORY_FIRST,
                            SPOOL_MEMORY_FIRST + 1,
                            3 * SPOOL_MEMORY_FIRST + 17,
                            SPOOL_MEMORY,
                            SPOOL_MEMORY + 1,
                            4 * SPOOL_MEMORY + 123};
    const size_t chunks[] = {1, 1000, 32768, 1 << 20};
    struct spool *sp = spool_new("/tmp");
    unsigned seed = 0;
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            if (chunks[c] == 1 && sizes[s] > SPOOL_MEMORY + 1)
                continue; /* a byte a call over 256 KB adds nothing */
            spool_reset(sp);
            write_and_check(sp, sizes[s], chunks[c], seed++);
        }
    }
    spool_free(sp);
}

/* A spool that grew (and went to a file) serves the next, small message
 * from memory again. */
static void test_reuse_after_large(void **state)
{
    (void)state;
    struct spool *sp = spool_new("/tmp");
    write_and_check(sp, 5 * SPOOL_MEMORY, 4096, 1);
    spool_reset(sp);
    write_and_check(sp, 100, 100, 2);
    spool_reset(sp);
    write_and_check(sp, SPOOL_MEMORY, 7, 3);
    spool_free(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_chunks),
        cmocka_unit_test(test_reuse_after_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
