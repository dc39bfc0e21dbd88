/*
 * dsn: builds the RFC 3464 report (see dsn.h): a text/plain explanation,
 * a message/delivery-status part with one block per failed recipient,
 * and the original as message/rfc822 (or text/rfc822-headers), then
 * hands it to relay_send() from the null sender. The original streams
 * from the spool; the rest is built in a bounded buffer.
 */
#include "deliver/dsn.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/text.h"
#include "common/xalloc.h"
#include "deliver/message_copy.h"
#include "deliver/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DSN_FULL_MAX   (256 * 1024) /* larger originals: header only */
#define DSN_HEADER_MAX (64 * 1024)  /* header bytes returned at most */
#define DSN_TEXT_MAX   (1024 * 1024)

bool dsn_failed_recipient(const struct recipient *r)
{
    if (!outcome_is_delivery_failure(&r->outcome))
        return false;
    if (r->notify == 0)
        return true;
    return (r->notify & DSN_NOTIFY_FAILURE) != 0 && (r->notify & DSN_NOTIFY_NEVER) == 0;
}

void dsn_encoding(const struct envelope *env, const struct spool *msg, bool *smtputf8,
                  bool *eight_bit)
{
    /* A UTF-8 address or ORCPT in the report needs SMTPUTF8 (RFC 6531,
     * RFC 6533) and makes the body 8-bit, as a UTF-8 relay text does. */
    bool utf8 = env->smtputf8 || text_has_8bit(env->mail_from, strlen(env->mail_from));
    bool bits = false;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        if (!dsn_failed_recipient(r))
            continue;
        utf8 |= text_has_8bit(r->address, strlen(r->address)) ||
                text_has_8bit(r->orcpt, strlen(r->orcpt));
        bits |= text_has_8bit(r->outcome.detail, strlen(r->outcome.detail));
    }
    *smtputf8 = utf8;
    *eight_bit = bits || utf8 || relay_spool_is_8bit(msg);
}

static void rfc5322_date(time_t t, char *out, size_t outlen)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* Appends the message's header section (at most DSN_HEADER_MAX bytes,
 * line ends as CRLF). -1 on a spool read error. */
static int append_header(struct strbuf *sb, const struct spool *msg)
{
    char *buf = xmalloc(DSN_HEADER_MAX);
    ssize_t n = spool_pread(msg, buf, DSN_HEADER_MAX, 0);
    if (n < 0) {
        free(buf);
        return -1;
    }
    bool line_start = true;
    for (ssize_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c == '\r' && i + 1 < n && buf[i + 1] == '\n')
            continue; /* the LF writes the CRLF */
        if (c == '\n') {
            if (line_start)
                break; /* the empty line: end of the header */
            if (strbuf_append(sb, "\r\n", 2) < 0)
                break;
            line_start = true;
            continue;
        }
        if (strbuf_append(sb, &c, 1) < 0)
            break;
        line_start = false;
    }
    free(buf);
    if (!line_start)
        return strbuf_append(sb, "\r\n", 2);
    return 0;
}

struct dsn_body {
    struct strbuf *head; /* everything before the original */
    const struct spool *msg;
    bool full;
    const char *boundary;
};

static int write_dsn(void *arg, copy_sink_fn sink, void *sink_arg)
{
    struct dsn_body *b = arg;
    if (sink(sink_arg, b->head->data, b->head->len) < 0)
        return -1;
    if (b->full) {
        struct message_header none;
        memset(&none, 0, sizeof(none));
        struct message_copy mc = {
            .msg = b->msg, .header = &none, .prepend = "", .line_ends = LINE_ENDS_CRLF};
        if (message_copy_write(&mc, sink, sink_arg) < 0)
            return -1;
    }
    char tail[256];
    int n = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", b->boundary);
    return sink(sink_arg, tail, (size_t)n);
}

int dsn_send_failures(const struct config *cfg, const struct envelope *env, const struct spool *msg)
{
    if (env->mail_from[0] == '\0')
        return 0;
    size_t n_failed = 0;
    for (size_t i = 0; i < env->n_rcpts; i++)
        n_failed += dsn_failed_recipient(&env->rcpts[i]);
    if (n_failed == 0)
        return 0;

    const char *host = cfg->server.hostname;
    char boundary[128], date[64], arrival[64], relay[400];
    snprintf(boundary, sizeof(boundary), "%s.dsn/%s", env->mail_id, host);
    rfc5322_date(time(NULL), date, sizeof(date));
    rfc5322_date(env->received.tv_sec, arrival, sizeof(arrival));
    net_address_format(&cfg->deliver.relay, relay, sizeof(relay));
    bool utf8, eight_bit;
    dsn_encoding(env, msg, &utf8, &eight_bit);
    bool full = env->ret != DSN_RET_HDRS && spool_size(msg) <= DSN_FULL_MAX;

    struct strbuf sb;
    strbuf_init(&sb, DSN_TEXT_MAX);
    int rc = 0;
    rc |= strbuf_printf(&sb,
                        "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
                        "To: <%s>\r\n"
                        "Subject: Undelivered Mail Returned to Sender\r\n"
                        "Date: %s\r\n"
                        "Message-ID: <%s.dsn@%s>\r\n"
                        "Auto-Submitted: auto-replied\r\n"
                        "MIME-Version: 1.0\r\n"
                        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                        "\tboundary=\"%s\"\r\n"
                        "%s"
                        "\r\n"
                        "This is a MIME-encapsulated message.\r\n"
                        "\r\n"
                        "--%s\r\n"
                        "Content-Description: Notification\r\n"
                        "Content-Type: text/plain; charset=us-ascii\r\n"
                        "\r\n"
                        "This is the mail system at host %s.\r\n"
                        "\r\n"
                        "Your message could not be delivered to one or more recipients:\r\n"
                        "the delivery failed permanently. The other recipients, if any,\r\n"
                        "got the message.\r\n"
                        "\r\n",
                        host, env->mail_from, date, env->mail_id, host, boundary,
                        eight_bit ? "Content-Transfer-Encoding: 8bit\r\n" : "", boundary, host);
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        if (!dsn_failed_recipient(r))
            continue;
        char reply[OUTCOME_LINE_MAX];
        outcome_format(&r->outcome, r->address, env->mail_id, reply, sizeof(reply));
        rc |= strbuf_printf(&sb, "<%s>: %s\r\n", r->address, reply);
    }
    rc |= strbuf_printf(&sb,
                        "\r\n--%s\r\n"
                        "Content-Description: Delivery report\r\n"
                        "Content-Type: message/delivery-status\r\n"
                        "\r\n"
                        "Reporting-MTA: dns; %s\r\n"
                        "X-Lmtpscan-Mail-ID: %s\r\n",
                        boundary, host, env->mail_id);
    if (env->envid[0] != '\0')
        rc |= strbuf_printf(&sb, "Original-Envelope-Id: %s\r\n", env->envid);
    rc |= strbuf_printf(&sb, "Arrival-Date: %s\r\n", arrival);
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        if (!dsn_failed_recipient(r))
            continue;
        char reply[OUTCOME_LINE_MAX];
        outcome_format(&r->outcome, r->address, env->mail_id, reply, sizeof(reply));
        rc |= strbuf_printf(&sb, "\r\nFinal-Recipient: rfc822; %s\r\n", r->address);
        if (r->orcpt[0] != '\0') {
            const char *semi = strchr(r->orcpt, ';');
            if (semi != NULL)
                rc |= strbuf_printf(&sb, "Original-Recipient: %.*s; %s\r\n", (int)(semi - r->orcpt),
                                    r->orcpt, semi + 1);
        }
        rc |= strbuf_printf(&sb, "Action: failed\r\nStatus: %s\r\n", r->outcome.enhanced);
        if (r->outcome.kind == OUTCOME_RELAY_REFUSED)
            rc |= strbuf_printf(&sb, "Remote-MTA: x-local-relay; %s\r\n", relay);
        rc |= strbuf_printf(&sb, "Diagnostic-Code: smtp; %s\r\n", reply);
    }
    rc |= strbuf_printf(&sb,
                        "\r\n--%s\r\n"
                        "Content-Description: %s\r\n"
                        "Content-Type: %s\r\n"
                        "%s"
                        "\r\n",
                        boundary, full ? "Undelivered Message" : "Undelivered Message Headers",
                        full ? "message/rfc822" : "text/rfc822-headers",
                        eight_bit ? "Content-Transfer-Encoding: 8bit\r\n" : "");
    if (!full && append_header(&sb, msg) < 0) {
        log_error("mail_id=%s DSN: cannot read the message", env->mail_id);
        strbuf_free(&sb);
        return -1;
    }
    if (rc != 0) {
        log_error("mail_id=%s DSN too large", env->mail_id);
        strbuf_free(&sb);
        return -1;
    }

    struct dsn_body body = {.head = &sb, .msg = msg, .full = full, .boundary = boundary};
    struct relay_rcpt to = {.address = env->mail_from};
    char log_id[64];
    snprintf(log_id, sizeof(log_id), "mail_id=%s dsn", env->mail_id);
    char error[256];
    relay_send_from_null(cfg, log_id, &to, sb.len + (full ? spool_size(msg) : 0), eight_bit, utf8,
                         write_dsn, &body, error, sizeof(error));
    strbuf_free(&sb);
    char sender[LOG_VALUE_SIZE(ADDRESS_MAX)], why[LOG_VALUE_SIZE(sizeof(error))];
    log_value(env->mail_from, sender, sizeof(sender));
    if (to.status != RELAY_ACCEPTED) {
        log_error("mail_id=%s DSN to <%s> not sent: %s", env->mail_id, sender,
                  log_quoted(to.status == RELAY_REFUSED ? to.text : error, why, sizeof(why)));
        return -1;
    }
    log_info("mail_id=%s DSN to <%s> for %zu recipient(s) sent: %d %s", env->mail_id, sender,
             n_failed, to.code, log_quoted(to.text, why, sizeof(why)));
    return 0;
}
