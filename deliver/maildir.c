/*
 * maildir: stores one message copy in a Maildir or a Maildir++ folder.
 *
 * Public: maildir_exists(), maildir_deliver() (see maildir.h).
 *
 * The trusted root (the directory part of the template the administrator
 * wrote) is opened as a path (made with its parents when missing and
 * `create` is set); everything below it is opened one component at a time
 * relative to its parent's descriptor with O_NOFOLLOW|O_DIRECTORY, missing
 * directories made with mkdirat (0700, each new one's parent fsync'ed);
 * deliver/maildir_dir.c opens them.
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
#include "deliver/maildir_dir.h"

#include "common/log.h"
#include "common/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
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
        maildir_fail(d, errno, "open %s/maildirfolder", folder->path.data);
        return -1;
    }
    int rc = 0;
    if (fsync(fd) < 0 || fsync(folder->fd) < 0) {
        maildir_fail(d, errno, "fsync %s/maildirfolder", folder->path.data);
        rc = -1;
    }
    close(fd);
    return rc;
}

/* The host name with '/' and ':' escaped as octal, and the process id,
 * both read once: they are part of every file name. */
static pthread_once_t name_once = PTHREAD_ONCE_INIT;
static char name_host[4 * 256];
static long name_pid;

static void name_parts_init(void)
{
    char host[256];
    size_t o = 0;
    if (gethostname(host, sizeof host) < 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    for (const char *h = host; *h && o + 5 < sizeof name_host; h++) {
        if (*h == '/' || *h == ':')
            o += (size_t)snprintf(name_host + o, sizeof name_host - o, "\\%03o",
                                  (unsigned)(unsigned char)*h);
        else
            name_host[o++] = *h;
    }
    name_host[o] = '\0';
    name_pid = (long)getpid();
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
    pthread_once(&name_once, name_parts_init);
    strbuf_reset(name);
    if (strbuf_printf(name, "%lld.M%ldP%ldQ%lu.%s", (long long)now.tv_sec, now.tv_nsec / 1000,
                      name_pid, n, name_host) < 0)
        strbuf_reset(name);
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
            maildir_fail(d, errno, "open %s/%s", tmp->path.data, name->data);
            return -1;
        }
    }
    maildir_fail(d, EEXIST, "open %s: no unique name", tmp->path.data);
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
            maildir_fail(d, ENAMETOOLONG, "link %s/%s", tmp->path.data, name);
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
            maildir_fail(d, e, "link %s/%s to %s/%s", tmp->path.data, name, new->path.data,
                         new_name->data);
            break;
        }
    }
    if (rc < 0)
        maildir_fail(d, EEXIST, "link %s/%s: no unique name in new/", tmp->path.data, name);
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
            maildir_fail(d, errno, "write %s/%s", tmp->path.data, name.data);
        else
            maildir_fail(d, 0, "write %s/%s: the writer failed", tmp->path.data, name.data);
        goto close_fd;
    }
    if (fsync(fd) < 0) {
        maildir_fail(d, errno, "fsync %s/%s", tmp->path.data, name.data);
        goto close_fd;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        maildir_fail(d, errno, "fstat %s/%s", tmp->path.data, name.data);
        goto close_fd;
    }
    int closed = close(fd);
    fd = -1;
    if (closed < 0) {
        maildir_fail(d, errno, "close %s/%s", tmp->path.data, name.data);
        goto out;
    }

    /* The destination must fit before anything becomes visible. */
    if (strbuf_printf(&final, "%s/%s,S=%lld", new->path.data, name.data, (long long)st.st_size) <
            0 ||
        (dest && final.len >= dest_len)) {
        maildir_fail(d, ENAMETOOLONG, "deliver %s/%s: destination too long", tmp->path.data,
                     name.data);
        goto out;
    }
    if (move_to_new(d, tmp, new, name.data, (long long)st.st_size, &new_name) < 0)
        goto out;
    in_tmp = false; /* linked and unlinked, or renamed */
    in_new = true;
    if (dir_sync(new->fd) < 0) { /* shared with concurrent deliveries here */
        maildir_fail(d, errno, "fsync %s", new->path.data);
        goto out;
    }

    /* A retried name in new/ may be longer; take the file back rather than lie. */
    strbuf_reset(&final);
    if (strbuf_printf(&final, "%s/%s", new->path.data, new_name.data) < 0 ||
        (dest && final.len >= dest_len)) {
        maildir_fail(d, ENAMETOOLONG, "deliver %s/%s: destination too long", new->path.data,
                     new_name.data);
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
    maildir_dir_init(&m);
    maildir_dir_init(&f);
    for (size_t i = 0; i < N_SUBDIRS; i++) {
        maildir_dir_init(&subs[i]);
        maildir_dir_init(&fsubs[i]);
    }
    const struct dir *tmp = &subs[SUB_TMP], *new = &subs[SUB_NEW];

    if (maildir_open_root(d, root, create, &m) < 0 ||
        maildir_walk(d, &m, rel, create, maildir) < 0 ||
        maildir_open_subdirs(d, &m, create, subs) < 0)
        goto out;
    if (folder && *folder) {
        /* a folder of an existing Maildir is always made when missing */
        char name[MAILDIR_FOLDER_MAX + 2];
        snprintf(name, sizeof name, ".%s", folder);
        f.fd = dup(m.fd);
        if (f.fd < 0) {
            maildir_fail(d, errno, "open %s", m.path.data);
            goto out;
        }
        if (strbuf_puts(&f.path, m.path.data) < 0) {
            maildir_fail(d, ENAMETOOLONG, "open %s/%s", m.path.data, name);
            goto out;
        }
        if (maildir_step(d, &f, name, true, maildir) < 0 ||
            maildir_open_subdirs(d, &f, true, fsubs) < 0 || mark_folder(d, &f) < 0)
            goto out;
        tmp = &fsubs[SUB_TMP];
        new = &fsubs[SUB_NEW];
    }
    store(d, tmp, new, writer, arg, dest, dest_len);
out:
    maildir_dir_close(&m);
    maildir_dir_close(&f);
    for (size_t i = 0; i < N_SUBDIRS; i++) {
        maildir_dir_close(&subs[i]);
        maildir_dir_close(&fsubs[i]);
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
        maildir_fail(&d, EINVAL, "deliver: no Maildir or writer");
        return d.result;
    }
    const char *rel = below_root(root, maildir);
    if (!rel) {
        maildir_fail(&d, 0, "deliver %s: not below the Maildir root %s", maildir, root);
        return d.result;
    }
    if (folder && *folder && !folder_is_safe(folder)) {
        maildir_fail(&d, 0, "deliver %s: unsafe folder name", maildir);
        return d.result;
    }
    deliver(&d, root, rel, maildir, folder, create, writer, arg, dest, dest_len);
    return d.result;
}
