/*
 * durable_file: write-then-rename for files that must survive a crash
 * once a reply has promised them (quarantine, reports): a unique temporary
 * name in the target directory, fsync, rename over the final name, fsync
 * of the directory. Thread-safe.
 */
#ifndef LMTPSCAN_DURABLE_FILE_H
#define LMTPSCAN_DURABLE_FILE_H

#include <stddef.h>

struct durable_file {
    int fd;
    char tmp_path[4096];
    char final_path[4096];
};

/* Creates dir/.NAME.tmpXXXXXX (mode 0600). 0, or -1 with errno. */
int durable_file_open(struct durable_file *df, const char *dir, const char *name);
/* fsync, rename to dir/NAME, fsync dir. On error the temporary file is
 * removed. 0, or -1 with errno. */
int durable_file_commit(struct durable_file *df);
/* Removes the temporary file (on a write error). */
void durable_file_abort(struct durable_file *df);
/* fsync of a directory. */
int fsync_dir(const char *dir);

#endif
