/*
 * quarantine: durable storage of blocked mail (see quarantine.h). The .eml
 * holds the message bytes exactly as received; the .env holds one
 * "key: value" per line (sender, envid, ret, reason, and one rcpt line per
 * quarantined recipient), values free of control characters. Both are
 * written straight into the configured directory through durable_file.
 */
#include "deliver/quarantine.h"
#include "common/fd_io.h"
#include "deliver/durable_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int store_eml(const char *dir, const char *mail_id, const struct spool *msg, char *path,
                     size_t path_len)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.eml", mail_id);
    struct durable_file df;
    if (durable_file_open(&df, dir, NULL, name) < 0)
        return -1;
    char buf[16384];
    uint64_t off = 0, size = spool_size(msg);
    while (off < size) {
        ssize_t n = spool_pread(msg, buf, sizeof(buf), off);
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            goto undo_file;
        }
        if (write_all(df.fd, buf, (size_t)n) < 0)
            goto undo_file;
        off += (uint64_t)n;
    }
    if (durable_file_commit(&df) < 0)
        return -1;
    snprintf(path, path_len, "%s", df.final_path);
    return 0;

undo_file:
    durable_file_abort(&df);
    return -1;
}

/* Copies s without control characters (they cannot occur in parsed
 * addresses, but the reason comes from a scanner). */
static void clean_value(const char *s, char *out, size_t out_len)
{
    size_t o = 0;
    for (; *s && o + 1 < out_len; s++)
        out[o++] = ((unsigned char)*s < 32 || *s == 127) ? ' ' : *s;
    out[o] = '\0';
}

static int store_env(const char *dir, const struct envelope *env, const char *reason)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.env", env->mail_id);
    struct durable_file df;
    if (durable_file_open(&df, dir, NULL, name) < 0)
        return -1;
    FILE *f = fdopen(dup(df.fd), "w");
    if (f == NULL)
        goto undo_file;
    char when[32], clean[512];
    struct tm tm;
    gmtime_r(&env->received.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    clean_value(reason, clean, sizeof(clean));
    fprintf(f, "mail-id: %s\nreceived: %s\nsender: <%s>\n", env->mail_id, when, env->mail_from);
    if (env->envid[0])
        fprintf(f, "envid: %s\n", env->envid);
    if (env->ret != DSN_RET_UNSPECIFIED)
        fprintf(f, "ret: %s\n", env->ret == DSN_RET_FULL ? "FULL" : "HDRS");
    fprintf(f, "reason: %s\n", clean);
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        if (r->action != ACTION_QUARANTINE)
            continue;
        fprintf(f, "rcpt: <%s>", r->address);
        if (r->orcpt[0])
            fprintf(f, " orcpt=%s", r->orcpt);
        if (r->notify)
            fprintf(f, " notify=%u", r->notify);
        fprintf(f, "\n");
    }
    if (fclose(f) != 0)
        goto undo_file;
    return durable_file_commit(&df);

undo_file:
    durable_file_abort(&df);
    return -1;
}

int quarantine_store(const char *dir, const struct envelope *env, const struct spool *msg,
                     const char *reason, char *eml_path, size_t eml_path_len)
{
    if (store_eml(dir, env->mail_id, msg, eml_path, eml_path_len) < 0)
        return -1;
    if (store_env(dir, env, reason) < 0) {
        int saved = errno;
        unlink(eml_path);
        errno = saved;
        return -1;
    }
    return 0;
}
