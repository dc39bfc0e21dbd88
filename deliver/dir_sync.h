/*
 * dir_sync: group commit of directory fsyncs. Callers that renamed or
 * linked a file into the same directory at about the same time (reports
 * into one day directory, deliveries into one Maildir's new/) share one
 * fsync of that directory instead of issuing one each.
 *
 * Owns: a fixed table of DIR_SYNC_SLOTS directories with callers inside
 * dir_sync(), identified by st_dev and st_ino, each with a ticket counter,
 * a "sync running" flag, a condition variable and an intrusive list of
 * waiting callers (records on their own stacks); two process-wide
 * counters (calls, fsyncs issued).
 *
 * Rules: a caller returns 0 only after an fsync of its directory that
 * started after the caller entered dir_sync() (so after every directory
 * change it completed before the call) has succeeded. Per directory at
 * most one fsync runs at a time; its leader runs it without the lock on
 * its own descriptor (any descriptor of a directory syncs that
 * directory) and hands the result to every waiter whose ticket it covers.
 * A caller whose ticket came after the running fsync started waits for
 * that one to end, then leads or joins the next one. No allocation; the
 * only wait is for fsyncs of the same directory (at most the running one
 * and the one covering the caller). A slot is freed when its last caller
 * leaves; with the table full a caller fsyncs directly.
 *
 * Failure modes: -1 with fsync's errno (EIO, ENOSPC, ...) to exactly the
 * callers the failed fsync covered; a later caller gets a fresh fsync.
 * Thread-safe.
 */
#ifndef LMTPSCAN_DIR_SYNC_H
#define LMTPSCAN_DIR_SYNC_H

#define DIR_SYNC_SLOTS 16

struct dir_sync_stats {
    unsigned long long calls;  /* dir_sync() calls */
    unsigned long long fsyncs; /* fsyncs issued for them */
};

/* Makes every directory entry change the caller completed in dir_fd's
 * directory before the call durable. 0, or -1 with errno. Thread-safe. */
int dir_sync(int dir_fd);

/* The process-wide counters since start. Thread-safe. */
struct dir_sync_stats dir_sync_stats(void);

/* Tests only: runs fn instead of fsync (NULL: fsync again). fn returns
 * 0, or -1 with errno. Thread-safe. */
void dir_sync_set_fsync_for_test(int (*fn)(int fd));

#endif
