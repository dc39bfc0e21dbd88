/*
 * release_token: make and verify the signed release tokens, and load
 * their key (see release_token.h).
 */
#include "common/release_token.h"

#include "common/fd_io.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAC_LEN 32
#define RAW_MAX (MAIL_ID_LEN + 8 + ADDRESS_MAX + MAC_LEN)
#define FIXED   (MAIL_ID_LEN + 8)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64url_encode(const unsigned char *in, size_t len, char *out)
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
    return o;
}

static int b64url_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

/* Decodes unpadded base64url; -1 on a bad character, length or trailing
 * bits (so each token has one spelling). */
static long b64url_decode(const char *in, size_t len, unsigned char *out, size_t out_max)
{
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= out_max)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -1;
    return (long)o;
}

static bool rcpt_ok(const unsigned char *r, size_t n)
{
    if (n == 0 || n > ADDRESS_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (r[i] <= 32 || r[i] == 127 || r[i] == '<' || r[i] == '>')
            return false;
    return true;
}

static int mac(const unsigned char *key, size_t key_len, const unsigned char *data, size_t len,
               unsigned char out[MAC_LEN])
{
    unsigned int n = MAC_LEN;
    if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) == NULL || n != MAC_LEN)
        return -1;
    return 0;
}

int release_token_make(const unsigned char *key, size_t key_len, const char *mail_id,
                       const char *rcpt, int64_t expiry, char *out, size_t out_len)
{
    size_t rlen = strlen(rcpt);
    if (key_len < RELEASE_KEY_MIN || !mail_id_valid(mail_id) ||
        !rcpt_ok((const unsigned char *)rcpt, rlen) || out_len < RELEASE_TOKEN_MAX)
        return -1;
    unsigned char raw[RAW_MAX];
    memcpy(raw, mail_id, MAIL_ID_LEN);
    uint64_t e = (uint64_t)expiry;
    for (int i = 0; i < 8; i++)
        raw[MAIL_ID_LEN + i] = (unsigned char)(e >> (56 - 8 * i));
    memcpy(raw + FIXED, rcpt, rlen);
    if (mac(key, key_len, raw, FIXED + rlen, raw + FIXED + rlen) < 0)
        return -1;
    b64url_encode(raw, FIXED + rlen + MAC_LEN, out);
    return 0;
}

enum release_token_status release_token_verify(const unsigned char *key, size_t key_len,
                                               const char *token, int64_t now,
                                               char mail_id[MAIL_ID_LEN + 1],
                                               char rcpt[ADDRESS_MAX + 1], int64_t *expiry)
{
    mail_id[0] = '\0';
    rcpt[0] = '\0';
    *expiry = 0;
    size_t tlen = strnlen(token, RELEASE_TOKEN_MAX);
    if (tlen >= RELEASE_TOKEN_MAX || key_len < RELEASE_KEY_MIN)
        return RELEASE_TOKEN_MALFORMED;
    unsigned char raw[RAW_MAX];
    long n = b64url_decode(token, tlen, raw, sizeof(raw));
    if (n < FIXED + 1 + MAC_LEN)
        return RELEASE_TOKEN_MALFORMED;
    size_t body = (size_t)n - MAC_LEN;
    unsigned char want[MAC_LEN];
    if (mac(key, key_len, raw, body, want) < 0 || CRYPTO_memcmp(want, raw + body, MAC_LEN) != 0)
        return RELEASE_TOKEN_FORGED;
    /* genuine from here on; the fields are still checked */
    char id[MAIL_ID_LEN + 1];
    memcpy(id, raw, MAIL_ID_LEN);
    id[MAIL_ID_LEN] = '\0';
    size_t rlen = body - FIXED;
    if (!mail_id_valid(id) || !rcpt_ok(raw + FIXED, rlen))
        return RELEASE_TOKEN_MALFORMED;
    uint64_t e = 0;
    for (int i = 0; i < 8; i++)
        e = (e << 8) | raw[MAIL_ID_LEN + i];
    memcpy(mail_id, id, MAIL_ID_LEN + 1);
    memcpy(rcpt, raw + FIXED, rlen);
    rcpt[rlen] = '\0';
    *expiry = (int64_t)e;
    return now >= (int64_t)e ? RELEASE_TOKEN_EXPIRED : RELEASE_TOKEN_OK;
}

static int create_key(const char *path, char *err, size_t err_len)
{
    unsigned char rnd[32];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        snprintf(err, err_len, "getrandom: %s", strerror(errno));
        return -1;
    }
    char hex[2 * sizeof(rnd) + 2];
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    hex[2 * sizeof(rnd)] = '\n';
    hex[2 * sizeof(rnd) + 1] = '\0';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0; /* made meanwhile by someone else */
        snprintf(err, err_len, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    if (write_all(fd, hex, strlen(hex)) < 0 || fsync(fd) < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

int release_key_load(const char *path, bool create, unsigned char *key, size_t *key_len, char *err,
                     size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if (create_key(path, err, err_len) < 0)
            return -1;
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, key + got, RELEASE_KEY_MAX - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, err_len, "%s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0 || (got += (size_t)n) == RELEASE_KEY_MAX)
            break;
    }
    close(fd);
    if (got > 0 && key[got - 1] == '\n')
        got--;
    if (got < RELEASE_KEY_MIN) {
        snprintf(err, err_len, "%s: a key of at least %d bytes is needed", path, RELEASE_KEY_MIN);
        return -1;
    }
    *key_len = got;
    return 0;
}
