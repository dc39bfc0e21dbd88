/*
 * relay: SMTP delivery to deliver.relay (see relay.h). The transaction
 * runs in three steps: get a connection (pooled or new: greeting, EHLO,
 * AUTH), send the envelope (XFORWARD, MAIL, RCPT..., DATA; pipelined in
 * batches so neither side can block on a full socket buffer), then the
 * content and the final reply. A pooled connection that fails before any
 * content went out is replaced once by a new one, so a relay that closed
 * an idle connection costs nothing.
 */
#include "deliver/relay.h"
#include "deliver/relay_pool.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "deliver/sasl_client.h"
#include "deliver/smtp_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPELINE_BATCH   32  /* commands sent before their replies are read */
#define XFORWARD_LINE    480 /* Postfix limits an XFORWARD line to 512 */
#define PROBE_TIMEOUT_MS 10000

/* ---- connection set-up ---- */

static int timeout_ms(const struct config *cfg)
{
    return cfg->server.timeout > 0 ? (int)cfg->server.timeout * 1000 : 300000;
}

/* A new connection, greeted, EHLO'ed and authenticated; NULL with err. */
static struct smtp_conn *relay_connect(const struct config *cfg, char *err, size_t errlen)
{
    struct smtp_conn *c = NULL;
    struct smtp_reply r;
    char cerr[256];
    if (smtp_conn_open(&cfg->deliver.relay, timeout_ms(cfg), &c, &r, cerr, sizeof(cerr)) < 0) {
        snprintf(err, errlen, "%s", cerr);
        return NULL;
    }
    if (r.code != 220) {
        snprintf(err, errlen, "greeting: %s", r.line);
        goto fail;
    }
    if (smtp_ehlo(c, cfg->server.hostname, &r) < 0) {
        snprintf(err, errlen, "EHLO: %s", smtp_conn_error(c));
        goto fail;
    }
    if (r.code != 250) {
        snprintf(err, errlen, "EHLO: %s", r.line);
        goto fail;
    }
    if (cfg->deliver.relay_sasl_username[0] != '\0') {
        const char *server =
            cfg->deliver.relay.kind == NET_INET ? cfg->deliver.relay.host : cfg->server.hostname;
        char aerr[256];
        enum sasl_auth_result ar =
            sasl_client_authenticate(c, server, cfg->deliver.relay_sasl_username,
                                     cfg->deliver.relay_sasl_password, &r, aerr, sizeof(aerr));
        if (ar != SASL_AUTH_OK) {
            snprintf(err, errlen, "authentication failed: %s", aerr);
            goto fail;
        }
    }
    return c;
fail:
    smtp_conn_close(c);
    return NULL;
}

/* A pooled connection that still answers RSET with 250, or NULL. */
static struct smtp_conn *relay_reuse(const struct config *cfg, const char *key)
{
    struct smtp_conn *c;
    while ((c = relay_pool_take(key)) != NULL) {
        struct smtp_reply r;
        smtp_conn_set_timeout(c, PROBE_TIMEOUT_MS < timeout_ms(cfg) ? PROBE_TIMEOUT_MS
                                                                    : timeout_ms(cfg));
        if (smtp_cmd(c, "RSET") == 0 && smtp_read_reply(c, &r, NULL, NULL) == 0 && r.code == 250) {
            smtp_conn_set_timeout(c, timeout_ms(cfg));
            return c;
        }
        smtp_conn_close(c);
    }
    return NULL;
}

/* ---- the transaction ---- */

enum txn_result {
    TXN_REUSABLE, /* outcome known, connection clean */
    TXN_CLOSE,    /* outcome known, connection not to be reused */
    TXN_IO_ERROR, /* connection failed; undecided recipients unavailable */
};

enum pending_kind { P_MAIL, P_RCPT, P_DATA };

struct txn {
    struct smtp_conn *c;
    struct relay_job *job;
    enum pending_kind *kinds;
    size_t *idx;
    size_t n_pending;
    bool mail_ok;
    bool data_ok;
    size_t accepted;
    bool body_sent;
    bool closing; /* the relay said 421 */
};

static void copy_reply(struct relay_rcpt *r, const struct smtp_reply *rep)
{
    r->code = rep->code;
    if (rep->status[0] != '\0')
        snprintf(r->enhanced, sizeof(r->enhanced), "%s", rep->status);
    else
        snprintf(r->enhanced, sizeof(r->enhanced), "%d.0.0", rep->code / 100);
    snprintf(r->text, sizeof(r->text), "%s", rep->line[3] ? rep->line + 4 : "");
}

/* A 4xx/5xx for every recipient not yet decided (421 = unavailable). */
static void refuse_undecided(struct txn *t, const struct smtp_reply *rep)
{
    for (size_t i = 0; i < t->job->n_rcpts; i++) {
        struct relay_rcpt *r = &t->job->rcpts[i];
        if (r->status != RELAY_PENDING)
            continue;
        if (rep->code == 421) {
            r->status = RELAY_UNAVAILABLE;
            snprintf(t->job->error, sizeof(t->job->error), "%s", rep->line);
        } else {
            r->status = RELAY_REFUSED;
            copy_reply(r, rep);
        }
    }
    if (rep->code == 421)
        t->closing = true;
}

static void handle_reply(struct txn *t, enum pending_kind kind, size_t i,
                         const struct smtp_reply *rep)
{
    struct relay_job *job = t->job;
    switch (kind) {
    case P_MAIL:
        t->mail_ok = rep->code / 100 == 2;
        if (!t->mail_ok)
            refuse_undecided(t, rep);
        return;
    case P_RCPT:
        if (job->rcpts[i].status != RELAY_PENDING)
            return; /* MAIL already failed */
        if (rep->code / 100 == 2) {
            t->accepted++;
        } else if (rep->code == 421) {
            job->rcpts[i].status = RELAY_UNAVAILABLE;
            snprintf(job->error, sizeof(job->error), "%s", rep->line);
            t->closing = true;
        } else {
            job->rcpts[i].status = RELAY_REFUSED;
            copy_reply(&job->rcpts[i], rep);
        }
        return;
    case P_DATA:
        t->data_ok = rep->code == 354;
        if (!t->data_ok && t->mail_ok)
            refuse_undecided(t, rep);
        return;
    }
}

/* Reads the replies of every queued command, in order. */
static int drain(struct txn *t)
{
    for (size_t k = 0; k < t->n_pending; k++) {
        struct smtp_reply rep;
        if (smtp_read_reply(t->c, &rep, NULL, NULL) < 0)
            return -1;
        handle_reply(t, t->kinds[k], t->idx[k], &rep);
    }
    t->n_pending = 0;
    return 0;
}

static int queue_cmd(struct txn *t, enum pending_kind kind, size_t i, const char *line)
{
    if (smtp_cmd(t->c, "%s", line) < 0)
        return -1;
    t->kinds[t->n_pending] = kind;
    t->idx[t->n_pending] = i;
    t->n_pending++;
    if (!smtp_conn_caps(t->c)->pipelining || t->n_pending >= PIPELINE_BATCH)
        return drain(t);
    return 0;
}

static int add_xforward_attr(struct smtp_conn *c, struct strbuf *line, const char *name,
                             const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    struct strbuf attr;
    strbuf_init(&attr, 2048);
    int rc = 0;
    if (strbuf_printf(&attr, " %s=", name) < 0 || smtp_xtext_append(&attr, value) < 0 ||
        attr.len > XFORWARD_LINE - 9)
        goto out; /* an attribute too long to forward is left out */
    if (line->len + attr.len > XFORWARD_LINE) {
        struct smtp_reply rep;
        if (smtp_cmd(c, "XFORWARD%s", line->data) < 0 || smtp_read_reply(c, &rep, NULL, NULL) < 0) {
            rc = -1;
            goto out;
        }
        strbuf_reset(line);
    }
    /* cannot fail: line is sent well below its limit */
    if (strbuf_append(line, attr.data, attr.len) < 0)
        rc = -1;
out:
    strbuf_free(&attr);
    return rc;
}

/* XFORWARD the attributes the relay knows; its replies only matter for
 * the connection (XFORWARD is logging information). */
static int send_xforward(struct txn *t)
{
    const struct xforward *x = t->job->xforward;
    unsigned have = smtp_conn_caps(t->c)->xforward;
    if (x == NULL || have == 0)
        return 0;
    struct strbuf line;
    strbuf_init(&line, 4096);
    const struct {
        unsigned bit;
        const char *name;
        const char *value;
    } attrs[] = {
        {SMTP_XF_NAME, "NAME", x->name},       {SMTP_XF_ADDR, "ADDR", x->addr},
        {SMTP_XF_PORT, "PORT", x->port},       {SMTP_XF_PROTO, "PROTO", x->proto},
        {SMTP_XF_HELO, "HELO", x->helo},       {SMTP_XF_IDENT, "IDENT", x->ident},
        {SMTP_XF_SOURCE, "SOURCE", x->source},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]) && rc == 0; i++)
        if (have & attrs[i].bit)
            rc = add_xforward_attr(t->c, &line, attrs[i].name, attrs[i].value);
    if (rc == 0 && line.len > 0) {
        struct smtp_reply rep;
        if (smtp_cmd(t->c, "XFORWARD%s", line.data) < 0 ||
            smtp_read_reply(t->c, &rep, NULL, NULL) < 0)
            rc = -1;
        else if (rep.code != 250) {
            char why[LOG_VALUE_SIZE(sizeof(rep.line))];
            log_warn("%s relay: XFORWARD refused: %s", t->job->log_id,
                     log_quoted(rep.line, why, sizeof(why)));
        }
    }
    strbuf_free(&line);
    return rc;
}

static void notify_param(unsigned notify, char *out, size_t outlen)
{
    if (notify & DSN_NOTIFY_NEVER) {
        snprintf(out, outlen, " NOTIFY=NEVER");
        return;
    }
    snprintf(out, outlen, " NOTIFY=%s%s%s%s", (notify & DSN_NOTIFY_SUCCESS) ? "SUCCESS," : "",
             (notify & DSN_NOTIFY_FAILURE) ? "FAILURE," : "",
             (notify & DSN_NOTIFY_DELAY) ? "DELAY," : "", "");
    size_t n = strlen(out);
    if (n > 0 && out[n - 1] == ',')
        out[n - 1] = '\0';
}

static int send_envelope(struct txn *t)
{
    struct relay_job *job = t->job;
    const struct smtp_caps *caps = smtp_conn_caps(t->c);
    char line[1200];
    size_t n = 0;
    n += (size_t)snprintf(line + n, sizeof(line) - n, "MAIL FROM:<%s>", job->mail_from);
    if (caps->size && job->size > 0 && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, " SIZE=%llu",
                              (unsigned long long)job->size);
    if (caps->eightbitmime && job->eight_bit && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, " BODY=8BITMIME");
    if (caps->smtputf8 && job->smtputf8 && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, " SMTPUTF8");
    if (caps->dsn && job->ret != DSN_RET_UNSPECIFIED && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, " RET=%s",
                              job->ret == DSN_RET_FULL ? "FULL" : "HDRS");
    if (caps->dsn && job->envid != NULL && job->envid[0] != '\0' && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, " ENVID=%s", job->envid);
    if (n >= sizeof(line))
        return -1;
    if (queue_cmd(t, P_MAIL, 0, line) < 0)
        return -1;
    for (size_t i = 0; i < job->n_rcpts; i++) {
        const struct relay_rcpt *r = &job->rcpts[i];
        n = (size_t)snprintf(line, sizeof(line), "RCPT TO:<%s>", r->address);
        if (caps->dsn && r->notify != 0 && n < sizeof(line)) {
            char np[64];
            notify_param(r->notify, np, sizeof(np));
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s", np);
        }
        if (caps->dsn && r->orcpt != NULL && r->orcpt[0] != '\0' && n < sizeof(line))
            n += (size_t)snprintf(line + n, sizeof(line) - n, " ORCPT=%s", r->orcpt);
        if (n >= sizeof(line))
            return -1;
        if (queue_cmd(t, P_RCPT, i, line) < 0)
            return -1;
    }
    if (queue_cmd(t, P_DATA, 0, "DATA") < 0)
        return -1;
    return drain(t);
}

static enum txn_result run_transaction(struct txn *t)
{
    struct relay_job *job = t->job;
    if (send_xforward(t) < 0 || send_envelope(t) < 0)
        return TXN_IO_ERROR;
    if (t->closing)
        return TXN_CLOSE;
    if (!t->data_ok) {
        /* nothing to send: end the transaction for the next one */
        struct smtp_reply rep;
        if (smtp_cmd(t->c, "RSET") < 0 || smtp_read_reply(t->c, &rep, NULL, NULL) < 0)
            return TXN_CLOSE;
        return rep.code == 250 ? TXN_REUSABLE : TXN_CLOSE;
    }
    struct smtp_data_writer w;
    smtp_data_begin(&w, t->c);
    t->body_sent = true;
    /* 354 with no recipient accepted (a server that does not check): send
     * an empty message, nobody gets it. */
    if (t->accepted > 0 && job->write_body(job->body_arg, smtp_data_sink, &w) < 0) {
        snprintf(job->error, sizeof(job->error), "sending the message: %s",
                 smtp_conn_error(t->c)[0] ? smtp_conn_error(t->c) : strerror(errno));
        return TXN_IO_ERROR;
    }
    struct smtp_reply rep;
    if (smtp_data_end(&w) < 0 || smtp_read_reply(t->c, &rep, NULL, NULL) < 0)
        return TXN_IO_ERROR;
    for (size_t i = 0; i < job->n_rcpts; i++) {
        struct relay_rcpt *r = &job->rcpts[i];
        if (r->status != RELAY_PENDING)
            continue;
        if (rep.code / 100 == 2) {
            r->status = RELAY_ACCEPTED;
            copy_reply(r, &rep);
        }
    }
    if (rep.code / 100 != 2)
        refuse_undecided(t, &rep);
    return t->closing ? TXN_CLOSE : TXN_REUSABLE;
}

void relay_send(const struct config *cfg, struct relay_job *job)
{
    char key[1400];
    relay_pool_key(cfg, key, sizeof(key));
    job->error[0] = '\0';
    struct txn t;
    memset(&t, 0, sizeof(t));
    t.job = job;
    t.kinds = xcalloc(job->n_rcpts + 2, sizeof(*t.kinds));
    t.idx = xcalloc(job->n_rcpts + 2, sizeof(*t.idx));

    for (int attempt = 0; attempt < 2; attempt++) {
        for (size_t i = 0; i < job->n_rcpts; i++)
            job->rcpts[i].status = RELAY_PENDING;
        t.n_pending = 0;
        t.mail_ok = t.data_ok = t.body_sent = t.closing = false;
        t.accepted = 0;
        bool reused = true;
        t.c = attempt == 0 ? relay_reuse(cfg, key) : NULL;
        if (t.c == NULL) {
            reused = false;
            t.c = relay_connect(cfg, job->error, sizeof(job->error));
            if (t.c == NULL)
                break;
        }
        enum txn_result res = run_transaction(&t);
        if (res == TXN_REUSABLE) {
            relay_pool_put(t.c, key);
            t.c = NULL;
            break;
        }
        if (res == TXN_IO_ERROR && job->error[0] == '\0')
            snprintf(job->error, sizeof(job->error), "%s", smtp_conn_error(t.c));
        smtp_conn_close(t.c);
        t.c = NULL;
        if (res == TXN_CLOSE)
            break;
        /* A pooled connection the relay dropped: once more on a new one,
         * unless content went out (the relay may have it already). */
        if (!reused || t.body_sent)
            break;
        log_debug("%s relay: pooled connection failed (%s), reconnecting", job->log_id, job->error);
        job->error[0] = '\0';
    }
    for (size_t i = 0; i < job->n_rcpts; i++)
        if (job->rcpts[i].status == RELAY_PENDING)
            job->rcpts[i].status = RELAY_UNAVAILABLE;
    if (job->error[0] != '\0') {
        char addr[400];
        net_address_format(&cfg->deliver.relay, addr, sizeof(addr));
        char why[LOG_VALUE_SIZE(sizeof(job->error))];
        log_warn("%s relay %s: %s", job->log_id, addr, log_quoted(job->error, why, sizeof(why)));
    }
    free(t.kinds);
    free(t.idx);
}

/* ---- the pipeline's entry ---- */

bool relay_spool_is_8bit(const struct spool *msg)
{
    const char *mem = spool_memory(msg);
    uint64_t size = spool_size(msg);
    if (mem != NULL) {
        for (uint64_t i = 0; i < size; i++)
            if ((unsigned char)mem[i] >= 0x80)
                return true;
        return false;
    }
    char buf[16384];
    uint64_t off = 0;
    while (off < size) {
        ssize_t n = spool_pread(msg, buf, sizeof(buf), off);
        if (n <= 0)
            return true;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] >= 0x80)
                return true;
        off += (uint64_t)n;
    }
    return false;
}

static int write_copy(void *arg, copy_sink_fn sink, void *sink_arg)
{
    return message_copy_write(arg, sink, sink_arg);
}

/* XFORWARD values: what Postfix forwarded to us, else our own client;
 * false when no client is known (a release from the quarantine). */
static bool forwarded_client(const struct envelope *env, struct xforward *x)
{
    const struct xforward *in = &env->xforward;
    if (in->name[0] || in->addr[0] || in->helo[0] || in->proto[0] || in->ident[0]) {
        *x = *in;
        return true;
    }
    if (env->peer_addr[0] == '\0' && env->helo[0] == '\0')
        return false;
    memset(x, 0, sizeof(*x));
    if (strcmp(env->peer_addr, "unix") != 0 && env->peer_addr[0] != '\0') {
        snprintf(x->name, sizeof(x->name), "[UNAVAILABLE]");
        snprintf(x->addr, sizeof(x->addr), "%s%s", strchr(env->peer_addr, ':') ? "IPv6:" : "",
                 env->peer_addr);
        snprintf(x->port, sizeof(x->port), "%s", env->peer_port);
    }
    snprintf(x->helo, sizeof(x->helo), "%s", env->helo);
    return true;
}

void relay_deliver(const struct config *cfg, struct envelope *env, const size_t *rcpt_idx, size_t n,
                   const struct message_copy *mc)
{
    if (n == 0)
        return;
    struct relay_rcpt *rr = xcalloc(n, sizeof(*rr));
    for (size_t k = 0; k < n; k++) {
        const struct recipient *r = &env->rcpts[rcpt_idx[k]];
        rr[k].address = r->address;
        rr[k].orcpt = r->orcpt;
        rr[k].notify = r->notify;
    }
    bool eight_bit = env->body == BODY_8BITMIME || env->body == BODY_BINARYMIME;
    for (size_t i = 0; i < mc->prepend_len && !eight_bit; i++)
        eight_bit = (unsigned char)mc->prepend[i] >= 0x80;
    if (!eight_bit)
        eight_bit = relay_spool_is_8bit(mc->msg);
    struct xforward xf;
    bool have_client = forwarded_client(env, &xf);
    struct relay_job job = {
        .log_id = env->mail_id,
        .mail_from = env->mail_from,
        .size = spool_size(mc->msg) + mc->prepend_len,
        .eight_bit = eight_bit,
        .smtputf8 = env->smtputf8,
        .ret = env->ret,
        .envid = env->envid,
        .xforward = have_client ? &xf : NULL,
        .rcpts = rr,
        .n_rcpts = n,
        .write_body = write_copy,
        .body_arg = (void *)mc,
    };
    relay_send(cfg, &job);

    for (size_t k = 0; k < n; k++) {
        struct recipient *r = &env->rcpts[rcpt_idx[k]];
        const struct relay_rcpt *x = &rr[k];
        switch (x->status) {
        case RELAY_ACCEPTED:
            outcome_set(&r->outcome, OUTCOME_RELAYED, x->text);
            free(r->destination);
            char dest[sizeof(x->text) + 8];
            snprintf(dest, sizeof(dest), "%d %s", x->code, x->text);
            r->destination = xstrdup(dest);
            break;
        case RELAY_REFUSED:
            outcome_set_relay(&r->outcome, x->code, x->enhanced, x->text);
            break;
        case RELAY_PENDING:
        case RELAY_UNAVAILABLE:
            outcome_set(&r->outcome, OUTCOME_RELAY_UNAVAILABLE, job.error);
            break;
        }
    }
    free(rr);
}

void relay_send_from_null(const struct config *cfg, const char *log_id, struct relay_rcpt *to,
                          uint64_t size, bool eight_bit, bool smtputf8,
                          int (*write_body)(void *arg, copy_sink_fn sink, void *sink_arg),
                          void *body_arg, char *error, size_t error_len)
{
    struct relay_job job = {
        .log_id = log_id,
        .mail_from = "",
        .size = size,
        .eight_bit = eight_bit || smtputf8,
        .smtputf8 = smtputf8,
        .ret = DSN_RET_UNSPECIFIED,
        .envid = "",
        .xforward = NULL,
        .rcpts = to,
        .n_rcpts = 1,
        .write_body = write_body,
        .body_arg = body_arg,
    };
    relay_send(cfg, &job);
    if (error != NULL && error_len > 0)
        snprintf(error, error_len, "%s", job.error);
}
