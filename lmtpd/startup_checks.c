/*
 * startup_checks: directory checks before serving (see startup_checks.h).
 */
#include "lmtpd/startup_checks.h"
#include "deliver/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p with mode for each missing component. */
static int make_dirs(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -1;
            *p = saved;
            if (saved == '\0')
                return 0;
        }
    }
}

/* The nearest existing ancestor of a missing path must be a directory we
 * may write into, so that start-up can create the rest. */
static int check_creatable(const char *key, const char *dir, char *err, size_t err_len)
{
    char parent[PATH_MAX];
    if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent)) {
        snprintf(err, err_len, "%s = %s: path too long", key, dir);
        return -1;
    }
    struct stat st;
    for (;;) {
        char *slash = strrchr(parent, '/');
        if (slash == NULL)
            snprintf(parent, sizeof(parent), ".");
        else if (slash == parent)
            parent[1] = '\0';
        else
            *slash = '\0';
        if (stat(parent, &st) == 0)
            break;
        if (errno != ENOENT || strcmp(parent, "/") == 0 || strcmp(parent, ".") == 0) {
            snprintf(err, err_len, "%s = %s: %s: %s", key, dir, parent, strerror(errno));
            return -1;
        }
    }
    if (!S_ISDIR(st.st_mode) || access(parent, W_OK | X_OK) < 0) {
        snprintf(err, err_len, "%s = %s: cannot be created under %s", key, dir, parent);
        return -1;
    }
    return 0;
}

/* -t: what start-up would find, without creating, changing or probing. */
static int check_usable_dry(const char *key, const char *dir, bool create, char *err,
                            size_t err_len)
{
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno == ENOENT && create)
            return check_creatable(key, dir, err, err_len);
        snprintf(err, err_len, "%s = %s: %s", key, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "%s = %s: not a directory", key, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        snprintf(err, err_len, "%s = %s: not writable: %s", key, dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int check_usable(const char *key, const char *dir, bool create, bool dry_run, char *err,
                        size_t err_len)
{
    if (dry_run)
        return check_usable_dry(key, dir, create, err, err_len);
    if (create && make_dirs(dir, 0750) < 0) {
        snprintf(err, err_len, "%s = %s: cannot create: %s", key, dir, strerror(errno));
        return -1;
    }
    char probe[PATH_MAX];
    if (snprintf(probe, sizeof(probe), "%s/.lmtpscan-probe.%d", dir, (int)getpid()) >=
        (int)sizeof(probe)) {
        snprintf(err, err_len, "%s = %s: path too long", key, dir);
        return -1;
    }
    int fd = open(probe, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "%s = %s: not writable: %s", key, dir, strerror(errno));
        return -1;
    }
    close(fd);
    if (unlink(probe) < 0) {
        snprintf(err, err_len, "%s = %s: cannot remove a file: %s", key, dir, strerror(errno));
        return -1;
    }
    return 0;
}

int startup_checks(const struct config *cfg, bool dry_run, char *err, size_t err_len)
{
    if (check_usable("[server] spool_dir", cfg->server.spool_dir, true, dry_run, err, err_len) < 0)
        return -1;
    if (check_usable("[deliver] quarantine_dir", cfg->deliver.quarantine_dir, true, dry_run, err,
                     err_len) < 0)
        return -1;
    if (cfg->clamav.enabled && cfg->clamav.tmp_dir[0] != '\0' &&
        check_usable("[clamav] tmp_dir", cfg->clamav.tmp_dir, true, dry_run, err, err_len) < 0)
        return -1;
    if (cfg->report.dir[0] != '\0' &&
        check_usable("[report] dir", cfg->report.dir, true, dry_run, err, err_len) < 0)
        return -1;
    if (config_notify_enabled(cfg) &&
        check_usable("[notify] queue_dir", cfg->notify.queue_dir, true, dry_run, err, err_len) < 0)
        return -1;
    if (cfg->deliver.mode == DELIVER_MAILDIR) {
        char root[PATH_MAX];
        maildir_root(cfg->deliver.maildir, root, sizeof(root));
        if (check_usable("[deliver] maildir", root, cfg->deliver.maildir_create, dry_run, err,
                         err_len) < 0)
            return -1;
    }
    return 0;
}
