/*
 * release_token: the signed release links of the quarantine digest
 * (SPEC sections 13 and 14). A token names one message (MAIL_ID), one
 * recipient and an expiry time, and carries an HMAC-SHA256 over exactly
 * those with the key of [web] secret_file:
 *
 *   token = base64url(MAIL_ID (12 bytes) | expiry (8 bytes, big-endian
 *           seconds since the epoch) | recipient (1..ADDRESS_MAX bytes)
 *           | HMAC-SHA256(key, the bytes before it) (32 bytes)), no padding
 *
 * release_token_make() and release_token_verify() are pure and
 * thread-safe; the MAC is compared in constant time and checked before
 * anything else is trusted. release_key_load() reads the key file (I/O).
 */
#ifndef LMTPSCAN_RELEASE_TOKEN_H
#define LMTPSCAN_RELEASE_TOKEN_H

#include "common/envelope.h"
#include "common/mail_id.h"

#include <stddef.h>
#include <stdint.h>

#define RELEASE_KEY_MIN   16   /* bytes of key at least */
#define RELEASE_KEY_MAX   1024 /* bytes of key file read at most */
#define RELEASE_TOKEN_MAX (4 * ((MAIL_ID_LEN + 8 + ADDRESS_MAX + 32 + 2) / 3) + 1)

enum release_token_status {
    RELEASE_TOKEN_OK,
    RELEASE_TOKEN_MALFORMED, /* not base64url, wrong length, bad fields */
    RELEASE_TOKEN_FORGED,    /* the MAC does not match */
    RELEASE_TOKEN_EXPIRED,   /* genuine, but past its expiry */
};

/* Writes the token of (mail_id, rcpt, expiry) into out (at least
 * RELEASE_TOKEN_MAX bytes). 0, or -1 for a bad mail_id, an empty or too
 * long rcpt, a short key or a small out. */
int release_token_make(const unsigned char *key, size_t key_len, const char *mail_id,
                       const char *rcpt, int64_t expiry, char *out, size_t out_len);

/* Checks token against key at time now. On RELEASE_TOKEN_OK (and on
 * RELEASE_TOKEN_EXPIRED) mail_id, rcpt and *expiry hold the token's
 * fields; otherwise they are empty. */
enum release_token_status release_token_verify(const unsigned char *key, size_t key_len,
                                               const char *token, int64_t now,
                                               char mail_id[MAIL_ID_LEN + 1],
                                               char rcpt[ADDRESS_MAX + 1], int64_t *expiry);

/* Reads the key file (its bytes up to RELEASE_KEY_MAX, a final newline
 * dropped). When it does not exist and create is true, makes one (0600,
 * 32 random bytes as 64 hex digits). 0, or -1 with err. */
int release_key_load(const char *path, bool create, unsigned char *key, size_t *key_len, char *err,
                     size_t err_len);

#endif
