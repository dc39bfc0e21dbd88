/*
 * quarantine: blocked mail, stored once per message as received:
 * quarantine_dir/MAIL_ID.eml plus quarantine_dir/MAIL_ID.env, the envelope
 * a release needs (sender, DSN parameters, the quarantined recipients,
 * why). Both are written to a temporary name, fsync'ed, renamed, and the
 * directory fsync'ed before quarantine_store() returns, so a 250 2.7.0
 * never precedes durable storage. Thread-safe.
 */
#ifndef LMTPSCAN_QUARANTINE_H
#define LMTPSCAN_QUARANTINE_H

#include "common/envelope.h"
#include "common/spool.h"

#include <stdbool.h>
#include <stddef.h>

/* Stores the message for the recipients whose action is QUARANTINE.
 * reason: e.g. "virus Eicar-Test-Signature" (one line). 0 on success, -1
 * with errno (ENOSPC/EDQUOT: disk full); eml_path gets the .eml path. */
int quarantine_store(const char *dir, const struct envelope *env, const struct spool *msg,
                     const char *reason, char *eml_path, size_t eml_path_len);

#endif
