/*
 * fd_io: whole-buffer writes to a file descriptor, retried on EINTR and
 * short writes. Used wherever a file is written (spool, quarantine,
 * Maildir copies, reports). Thread-safe.
 */
#ifndef LMTPSCAN_FD_IO_H
#define LMTPSCAN_FD_IO_H

#include <stddef.h>

/* 0 when all len bytes were written, -1 with errno set. */
int write_all(int fd, const void *data, size_t len);

#endif
