/*
 * transaction: the data path after the end of data (see transaction.h).
 * Each step is a function of its own below, in the order they run in
 * transaction_run().
 */
#include "lmtpd/transaction.h"

#include "common/clock.h"
#include "common/file_inventory.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/message_header.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "deliver/dispatch.h"
#include "deliver/notice_queue.h"
#include "deliver/report.h"
#include "lmtpd/notice_sender.h"
#include "scan/policy.h"
#include "scan/scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEADER_BLOCK_MAX (MESSAGE_HEADER_VALUE_MAX + 64 * 1024)
#define MS(us)           ((unsigned long long)((us) / 1000))

/* Every recipient gets the same outcome (the message as a whole failed). */
static void fail_all(struct envelope *env, enum outcome_kind kind, int err)
{
    for (size_t i = 0; i < env->n_rcpts; i++) {
        struct recipient *r = &env->rcpts[i];
        r->verdict = VERDICT_UNCHECKED;
        if (kind == OUTCOME_TOO_BIG) {
            r->action = ACTION_REJECT;
            outcome_set(&r->outcome, kind, NULL);
        } else {
            r->action = ACTION_TEMPFAIL;
            outcome_set_errno(&r->outcome, err, strerror(err));
        }
    }
}

/* The Received field of this hop: nothing per recipient in it unless
 * there is only one, so copies with the same verdict are identical. */
static void build_received(const struct config *cfg, const struct envelope *env, struct strbuf *out)
{
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
    (void)strbuf_printf(out, "\tby %s (lmtpscan) with %s id %s", cfg->server.hostname, with,
                        env->mail_id);
    if (env->n_rcpts == 1)
        (void)strbuf_printf(out, "\r\n\tfor <%s>", env->rcpts[0].address);
    (void)strbuf_printf(out, "; %s\r\n", date);
}

/* Each delivered or junked recipient's header block: the Received field
 * and the fields of its policy. The blocks are owned by blocks[i]. */
static void prepare_copies(const struct transaction *t, const struct message_header *mh,
                           const struct scan_result *res, struct strbuf *blocks,
                           struct dispatch_copy *copies)
{
    struct envelope *env = t->env;
    const char *subject = mh->subject_value.truncated ? NULL : mh->subject_value.raw;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        struct recipient *r = &env->rcpts[i];
        strbuf_init(&blocks[i], HEADER_BLOCK_MAX);
        if (r->action != ACTION_DELIVER && r->action != ACTION_JUNK)
            continue;
        build_received(t->cfg, env, &blocks[i]);
        bool subject_replaced = false;
        if (policy_headers(env, i, res, t->cfg->server.hostname, subject, &blocks[i],
                           &subject_replaced) < 0) {
            char rcpt[LOG_VALUE_SIZE(ADDRESS_MAX)];
            log_error("mail_id=%s rcpt=<%s> header block too large", env->mail_id,
                      log_value(r->address, rcpt, sizeof(rcpt)));
            r->action = ACTION_TEMPFAIL;
            outcome_set(&r->outcome, OUTCOME_LOCAL_ERROR, "header block too large");
            continue;
        }
        copies[i] = (struct dispatch_copy){.block = blocks[i].data ? blocks[i].data : "",
                                           .block_len = blocks[i].len,
                                           .drop_subject = subject_replaced};
    }
}

static void deliver(const struct transaction *t, const struct message_header *mh,
                    const struct scan_result *res)
{
    struct envelope *env = t->env;
    size_t n = env->n_rcpts ? env->n_rcpts : 1;
    struct strbuf *blocks = xcalloc(n, sizeof(*blocks));
    struct dispatch_copy *copies = xcalloc(n, sizeof(*copies));
    char reason[512];
    policy_quarantine_reason(env, res, reason, sizeof(reason));
    prepare_copies(t, mh, res, blocks, copies);
    struct dispatch d = {
        .cfg = t->cfg,
        .env = env,
        .msg = t->spool,
        .header = mh,
        .copies = copies,
        .quarantine_reason = reason,
    };
    dispatch_run(&d);
    /* Queued before the reply; a notice changes no outcome (failures to
     * queue are logged there). */
    if (notice_queue_message(t->cfg, env, mh, res, reason) > 0)
        notice_sender_wake();
    for (size_t i = 0; i < env->n_rcpts; i++)
        strbuf_free(&blocks[i]);
    free(blocks);
    free(copies);
}

/* The log line of one recipient (SPEC section 9): every value a client
 * or a peer supplied goes through log_value(); the reply is quoted, with
 * its own quotes and control bytes escaped. */
static void log_outcome(const struct envelope *env, const struct spool *spool, size_t i,
                        const struct scan_result *res)
{
    const struct timings *tm = &env->timings;
    const struct recipient *r = &env->rcpts[i];
    char score[128] = "-";
    size_t k = res->rcpt_spamd ? res->rcpt_spamd[i] : SIZE_MAX;
    if (k != SIZE_MAX &&
        (res->spamd[k].status == SPAMD_HAM || res->spamd[k].status == SPAMD_SPAM)) {
        /* the engine that answered, and the mail whose verdict was reused */
        const struct spamd_result *sr = &res->spamd[k];
        snprintf(score, sizeof(score), "%.1f/%.1f spam_engine=%s%s%s", sr->score, sr->required,
                 spam_engine_name(sr->engine), sr->reused_from[0] ? " reused_from=" : "",
                 sr->reused_from);
    }
    char line[OUTCOME_LINE_MAX], reply[LOG_VALUE_SIZE(OUTCOME_LINE_MAX)];
    char from[LOG_VALUE_SIZE(ADDRESS_MAX)], rcpt[LOG_VALUE_SIZE(ADDRESS_MAX)];
    char ident[LOG_VALUE_SIZE(sizeof(env->xforward.ident))];
    char virus[LOG_VALUE_SIZE(sizeof(res->clamav.virus))];
    outcome_format(&r->outcome, r->address, env->mail_id, line, sizeof(line));
    log_quoted(line, reply, sizeof(reply));
    /* banned / encrypted: the file's path (SPEC section 10) */
    char file[LOG_VALUE_SIZE(INVENTORY_PATH_MAX) + 16] = "";
    if (r->has_content_file && r->content_file < res->clamav.inventory.n) {
        char quoted[LOG_VALUE_SIZE(INVENTORY_PATH_MAX)];
        log_quoted(file_inventory_path(&res->clamav.inventory, r->content_file), quoted,
                   sizeof(quoted));
        snprintf(file, sizeof(file), " file=\"%s\"", quoted);
    }
    log_info(
        "mail_id=%s queue_id=%s from=<%s> rcpt=<%s> verdict=%s action=%s score=%s "
        "virus=%s size=%llu ms=%llu reply=\"%s\"%s timings=receive:%llu,scan:%llu,clamav:%llu,"
        "spam_wait:%llu,spam:%llu,delivery:%llu,relay:%llu",
        env->mail_id,
        env->xforward.ident[0] ? log_value(env->xforward.ident, ident, sizeof(ident)) : "-",
        log_value(env->mail_from, from, sizeof(from)), log_value(r->address, rcpt, sizeof(rcpt)),
        verdict_name(r->verdict), action_name(r->action), score,
        res->clamav.status == CLAMAV_INFECTED ? log_value(res->clamav.virus, virus, sizeof(virus))
                                              : "-",
        (unsigned long long)spool_size(spool), MS(tm->total_us), reply, file, MS(tm->receive_us),
        MS(tm->scan_us), MS(tm->clamav_us), MS(tm->spam_wait_us), MS(tm->spam_us),
        MS(tm->delivery_us), MS(tm->relay_us));
}

/* The scanning stage's timings from the result: ClamAV's branch, and of
 * the spam-engine requests the slowest one (wait + request), the one the
 * message waited for. */
static void scan_timings(struct timings *tm, const struct scan_result *res)
{
    tm->scan_us = res->scan_us;
    tm->clamav_us = res->clamav.duration_us;
    uint64_t slowest = 0;
    for (size_t k = 0; k < res->n_spamd; k++) {
        const struct spamd_result *sr = &res->spamd[k];
        if (sr->wait_us + sr->request_us >= slowest && sr->wait_us + sr->request_us > 0) {
            slowest = sr->wait_us + sr->request_us;
            tm->spam_wait_us = sr->wait_us;
            tm->spam_us = sr->request_us;
        }
    }
}

static int verdict_rank(enum verdict v)
{
    switch (v) {
    case VERDICT_VIRUS:
        return 5;
    case VERDICT_BANNED:
        return 4;
    case VERDICT_ENCRYPTED:
        return 3;
    case VERDICT_SPAM:
        return 2;
    case VERDICT_UNCHECKED:
        return 1;
    case VERDICT_CLEAN:
        break;
    }
    return 0;
}

/* The message's counters and stage observations (common/metrics.h). */
static void count_metrics(const struct envelope *env, const struct spool *spool, bool whole,
                          const struct scan_result *res, const char *smtp_reply)
{
    if (env->protocol == PROTO_SMTP && smtp_reply[0] >= '2' && smtp_reply[0] <= '5')
        metrics_count_reply(PROTO_SMTP, smtp_reply[0] - '0');
    const struct timings *tm = &env->timings;
    enum verdict worst = VERDICT_CLEAN;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        if (verdict_rank(r->verdict) > verdict_rank(worst))
            worst = r->verdict;
        metrics_count_recipient(env->protocol, r->verdict, r->action);
        if (env->protocol == PROTO_LMTP)
            metrics_count_reply(PROTO_LMTP, outcome_class(&r->outcome));
    }
    metrics_count_message(env->protocol, env->n_rcpts > 0 ? worst : VERDICT_UNCHECKED,
                          whole ? spool_size(spool) : 0);
    if (tm->data_start.tv_sec != 0 || tm->data_start.tv_nsec != 0)
        metrics_observe_stage(STAGE_RECEIVE, tm->receive_us);
    if (res->clamav.status != CLAMAV_NOT_RUN)
        metrics_observe_stage(STAGE_CLAMAV, res->clamav.duration_us);
    if (res->clamav.status == CLAMAV_ERROR)
        metrics_count_scanner_failure(ENGINE_CLAMAV);
    for (size_t k = 0; k < res->n_spamd; k++) {
        const struct spamd_result *sr = &res->spamd[k];
        if (sr->status == SPAMD_ERROR)
            metrics_count_scanner_failure(sr->engine == SPAM_ENGINE_RSPAMD ? ENGINE_RSPAMD
                                                                           : ENGINE_SPAMD);
        if (sr->status == SPAMD_NOT_RUN || sr->status == SPAMD_SKIPPED)
            continue;
        metrics_observe_stage(STAGE_SPAM_WAIT, sr->wait_us);
        if (sr->request_us > 0)
            metrics_observe_stage(STAGE_SPAM, sr->request_us);
    }
    if (tm->ran & TIMINGS_RAN_DELIVERY)
        metrics_observe_stage(STAGE_DELIVERY, tm->delivery_us);
    if (tm->ran & TIMINGS_RAN_RELAY)
        metrics_observe_stage(STAGE_RELAY, tm->relay_us);
}

/* The audit report (SPEC section 8), written before the replies go out;
 * a failure is logged and changes no reply (the mail is stored). */
static void write_report(const struct transaction *t, bool whole, const struct message_header *mh,
                         const struct scan_result *res, const char *smtp_reply)
{
    char path[PATH_MAX], err[512];
    if (report_write(t->cfg, t->env, whole ? mh : NULL, whole ? t->spool : NULL, res, smtp_reply,
                     path, sizeof(path), err, sizeof(err)) < 0)
        log_error("mail_id=%s report not written: %s", t->env->mail_id, err);
}

void transaction_run(const struct transaction *t, enum data_status status, int spool_errno,
                     char *smtp_reply, size_t smtp_reply_len)
{
    struct envelope *env = t->env;
    struct timespec start = mono_now();
    struct timings *tm = &env->timings;
    bool have_start = tm->data_start.tv_sec != 0 || tm->data_start.tv_nsec != 0;
    struct timespec origin = have_start ? tm->data_start : start;
    tm->receive_us = have_start ? timings_us_between(tm->data_start, start) : 0;
    clock_gettime(CLOCK_REALTIME, &env->received);
    if (mail_id_new(env->mail_id) < 0) {
        status = DATA_SPOOL_ERROR;
        spool_errno = EIO;
        snprintf(env->mail_id, sizeof(env->mail_id), "000000000000");
    }
    if (status == DATA_OK && spool_finish(t->spool) < 0) {
        status = DATA_SPOOL_ERROR;
        spool_errno = errno;
    }
    struct scan_result res;
    memset(&res, 0, sizeof(res));
    struct message_header mh;
    memset(&mh, 0, sizeof(mh));
    if (status == DATA_OK && message_header_read(t->spool, &mh) < 0) {
        status = DATA_SPOOL_ERROR;
        spool_errno = errno;
    }

    if (status == DATA_TOO_BIG) {
        fail_all(env, OUTCOME_TOO_BIG, 0);
    } else if (status == DATA_SPOOL_ERROR) {
        fail_all(env, OUTCOME_LOCAL_ERROR, spool_errno);
    } else {
        if (mh.n_drop > 0)
            log_info("mail_id=%s removed %zu incoming verdict header field(s) "
                     "(X-Spam-*, X-Virus-Scanned)",
                     env->mail_id, mh.n_drop);
        if (t->scan != NULL) {
            (void)scan_message(t->scan, t->cfg, env, t->spool, &res);
            scan_timings(tm, &res);
        }
        policy_decide(env, &res);
        policy_smtp_defer(env);
        deliver(t, &mh, &res);
    }

    tm->total_us = timings_us_between(origin, mono_now());
    for (size_t i = 0; i < env->n_rcpts; i++)
        log_outcome(env, t->spool, i, &res);

    if (smtp_reply_len > 0)
        smtp_reply[0] = '\0';
    if (env->protocol == PROTO_SMTP) {
        bool dsn_sent = status != DATA_OK || dispatch_notify_failures(t->cfg, env, t->spool);
        outcome_smtp_summary(env, !dsn_sent, smtp_reply, smtp_reply_len);
    }
    struct timespec report_start = mono_now();
    write_report(t, status == DATA_OK, &mh, &res, env->protocol == PROTO_SMTP ? smtp_reply : NULL);
    count_metrics(env, t->spool, status == DATA_OK, &res, smtp_reply_len > 0 ? smtp_reply : "");
    if (t->cfg->report.dir[0] != '\0')
        metrics_observe_stage(STAGE_REPORT, timings_us_between(report_start, mono_now()));
    message_header_free(&mh);
    scan_result_free(&res);
}
