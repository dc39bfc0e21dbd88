/*
 * durable_file: crash-safe file creation below a trusted directory (see
 * durable_file.h). The temporary name carries 12 random [a-z0-9]
 * characters (mail_id_new) and is created with O_EXCL|O_NOFOLLOW. The
 * directory fsync after the rename goes through dir_sync, so concurrent
 * commits into one directory share it.
 */
#include "deliver/durable_file.h"

#include "deliver/dir_sync.h"
#include "deliver/open_beneath.h"

#include "common/log.h"
#include "common/mail_id.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_TRIES 8

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

static void close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* Opens base/sub, no link followed below base. The fd, or -1 with errno. */
static int open_below(const char *base, const char *sub)
{
    int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && sub != NULL && *sub != '\0') {
        int below = open_beneath(fd, sub); /* the common case in one call */
        if (below >= 0) {
            close(fd);
            return below;
        }
    }
    char name[NAME_MAX + 1];
    for (const char *p = sub != NULL ? sub : ""; fd >= 0 && *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n > NAME_MAX) {
            close(fd);
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        p += n + (p[n] == '/');
        if (n == 0 || strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            /* O_NOFOLLOW|O_DIRECTORY on a link: ELOOP or ENOTDIR */
            struct stat st;
            bool link = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
            if (link)
                errno = ELOOP;
            close_keep_errno(fd);
            return -1;
        }
        close(fd);
        fd = next;
    }
    return fd;
}

int durable_file_open(struct durable_file *df, const char *base, const char *sub, const char *name)
{
    df->fd = -1;
    df->dir_fd = -1;
    df->tmp_name[0] = '\0';
    bool has_sub = sub != NULL && sub[0] != '\0';
    int n = snprintf(df->final_path, sizeof(df->final_path), "%s/%s%s%s", base, has_sub ? sub : "",
                     has_sub ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof(df->final_path) ||
        snprintf(df->name, sizeof(df->name), "%s", name) >= (int)sizeof(df->name) ||
        strchr(name, '/') != NULL) {
        errno = ENAMETOOLONG;
        return -1;
    }
    df->dir_fd = open_below(base, sub);
    if (df->dir_fd < 0)
        return -1;
    for (int tries = 0; tries < TMP_TRIES; tries++) {
        char rnd[MAIL_ID_LEN + 1];
        if (mail_id_new(rnd) < 0)
            break;
        n = snprintf(df->tmp_name, sizeof(df->tmp_name), ".%s.tmp%s", name, rnd);
        if (n < 0 || (size_t)n >= sizeof(df->tmp_name)) {
            errno = ENAMETOOLONG;
            break;
        }
        df->fd = openat(df->dir_fd, df->tmp_name,
                        O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (df->fd >= 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    df->tmp_name[0] = '\0';
    close_keep_errno(df->dir_fd);
    df->dir_fd = -1;
    return -1;
}

void durable_file_abort(struct durable_file *df)
{
    int saved = errno;
    if (df->fd >= 0)
        close(df->fd);
    df->fd = -1;
    if (df->dir_fd >= 0) {
        if (df->tmp_name[0] != '\0' && unlinkat(df->dir_fd, df->tmp_name, 0) < 0 && errno != ENOENT)
            log_warn("durable_file: unlink the temporary file of %s: %s", df->final_path,
                     strerror(errno));
        close(df->dir_fd);
    }
    df->dir_fd = -1;
    errno = saved;
}

int durable_file_commit(struct durable_file *df)
{
    if (fsync(df->fd) < 0)
        goto undo_tmp;
    int closed = close(df->fd);
    df->fd = -1;
    if (closed < 0)
        goto undo_tmp;
    if (renameat(df->dir_fd, df->tmp_name, df->dir_fd, df->name) < 0)
        goto undo_tmp;
    df->tmp_name[0] = '\0';        /* nothing left to remove */
    int rc = dir_sync(df->dir_fd); /* shared with concurrent commits here */
    close_keep_errno(df->dir_fd);
    df->dir_fd = -1;
    return rc;

undo_tmp:
    durable_file_abort(df);
    return -1;
}
