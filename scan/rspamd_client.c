/*
 * rspamd_client: the HTTP conversation with rspamd's normal worker (see
 * rspamd_client.h). Every read and write goes through a common/fd_stream.h
 * stream bounded by the request deadline, so a silent rspamd costs at
 * most the deadline and a caller joining this thread is never stuck.
 */
#include "scan/rspamd_client.h"

#include "common/clock.h"
#include "common/timings.h"
#include "common/fd_stream.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "scan/rspamd_reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static void fail(struct spamd_result *out, const char *fmt, const char *detail)
{
    out->status = SPAMD_ERROR;
    snprintf(out->error, sizeof(out->error), fmt, detail);
}

static bool has_control(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* XFORWARD's words for "no value". */
static bool xforward_unset(const char *v)
{
    return v[0] == '\0' || strcasecmp(v, "[UNAVAILABLE]") == 0 ||
           strcasecmp(v, "[TEMPUNAVAIL]") == 0;
}

/* "Name: value\r\n"; optional values that are unset or unsafe (client
 * data) are left out, *bad set for a required one. */
static int add_field(struct strbuf *head, const char *name, const char *value, bool required,
                     bool *bad)
{
    if (has_control(value)) {
        if (required)
            *bad = true;
        return 0;
    }
    return strbuf_printf(head, "%s: %s\r\n", name, value);
}

int rspamd_request_head(const struct rspamd_request *req, uint64_t size, struct strbuf *head,
                        char *why, size_t why_len)
{
    const struct envelope *env = req->env;
    const struct xforward *xf = env != NULL ? &env->xforward : NULL;
    bool bad = false;
    int rc = 0;

    rc |= strbuf_printf(head,
                        "POST /checkv2 HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n"
                        "User-Agent: lmtpscan\r\nContent-Length: %llu\r\n",
                        (unsigned long long)size);
    if (req->user[0] != '\0')
        rc |= add_field(head, "Deliver-To", req->user, true, &bad);
    if (env != NULL) {
        char from[ADDRESS_MAX + 3];
        snprintf(from, sizeof(from), "<%s>", env->mail_from);
        rc |= add_field(head, "From", from, false, &bad);
        for (size_t i = 0; i < req->n_rcpts; i++)
            rc |= add_field(head, "Rcpt", req->rcpts[i], false, &bad);
        if (!xforward_unset(xf->addr)) {
            const char *ip = xf->addr;
            if (strncasecmp(ip, "IPV6:", 5) == 0)
                ip += 5;
            rc |= add_field(head, "IP", ip, false, &bad);
        }
        if (!xforward_unset(xf->helo))
            rc |= add_field(head, "Helo", xf->helo, false, &bad);
        if (!xforward_unset(xf->name))
            rc |= add_field(head, "Hostname", xf->name, false, &bad);
        if (!xforward_unset(xf->ident))
            rc |= add_field(head, "Queue-Id", xf->ident, false, &bad);
    }
    rc |= strbuf_puts(head, "\r\n");
    if (bad) {
        snprintf(why, why_len, "rspamd user contains control characters");
        return -1;
    }
    if (rc != 0) {
        snprintf(why, why_len, "rspamd request header too long");
        return -1;
    }
    return 0;
}

/* Sends the request; -1 with out->error set. */
static int send_request(struct fd_stream *io, const struct rspamd_request *req, uint64_t size,
                        struct timespec deadline, struct spamd_result *out)
{
    struct strbuf head;
    enum fd_stream_status st;
    char why[128];

    strbuf_init(&head, RSPAMD_HEAD_MAX);
    if (rspamd_request_head(req, size, &head, why, sizeof(why)) < 0) {
        fail(out, "%s", why);
        strbuf_free(&head);
        return -1;
    }
    st = fd_stream_write_all(io, head.data, head.len, deadline);
    strbuf_free(&head);
    if (st != FDS_OK) {
        fail(out, "rspamd write: %s", fd_stream_error(io, st));
        return -1;
    }
    st = fd_stream_send_spool(io, req->msg, deadline);
    if (st == FDS_ERROR && strcmp(io->err_op, "spool") == 0) {
        fail(out, "reading the spool: %s", strerror(io->err_no));
        return -1;
    }
    if (st != FDS_OK) {
        fail(out, "rspamd write: %s", fd_stream_error(io, st));
        return -1;
    }
    return 0;
}

/* Reads until the reply is whole (Content-Length) or the peer closes,
 * at most RSPAMD_REPLY_MAX bytes; -1 with error. */
static int read_reply(struct fd_stream *io, struct strbuf *reply, struct timespec deadline,
                      struct spamd_result *out)
{
    while (!rspamd_reply_complete(reply->data, reply->len)) {
        const char *data;
        size_t len;
        enum fd_stream_status st = fd_stream_peek(io, &data, &len, deadline);
        if (st == FDS_EOF)
            return 0;
        if (st != FDS_OK) {
            fail(out, "rspamd read: %s", fd_stream_error(io, st));
            return -1;
        }
        if (strbuf_append(reply, data, len) < 0) {
            fail(out, "%s", "rspamd reply too large");
            return -1;
        }
        fd_stream_consume(io, len);
    }
    return 0;
}

static void converse(const struct rspamd_request *req, struct timespec deadline,
                     struct spamd_result *out)
{
    char err[256];
    struct fd_stream io;
    struct strbuf reply;
    struct rspamd_reply parsed;
    uint64_t size = spool_size(req->msg);
    int ms = deadline_remaining_ms(deadline);
    int fd;

    if (ms == 0) {
        fail(out, "%s", "rspamd timeout");
        return;
    }
    err[0] = '\0';
    fd = net_connect(req->address, ms, err, sizeof(err));
    if (fd < 0) {
        fail(out, "rspamd connect: %s", err);
        return;
    }
    fd_stream_init(&io, fd, CHUNK, 0, 0);
    if (send_request(&io, req, size, deadline, out) == 0) {
        strbuf_init(&reply, RSPAMD_REPLY_MAX);
        if (read_reply(&io, &reply, deadline, out) == 0) {
            if (rspamd_reply_parse(reply.data != NULL ? reply.data : "", reply.len, &parsed, err,
                                   sizeof(err)) < 0) {
                fail(out, "%s", err);
            } else {
                out->status = parsed.is_spam ? SPAMD_SPAM : SPAMD_HAM;
                out->score = parsed.score;
                out->required = parsed.required;
                out->rules = parsed.rules;
                out->n_rules = parsed.n_rules;
                snprintf(out->action, sizeof(out->action), "%s", parsed.action);
                snprintf(out->version, sizeof(out->version), "%s", parsed.version);
            }
        }
        strbuf_free(&reply);
    }
    fd_stream_free(&io);
    close(fd);
}

void rspamd_check(const struct rspamd_request *req, struct spamd_result *out)
{
    struct timespec start = mono_now(), deadline = req->deadline;
    uint64_t size = spool_size(req->msg);

    out->status = SPAMD_ERROR;
    out->score = 0;
    out->required = 0;
    out->rules = NULL;
    out->n_rules = 0;
    out->error[0] = '\0';
    out->action[0] = '\0';
    out->version[0] = '\0';
    out->wait_us = 0;
    out->request_us = 0;

    if (req->max_size > 0 && size > req->max_size) {
        out->status = SPAMD_SKIPPED;
        snprintf(out->error, sizeof(out->error), "message size %llu over max_size %llu",
                 (unsigned long long)size, (unsigned long long)req->max_size);
        goto done;
    }
    if (req->timeout > 0)
        deadline = deadline_min(deadline, deadline_after_ms((uint64_t)req->timeout * 1000));
    struct timespec asked = mono_now();
    int acquired = req->limit != NULL ? gate_acquire(req->limit, 1, &deadline) : 0;
    struct timespec granted = mono_now();
    out->wait_us = timings_us_between(asked, granted);
    if (acquired < 0) {
        fail(out, "%s", "timeout waiting for a free rspamd connection");
        goto done;
    }
    converse(req, deadline, out);
    if (req->limit != NULL)
        gate_release(req->limit, 1);
    out->request_us = timings_us_between(granted, mono_now());
done:
    out->duration_ms = elapsed_ms(start);
}
