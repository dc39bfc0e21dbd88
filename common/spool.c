/*
 * spool: a message's bytes, in memory up to SPOOL_MEMORY and in an unnamed
 * file in the spool directory past that (see spool.h). The SHA-256 of the
 * message is computed as it is written, so it costs no second pass. The
 * buffer starts at SPOOL_MEMORY_FIRST and doubles up to SPOOL_MEMORY as a
 * message needs it; a reset gives a grown one back, so an idle session
 * keeps only the small one.
 *
 * Failure modes: open/write/fsync errors return -1 with errno; the spool is
 * then unusable until spool_reset().
 */
#include "common/spool.h"
#include "common/fd_io.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct spool {
    char *dir;
    char *buf;      /* buf_cap bytes: the message, or the write buffer */
    size_t buf_cap; /* SPOOL_MEMORY_FIRST .. SPOOL_MEMORY */
    size_t buf_len; /* bytes in buf not yet in the file */
    int fd;         /* -1 while in memory */
    uint64_t size;  /* bytes written in total */
    EVP_MD_CTX *sha;
    unsigned char digest[32];
    bool finished;
};

struct spool *spool_new(const char *dir)
{
    struct spool *sp = xcalloc(1, sizeof(*sp));
    sp->dir = xstrdup(dir);
    sp->buf_cap = SPOOL_MEMORY_FIRST;
    sp->buf = xmalloc(sp->buf_cap);
    sp->fd = -1;
    sp->sha = EVP_MD_CTX_new();
    if (sp->sha == NULL || EVP_DigestInit_ex(sp->sha, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "lmtpscan: cannot initialise SHA-256\n");
        abort();
    }
    return sp;
}

void spool_reset(struct spool *sp)
{
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = -1;
    if (sp->buf_cap > SPOOL_MEMORY_FIRST) {
        free(sp->buf);
        sp->buf_cap = SPOOL_MEMORY_FIRST;
        sp->buf = xmalloc(sp->buf_cap);
    }
    sp->buf_len = 0;
    sp->size = 0;
    sp->finished = false;
    if (EVP_DigestInit_ex(sp->sha, EVP_sha256(), NULL) != 1)
        abort();
}

void spool_free(struct spool *sp)
{
    if (sp == NULL)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    EVP_MD_CTX_free(sp->sha);
    free(sp->buf);
    free(sp->dir);
    free(sp);
}

/* An unnamed file: O_TMPFILE where the file system has it, else a name
 * that is unlinked at once. */
static int spool_open_file(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/spool.XXXXXX", dir) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (unlink(path) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int spool_flush(struct spool *sp)
{
    if (sp->fd < 0) {
        sp->fd = spool_open_file(sp->dir);
        if (sp->fd < 0)
            return -1;
    }
    if (write_all(sp->fd, sp->buf, sp->buf_len) < 0)
        return -1;
    sp->buf_len = 0;
    return 0;
}

int spool_write(struct spool *sp, const void *data, size_t len)
{
    const char *p = data;
    if (len && EVP_DigestUpdate(sp->sha, p, len) != 1)
        abort();
    sp->size += len;
    while (len > 0) {
        if (sp->buf_len == sp->buf_cap) {
            if (sp->fd < 0 && sp->buf_cap < SPOOL_MEMORY) {
                sp->buf_cap = sp->buf_cap * 2 < SPOOL_MEMORY ? sp->buf_cap * 2 : SPOOL_MEMORY;
                sp->buf = xrealloc(sp->buf, sp->buf_cap);
            } else if (spool_flush(sp) < 0) {
                return -1;
            }
        }
        size_t n = sp->buf_cap - sp->buf_len;
        if (n > len)
            n = len;
        memcpy(sp->buf + sp->buf_len, p, n);
        sp->buf_len += n;
        p += n;
        len -= n;
    }
    return 0;
}

int spool_finish(struct spool *sp)
{
    if (!sp->finished) {
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(sp->sha, sp->digest, &n) != 1)
            abort();
        sp->finished = true;
    }
    if (sp->fd >= 0 && sp->buf_len > 0)
        return spool_flush(sp);
    return 0;
}

int spool_write_fd(struct spool *sp, int fd)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (spool_write(sp, buf, (size_t)n) < 0)
            return -1;
    }
}

uint64_t spool_size(const struct spool *sp)
{
    return sp->size;
}

ssize_t spool_pread(const struct spool *sp, void *buf, size_t len, uint64_t off)
{
    if (off >= sp->size)
        return 0;
    if (len > sp->size - off)
        len = (size_t)(sp->size - off);
    if (sp->fd < 0) {
        memcpy(buf, sp->buf + off, len);
        return (ssize_t)len;
    }
    for (;;) {
        ssize_t n = pread(sp->fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

int spool_fd(const struct spool *sp)
{
    return sp->fd;
}

const char *spool_memory(const struct spool *sp)
{
    return sp->fd < 0 ? sp->buf : NULL;
}

void spool_sha256_hex(const struct spool *sp, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[sp->digest[i] >> 4];
        out[2 * i + 1] = hex[sp->digest[i] & 15];
    }
    out[64] = '\0';
}
