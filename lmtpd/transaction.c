/*
 * transaction: what happens after the final dot (or BDAT LAST), the
 * straight line of the data path: spool -> scan -> decide per recipient ->
 * deliver -> reply. LMTP answers once per recipient in RCPT order; SMTP
 * answers once for the message (SPEC section 4).
 *
 * Failure modes: every local failure becomes a 4xx for the recipients it
 * touches (452 4.3.1 disk full, 451 4.3.0 otherwise), so Postfix retries;
 * no 250 is queued before the copy is fsync'ed.
 */
#include "common/log.h"
#include "common/message_header.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "deliver/maildir.h"
#include "deliver/dsn.h"
#include "deliver/message_copy.h"
#include "deliver/quarantine.h"
#include "deliver/relay.h"
#include "deliver/report.h"
#include "lmtpd/session.h"
#include "scan/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEADER_BLOCK_MAX (MESSAGE_HEADER_VALUE_MAX + 64 * 1024)

static bool is_disk_full(int err)
{
    return err == ENOSPC || err == EDQUOT;
}

static void set_local_error(struct recipient *r, int err)
{
    if (is_disk_full(err))
        snprintf(r->reply, sizeof(r->reply), "452 4.3.1 <%s> insufficient system storage",
                 r->address);
    else
        snprintf(r->reply, sizeof(r->reply), "451 4.3.0 <%s> local error, try again later",
                 r->address);
    r->action = ACTION_TEMPFAIL;
}

/* The Received field of this hop: nothing per recipient in it unless
 * there is only one, so copies with the same verdict are identical. */
static void build_received(const struct session *s, struct strbuf *out)
{
    const struct envelope *env = &s->env;
    char date[64];
    struct tm tm;
    gmtime_r(&env->received.tv_sec, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *with = env->protocol == PROTO_LMTP ? (env->smtputf8 ? "UTF8LMTP" : "LMTP")
                                                   : (env->smtputf8 ? "UTF8SMTP" : "ESMTP");
    char helo[128];
    size_t h = 0;
    for (const char *p = env->helo; *p && h + 1 < sizeof(helo); p++)
        helo[h++] = ((unsigned char)*p <= 32 || *p == 127 || *p == '(' || *p == ')') ? '_' : *p;
    helo[h] = '\0';
    if (strcmp(env->peer_addr, "unix") == 0)
        (void)strbuf_printf(out, "Received: from %s (local socket)\r\n", helo);
    else
        (void)strbuf_printf(out, "Received: from %s ([%s])\r\n", helo, env->peer_addr);
    (void)strbuf_printf(out, "\tby %s (lmtpscan) with %s id %s", s->cfg->server.hostname, with,
                        env->mail_id);
    if (env->n_rcpts == 1)
        (void)strbuf_printf(out, "\r\n\tfor <%s>", env->rcpts[0].address);
    (void)strbuf_printf(out, "; %s\r\n", date);
}

struct maildir_copy_arg {
    struct message_copy mc;
};

static int maildir_copy_writer(int fd, void *arg)
{
    struct maildir_copy_arg *a = arg;
    return message_copy_write(&a->mc, copy_sink_fd, &fd);
}

static void deliver_to_maildir(struct session *s, struct recipient *r, const char *folder,
                               const struct message_copy *mc)
{
    char dest[PATH_MAX], err[256], root[PATH_MAX];
    struct maildir_copy_arg arg = {.mc = *mc};
    maildir_root(s->cfg->deliver.maildir, root, sizeof(root));
    enum maildir_result res =
        maildir_deliver(root, r->maildir, folder, s->cfg->deliver.maildir_create,
                        maildir_copy_writer, &arg, dest, sizeof(dest), err, sizeof(err));
    switch (res) {
    case MAILDIR_OK:
        r->destination = xstrdup(dest);
        snprintf(r->reply, sizeof(r->reply), "250 2.0.0 <%s> %s delivered", r->address,
                 s->env.mail_id);
        return;
    case MAILDIR_MISSING:
        snprintf(r->reply, sizeof(r->reply), "550 5.1.1 <%s> User unknown (no mailbox)",
                 r->address);
        break;
    case MAILDIR_DISK_FULL:
        set_local_error(r, ENOSPC);
        break;
    case MAILDIR_IO_ERROR:
        set_local_error(r, EIO);
        break;
    }
    log_error("mail_id=%s rcpt=<%s> maildir delivery failed: %s", s->env.mail_id, r->address, err);
}

/* Stores the message in the quarantine once for all recipients whose
 * action is quarantine. */
static void quarantine_recipients(struct session *s, const struct scan_result *res)
{
    struct envelope *env = &s->env;
    bool any = false;
    for (size_t i = 0; i < env->n_rcpts; i++)
        any |= env->rcpts[i].action == ACTION_QUARANTINE;
    if (!any)
        return;
    char reason[512];
    if (res->clamav.status == CLAMAV_INFECTED)
        snprintf(reason, sizeof(reason), "virus %s", res->clamav.virus);
    else
        snprintf(reason, sizeof(reason), "spam");
    char path[PATH_MAX];
    int rc =
        quarantine_store(s->cfg->deliver.quarantine_dir, env, s->spool, reason, path, sizeof(path));
    int err = errno;
    if (rc < 0)
        log_error("mail_id=%s quarantine failed: %s", env->mail_id, strerror(err));
    for (size_t i = 0; i < env->n_rcpts; i++) {
        struct recipient *r = &env->rcpts[i];
        if (r->action != ACTION_QUARANTINE)
            continue;
        if (rc < 0) {
            set_local_error(r, err);
            continue;
        }
        r->destination = xstrdup(path);
        snprintf(r->reply, sizeof(r->reply), "250 2.7.0 <%s> quarantined %s", r->address,
                 env->mail_id);
    }
}

/* Relay mode: each recipient's header block, kept until all are built so
 * recipients with identical copies share one SMTP transaction. */
struct relay_copy {
    size_t rcpt;
    char *block;
    size_t block_len;
    bool drop_subject;
};

struct relay_batch {
    struct relay_copy *copies;
    size_t n;
    size_t cap;
};

static void relay_batch_add(struct relay_batch *b, size_t rcpt, const struct strbuf *block,
                            bool drop_subject)
{
    b->copies = xgrow(b->copies, &b->cap, b->n + 1, sizeof(*b->copies));
    b->copies[b->n++] = (struct relay_copy){.rcpt = rcpt,
                                            .block = xstrndup(block->data, block->len),
                                            .block_len = block->len,
                                            .drop_subject = drop_subject};
}

static bool same_copy(const struct relay_copy *a, const struct relay_copy *b)
{
    return a->drop_subject == b->drop_subject && a->block_len == b->block_len &&
           memcmp(a->block, b->block, a->block_len) == 0;
}

/* One relay transaction per group of byte-identical copies. */
static void relay_batch_send(struct session *s, struct relay_batch *b,
                             const struct message_header *mh)
{
    size_t *idx = xcalloc(b->n ? b->n : 1, sizeof(*idx));
    bool *done = xcalloc(b->n ? b->n : 1, sizeof(*done));
    for (size_t i = 0; i < b->n; i++) {
        if (done[i])
            continue;
        size_t n = 0;
        for (size_t j = i; j < b->n; j++) {
            if (!done[j] && same_copy(&b->copies[i], &b->copies[j])) {
                idx[n++] = b->copies[j].rcpt;
                done[j] = true;
            }
        }
        struct message_copy mc = {
            .msg = s->spool,
            .header = mh,
            .prepend = b->copies[i].block,
            .prepend_len = b->copies[i].block_len,
            .drop_subject = b->copies[i].drop_subject,
            .line_ends = LINE_ENDS_CRLF,
        };
        relay_deliver(s->cfg, &s->env, idx, n, &mc);
    }
    for (size_t i = 0; i < b->n; i++)
        free(b->copies[i].block);
    free(b->copies);
    free(idx);
    free(done);
    memset(b, 0, sizeof(*b));
}

static void deliver_recipient(struct session *s, size_t i, const struct message_header *mh,
                              const struct scan_result *res, struct strbuf *block,
                              struct relay_batch *batch)
{
    struct recipient *r = &s->env.rcpts[i];
    switch (r->action) {
    case ACTION_QUARANTINE:
        return; /* done by quarantine_recipients() */
    case ACTION_DISCARD:
        snprintf(r->reply, sizeof(r->reply), "250 2.7.0 <%s> discarded", r->address);
        return;
    case ACTION_REJECT:
        if (r->verdict == VERDICT_VIRUS)
            snprintf(r->reply, sizeof(r->reply), "554 5.7.0 <%s> rejected: virus %s", r->address,
                     res->clamav.virus);
        else
            snprintf(r->reply, sizeof(r->reply), "554 5.7.1 <%s> rejected: spam", r->address);
        return;
    case ACTION_TEMPFAIL:
        snprintf(r->reply, sizeof(r->reply), "451 4.3.0 <%s> scan failed, try again later",
                 r->address);
        return;
    case ACTION_DELIVER:
    case ACTION_JUNK:
        break;
    }

    strbuf_reset(block);
    build_received(s, block);
    bool subject_replaced = false;
    const char *subject = mh->subject_value.truncated ? NULL : mh->subject_value.raw;
    if (policy_headers(s->cfg, &s->env, i, res, s->cfg->server.hostname, subject, block,
                       &subject_replaced) < 0) {
        log_error("mail_id=%s rcpt=<%s> header block too large", s->env.mail_id, r->address);
        set_local_error(r, EIO);
        return;
    }
    struct message_copy mc = {
        .msg = s->spool,
        .header = mh,
        .prepend = block->data,
        .prepend_len = block->len,
        .drop_subject = subject_replaced,
        .line_ends = LINE_ENDS_LF,
    };
    if (s->cfg->deliver.mode == DELIVER_MAILDIR) {
        const char *folder = r->action == ACTION_JUNK ? r->policy->junk_folder : NULL;
        deliver_to_maildir(s, r, folder, &mc);
        return;
    }
    /* Relay mode (junk = pass with headers): sent by relay_batch_send(). */
    relay_batch_add(batch, i, block, subject_replaced);
}

/* The reply as a log value: quotes and backslashes escaped, control
 * bytes (a relay's text may hold anything) shown as '?'. */
static void log_quote(const char *in, char *out, size_t out_len)
{
    size_t o = 0;
    for (; *in && o + 3 < out_len; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\')
            out[o++] = '\\';
        out[o++] = c < 32 || c == 127 ? '?' : (char)c;
    }
    out[o] = '\0';
}

static void log_outcome(const struct session *s, const struct recipient *r,
                        const struct scan_result *res, size_t i, long ms)
{
    const struct envelope *env = &s->env;
    char score[64] = "-";
    size_t k = res->rcpt_spamd ? res->rcpt_spamd[i] : SIZE_MAX;
    if (k != SIZE_MAX && (res->spamd[k].status == SPAMD_HAM || res->spamd[k].status == SPAMD_SPAM))
        snprintf(score, sizeof(score), "%.1f/%.1f", res->spamd[k].score, res->spamd[k].required);
    char reply[2 * REPLY_MAX];
    log_quote(r->reply, reply, sizeof(reply));
    log_info("mail_id=%s queue_id=%s from=<%s> rcpt=<%s> verdict=%s action=%s score=%s "
             "virus=%s size=%llu ms=%ld reply=\"%s\"",
             env->mail_id, env->xforward.ident[0] ? env->xforward.ident : "-", env->mail_from,
             r->address, verdict_name(r->verdict), action_name(r->action), score,
             res->clamav.status == CLAMAV_INFECTED ? res->clamav.virus : "-",
             (unsigned long long)spool_size(s->spool), ms, reply);
}

/* Whether every recipient's reply has the first one's enhanced status
 * code ("NNN X.Y.Z text"), so that one text explains them all. */
static bool same_enhanced_code(const struct envelope *env)
{
    const char *first = env->rcpts[0].reply;
    if (strlen(first) < 6 || first[3] != ' ' || first[4] < '2' || first[4] > '5' || first[5] != '.')
        return false;
    size_t len = strcspn(first + 4, " ");
    for (size_t i = 1; i < env->n_rcpts; i++) {
        const char *reply = env->rcpts[i].reply;
        if (strlen(reply) < 4 + len || strncmp(reply + 4, first + 4, len) != 0 ||
            (reply[4 + len] != ' ' && reply[4 + len] != '\0'))
            return false;
    }
    return true;
}

/* SMTP: the one reply for the message (SPEC section 4), into out. */
static void reply_smtp(struct session *s, char *out, size_t out_len)
{
    const struct envelope *env = &s->env;
    size_t rejected = 0;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const char *reply = env->rcpts[i].reply;
        if (reply[0] == '4') {
            /* The recipient address is in the text; keep it, it helps. */
            snprintf(out, out_len, "%s", reply);
            return;
        }
        rejected += reply[0] == '5';
    }
    if (rejected == env->n_rcpts) {
        const char *first = env->rcpts[0].reply;
        if (strncmp(first, "552", 3) == 0)
            snprintf(out, out_len, "552 5.3.4 Message size exceeds fixed limit");
        else if (same_enhanced_code(env))
            snprintf(out, out_len, "554 %s", first + 4); /* one reason: say it */
        else
            snprintf(out, out_len, "554 5.7.1 Message rejected for all recipients");
        return;
    }
    /* Recipients the relay refused get a DSN; if it cannot be sent, the
     * client retries the whole message (duplicates, never a lost bounce). */
    if (s->cfg->deliver.mode == DELIVER_RELAY && dsn_send_failures(s->cfg, env, s->spool) < 0) {
        snprintf(out, out_len, "451 4.4.1 Delivery status notification not sent, try again later");
        return;
    }
    snprintf(out, out_len, "250 2.0.0 Ok: queued as %s", env->mail_id);
}

/* The audit report (SPEC section 8), written before the replies go out;
 * a failure is logged and changes no reply (the mail is stored). */
static void write_report(struct session *s, bool whole, const struct message_header *mh,
                         const struct scan_result *res, const char *smtp_reply)
{
    char path[PATH_MAX], err[512];
    if (report_write(s->cfg, &s->env, whole ? mh : NULL, whole ? s->spool : NULL, res, smtp_reply,
                     path, sizeof(path), err, sizeof(err)) < 0)
        log_error("mail_id=%s report not written: %s", s->env.mail_id, err);
}

void transaction_finish(struct session *s, enum data_status status, int spool_errno)
{
    struct envelope *env = &s->env;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    clock_gettime(CLOCK_REALTIME, &env->received);
    if (mail_id_new(env->mail_id) < 0) {
        status = DATA_SPOOL_ERROR;
        spool_errno = EIO;
        snprintf(env->mail_id, sizeof(env->mail_id), "000000000000");
    }
    if (status == DATA_OK && spool_finish(s->spool) < 0) {
        status = DATA_SPOOL_ERROR;
        spool_errno = errno;
    }

    struct scan_result res;
    memset(&res, 0, sizeof(res));
    struct message_header mh;
    memset(&mh, 0, sizeof(mh));
    if (status == DATA_OK && message_header_read(s->spool, &mh) < 0) {
        status = DATA_SPOOL_ERROR;
        spool_errno = errno;
    }

    if (status == DATA_TOO_BIG) {
        for (size_t i = 0; i < env->n_rcpts; i++) {
            env->rcpts[i].verdict = VERDICT_UNCHECKED;
            env->rcpts[i].action = ACTION_REJECT;
            snprintf(env->rcpts[i].reply, sizeof(env->rcpts[i].reply),
                     "552 5.3.4 <%s> message too big", env->rcpts[i].address);
        }
    } else if (status == DATA_SPOOL_ERROR) {
        for (size_t i = 0; i < env->n_rcpts; i++) {
            env->rcpts[i].verdict = VERDICT_UNCHECKED;
            set_local_error(&env->rcpts[i], spool_errno);
        }
    } else {
        if (mh.n_drop > 0)
            log_info("mail_id=%s removed %zu incoming verdict header field(s) "
                     "(X-Spam-*, X-Virus-Scanned)",
                     env->mail_id, mh.n_drop);
        if (s->rt->scan != NULL)
            (void)scan_message(s->rt->scan, s->cfg, env, s->spool, &res);
        policy_decide(s->cfg, env, &res);
        quarantine_recipients(s, &res);
        struct strbuf block;
        strbuf_init(&block, HEADER_BLOCK_MAX);
        struct relay_batch batch = {0};
        for (size_t i = 0; i < env->n_rcpts; i++)
            deliver_recipient(s, i, &mh, &res, &block, &batch);
        strbuf_free(&block);
        relay_batch_send(s, &batch, &mh);
    }

    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
    for (size_t i = 0; i < env->n_rcpts; i++)
        log_outcome(s, &env->rcpts[i], &res, i, ms);

    char smtp_reply[REPLY_MAX] = "";
    if (s->protocol != PROTO_LMTP)
        reply_smtp(s, smtp_reply, sizeof(smtp_reply));
    write_report(s, status == DATA_OK, &mh, &res, s->protocol == PROTO_LMTP ? NULL : smtp_reply);
    if (s->protocol == PROTO_LMTP) {
        for (size_t i = 0; i < env->n_rcpts; i++)
            session_reply(s, "%s", env->rcpts[i].reply);
    } else {
        session_reply(s, "%s", smtp_reply);
    }
    message_header_free(&mh);
    scan_result_free(&res);
    session_reset_transaction(s);
}
