/*
 * dispatch: the delivery stage (see dispatch.h): quarantine once, Maildir
 * per recipient, relay per group of identical copies, and the DSN
 * post-step of the SMTP listener.
 */
#include "deliver/dispatch.h"

#include "common/log.h"
#include "common/xalloc.h"
#include "deliver/dsn.h"
#include "deliver/maildir.h"
#include "deliver/message_copy.h"
#include "deliver/quarantine.h"
#include "deliver/relay.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void local_failure(struct recipient *r, int err, const char *why)
{
    outcome_set_errno(&r->outcome, err, why);
}

/* Stores the message in the quarantine once for all recipients whose
 * action is quarantine. */
static void quarantine_recipients(const struct dispatch *d)
{
    struct envelope *env = d->env;
    bool any = false;
    for (size_t i = 0; i < env->n_rcpts; i++)
        any |= env->rcpts[i].action == ACTION_QUARANTINE;
    if (!any)
        return;
    char path[PATH_MAX];
    int rc = quarantine_store(d->cfg->deliver.quarantine_dir, env, d->msg,
                              d->quarantine_reason != NULL ? d->quarantine_reason : "", path,
                              sizeof(path));
    int err = errno;
    if (rc < 0)
        log_error("mail_id=%s quarantine failed: %s", env->mail_id, strerror(err));
    for (size_t i = 0; i < env->n_rcpts; i++) {
        struct recipient *r = &env->rcpts[i];
        if (r->action != ACTION_QUARANTINE)
            continue;
        if (rc < 0) {
            local_failure(r, err, strerror(err));
            continue;
        }
        free(r->destination);
        r->destination = xstrdup(path);
        outcome_set(&r->outcome, OUTCOME_QUARANTINED, NULL);
    }
}

static int maildir_copy_writer(int fd, void *arg)
{
    return message_copy_write(arg, copy_sink_fd, &fd);
}

static struct message_copy copy_of(const struct dispatch *d, size_t i, enum line_ends ends)
{
    const struct dispatch_copy *c = &d->copies[i];
    return (struct message_copy){
        .msg = d->msg,
        .header = d->header,
        .prepend = c->block,
        .prepend_len = c->block_len,
        .drop_subject = c->drop_subject,
        .line_ends = ends,
    };
}

static void deliver_to_maildir(const struct dispatch *d, size_t i)
{
    struct recipient *r = &d->env->rcpts[i];
    const char *folder = r->action == ACTION_JUNK ? r->policy->junk_folder : NULL;
    struct message_copy mc = copy_of(d, i, LINE_ENDS_LF);
    char dest[PATH_MAX], err[256] = "", root[PATH_MAX];
    maildir_root(d->cfg->deliver.maildir, root, sizeof(root));
    enum maildir_result res =
        maildir_deliver(root, r->maildir, folder, d->cfg->deliver.maildir_create,
                        maildir_copy_writer, &mc, dest, sizeof(dest), err, sizeof(err));
    switch (res) {
    case MAILDIR_OK:
        free(r->destination);
        r->destination = xstrdup(dest);
        outcome_set(&r->outcome, OUTCOME_DELIVERED, NULL);
        return;
    case MAILDIR_MISSING:
        outcome_set(&r->outcome, OUTCOME_NO_MAILBOX, err);
        break;
    case MAILDIR_DISK_FULL:
        local_failure(r, ENOSPC, err);
        break;
    case MAILDIR_IO_ERROR:
        local_failure(r, EIO, err);
        break;
    }
    log_error("mail_id=%s rcpt=<%s> maildir delivery failed: %s", d->env->mail_id, r->address, err);
}

/* ---- relay mode: one transaction per group of byte-identical copies ---- */

struct keyed {
    size_t rcpt;
    uint64_t hash;
    const struct dispatch_copy *copy;
};

static uint64_t copy_hash(const struct dispatch_copy *c)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < c->block_len; i++)
        h = (h ^ (unsigned char)c->block[i]) * 1099511628211ULL;
    return h ^ (uint64_t)c->drop_subject;
}

static int copy_cmp(const struct dispatch_copy *a, const struct dispatch_copy *b)
{
    if (a->drop_subject != b->drop_subject)
        return a->drop_subject ? 1 : -1;
    if (a->block_len != b->block_len)
        return a->block_len < b->block_len ? -1 : 1;
    return memcmp(a->block, b->block, a->block_len);
}

/* Groups identical copies together; within a group, RCPT order. */
static int keyed_cmp(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    int c = copy_cmp(a->copy, b->copy);
    if (c != 0)
        return c;
    return a->rcpt < b->rcpt ? -1 : a->rcpt > b->rcpt;
}

static void relay_groups(const struct dispatch *d)
{
    struct envelope *env = d->env;
    struct keyed *k = xcalloc(env->n_rcpts ? env->n_rcpts : 1, sizeof(*k));
    size_t n = 0;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        enum action a = env->rcpts[i].action;
        if (a == ACTION_DELIVER || a == ACTION_JUNK)
            k[n++] =
                (struct keyed){.rcpt = i, .hash = copy_hash(&d->copies[i]), .copy = &d->copies[i]};
    }
    qsort(k, n, sizeof(*k), keyed_cmp); /* n log n, whatever the recipients */
    size_t *idx = xcalloc(n ? n : 1, sizeof(*idx));
    for (size_t start = 0; start < n;) {
        size_t end = start, m = 0;
        while (end < n && k[end].hash == k[start].hash && copy_cmp(k[end].copy, k[start].copy) == 0)
            idx[m++] = k[end++].rcpt;
        struct message_copy mc = copy_of(d, k[start].rcpt, LINE_ENDS_CRLF);
        relay_deliver(d->cfg, env, idx, m, &mc);
        start = end;
    }
    free(idx);
    free(k);
}

void dispatch_run(const struct dispatch *d)
{
    struct envelope *env = d->env;
    quarantine_recipients(d);
    for (size_t i = 0; i < env->n_rcpts; i++) {
        struct recipient *r = &env->rcpts[i];
        if (r->action == ACTION_DISCARD)
            outcome_set(&r->outcome, OUTCOME_DISCARDED, NULL);
        else if ((r->action == ACTION_DELIVER || r->action == ACTION_JUNK) &&
                 d->cfg->deliver.mode == DELIVER_MAILDIR)
            deliver_to_maildir(d, i);
    }
    if (d->cfg->deliver.mode == DELIVER_RELAY)
        relay_groups(d);
}

bool dispatch_notify_failures(const struct config *cfg, const struct envelope *env,
                              const struct spool *msg)
{
    size_t refused = 0;
    bool owed = false;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct outcome *o = &env->rcpts[i].outcome;
        if (outcome_class(o) != 2 && outcome_class(o) != 5)
            return true; /* the message gets 4xx: no DSN, the client retries */
        refused += outcome_class(o) == 5;
        owed |= dsn_failed_recipient(&env->rcpts[i]);
    }
    if (refused == env->n_rcpts || !owed || env->mail_from[0] == '\0')
        return true;
    if (!net_address_is_set(&cfg->deliver.relay)) {
        char sender[LOG_VALUE_SIZE(ADDRESS_MAX)];
        log_error("mail_id=%s DSN owed to <%s> but no relay to send it: message deferred",
                  env->mail_id, log_value(env->mail_from, sender, sizeof(sender)));
        return false;
    }
    return dsn_send_failures(cfg, env, msg) == 0;
}
