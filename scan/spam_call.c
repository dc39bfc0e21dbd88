/*
 * spam_call: the request/reply conversation shared by the spam engines
 * (see spam_call.h).
 */
#include "scan/spam_call.h"

#include "common/clock.h"
#include "common/fd_stream.h"
#include "common/timings.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define INPUT_SIZE (64 * 1024)

static void fail(struct spamd_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(struct spamd_result *out, const char *fmt, ...)
{
    va_list ap;
    out->status = SPAMD_ERROR;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof(out->error), fmt, ap);
    va_end(ap);
}

/* Sends the head and the message; -1 with out->error set. */
static int send_request(const struct spam_protocol *p, struct fd_stream *io,
                        const struct strbuf *head, const struct spool *msg,
                        struct timespec deadline, struct spamd_result *out)
{
    enum fd_stream_status st = fd_stream_write_all(io, head->data, head->len, deadline);
    if (st == FDS_OK)
        st = fd_stream_send_spool(io, msg, deadline);
    if (st == FDS_ERROR && strcmp(io->err_op, "spool") == 0) {
        fail(out, "reading the spool: %s", strerror(io->err_no));
        return -1;
    }
    if (st != FDS_OK) {
        fail(out, "%s write: %s", p->name, fd_stream_error(io, st));
        return -1;
    }
    if (p->half_close && shutdown(io->fd, SHUT_WR) < 0) {
        fail(out, "%s shutdown: %s", p->name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads the whole reply (at most reply_max bytes); -1 with error. */
static int read_reply(const struct spam_protocol *p, struct fd_stream *io, struct strbuf *reply,
                      struct timespec deadline, struct spamd_result *out)
{
    while (p->complete == NULL || !p->complete(reply->data, reply->len)) {
        const char *data;
        size_t len;
        enum fd_stream_status st = fd_stream_peek(io, &data, &len, deadline);
        if (st == FDS_EOF)
            return 0;
        if (st != FDS_OK) {
            fail(out, "%s read: %s", p->name, fd_stream_error(io, st));
            return -1;
        }
        if (strbuf_append(reply, data, len) < 0) {
            fail(out, "%s reply too large", p->name);
            return -1;
        }
        fd_stream_consume(io, len);
    }
    return 0;
}

static void converse(const struct spam_protocol *p, const struct spam_call *c,
                     const struct strbuf *head, struct timespec deadline, struct spamd_result *out)
{
    int ms = deadline_remaining_ms(deadline);
    if (ms == 0) {
        fail(out, "%s timeout", p->name);
        return;
    }
    char err[256] = "";
    int fd = net_connect(c->address, ms, err, sizeof(err));
    if (fd < 0) {
        fail(out, "%s connect: %s", p->name, err);
        return;
    }
    struct fd_stream io;
    fd_stream_init(&io, fd, INPUT_SIZE, 0, 0);
    if (send_request(p, &io, head, c->msg, deadline, out) == 0) {
        struct strbuf reply;
        strbuf_init(&reply, p->reply_max);
        if (read_reply(p, &io, &reply, deadline, out) == 0 &&
            p->parse(reply.data != NULL ? reply.data : "", reply.len, out, err, sizeof(err)) < 0)
            fail(out, "%s", err);
        strbuf_free(&reply);
    }
    fd_stream_free(&io);
    close(fd);
}

void spam_call_run(const struct spam_protocol *p, const struct spam_call *c,
                   struct spamd_result *out)
{
    struct timespec start = mono_now(), deadline = c->deadline;
    uint64_t size = spool_size(c->msg);

    out->status = SPAMD_ERROR;
    out->score = 0;
    out->required = 0;
    out->rules = NULL;
    out->n_rules = 0;
    out->error[0] = '\0';
    out->wait_us = 0;
    out->request_us = 0;

    if (c->max_size > 0 && size > c->max_size) {
        out->status = SPAMD_SKIPPED;
        snprintf(out->error, sizeof(out->error), "message size %llu over max_size %llu",
                 (unsigned long long)size, (unsigned long long)c->max_size);
        goto done;
    }
    struct strbuf head;
    char why[128];
    strbuf_init(&head, p->head_max);
    if (p->head(c->req, size, &head, why, sizeof(why)) < 0) {
        fail(out, "%s", why);
        strbuf_free(&head);
        goto done;
    }
    if (c->timeout > 0)
        deadline = deadline_min(deadline, deadline_after_ms((uint64_t)c->timeout * 1000));
    struct timespec asked = mono_now();
    int acquired = c->limit != NULL ? gate_acquire(c->limit, 1, &deadline) : 0;
    struct timespec granted = mono_now();
    out->wait_us = timings_us_between(asked, granted);
    if (acquired < 0) {
        fail(out, "timeout waiting for a free %s connection", p->name);
    } else {
        converse(p, c, &head, deadline, out);
        if (c->limit != NULL)
            gate_release(c->limit, 1);
        out->request_us = timings_us_between(granted, mono_now());
    }
    strbuf_free(&head);
done:
    out->duration_ms = elapsed_ms(start);
}
