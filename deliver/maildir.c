/*
 * maildir: stores one message copy in a Maildir or a Maildir++ folder.
 *
 * Public: maildir_exists(), maildir_deliver() (see maildir.h).
 *
 * Steps: make missing directories (0700, each new one's parent fsync'ed),
 * create tmp/NAME with O_CREAT|O_EXCL (0600), let the caller's writer fill
 * it, fsync, fstat for the size, hard-link it as new/NAME,S=SIZE (never
 * replacing a file; rename with RENAME_NOREPLACE where the file system has
 * no hard links), remove tmp/NAME, fsync new/. NAME is
 * "SECONDS.M<usec>P<pid>Q<counter>.<host>" with '/' and ':' in the host
 * name written as "\057" and "\072"; the counter is process-wide and atomic.
 *
 * A folder is created when missing whenever the Maildir itself exists (its
 * maildirfolder marker too); `create` only decides whether a missing
 * Maildir is made or reported as MAILDIR_MISSING.
 *
 * Failure modes: MAILDIR_MISSING (no Maildir and create is false),
 * MAILDIR_DISK_FULL (ENOSPC or EDQUOT from any step), MAILDIR_IO_ERROR
 * (anything else, an unsafe folder name included); err names the system
 * call and the path. Any failure removes the tmp file, and a file already
 * in new/ whose directory could not be fsync'ed: a temporary failure must
 * not leave a copy behind that the retry would duplicate.
 *
 * Thread-safe: no shared state except the atomic counter.
 */
#include "deliver/maildir.h"

#include "common/log.h"
#include "common/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAILDIR_NAME_MAX   1200 /* seconds, usec, pid, counter, escaped host */
#define MAILDIR_FOLDER_MAX 200
#define MAILDIR_TRIES      8

static atomic_ulong delivery_counter;

static const char *const maildir_subdirs[] = {"tmp", "new", "cur"};

/* One delivery's state, so every step can fail the same way. */
struct delivery {
    char *err;
    size_t err_len;
    enum maildir_result result;
};

static void fail(struct delivery *d, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first failure: errnum decides disk full against I/O error. */
static void fail(struct delivery *d, int errnum, const char *fmt, ...)
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

/* A clean-up that failed: logged, the delivery's result stands. */
static void warn_unlink(const char *dir, const char *rel, int errnum)
{
    char reason[128];
    log_warn("maildir: unlink %s/%s: %s", dir, rel, strerror_r(errnum, reason, sizeof reason));
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool maildir_exists(const char *maildir)
{
    if (!maildir || !*maildir || !is_dir(maildir))
        return false;
    struct strbuf path;
    strbuf_init(&path, PATH_MAX);
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof maildir_subdirs / sizeof maildir_subdirs[0]; i++) {
        strbuf_reset(&path);
        ok = strbuf_printf(&path, "%s/%s", maildir, maildir_subdirs[i]) == 0 && is_dir(path.data);
    }
    strbuf_free(&path);
    return ok;
}

/* Same rules as the template's parts: one plain path component. */
static bool folder_is_safe(const char *folder)
{
    size_t len = strnlen(folder, MAILDIR_FOLDER_MAX + 1);
    if (len == 0 || len > MAILDIR_FOLDER_MAX || folder[0] == '.' || strstr(folder, ".."))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)folder[i];
        if (c < 0x20 || c == 0x7f || c == '/')
            return false;
    }
    return true;
}

/* fsync()s the directory that holds path (the part before the last '/'). */
static int fsync_parent(struct delivery *d, const char *path)
{
    const char *slash = strrchr(path, '/');
    struct strbuf parent;
    strbuf_init(&parent, PATH_MAX);
    int added;
    if (!slash)
        added = strbuf_puts(&parent, ".");
    else if (slash == path)
        added = strbuf_puts(&parent, "/");
    else
        added = strbuf_append(&parent, path, (size_t)(slash - path));

    int rc = -1;
    int fd = added < 0 ? -1 : open(parent.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (added < 0) {
        fail(d, ENAMETOOLONG, "fsync the parent of %s", path);
    } else if (fd < 0) {
        fail(d, errno, "open %s", parent.data);
    } else {
        if (fsync(fd) < 0)
            fail(d, errno, "fsync %s", parent.data);
        else
            rc = 0;
        close(fd);
    }
    strbuf_free(&parent);
    return rc;
}

/* mkdir -p path (0700); every directory made has its parent fsync'ed. */
static int make_dirs(struct delivery *d, const char *path)
{
    if (is_dir(path))
        return 0;
    struct strbuf prefix;
    strbuf_init(&prefix, PATH_MAX);
    int rc = 0;
    size_t len = strlen(path);
    for (size_t i = 1; rc == 0 && i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        if (path[i - 1] == '/')
            continue; /* "//" or a trailing '/' */
        strbuf_reset(&prefix);
        if (strbuf_append(&prefix, path, i) < 0) {
            fail(d, ENAMETOOLONG, "mkdir %s", path);
            rc = -1;
        } else if (mkdir(prefix.data, 0700) == 0) {
            rc = fsync_parent(d, prefix.data);
        } else if (errno != EEXIST) {
            fail(d, errno, "mkdir %s", prefix.data);
            rc = -1;
        }
    }
    if (rc == 0 && !is_dir(path)) {
        fail(d, ENOTDIR, "mkdir %s", path);
        rc = -1;
    }
    strbuf_free(&prefix);
    return rc;
}

/* Makes dir and its tmp/, new/, cur/. */
static int make_maildir(struct delivery *d, const char *dir)
{
    if (make_dirs(d, dir) < 0)
        return -1;
    struct strbuf sub;
    strbuf_init(&sub, PATH_MAX);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof maildir_subdirs / sizeof maildir_subdirs[0]; i++) {
        strbuf_reset(&sub);
        if (strbuf_printf(&sub, "%s/%s", dir, maildir_subdirs[i]) < 0) {
            fail(d, ENAMETOOLONG, "mkdir %s/%s", dir, maildir_subdirs[i]);
            rc = -1;
        } else {
            rc = make_dirs(d, sub.data);
        }
    }
    strbuf_free(&sub);
    return rc;
}

/* Creates the empty maildirfolder marker of a Maildir++ folder. */
static int mark_folder(struct delivery *d, const char *dir)
{
    struct strbuf marker;
    strbuf_init(&marker, PATH_MAX);
    int rc = 0;
    struct stat st;
    if (strbuf_printf(&marker, "%s/maildirfolder", dir) < 0) {
        fail(d, ENAMETOOLONG, "open %s/maildirfolder", dir);
        rc = -1;
    } else if (stat(marker.data, &st) < 0) {
        int fd = open(marker.data, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            fail(d, errno, "open %s", marker.data);
            rc = -1;
        } else {
            if (fsync(fd) < 0) {
                fail(d, errno, "fsync %s", marker.data);
                rc = -1;
            }
            close(fd);
            if (rc == 0)
                rc = fsync_parent(d, marker.data);
        }
    }
    strbuf_free(&marker);
    return rc;
}

/* Appends the host name with '/' and ':' escaped as octal. */
static void append_host(struct strbuf *sb)
{
    char host[256];
    if (gethostname(host, sizeof host) < 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    for (const char *h = host; *h; h++) {
        int rc;
        if (*h == '/')
            rc = strbuf_puts(sb, "\\057");
        else if (*h == ':')
            rc = strbuf_puts(sb, "\\072");
        else
            rc = strbuf_append(sb, h, 1);
        if (rc < 0)
            return; /* a bounded name; the rest is still unique */
    }
}

/* A fresh unique base name for tmp/ and new/. */
static void unique_name(struct strbuf *name)
{
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) < 0) {
        now.tv_sec = time(NULL);
        now.tv_nsec = 0;
    }
    unsigned long n = atomic_fetch_add(&delivery_counter, 1) + 1;
    strbuf_reset(name);
    if (strbuf_printf(name, "%lld.M%ldP%ldQ%lu.", (long long)now.tv_sec, now.tv_nsec / 1000,
                      (long)getpid(), n) == 0)
        append_host(name);
}

/* Creates tmp/NAME; returns the fd or -1. name and rel get NAME and tmp/NAME. */
static int create_tmp(struct delivery *d, int dirfd, const char *dir, struct strbuf *name,
                      struct strbuf *rel)
{
    for (int tries = 0; tries < MAILDIR_TRIES; tries++) {
        unique_name(name);
        strbuf_reset(rel);
        if (strbuf_printf(rel, "tmp/%s", name->data) < 0) {
            fail(d, ENAMETOOLONG, "open %s/tmp/%s", dir, name->data);
            return -1;
        }
        int fd =
            openat(dirfd, rel->data, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST) {
            fail(d, errno, "open %s/%s", dir, rel->data);
            return -1;
        }
    }
    fail(d, EEXIST, "open %s/tmp: no unique name", dir);
    return -1;
}

/* Moves tmp/NAME to new/NAME,S=SIZE without replacing anything. */
static int move_to_new(struct delivery *d, int dirfd, const char *dir, const char *tmp_rel,
                       const char *name, long long size, struct strbuf *new_rel)
{
    struct strbuf fresh;
    strbuf_init(&fresh, MAILDIR_NAME_MAX);
    int rc = -1;
    for (int tries = 0; tries < MAILDIR_TRIES; tries++) {
        strbuf_reset(new_rel);
        if (tries > 0)
            unique_name(&fresh); /* new/NAME was taken: pick another */
        if (strbuf_printf(new_rel, "new/%s,S=%lld", tries ? fresh.data : name, size) < 0) {
            fail(d, ENAMETOOLONG, "link %s/%s", dir, tmp_rel);
            break;
        }
        if (linkat(dirfd, tmp_rel, dirfd, new_rel->data, 0) == 0) {
            if (unlinkat(dirfd, tmp_rel, 0) < 0)
                warn_unlink(dir, tmp_rel, errno);
            rc = 0;
            break;
        }
        int e = errno;
        if (e == EPERM || e == ENOSYS || e == EOPNOTSUPP) {
            /* No hard links here: rename, still refusing to replace. */
            if (renameat2(dirfd, tmp_rel, dirfd, new_rel->data, RENAME_NOREPLACE) == 0) {
                rc = 0;
                break;
            }
            e = errno;
        }
        if (e != EEXIST) {
            fail(d, e, "link %s/%s to %s/%s", dir, tmp_rel, dir, new_rel->data);
            break;
        }
    }
    if (rc < 0)
        fail(d, EEXIST, "link %s/%s: no unique name in new/", dir, tmp_rel);
    strbuf_free(&fresh);
    return rc;
}

static int fsync_subdir(struct delivery *d, int dirfd, const char *dir, const char *sub)
{
    int fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fail(d, errno, "open %s/%s", dir, sub);
        return -1;
    }
    int rc = fsync(fd);
    if (rc < 0)
        fail(d, errno, "fsync %s/%s", dir, sub);
    close(fd);
    return rc;
}

/* Writes, syncs and publishes one file in the Maildir at dir. */
static void store(struct delivery *d, const char *dir, maildir_writer_fn writer, void *arg,
                  char *dest, size_t dest_len)
{
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fail(d, errno, "open %s", dir);
        return;
    }
    struct strbuf name, tmp_rel, new_rel, final;
    strbuf_init(&name, MAILDIR_NAME_MAX);
    strbuf_init(&tmp_rel, MAILDIR_NAME_MAX + 8);
    strbuf_init(&new_rel, MAILDIR_NAME_MAX + 32);
    strbuf_init(&final, PATH_MAX);
    bool in_tmp = false, in_new = false;

    int fd = create_tmp(d, dirfd, dir, &name, &tmp_rel);
    if (fd < 0)
        goto out;
    in_tmp = true;

    errno = 0;
    if (writer(fd, arg) < 0) {
        if (errno)
            fail(d, errno, "write %s/%s", dir, tmp_rel.data);
        else
            fail(d, 0, "write %s/%s: the writer failed", dir, tmp_rel.data);
        goto close_fd;
    }
    if (fsync(fd) < 0) {
        fail(d, errno, "fsync %s/%s", dir, tmp_rel.data);
        goto close_fd;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        fail(d, errno, "fstat %s/%s", dir, tmp_rel.data);
        goto close_fd;
    }
    int closed = close(fd);
    fd = -1;
    if (closed < 0) {
        fail(d, errno, "close %s/%s", dir, tmp_rel.data);
        goto out;
    }

    /* The destination must fit before anything becomes visible. */
    if (strbuf_printf(&final, "%s/new/%s,S=%lld", dir, name.data, (long long)st.st_size) < 0 ||
        (dest && final.len >= dest_len)) {
        fail(d, ENAMETOOLONG, "deliver %s/%s: destination too long", dir, tmp_rel.data);
        goto out;
    }
    if (move_to_new(d, dirfd, dir, tmp_rel.data, name.data, (long long)st.st_size, &new_rel) < 0)
        goto out;
    in_tmp = false; /* linked and unlinked, or renamed */
    in_new = true;
    if (fsync_subdir(d, dirfd, dir, "new") < 0)
        goto out;

    /* A retried name in new/ may be longer; take the file back rather than lie. */
    strbuf_reset(&final);
    if (strbuf_printf(&final, "%s/%s", dir, new_rel.data) < 0 || (dest && final.len >= dest_len)) {
        fail(d, ENAMETOOLONG, "deliver %s/%s: destination too long", dir, new_rel.data);
        goto out;
    }
    in_new = false;
    if (dest)
        memcpy(dest, final.data, final.len + 1);
    goto out;

close_fd:
    close(fd);
out:
    if (in_tmp && unlinkat(dirfd, tmp_rel.data, 0) < 0)
        warn_unlink(dir, tmp_rel.data, errno);
    if (in_new && unlinkat(dirfd, new_rel.data, 0) < 0)
        warn_unlink(dir, new_rel.data, errno);
    close(dirfd);
    strbuf_free(&name);
    strbuf_free(&tmp_rel);
    strbuf_free(&new_rel);
    strbuf_free(&final);
}

enum maildir_result maildir_deliver(const char *maildir, const char *folder, bool create,
                                    maildir_writer_fn writer, void *arg, char *dest,
                                    size_t dest_len, char *err, size_t err_len)
{
    struct delivery d = {.err = err, .err_len = err_len, .result = MAILDIR_OK};
    if (err && err_len > 0)
        err[0] = '\0';
    if (dest && dest_len > 0)
        dest[0] = '\0';
    if (!maildir || !*maildir || !writer) {
        fail(&d, EINVAL, "deliver: no Maildir or writer");
        return d.result;
    }
    if (folder && *folder && !folder_is_safe(folder)) {
        fail(&d, 0, "deliver %s: unsafe folder name", maildir);
        return d.result;
    }

    if (!maildir_exists(maildir)) {
        if (!create) {
            d.result = MAILDIR_MISSING;
            if (err && err_len > 0)
                snprintf(err, err_len, "%s: no such Maildir", maildir);
            return d.result;
        }
        if (make_maildir(&d, maildir) < 0)
            return d.result;
    }

    struct strbuf dir;
    strbuf_init(&dir, PATH_MAX);
    if (folder && *folder) {
        if (strbuf_printf(&dir, "%s/.%s", maildir, folder) < 0)
            fail(&d, ENAMETOOLONG, "deliver %s/.%s", maildir, folder);
        else if (!maildir_exists(dir.data) && make_maildir(&d, dir.data) < 0)
            ; /* d holds the reason */
        else
            mark_folder(&d, dir.data);
    } else if (strbuf_puts(&dir, maildir) < 0) {
        fail(&d, ENAMETOOLONG, "deliver %s", maildir);
    }

    if (d.result == MAILDIR_OK)
        store(&d, dir.data, writer, arg, dest, dest_len);
    strbuf_free(&dir);
    return d.result;
}
