/*
 * maildir_dir: opening the directories of a Maildir delivery (see
 * maildir_dir.h).
 */
#include "deliver/maildir_dir.h"

#include "deliver/open_beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const maildir_subdirs[] = {"tmp", "new", "cur"};

/* Records the first failure: errnum decides disk full against I/O error. */
void maildir_fail(struct delivery *d, int errnum, const char *fmt, ...)
{
    if (d->result != MAILDIR_OK)
        return;
    d->result = (errnum == ENOSPC || errnum == EDQUOT) ? MAILDIR_DISK_FULL : MAILDIR_IO_ERROR;
    if (!d->err || d->err_len == 0)
        return;
    char reason[128];
    const char *text = errnum ? strerror_r(errnum, reason, sizeof reason) : NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->err, d->err_len, fmt, ap);
    va_end(ap);
    if (text && n >= 0 && (size_t)n < d->err_len)
        snprintf(d->err + n, d->err_len - (size_t)n, ": %s", text);
}

void maildir_missing(struct delivery *d, const char *path)
{
    if (d->result != MAILDIR_OK)
        return;
    d->result = MAILDIR_MISSING;
    if (d->err && d->err_len > 0)
        snprintf(d->err, d->err_len, "%s: no such Maildir", path);
}

void maildir_dir_init(struct dir *dir)
{
    dir->fd = -1;
    strbuf_init(&dir->path, PATH_MAX);
}

void maildir_dir_close(struct dir *dir)
{
    if (dir->fd >= 0)
        close(dir->fd);
    dir->fd = -1;
    strbuf_free(&dir->path);
}

/* mkdir -p of the trusted root (0700); every directory made has its
 * parent fsync'ed. The root is the administrator's: links are followed. */
static int make_root(struct delivery *d, const char *root)
{
    struct strbuf prefix;
    strbuf_init(&prefix, PATH_MAX);
    int rc = 0;
    size_t len = strlen(root);
    for (size_t i = 1; rc == 0 && i <= len; i++) {
        if ((i < len && root[i] != '/') || root[i - 1] == '/')
            continue;
        strbuf_reset(&prefix);
        if (strbuf_append(&prefix, root, i) < 0) {
            maildir_fail(d, ENAMETOOLONG, "mkdir %s", root);
            rc = -1;
        } else if (mkdir(prefix.data, 0700) == 0) {
            const char *slash = strrchr(prefix.data, '/');
            struct strbuf parent;
            strbuf_init(&parent, PATH_MAX);
            if (strbuf_append(&parent, prefix.data,
                              slash > prefix.data ? (size_t)(slash - prefix.data) : 1) < 0) {
                maildir_fail(d, ENAMETOOLONG, "fsync the parent of %s", prefix.data);
                rc = -1;
            } else {
                int fd = open(parent.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0 || fsync(fd) < 0) {
                    maildir_fail(d, errno, "fsync %s", parent.data);
                    rc = -1;
                }
                if (fd >= 0)
                    close(fd);
            }
            strbuf_free(&parent);
        } else if (errno != EEXIST) {
            maildir_fail(d, errno, "mkdir %s", prefix.data);
            rc = -1;
        }
    }
    strbuf_free(&prefix);
    return rc;
}

/* Opens the trusted root into dir; with create, makes it when missing. */
int maildir_open_root(struct delivery *d, const char *root, bool create, struct dir *dir)
{
    if (strbuf_puts(&dir->path, root) < 0) {
        maildir_fail(d, ENAMETOOLONG, "open %s", root);
        return -1;
    }
    dir->fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir->fd < 0 && errno == ENOENT && create && make_root(d, root) == 0)
        dir->fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir->fd >= 0)
        return 0;
    if (errno == ENOENT && !create)
        maildir_missing(d, root);
    else
        maildir_fail(d, errno, "open %s", root);
    return -1;
}

/* Makes dir the directory fd opened at rel below it: the path gets "/rel",
 * the old descriptor is closed. -1 (fd closed, dir unchanged but for its
 * path) when the path does not fit. */
static int dir_enter(struct dir *dir, int fd, const char *rel)
{
    bool slash = dir->path.len > 0 && dir->path.data[dir->path.len - 1] == '/';
    if ((!slash && strbuf_puts(&dir->path, "/") < 0) || strbuf_puts(&dir->path, rel) < 0) {
        close(fd);
        return -1;
    }
    if (dir->fd >= 0)
        close(dir->fd);
    dir->fd = fd;
    return 0;
}

/*
 * Steps from dir into its entry name (one plain component), never through
 * a symbolic link. When it does not exist: with create it is made (0700,
 * dir fsync'ed), else MAILDIR_MISSING for `shown`. -1 on failure.
 */
int maildir_step(struct delivery *d, struct dir *dir, const char *name, bool create,
                 const char *shown)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dir->fd, name, flags);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(dir->fd, name, 0700) == 0) {
            if (fsync(dir->fd) < 0) {
                maildir_fail(d, errno, "fsync %s", dir->path.data);
                return -1;
            }
        } else if (errno != EEXIST) {
            maildir_fail(d, errno, "mkdir %s/%s", dir->path.data, name);
            return -1;
        }
        fd = openat(dir->fd, name, flags);
    }
    if (fd < 0) {
        int e = errno;
        struct stat st; /* O_NOFOLLOW|O_DIRECTORY give ELOOP or ENOTDIR */
        if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            maildir_fail(d, 0, "%s/%s is a symbolic link: refused", dir->path.data, name);
        else if ((e == ENOENT || e == ENOTDIR) && !create)
            maildir_missing(d, shown);
        else
            maildir_fail(d, e, "open %s/%s", dir->path.data, name);
        return -1;
    }
    if (dir_enter(dir, fd, name) < 0) {
        maildir_fail(d, ENAMETOOLONG, "open %s/%s", dir->path.data, name);
        return -1;
    }
    return 0;
}

/* The whole of rel at once (deliver/open_beneath.h) when every directory
 * is there and none is a link; -1 with nothing changed otherwise. The
 * path shown gets rel without its leading '/'. */
static int walk_at_once(struct dir *dir, const char *rel)
{
    while (*rel == '/')
        rel++;
    int fd = open_beneath(dir->fd, rel);
    return fd < 0 ? -1 : dir_enter(dir, fd, rel);
}

/*
 * Walks dir down rel ('/'-separated, relative), one step per component;
 * "." and empty components are skipped, ".." is refused. -1 on failure.
 */
int maildir_walk(struct delivery *d, struct dir *dir, const char *rel, bool create,
                 const char *shown)
{
    char name[NAME_MAX + 1];
    if (walk_at_once(dir, rel) == 0)
        return 0;
    while (*rel != '\0') {
        size_t n = strcspn(rel, "/");
        if (n > NAME_MAX) {
            maildir_fail(d, ENAMETOOLONG, "open %s/%.*s", dir->path.data, (int)n, rel);
            return -1;
        }
        memcpy(name, rel, n);
        name[n] = '\0';
        rel += n + (rel[n] == '/');
        if (n == 0 || strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            maildir_fail(d, 0, "open %s/..: refused below the Maildir root", dir->path.data);
            return -1;
        }
        if (maildir_step(d, dir, name, create, shown) < 0)
            return -1;
    }
    return 0;
}

/* Opens the tmp/, new/, cur/ of the Maildir at m into subs (cur/ only to
 * check it is there). -1 on failure. */
int maildir_open_subdirs(struct delivery *d, const struct dir *m, bool create, struct dir *subs)
{
    for (size_t i = 0; i < N_SUBDIRS; i++) {
        if (strbuf_puts(&subs[i].path, m->path.data) < 0) {
            maildir_fail(d, ENAMETOOLONG, "open %s", m->path.data);
            return -1;
        }
        /* the common case: there, and not a link (one call, no dup) */
        int fd = openat(m->fd, maildir_subdirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            if (dir_enter(&subs[i], fd, maildir_subdirs[i]) < 0) {
                maildir_fail(d, ENAMETOOLONG, "open %s", m->path.data);
                return -1;
            }
            continue;
        }
        subs[i].fd = dup(m->fd);
        if (subs[i].fd < 0) {
            maildir_fail(d, errno, "open %s", m->path.data);
            return -1;
        }
        if (maildir_step(d, &subs[i], maildir_subdirs[i], create, m->path.data) < 0)
            return -1;
    }
    return 0;
}
