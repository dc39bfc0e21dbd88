/*
 * quarantine_env: reads back the MAIL_ID.env file quarantine_store()
 * writes next to MAIL_ID.eml: "key: value" lines (mail-id, received,
 * sender, envid, ret, reason, and one "rcpt: <ADDR> [orcpt=X] [notify=N]"
 * per quarantined recipient). Unknown keys are ignored, so newer files
 * still load. Used by the admin tool (list, show, release).
 *
 * quarantine_env_parse() is pure; quarantine_env_load() reads the file
 * (at most QUARANTINE_ENV_MAX bytes). Both fail with a reason in err.
 * Thread-safe per instance.
 */
#ifndef LMTPSCAN_QUARANTINE_ENV_H
#define LMTPSCAN_QUARANTINE_ENV_H

#include "common/envelope.h"
#include "common/mail_id.h"

#include <stddef.h>

#define QUARANTINE_ENV_MAX (4 * 1024 * 1024)

struct quarantine_rcpt {
    char address[ADDRESS_MAX + 1];
    char orcpt[ADDRESS_MAX + 16];
    unsigned notify; /* DSN_NOTIFY_* bits */
};

struct quarantine_env {
    char mail_id[MAIL_ID_LEN + 1];
    char received[32];            /* ISO 8601 UTC, as written */
    char sender[ADDRESS_MAX + 1]; /* "" for the null sender */
    char envid[128];
    enum dsn_ret ret;
    char reason[512];
    struct quarantine_rcpt *rcpts;
    size_t n_rcpts;
    size_t cap_rcpts;
};

/* Parses text[0..len). 0, or -1 with err (out then holds nothing to free
 * beyond what quarantine_env_free() releases). */
int quarantine_env_parse(const char *text, size_t len, struct quarantine_env *out, char *err,
                         size_t err_len);
/* Loads dir/MAIL_ID.env. -1 with errno (ENOENT: not quarantined) and err. */
int quarantine_env_load(const char *dir, const char *mail_id, struct quarantine_env *out, char *err,
                        size_t err_len);
void quarantine_env_free(struct quarantine_env *qe);

#endif
