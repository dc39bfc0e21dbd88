/*
 * privileges: dropping root for good after the listeners are bound. With
 * [server] user = NAME the daemon switches to NAME's uid, gid and
 * supplementary groups; started as root without `user` it refuses to run
 * (write `user = root` to run as root on purpose). Main thread, before any
 * other thread starts.
 */
#ifndef LMTPSCAN_PRIVILEGES_H
#define LMTPSCAN_PRIVILEGES_H

#include "common/config.h"

#include <stddef.h>

/* Gives the directories the daemon writes to (spool, quarantine, reports)
 * to the configured user, so they stay usable after the switch. */
int privileges_prepare_dirs(const struct config *cfg, char *err, size_t err_len);
/* What privileges_drop would refuse (root without `user`, an unknown
 * user), without changing anything: for -t. 0 or -1 with err. */
int privileges_check(const struct config *cfg, char *err, size_t err_len);
/* 0 on success (or nothing to do), -1 with err. */
int privileges_drop(const struct config *cfg, char *err, size_t err_len);

#endif
