/*
 * startup_checks: refuse to start when a directory the daemon writes to
 * is unusable: spool_dir, quarantine_dir, report.dir, and the fixed root
 * of the Maildir template (maildir mode). Missing spool, quarantine and
 * report directories are created (0750); every one is then tested by
 * creating and removing a file. A dry run (-t) changes nothing: it checks
 * that each directory is a writable directory, or that a missing one can
 * be created. Called from the main thread.
 */
#ifndef LMTPSCAN_STARTUP_CHECKS_H
#define LMTPSCAN_STARTUP_CHECKS_H

#include "common/config.h"

#include <stdbool.h>
#include <stddef.h>

/* 0 when everything is usable, else -1 with err naming the key and path. */
int startup_checks(const struct config *cfg, bool dry_run, char *err, size_t err_len);

#endif
