/*
 * spool: one message's bytes as received (after dot-unstuffing). The first
 * SPOOL_MEMORY bytes stay in memory; past that the message goes to an
 * unnamed file in the spool directory (O_TMPFILE, or a name unlinked at
 * once), so a session's memory is constant whatever the size and nothing
 * is left behind by any exit path, a crash included.
 *
 * One writer; once finished, any number of threads may read concurrently
 * (spool_pread, spool_fd). Errors return -1 with errno set (ENOSPC and
 * EDQUOT mean disk full).
 */
#ifndef LMTPSCAN_SPOOL_H
#define LMTPSCAN_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPOOL_MEMORY       (64 * 1024)
#define SPOOL_MEMORY_FIRST (16 * 1024) /* what a spool holds before it grows */

struct spool;

struct spool *spool_new(const char *dir);
void spool_free(struct spool *sp);
/* Empties the spool for the next transaction (the file goes away). */
void spool_reset(struct spool *sp);

int spool_write(struct spool *sp, const void *data, size_t len);
/* Writes everything read from fd up to its end (message files). */
int spool_write_fd(struct spool *sp, int fd);
/* Flushes buffered bytes to the file (if any); call before reading. */
int spool_finish(struct spool *sp);

uint64_t spool_size(const struct spool *sp);
/* Reads up to len bytes at off; returns bytes read (0 at end) or -1. */
ssize_t spool_pread(const struct spool *sp, void *buf, size_t len, uint64_t off);
/* The file descriptor, or -1 while the message is only in memory. */
int spool_fd(const struct spool *sp);
/* The bytes when the message is only in memory, else NULL. */
const char *spool_memory(const struct spool *sp);
/* SHA-256 of all bytes written, as 64 lowercase hex digits + NUL; valid
 * after spool_finish(). */
void spool_sha256_hex(const struct spool *sp, char out[65]);

#endif
