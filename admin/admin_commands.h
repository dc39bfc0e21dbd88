/*
 * admin_commands: the subcommands of the lmtpscan tool that live in their
 * own files (registered in the table of lmtpscan.c), and what they share.
 *
 * Exit status of these subcommands: ADMIN_OK (0); ADMIN_FAILED (1): a
 * delivery or an I/O operation failed; ADMIN_BAD_INPUT (2): bad usage, a
 * malformed MAIL_ID or address, or an unknown message.
 */
#ifndef LMTPSCAN_ADMIN_COMMANDS_H
#define LMTPSCAN_ADMIN_COMMANDS_H

#include "common/config.h"

#include <stddef.h>
#include <stdio.h>

enum { ADMIN_OK = 0, ADMIN_FAILED = 1, ADMIN_BAD_INPUT = 2 };

/* report MAIL_ID: prints the message's XML report (cmd_report.c). */
int cmd_report(const struct config *cfg, int argc, char **argv);
/* report replay [-c NEW.conf] [--since AGE] [--dir DIR] [--json]
 * (cmd_replay.c); argv starts after "replay". */
int cmd_report_replay(const struct config *cfg, int argc, char **argv);
/* stats [--since AGE] [--dir DIR] (cmd_stats.c). */
int cmd_stats(const struct config *cfg, int argc, char **argv);
/* digest [--since TIME] [--dry-run] (cmd_digest.c). */
int cmd_digest(const struct config *cfg, int argc, char **argv);
/* quarantine list|show|release|delete ... (cmd_quarantine.c). */
int cmd_quarantine(const struct config *cfg, int argc, char **argv);
/* quarantine release MAIL_ID [--rcpt ADDR]... (quarantine_release.c);
 * argv[0] is the MAIL_ID. */
int quarantine_release(const struct config *cfg, int argc, char **argv);
/* The same, recorded as released by `by` (NULL: unknown), the outcome
 * lines ("ADDR: REPLY") written to out; errors still go to stderr. */
int quarantine_release_to(const struct config *cfg, int argc, char **argv, const char *by,
                          FILE *out);
/* web: the quarantine web page (web.c). */
int cmd_web(const struct config *cfg, int argc, char **argv);

/* s with every byte outside printable ASCII shown as '?', cut to fit
 * buf (for quoting user input in error messages). */
const char *admin_printable(const char *s, char *buf, size_t len);
/* Checks a MAIL_ID argument; on failure prints why and returns false. */
int admin_check_mail_id(const char *id);

#endif
