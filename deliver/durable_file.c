/*
 * durable_file: crash-safe file creation (see durable_file.h).
 */
#include "deliver/durable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int durable_file_open(struct durable_file *df, const char *dir, const char *name)
{
    if (snprintf(df->final_path, sizeof(df->final_path), "%s/%s", dir, name) >=
            (int)sizeof(df->final_path) ||
        snprintf(df->tmp_path, sizeof(df->tmp_path), "%s/.%s.tmpXXXXXX", dir, name) >=
            (int)sizeof(df->tmp_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    df->fd = mkostemp(df->tmp_path, O_CLOEXEC);
    return df->fd < 0 ? -1 : 0;
}

void durable_file_abort(struct durable_file *df)
{
    int saved = errno;
    if (df->fd >= 0)
        close(df->fd);
    df->fd = -1;
    unlink(df->tmp_path);
    errno = saved;
}

int durable_file_commit(struct durable_file *df)
{
    if (fsync(df->fd) < 0)
        goto undo_tmp;
    if (close(df->fd) < 0) {
        df->fd = -1;
        goto undo_tmp;
    }
    df->fd = -1;
    if (rename(df->tmp_path, df->final_path) < 0)
        goto undo_tmp;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", df->final_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return fsync_dir(slash ? dir : ".");

undo_tmp:
    durable_file_abort(df);
    return -1;
}
