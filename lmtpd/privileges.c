/*
 * privileges: switch to the configured user (see privileges.h). Failure
 * modes: unknown user, or a set*id call that fails; the daemon then does
 * not start.
 */
#include "lmtpd/privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool wants_switch(const struct config *cfg)
{
    return geteuid() == 0 && cfg->server.user[0] != '\0' && strcmp(cfg->server.user, "root") != 0;
}

int privileges_prepare_dirs(const struct config *cfg, char *err, size_t err_len)
{
    if (!wants_switch(cfg))
        return 0;
    struct passwd *pw = getpwnam(cfg->server.user);
    if (pw == NULL) {
        snprintf(err, err_len, "[server] user = %s: no such user", cfg->server.user);
        return -1;
    }
    const char *dirs[] = {cfg->server.spool_dir, cfg->deliver.quarantine_dir, cfg->report.dir,
                          cfg->clamav.tmp_dir, cfg->notify.queue_dir};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (dirs[i][0] == '\0')
            continue;
        if (chown(dirs[i], pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT) {
            snprintf(err, err_len, "chown %s: %s", dirs[i], strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* The user to switch to: *out = NULL when the daemon keeps its identity
 * (not started as root, or user = root); -1 when it must not start. */
static int switch_target(const struct config *cfg, struct passwd **out, char *err, size_t err_len)
{
    *out = NULL;
    if (geteuid() != 0 || strcmp(cfg->server.user, "root") == 0)
        return 0;
    if (cfg->server.user[0] == '\0') {
        snprintf(err, err_len,
                 "refusing to run as root: set [server] user = an unprivileged user "
                 "(or user = root to run as root on purpose)");
        return -1;
    }
    *out = getpwnam(cfg->server.user);
    if (*out == NULL) {
        snprintf(err, err_len, "[server] user = %s: no such user", cfg->server.user);
        return -1;
    }
    return 0;
}

int privileges_check(const struct config *cfg, char *err, size_t err_len)
{
    struct passwd *pw;
    return switch_target(cfg, &pw, err, err_len);
}

int privileges_drop(const struct config *cfg, char *err, size_t err_len)
{
    struct passwd *pw;
    if (switch_target(cfg, &pw, err, err_len) < 0)
        return -1;
    if (pw == NULL)
        return 0;
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        snprintf(err, err_len, "cannot switch to user %s: %s", pw->pw_name, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {
        snprintf(err, err_len, "could regain root after switching to %s", pw->pw_name);
        return -1;
    }
    return 0;
}
