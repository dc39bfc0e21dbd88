/*
 * report: writes the per-transaction XML report (see report.h for the
 * contract, conf/report.xsd for the format); where it is stored is
 * report_store.c, the release records report_release.c.
 *
 * Every string that goes to libxml2 passes through xml_text first (valid
 * UTF-8, no characters XML 1.0 forbids, bounded); libxml2 does the
 * escaping of markup. The document is built in memory, then stored with
 * durable_file, so a reader sees either no report or a whole one.
 */
#include "deliver/report.h"
#include "common/mail_id.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "deliver/report_store.h"
#include "deliver/rfc2047.h"
#include "deliver/xml_text.h"

#include <errno.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTR_MAX     4096 /* bound of any other attribute or text value */
#define REPORT_MODE  0640
#define DAY_DIR_MODE 0750

/* ---- writing helpers: the first libxml2 failure sticks in ok ---- */

struct writer {
    xmlTextWriterPtr w;
    bool ok;
};

static void w_start(struct writer *wr, const char *name)
{
    if (wr->ok && xmlTextWriterStartElement(wr->w, X(name)) < 0)
        wr->ok = false;
}

static void w_end(struct writer *wr)
{
    if (wr->ok && xmlTextWriterEndElement(wr->w) < 0)
        wr->ok = false;
}

/* An attribute already made safe by xml_text. */
static void w_attr_clean(struct writer *wr, const char *name, const char *clean)
{
    if (wr->ok && xmlTextWriterWriteAttribute(wr->w, X(name), X(clean)) < 0)
        wr->ok = false;
}

/* An attribute from arbitrary bytes, sanitised and cut at max. */
static void w_attr_bytes(struct writer *wr, const char *name, const char *v, size_t len, size_t max,
                         bool *truncated)
{
    bool cut = false;
    char *clean = xml_text_dup(v, len, max, &cut);
    w_attr_clean(wr, name, clean);
    if (truncated != NULL)
        *truncated = cut;
    free(clean);
}

static void w_attr(struct writer *wr, const char *name, const char *v)
{
    w_attr_bytes(wr, name, v, strlen(v), ATTR_MAX, NULL);
}

/* Only when v is non-empty. */
static void w_attr_opt(struct writer *wr, const char *name, const char *v)
{
    if (v != NULL && v[0] != '\0')
        w_attr(wr, name, v);
}

static void w_attr_uint(struct writer *wr, const char *name, unsigned long long v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%llu", v);
    w_attr(wr, name, buf);
}

/* An xs:decimal: no exponent, at most 3 decimals, no trailing zeros. */
static void format_decimal(double v, char *out, size_t out_len)
{
    snprintf(out, out_len, "%.3f", v);
    char *dot = strchr(out, '.');
    if (dot != NULL) {
        char *end = out + strlen(out) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    if (strcmp(out, "-0") == 0)
        snprintf(out, out_len, "0");
}

static void w_attr_decimal(struct writer *wr, const char *name, double v)
{
    if (!isfinite(v))
        return;
    char buf[64];
    format_decimal(v, buf, sizeof(buf));
    w_attr(wr, name, buf);
}

static void w_text_element(struct writer *wr, const char *name, const char *v)
{
    char *clean = xml_text_dup(v, strlen(v), ATTR_MAX, NULL);
    w_start(wr, name);
    if (wr->ok && xmlTextWriterWriteString(wr->w, X(clean)) < 0)
        wr->ok = false;
    w_end(wr);
    free(clean);
}

/* ---- the parts of the report ---- */

static void write_received(struct writer *wr, const struct config *cfg, const struct envelope *env)
{
    char when[64];
    report_format_time(&env->received, when, sizeof(when));
    w_start(wr, "received");
    w_attr(wr, "at", when);
    w_attr(wr, "protocol", env->protocol == PROTO_SMTP ? "SMTP" : "LMTP");
    w_attr_opt(wr, "host", cfg->server.hostname);
    w_end(wr);
}

static void write_client(struct writer *wr, const struct envelope *env)
{
    const struct xforward *xf = &env->xforward;
    w_start(wr, "client");
    w_attr_opt(wr, "name", xf->name);
    w_attr(wr, "addr", xf->addr[0] ? xf->addr : env->peer_addr);
    w_attr_opt(wr, "port", xf->addr[0] ? xf->port : env->peer_port);
    w_attr_opt(wr, "helo", xf->helo[0] ? xf->helo : env->helo);
    w_attr_opt(wr, "proto", xf->proto);
    w_attr_opt(wr, "queue-id", xf->ident);
    w_attr_opt(wr, "source", xf->source);
    w_attr(wr, "peer", env->peer_addr);
    w_attr_opt(wr, "peer-port", env->peer_port);
    w_attr_opt(wr, "peer-helo", env->helo);
    w_end(wr);
}

static void notify_text(unsigned notify, char *out, size_t out_len)
{
    out[0] = '\0';
    if (notify & DSN_NOTIFY_NEVER) {
        snprintf(out, out_len, "NEVER");
        return;
    }
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{DSN_NOTIFY_SUCCESS, "SUCCESS"},
                 {DSN_NOTIFY_FAILURE, "FAILURE"},
                 {DSN_NOTIFY_DELAY, "DELAY"}};
    size_t o = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(notify & names[i].bit))
            continue;
        int n = snprintf(out + o, out_len - o, "%s%s", o ? "," : "", names[i].name);
        if (n < 0 || (size_t)n >= out_len - o)
            return;
        o += (size_t)n;
    }
}

static void write_envelope(struct writer *wr, const struct envelope *env)
{
    w_start(wr, "envelope");
    if (env->ret != DSN_RET_UNSPECIFIED)
        w_attr(wr, "ret", env->ret == DSN_RET_FULL ? "FULL" : "HDRS");
    w_attr_opt(wr, "envid", env->envid);
    if (env->body == BODY_7BIT)
        w_attr(wr, "body", "7BIT");
    else if (env->body == BODY_8BITMIME)
        w_attr(wr, "body", "8BITMIME");
    else if (env->body == BODY_BINARYMIME)
        w_attr(wr, "body", "BINARYMIME");
    if (env->smtputf8)
        w_attr(wr, "smtputf8", "yes");
    w_text_element(wr, "mail-from", env->mail_from);
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        w_start(wr, "rcpt");
        if (r->notify) {
            char notify[64];
            notify_text(r->notify, notify, sizeof(notify));
            w_attr(wr, "notify", notify);
        }
        w_attr_opt(wr, "orcpt", r->orcpt);
        char *clean = xml_text_dup(r->address, strlen(r->address), ATTR_MAX, NULL);
        if (wr->ok && xmlTextWriterWriteString(wr->w, X(clean)) < 0)
            wr->ok = false;
        free(clean);
        w_end(wr);
    }
    w_end(wr);
}

/* A header value as one line: line ends removed, outer blanks trimmed,
 * encoded words decoded when decode. NULL when the field is absent. */
static char *header_text(const struct header_value *v, bool decode, size_t max, bool *truncated)
{
    *truncated = false;
    if (v == NULL || v->raw == NULL)
        return NULL;
    struct strbuf line;
    strbuf_init(&line, v->len + 1);
    for (size_t i = 0; i < v->len; i++) {
        char c = v->raw[i];
        if (c == '\r' || c == '\n')
            continue;
        if (line.len == 0 && (c == ' ' || c == '\t'))
            continue;
        (void)strbuf_append(&line, &c, 1); /* cannot exceed v->len */
    }
    while (line.len > 0 && (line.data[line.len - 1] == ' ' || line.data[line.len - 1] == '\t'))
        line.len--;
    char *out;
    if (decode && line.len > 0) {
        /* A decoded byte becomes at most 3 bytes of UTF-8. */
        struct strbuf dec;
        strbuf_init(&dec, line.len * 3 + 16);
        (void)rfc2047_decode(line.data, line.len, &dec); /* fits by construction */
        out = xml_text_dup(dec.data != NULL ? dec.data : "", dec.len, max, truncated);
        strbuf_free(&dec);
    } else {
        out = xml_text_dup(line.data != NULL ? line.data : "", line.len, max, truncated);
    }
    strbuf_free(&line);
    *truncated |= v->truncated;
    return out;
}

static void write_message(struct writer *wr, const struct message_header *mh,
                          const struct spool *msg)
{
    w_start(wr, "message");
    if (msg != NULL) {
        char sha[65];
        spool_sha256_hex(msg, sha);
        w_attr_uint(wr, "size", (unsigned long long)spool_size(msg));
        w_attr(wr, "sha256", sha);
    }
    if (mh != NULL) {
        static const struct {
            const char *name;
            size_t off;
            bool decode;
            size_t max;
        } fields[] = {
            {"message-id", offsetof(struct message_header, message_id), false,
             REPORT_MESSAGE_ID_MAX},
            {"from", offsetof(struct message_header, from), true, REPORT_FROM_MAX},
            {"subject", offsetof(struct message_header, subject_value), true, REPORT_SUBJECT_MAX},
            {"date", offsetof(struct message_header, date), false, REPORT_DATE_MAX},
        };
        char cut[128] = "";
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
            const struct header_value *v =
                (const struct header_value *)((const char *)mh + fields[i].off);
            bool truncated;
            char *text = header_text(v, fields[i].decode, fields[i].max, &truncated);
            if (text == NULL)
                continue;
            w_attr_clean(wr, fields[i].name, text);
            free(text);
            if (truncated)
                snprintf(cut + strlen(cut), sizeof(cut) - strlen(cut), "%s%s", cut[0] ? " " : "",
                         fields[i].name);
        }
        w_attr_opt(wr, "truncated", cut);
    }
    w_end(wr);
}

static const char *clamav_result_name(enum clamav_status st)
{
    switch (st) {
    case CLAMAV_CLEAN:
        return "clean";
    case CLAMAV_INFECTED:
        return "infected";
    case CLAMAV_LIMITS:
        return "unchecked";
    case CLAMAV_NOT_RUN:
    case CLAMAV_ERROR:
        break;
    }
    return "error";
}

static void write_clamav(struct writer *wr, const struct scan_result *res)
{
    const struct clamav_result *c = &res->clamav;
    if (c->status == CLAMAV_NOT_RUN)
        return;
    w_start(wr, "scan");
    w_attr(wr, "engine", "clamav");
    w_attr(wr, "result", clamav_result_name(c->status));
    w_attr_uint(wr, "duration-ms", c->duration_ms);
    w_attr_opt(wr, "version", res->clamav_version);
    if (res->clamav_signatures > 0)
        w_attr_uint(wr, "signatures", res->clamav_signatures);
    if (c->status != CLAMAV_INFECTED)
        w_attr_opt(wr, "reason", c->reason);
    if (c->status == CLAMAV_INFECTED) {
        /* One <virus> per name of the comma-separated list. */
        const char *p = c->virus;
        size_t len = strnlen(c->virus, sizeof(c->virus));
        const char *end = p + len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma != NULL ? comma : end;
            while (p < stop && *p == ' ')
                p++;
            if (stop > p) {
                char name[sizeof(c->virus)];
                snprintf(name, sizeof(name), "%.*s", (int)(stop - p), p);
                w_text_element(wr, "virus", name);
            }
            p = comma != NULL ? comma + 1 : end;
        }
    }
    w_end(wr);
}

static const char *spamd_result_name(enum spamd_status st)
{
    switch (st) {
    case SPAMD_HAM:
        return "ham";
    case SPAMD_SPAM:
        return "spam";
    case SPAMD_SKIPPED:
        return "skipped";
    case SPAMD_NOT_RUN:
    case SPAMD_ERROR:
        break;
    }
    return "error";
}

static void write_spamd(struct writer *wr, const struct spamd_result *sr)
{
    if (sr->status == SPAMD_NOT_RUN)
        return;
    w_start(wr, "scan");
    w_attr(wr, "engine", "spamd");
    w_attr(wr, "user", sr->user);
    w_attr(wr, "result", spamd_result_name(sr->status));
    if (sr->status == SPAMD_HAM || sr->status == SPAMD_SPAM) {
        w_attr_decimal(wr, "score", sr->score);
        w_attr_decimal(wr, "required", sr->required);
    }
    w_attr_uint(wr, "duration-ms", sr->duration_ms);
    if (sr->status == SPAMD_ERROR)
        w_attr_opt(wr, "reason", sr->error);
    for (size_t i = 0; i < sr->n_rules; i++) {
        w_start(wr, "rule");
        w_attr(wr, "name", sr->rules[i].name);
        if (sr->rules[i].has_score)
            w_attr_decimal(wr, "score", sr->rules[i].score);
        w_end(wr);
    }
    w_end(wr);
}

static void write_recipient(struct writer *wr, const struct config *cfg, const struct envelope *env,
                            const struct scan_result *res, size_t i)
{
    const struct recipient *r = &env->rcpts[i];
    w_start(wr, "recipient");
    w_attr(wr, "address", r->address);
    if (r->policy != NULL)
        w_attr(wr, "policy", r->policy->name);
    w_attr(wr, "verdict", verdict_name(r->verdict));
    w_attr(wr, "action", action_name(r->action));
    size_t k = res->rcpt_spamd != NULL ? res->rcpt_spamd[i] : SIZE_MAX;
    if (k != SIZE_MAX && k < res->n_spamd && res->spamd[k].status != SPAMD_NOT_RUN)
        w_attr(wr, "spamd-user", res->spamd[k].user);
    char reply[OUTCOME_LINE_MAX];
    outcome_format(&r->outcome, r->address, env->mail_id, reply, sizeof(reply));
    w_text_element(wr, "reply", reply);
    if (r->destination != NULL) {
        const char *kind = r->action == ACTION_QUARANTINE         ? "quarantine"
                           : cfg->deliver.mode == DELIVER_MAILDIR ? "maildir"
                                                                  : "relay";
        char *clean = xml_text_dup(r->destination, strlen(r->destination), ATTR_MAX, NULL);
        w_start(wr, "destination");
        w_attr(wr, "kind", kind);
        if (wr->ok && xmlTextWriterWriteString(wr->w, X(clean)) < 0)
            wr->ok = false;
        w_end(wr);
        free(clean);
    }
    w_end(wr);
}

static void write_document(struct writer *wr, const struct config *cfg, const struct envelope *env,
                           const struct message_header *mh, const struct spool *msg,
                           const struct scan_result *res, const char *smtp_reply)
{
    if (xmlTextWriterSetIndent(wr->w, 1) < 0 || xmlTextWriterSetIndentString(wr->w, X("  ")) < 0 ||
        xmlTextWriterStartDocument(wr->w, NULL, "UTF-8", NULL) < 0 ||
        xmlTextWriterStartElementNS(wr->w, NULL, X("report"), X(REPORT_NAMESPACE)) < 0) {
        wr->ok = false;
        return;
    }
    w_attr(wr, "mail-id", env->mail_id);
    w_attr(wr, "version", "1");
    write_received(wr, cfg, env);
    write_client(wr, env);
    write_envelope(wr, env);
    write_message(wr, mh, msg);
    write_clamav(wr, res);
    for (size_t k = 0; k < res->n_spamd; k++)
        write_spamd(wr, &res->spamd[k]);
    for (size_t i = 0; i < env->n_rcpts; i++)
        write_recipient(wr, cfg, env, res, i);
    if (smtp_reply != NULL)
        w_text_element(wr, "smtp-reply", smtp_reply);
    w_end(wr); /* report */
    if (wr->ok && xmlTextWriterEndDocument(wr->w) < 0)
        wr->ok = false;
}

int report_write(const struct config *cfg, const struct envelope *env,
                 const struct message_header *mh, const struct spool *msg,
                 const struct scan_result *res, const char *smtp_reply, char *path, size_t path_len,
                 char *err, size_t err_len)
{
    if (path_len > 0)
        path[0] = '\0';
    if (cfg->report.dir[0] == '\0')
        return 0;
    report_xml_init();

    char dir[PATH_MAX], day[16];
    if (report_day_dir(cfg, env->received.tv_sec, day, sizeof(day), dir, sizeof(dir)) < 0) {
        snprintf(err, err_len, "report directory %s/...: %s", cfg->report.dir, strerror(errno));
        return -1;
    }
    xmlBufferPtr buf = xmlBufferCreate();
    if (buf == NULL) {
        snprintf(err, err_len, "libxml2: cannot create a buffer");
        return -1;
    }
    struct writer wr = {.w = xmlNewTextWriterMemory(buf, 0), .ok = true};
    if (wr.w == NULL) {
        xmlBufferFree(buf);
        snprintf(err, err_len, "libxml2: cannot create a writer");
        return -1;
    }
    write_document(&wr, cfg, env, mh, msg, res, smtp_reply);
    xmlFreeTextWriter(wr.w); /* flushes into buf */
    int rc = -1;
    if (!wr.ok) {
        snprintf(err, err_len, "libxml2: cannot write the report");
        goto free_buffer;
    }
    char name[MAIL_ID_LEN + 8];
    snprintf(name, sizeof(name), "%s.xml", env->mail_id);
    if (report_store(cfg->report.dir, day, name, (const char *)xmlBufferContent(buf),
                     (size_t)xmlBufferLength(buf), path, path_len) < 0) {
        snprintf(err, err_len, "%s/%s: %s", dir, name, strerror(errno));
        goto free_buffer;
    }
    rc = 0;
free_buffer:
    xmlBufferFree(buf);
    return rc;
}
