/*
 * notice_queue: which notices a transaction owes, their durable files
 * in queue_dir, and the sending of one file (see notice_queue.h).
 */
#include "deliver/notice_queue.h"

#include "common/fd_io.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/file_inventory.h"
#include "common/text.h"
#include "common/xalloc.h"
#include "deliver/durable_file.h"
#include "deliver/notice.h"
#include "deliver/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "lmtpscan-notice 1\n"

/* Stored and refused for good (not a 4xx that may pass later). */
static bool blocked(const struct recipient *r)
{
    return r->outcome.kind == OUTCOME_QUARANTINED || r->outcome.kind == OUTCOME_DISCARDED ||
           outcome_is_policy(&r->outcome);
}

static void rcpt_reason(const struct envelope *env, size_t i, const struct scan_result *res,
                        const char *fallback, char *out, size_t out_len)
{
    const struct recipient *r = &env->rcpts[i];
    size_t k = res->rcpt_spamd ? res->rcpt_spamd[i] : SIZE_MAX;
    if (r->verdict == VERDICT_VIRUS)
        snprintf(out, out_len, "virus %s", res->clamav.virus);
    else if (r->verdict == VERDICT_SPAM && k != SIZE_MAX)
        snprintf(out, out_len, "spam, score %.1f (required %.1f)", res->spamd[k].score,
                 res->spamd[k].required);
    else if (r->verdict == VERDICT_UNCHECKED && res->clamav.reason[0] != '\0')
        snprintf(out, out_len, "unchecked: %s", res->clamav.reason);
    else if ((r->verdict == VERDICT_BANNED || r->verdict == VERDICT_ENCRYPTED) &&
             r->has_content_file && r->content_file < res->clamav.inventory.n)
        snprintf(out, out_len, "%s %s", verdict_name(r->verdict),
                 file_inventory_path(&res->clamav.inventory, r->content_file));
    else
        snprintf(out, out_len, "%s", fallback ? fallback : verdict_name(r->verdict));
}

static void full_address(const struct config *cfg, const char *a, char *out, size_t out_len)
{
    if (strchr(a, '@') != NULL)
        snprintf(out, out_len, "%s", a);
    else
        snprintf(out, out_len, "%s@%s", a, cfg->server.hostname);
}

static const char *raw_value(const struct header_value *v)
{
    return v->raw != NULL ? v->raw : NULL;
}

/* Writes one notice file; logged on failure. 0 or -1. */
static int write_entry(const struct config *cfg, const char *mail_id, const char *name,
                       const char *to, const struct notice *n)
{
    struct strbuf sb;
    strbuf_init(&sb, NOTICE_FILE_MAX);
    int rc = strbuf_printf(&sb, MAGIC "rcpt: %s\n\n", to);
    if (rc == 0)
        rc = notice_build(n, &sb);
    if (rc != 0) {
        log_error("mail_id=%s notice to <%s> not queued: too large", mail_id, to);
        strbuf_free(&sb);
        return -1;
    }
    struct durable_file df;
    if (durable_file_open(&df, cfg->notify.queue_dir, NULL, name) < 0) {
        log_error("mail_id=%s notice to <%s> not queued: %s/%s: %s", mail_id, to,
                  cfg->notify.queue_dir, name, strerror(errno));
        strbuf_free(&sb);
        return -1;
    }
    if (write_all(df.fd, sb.data, sb.len) < 0) {
        int e = errno;
        durable_file_abort(&df);
        log_error("mail_id=%s notice to <%s> not queued: %s", mail_id, to, strerror(e));
        strbuf_free(&sb);
        return -1;
    }
    strbuf_free(&sb);
    if (durable_file_commit(&df) < 0) {
        log_error("mail_id=%s notice to <%s> not queued: %s", mail_id, to, strerror(errno));
        return -1;
    }
    log_info("mail_id=%s notice to <%s> queued (%s)", mail_id, to, name);
    return 0;
}

size_t notice_queue_message(const struct config *cfg, const struct envelope *env,
                            const struct message_header *mh, const struct scan_result *res,
                            const char *reason)
{
    if (!config_notify_enabled(cfg) || env->n_rcpts == 0)
        return 0;
    char from[sizeof(cfg->notify.from) + 256];
    full_address(cfg, cfg->notify.from, from, sizeof(from));
    struct notice base = {
        .hostname = cfg->server.hostname,
        .from = from,
        .mail_id = env->mail_id,
        .received = env->received.tv_sec,
        .now = time(NULL),
        .orig_from = raw_value(&mh->from),
        .orig_subject = raw_value(&mh->subject_value),
        .orig_date = raw_value(&mh->date),
        .orig_message_id = raw_value(&mh->message_id),
    };
    size_t queued = 0;
    char name[64], why[512];

    /* the administrator: one notice for all the blocked recipients */
    if (cfg->notify.admin[0] != '\0') {
        const char **rcpts = xcalloc(env->n_rcpts, sizeof(*rcpts));
        size_t n = 0, first = SIZE_MAX;
        bool kept = false;
        for (size_t i = 0; i < env->n_rcpts; i++) {
            const struct recipient *r = &env->rcpts[i];
            if (!blocked(r) ||
                !(cfg->notify.admin_on & config_notify_bit(verdict_name(r->verdict))))
                continue;
            if (first == SIZE_MAX)
                first = i;
            rcpts[n++] = r->address;
            kept |= r->outcome.kind == OUTCOME_QUARANTINED;
        }
        if (n > 0) {
            char admin[sizeof(cfg->notify.admin) + 256];
            full_address(cfg, cfg->notify.admin, admin, sizeof(admin));
            const struct recipient *r = &env->rcpts[first];
            rcpt_reason(env, first, res, reason, why, sizeof(why));
            struct notice nt = base;
            nt.to = admin;
            nt.admin = true;
            nt.seq = 0;
            nt.verdict = verdict_name(r->verdict);
            nt.action = action_name(r->action);
            nt.reason = why;
            nt.releasable = kept;
            nt.rcpts = rcpts;
            nt.n_rcpts = n;
            snprintf(name, sizeof(name), "%s-a", env->mail_id);
            queued += write_entry(cfg, env->mail_id, name, admin, &nt) == 0;
        }
        free(rcpts);
    }

    /* each recipient whose message is kept in the quarantine */
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        if (r->outcome.kind != OUTCOME_QUARANTINED ||
            !(cfg->notify.recipient_on & config_notify_bit(verdict_name(r->verdict))))
            continue;
        rcpt_reason(env, i, res, reason, why, sizeof(why));
        const char *one[1] = {r->address};
        struct notice nt = base;
        nt.to = r->address;
        nt.admin = false;
        nt.seq = (unsigned)(i + 1);
        nt.verdict = verdict_name(r->verdict);
        nt.action = action_name(r->action);
        nt.reason = why;
        nt.releasable = true;
        nt.rcpts = one;
        nt.n_rcpts = 1;
        snprintf(name, sizeof(name), "%s-r%zu", env->mail_id, i);
        queued += write_entry(cfg, env->mail_id, name, r->address, &nt) == 0;
    }
    return queued;
}

bool notice_queue_is_entry(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.' || n < MAIL_ID_LEN + 2 || n > 64 || name[MAIL_ID_LEN] != '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

/* Reads the whole file (at most NOTICE_FILE_MAX bytes). */
static char *read_entry(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    char *buf = xmalloc(NOTICE_FILE_MAX + 1);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, NOTICE_FILE_MAX + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            free(buf);
            errno = e;
            return NULL;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > NOTICE_FILE_MAX) {
            close(fd);
            free(buf);
            errno = EFBIG;
            return NULL;
        }
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return buf;
}

struct entry_body {
    const char *data;
    size_t len;
};

static int write_entry_body(void *arg, copy_sink_fn sink, void *sink_arg)
{
    struct entry_body *b = arg;
    return sink(sink_arg, b->data, b->len);
}

void notice_send(const struct config *cfg, const char *log_id, const char *rcpt, const char *msg,
                 size_t len, struct notice_send_status *st)
{
    struct config *send_cfg = xmalloc(sizeof(*send_cfg));
    *send_cfg = *cfg;
    if (net_address_is_set(&cfg->notify.method)) {
        /* another server: the relay's SMTP AUTH credentials are not for it */
        send_cfg->deliver.relay = cfg->notify.method;
        send_cfg->deliver.relay_sasl_username[0] = '\0';
        send_cfg->deliver.relay_sasl_password[0] = '\0';
    }
    struct entry_body eb = {.data = msg, .len = len};
    struct relay_rcpt to = {.address = rcpt};
    char error[256];
    relay_send_from_null(send_cfg, log_id, &to, len, text_has_8bit(msg, len),
                         text_has_8bit(rcpt, strlen(rcpt)), write_entry_body, &eb, error,
                         sizeof(error));
    explicit_bzero(send_cfg->deliver.relay_sasl_password,
                   sizeof(send_cfg->deliver.relay_sasl_password));
    free(send_cfg);
    if (to.status == RELAY_ACCEPTED) {
        st->result = NOTICE_SENT;
        snprintf(st->text, sizeof(st->text), "%d %s", to.code, to.text);
    } else if (to.status == RELAY_REFUSED) {
        st->result = to.code >= 500 ? NOTICE_DROPPED : NOTICE_DEFERRED;
        snprintf(st->text, sizeof(st->text), "%d %s", to.code, to.text);
    } else {
        st->result = NOTICE_UNREACHABLE;
        snprintf(st->text, sizeof(st->text), "%s", error);
    }
}

static void drop(const char *path, const char *name, const char *why)
{
    if (unlink(path) < 0 && errno != ENOENT)
        log_error("notice %s: cannot remove: %s", name, strerror(errno));
    log_error("notice %s dropped: %s", name, why);
}

enum notice_send_result notice_queue_send(const struct config *cfg, const char *name)
{
    char path[PATH_MAX + 80];
    snprintf(path, sizeof(path), "%s/%s", cfg->notify.queue_dir, name);
    size_t len = 0;
    char *buf = read_entry(path, &len);
    if (buf == NULL) {
        if (errno == ENOENT)
            return NOTICE_DROPPED; /* gone meanwhile */
        char why[256];
        snprintf(why, sizeof(why), "unreadable: %s", strerror(errno));
        drop(path, name, why);
        return NOTICE_DROPPED;
    }
    char rcpt[ADDRESS_MAX + 1];
    const char *p = buf;
    const char *body = NULL;
    if (len > strlen(MAGIC) && memcmp(p, MAGIC, strlen(MAGIC)) == 0) {
        p += strlen(MAGIC);
        const char *nl = strchr(p, '\n');
        if (nl != NULL && strncmp(p, "rcpt: ", 6) == 0 && (size_t)(nl - p - 6) <= ADDRESS_MAX &&
            nl[1] == '\n') {
            memcpy(rcpt, p + 6, (size_t)(nl - p - 6));
            rcpt[nl - p - 6] = '\0';
            body = nl + 2;
        }
    }
    if (body == NULL || rcpt[0] == '\0') {
        drop(path, name, "not a notice file");
        free(buf);
        return NOTICE_DROPPED;
    }

    char log_id[96];
    snprintf(log_id, sizeof(log_id), "notice %s", name);
    struct notice_send_status st;
    notice_send(cfg, log_id, rcpt, body, len - (size_t)(body - buf), &st);
    free(buf);

    if (st.result == NOTICE_SENT) {
        if (unlink(path) < 0 && errno != ENOENT)
            log_error("notice %s sent but not removed: %s", name, strerror(errno));
        log_info("notice %s to <%s> sent: %s", name, rcpt, st.text);
    } else if (st.result == NOTICE_DROPPED) {
        char why[512];
        snprintf(why, sizeof(why), "<%s> refused: %s", rcpt, st.text);
        drop(path, name, why);
    } else {
        log_info("notice %s to <%s> deferred: %s", name, rcpt, st.text);
    }
    return st.result;
}
