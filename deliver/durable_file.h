/*
 * durable_file: write-then-rename for files that must survive a crash
 * once a reply has promised them (quarantine, reports): a unique temporary
 * name in the target directory, fsync, rename over the final name, fsync
 * of the directory.
 *
 * The target directory is base/sub: base is the configured directory and
 * trusted (opened as a path, links followed); sub (e.g. a report's
 * YYYY-MM-DD) is walked one component at a time with
 * O_NOFOLLOW|O_DIRECTORY, and every later step works through that
 * directory's descriptor, so a symbolic link planted below base can never
 * redirect the file elsewhere.
 *
 * Failure modes: -1 with errno: ELOOP for a symbolic link below base,
 * EINVAL for a ".." component, ENAMETOOLONG, or the system call's errno.
 * Thread-safe.
 */
#ifndef LMTPSCAN_DURABLE_FILE_H
#define LMTPSCAN_DURABLE_FILE_H

#include <limits.h>
#include <stddef.h>

struct durable_file {
    int fd;
    int dir_fd;
    char tmp_name[NAME_MAX + 1];
    char name[NAME_MAX + 1];
    char final_path[4096]; /* base/sub/NAME, for messages and callers */
};

/* Creates base/sub/.NAME.tmpXXXXXXXXXXXX (mode 0600); sub NULL or "" for
 * base itself. 0, or -1 with errno. */
int durable_file_open(struct durable_file *df, const char *base, const char *sub, const char *name);
/* fsync, rename to NAME, fsync the directory. On error the temporary file
 * is removed. 0, or -1 with errno. */
int durable_file_commit(struct durable_file *df);
/* Removes the temporary file (on a write error). */
void durable_file_abort(struct durable_file *df);
/* fsync of a directory. */
int fsync_dir(const char *dir);

#endif
