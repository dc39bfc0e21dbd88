/*
 * maildir: stores one message copy in a Maildir or a Maildir++ folder.
 *
 * Public: maildir_exists(), maildir_deliver() (see maildir.h).
 *
 * The trusted root (the directory part of the template the administrator
 * wrote) is opened as a path (made with its parents when missing and
 * `create` is set); everything below it is opened one component at a time
 * relative to its parent's descriptor with O_NOFOLLOW|O_DIRECTORY, missing
 * directories made with mkdirat (0700, each new one's parent fsync'ed).
 * A symbolic link anywhere below the root, however planted, is refused
 * before anything is written, so a copy can never land outside the
 * recipient's own directories (even when the daemon runs as root).
 *
 * Steps in the target directory: create tmp/NAME with
 * O_CREAT|O_EXCL|O_NOFOLLOW (0600), let the caller's writer fill it,
 * fsync, fstat for the size, hard-link it as new/NAME,S=SIZE through the
 * two directory descriptors (never replacing a file; rename with
 * RENAME_NOREPLACE where the file system has no hard links), remove
 * tmp/NAME, fsync new/ (through dir_sync: concurrent deliveries into one
 * Maildir share that fsync). NAME is "SECONDS.M<usec>P<pid>Q<counter>.<host>"
 * with '/' and ':' in the host name written as "\057" and "\072"; the
 * counter is process-wide and atomic.
 *
 * A folder is created when missing whenever the Maildir itself exists (its
 * maildirfolder marker too); `create` only decides whether a missing
 * Maildir is made or reported as MAILDIR_MISSING.
 *
 * Failure modes: MAILDIR_MISSING (no Maildir, or something else in its
 * place, and create is false), MAILDIR_DISK_FULL (ENOSPC or EDQUOT from
 * any step), MAILDIR_IO_ERROR (anything else: a symbolic link below the
 * root, an unsafe folder name, a Maildir not below the root); err names
 * the step and the path. Any failure removes the tmp file, and a file
 * already in new/ whose directory could not be fsync'ed: a temporary
 * failure must not leave a copy behind that the retry would duplicate.
 *
 * Thread-safe: no shared state except the atomic counter (and dir_sync's).
 */
#include "deliver/maildir.h"

#include "deliver/dir_sync.h"

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
enum { SUB_TMP, SUB_NEW, SUB_CUR, N_SUBDIRS };

/* One delivery's state, so every step can fail the same way. */
struct delivery {
    char *err;
    size_t err_len;
    enum maildir_result result;
};

/* An open directory and the path it is shown as in messages. */
struct dir {
    int fd;
    struct strbuf path;
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

static void missing(struct delivery *d, const char *path)
{
    if (d->result != MAILDIR_OK)
        return;
    d->result = MAILDIR_MISSING;
    if (d->err && d->err_len > 0)
        snprintf(d->err, d->err_len, "%s: no such Maildir", path);
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
    for (size_t i = 0; ok && i < N_SUBDIRS; i++) {
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

static void dir_init(struct dir *dir)
{
    dir->fd = -1;
    strbuf_init(&dir->path, PATH_MAX);
}

static void dir_close(struct dir *dir)
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
            fail(d, ENAMETOOLONG, "mkdir %s", root);
            rc = -1;
        } else if (mkdir(prefix.data, 0700) == 0) {
            const char *slash = strrchr(prefix.data, '/');
            struct strbuf parent;
            strbuf_init(&parent, PATH_MAX);
            if (strbuf_append(&parent, prefix.data,
                              slash > prefix.data ? (size_t)(slash - prefix.data) : 1) < 0) {
                fail(d, ENAMETOOLONG, "fsync the parent of %s", prefix.data);
                rc = -1;
            } else {
                int fd = open(parent.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0 || fsync(fd) < 0) {
                    fail(d, errno, "fsync %s", parent.data);
                    rc = -1;
                }
                if (fd >= 0)
                    close(fd);
            }
            strbuf_free(&parent);
        } else if (errno != EEXIST) {
            fail(d, errno, "mkdir %s", prefix.data);
            rc = -1;
        }
    }
    strbuf_free(&prefix);
    return rc;
}

/* Opens the trusted root into dir; with create, makes it when missing. */
static int open_root(struct delivery *d, const char *root, bool create, struct dir *dir)
{
    if (strbuf_puts(&dir->path, root) < 0) {
        fail(d, ENAMETOOLONG, "open %s", root);
        return -1;
    }
    dir->fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir->fd < 0 && errno == ENOENT && create && make_root(d, root) == 0)
        dir->fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir->fd >= 0)
        return 0;
    if (errno == ENOENT && !create)
        missing(d, root);
    else
        fail(d, errno, "open %s", root);
    return -1;
}

/*
 * Steps from dir into its entry name (one plain component), never through
 * a symbolic link. When it does not exist: with create it is made (0700,
 * dir fsync'ed), else MAILDIR_MISSING for `shown`. -1 on failure.
 */
static int step(struct delivery *d, struct dir *dir, const char *name, bool create,
                const char *shown)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dir->fd, name, flags);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(dir->fd, name, 0700) == 0) {
            if (fsync(dir->fd) < 0) {
                fail(d, errno, "fsync %s", dir->path.data);
                return -1;
            }
        } else if (errno != EEXIST) {
            fail(d, errno, "mkdir %s/%s", dir->path.data, name);
            return -1;
        }
        fd = openat(dir->fd, name, flags);
    }
    if (fd < 0) {
        int e = errno;
        struct stat st; /* O_NOFOLLOW|O_DIRECTORY give ELOOP or ENOTDIR */
        if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            fail(d, 0, "%s/%s is a symbolic link: refused", dir->path.data, name);
        else if ((e == ENOENT || e == ENOTDIR) && !create)
            missing(d, shown);
        else
            fail(d, e, "open %s/%s", dir->path.data, name);
        return -1;
    }
    bool slash = dir->path.len > 0 && dir->path.data[dir->path.len - 1] == '/';
    if ((!slash && strbuf_puts(&dir->path, "/") < 0) || strbuf_puts(&dir->path, name) < 0) {
        close(fd);
        fail(d, ENAMETOOLONG, "open %s/%s", dir->path.data, name);
        return -1;
    }
    close(dir->fd);
    dir->fd = fd;
    return 0;
}

/*
 * Walks dir down rel ('/'-separated, relative), one step per component;
 * "." and empty components are skipped, ".." is refused. -1 on failure.
 */
static int walk(struct delivery *d, struct dir *dir, const char *rel, bool create,
                const char *shown)
{
    char name[NAME_MAX + 1];
    while (*rel != '\0') {
        size_t n = strcspn(rel, "/");
        if (n > NAME_MAX) {
            fail(d, ENAMETOOLONG, "open %s/%.*s", dir->path.data, (int)n, rel);
            return -1;
        }
        memcpy(name, rel, n);
        name[n] = '\0';
        rel += n + (rel[n] == '/');
        if (n == 0 || strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            fail(d, 0, "open %s/..: refused below the Maildir root", dir->path.data);
            return -1;
        }
        if (step(d, dir, name, create, shown) < 0)
            return -1;
    }
    return 0;
}

/* Opens the tmp/, new/, cur/ of the Maildir at m into subs (cur/ only to
 * check it is there). -1 on failure. */
static int open_subdirs(struct delivery *d, const struct dir *m, bool create, struct dir *subs)
{
    for (size_t i = 0; i < N_SUBDIRS; i++) {
        subs[i].fd = dup(m->fd);
        if (subs[i].fd < 0) {
            fail(d, errno, "open %s", m->path.data);
            return -1;
        }
        if (strbuf_puts(&subs[i].path, m->path.data) < 0) {
            fail(d, ENAMETOOLONG, "open %s", m->path.data);
            return -1;
        }
        if (step(d, &subs[i], maildir_subdirs[i], create, m->path.data) < 0)
            return -1;
    }
    return 0;
}

/* Creates the empty maildirfolder marker of a Maildir++ folder. */
static int mark_folder(struct delivery *d, const struct dir *folder)
{
    struct stat st;
    if (fstatat(folder->fd, "maildirfolder", &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    int fd = openat(folder->fd, "maildirfolder", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0; /* made by a concurrent delivery */
        fail(d, errno, "open %s/maildirfolder", folder->path.data);
        return -1;
    }
    int rc = 0;
    if (fsync(fd) < 0 || fsync(folder->fd) < 0) {
        fail(d, errno, "fsync %s/maildirfolder", folder->path.data);
        rc = -1;
    }
    close(fd);
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

/* Creates tmp/NAME; returns the fd or -1. name gets NAME. */
static int create_tmp(struct delivery *d, const struct dir *tmp, struct strbuf *name)
{
    for (int tries = 0; tries < MAILDIR_TRIES; tries++) {
        unique_name(name);
        int fd =
            openat(tmp->fd, name->data, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST) {
            fail(d, errno, "open %s/%s", tmp->path.data, name->data);
            return -1;
        }
    }
    fail(d, EEXIST, "open %s: no unique name", tmp->path.data);
    return -1;
}

/* Moves tmp/NAME to new/NAME,S=SIZE (new_name) without replacing anything. */
static int move_to_new(struct delivery *d, const struct dir *tmp, const struct dir *new,
                       const char *name, long long size, struct strbuf *new_name)
{
    struct strbuf fresh;
    strbuf_init(&fresh, MAILDIR_NAME_MAX);
    int rc = -1;
    for (int tries = 0; tries < MAILDIR_TRIES; tries++) {
        strbuf_reset(new_name);
        if (tries > 0)
            unique_name(&fresh); /* new/NAME was taken: pick another */
        if (strbuf_printf(new_name, "%s,S=%lld", tries ? fresh.data : name, size) < 0) {
            fail(d, ENAMETOOLONG, "link %s/%s", tmp->path.data, name);
            break;
        }
        if (linkat(tmp->fd, name, new->fd, new_name->data, 0) == 0) {
            if (unlinkat(tmp->fd, name, 0) < 0)
                warn_unlink(tmp->path.data, name, errno);
            rc = 0;
            break;
        }
        int e = errno;
        if (e == EPERM || e == ENOSYS || e == EOPNOTSUPP) {
            /* No hard links here: rename, still refusing to replace. */
            if (renameat2(tmp->fd, name, new->fd, new_name->data, RENAME_NOREPLACE) == 0) {
                rc = 0;
                break;
            }
            e = errno;
        }
        if (e != EEXIST) {
            fail(d, e, "link %s/%s to %s/%s", tmp->path.data, name, new->path.data, new_name->data);
            break;
        }
    }
    if (rc < 0)
        fail(d, EEXIST, "link %s/%s: no unique name in new/", tmp->path.data, name);
    strbuf_free(&fresh);
    return rc;
}

/* Writes, syncs and publishes one file through the tmp/ and new/ of a
 * Maildir; dest gets its path. */
static void store(struct delivery *d, const struct dir *tmp, const struct dir *new,
                  maildir_writer_fn writer, void *arg, char *dest, size_t dest_len)
{
    struct strbuf name, new_name, final;
    strbuf_init(&name, MAILDIR_NAME_MAX);
    strbuf_init(&new_name, MAILDIR_NAME_MAX + 32);
    strbuf_init(&final, PATH_MAX);
    bool in_tmp = false, in_new = false;

    int fd = create_tmp(d, tmp, &name);
    if (fd < 0)
        goto out;
    in_tmp = true;

    errno = 0;
    if (writer(fd, arg) < 0) {
        if (errno)
            fail(d, errno, "write %s/%s", tmp->path.data, name.data);
        else
            fail(d, 0, "write %s/%s: the writer failed", tmp->path.data, name.data);
        goto close_fd;
    }
    if (fsync(fd) < 0) {
        fail(d, errno, "fsync %s/%s", tmp->path.data, name.data);
        goto close_fd;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        fail(d, errno, "fstat %s/%s", tmp->path.data, name.data);
        goto close_fd;
    }
    int closed = close(fd);
    fd = -1;
    if (closed < 0) {
        fail(d, errno, "close %s/%s", tmp->path.data, name.data);
        goto out;
    }

    /* The destination must fit before anything becomes visible. */
    if (strbuf_printf(&final, "%s/%s,S=%lld", new->path.data, name.data, (long long)st.st_size) <
            0 ||
        (dest && final.len >= dest_len)) {
        fail(d, ENAMETOOLONG, "deliver %s/%s: destination too long", tmp->path.data, name.data);
        goto out;
    }
    if (move_to_new(d, tmp, new, name.data, (long long)st.st_size, &new_name) < 0)
        goto out;
    in_tmp = false; /* linked and unlinked, or renamed */
    in_new = true;
    if (dir_sync(new->fd) < 0) { /* shared with concurrent deliveries here */
        fail(d, errno, "fsync %s", new->path.data);
        goto out;
    }

    /* A retried name in new/ may be longer; take the file back rather than lie. */
    strbuf_reset(&final);
    if (strbuf_printf(&final, "%s/%s", new->path.data, new_name.data) < 0 ||
        (dest && final.len >= dest_len)) {
        fail(d, ENAMETOOLONG, "deliver %s/%s: destination too long", new->path.data, new_name.data);
        goto out;
    }
    in_new = false;
    if (dest)
        memcpy(dest, final.data, final.len + 1);
    goto out;

close_fd:
    close(fd);
out:
    if (in_tmp && unlinkat(tmp->fd, name.data, 0) < 0)
        warn_unlink(tmp->path.data, name.data, errno);
    if (in_new && unlinkat(new->fd, new_name.data, 0) < 0)
        warn_unlink(new->path.data, new_name.data, errno);
    strbuf_free(&name);
    strbuf_free(&new_name);
    strbuf_free(&final);
}

/* The part of maildir below root, or NULL when it is not below root. */
static const char *below_root(const char *root, const char *maildir)
{
    size_t n = strlen(root);
    if (n == 0 || strncmp(maildir, root, n) != 0)
        return NULL;
    if (root[n - 1] == '/')
        return maildir + n;
    if (maildir[n] == '/' || maildir[n] == '\0')
        return maildir + n;
    return NULL;
}

/* Opens the Maildir (and folder) and stores the copy. */
static void deliver(struct delivery *d, const char *root, const char *rel, const char *maildir,
                    const char *folder, bool create, maildir_writer_fn writer, void *arg,
                    char *dest, size_t dest_len)
{
    struct dir m, subs[N_SUBDIRS], f, fsubs[N_SUBDIRS];
    dir_init(&m);
    dir_init(&f);
    for (size_t i = 0; i < N_SUBDIRS; i++) {
        dir_init(&subs[i]);
        dir_init(&fsubs[i]);
    }
    const struct dir *tmp = &subs[SUB_TMP], *new = &subs[SUB_NEW];

    if (open_root(d, root, create, &m) < 0 || walk(d, &m, rel, create, maildir) < 0 ||
        open_subdirs(d, &m, create, subs) < 0)
        goto out;
    if (folder && *folder) {
        /* a folder of an existing Maildir is always made when missing */
        char name[MAILDIR_FOLDER_MAX + 2];
        snprintf(name, sizeof name, ".%s", folder);
        f.fd = dup(m.fd);
        if (f.fd < 0) {
            fail(d, errno, "open %s", m.path.data);
            goto out;
        }
        if (strbuf_puts(&f.path, m.path.data) < 0) {
            fail(d, ENAMETOOLONG, "open %s/%s", m.path.data, name);
            goto out;
        }
        if (step(d, &f, name, true, maildir) < 0 || open_subdirs(d, &f, true, fsubs) < 0 ||
            mark_folder(d, &f) < 0)
            goto out;
        tmp = &fsubs[SUB_TMP];
        new = &fsubs[SUB_NEW];
    }
    store(d, tmp, new, writer, arg, dest, dest_len);
out:
    dir_close(&m);
    dir_close(&f);
    for (size_t i = 0; i < N_SUBDIRS; i++) {
        dir_close(&subs[i]);
        dir_close(&fsubs[i]);
    }
}

enum maildir_result maildir_deliver(const char *root, const char *maildir, const char *folder,
                                    bool create, maildir_writer_fn writer, void *arg, char *dest,
                                    size_t dest_len, char *err, size_t err_len)
{
    struct delivery d = {.err = err, .err_len = err_len, .result = MAILDIR_OK};
    if (err && err_len > 0)
        err[0] = '\0';
    if (dest && dest_len > 0)
        dest[0] = '\0';
    if (!root || !maildir || !*maildir || !writer) {
        fail(&d, EINVAL, "deliver: no Maildir or writer");
        return d.result;
    }
    const char *rel = below_root(root, maildir);
    if (!rel) {
        fail(&d, 0, "deliver %s: not below the Maildir root %s", maildir, root);
        return d.result;
    }
    if (folder && *folder && !folder_is_safe(folder)) {
        fail(&d, 0, "deliver %s: unsafe folder name", maildir);
        return d.result;
    }
    deliver(&d, root, rel, maildir, folder, create, writer, arg, dest, dest_len);
    return d.result;
}
