/*
 * spamd_client: the SPAMC/1.5 conversation with spamd (see
 * spamd_client.h). Every read and write goes through a common/fd_stream.h
 * stream bounded by the request deadline, so a silent spamd costs at most
 * the deadline and a caller joining this thread is never stuck.
 */
#include "scan/spamd_client.h"

#include "common/clock.h"
#include "common/fd_stream.h"
#include "common/timings.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "scan/spamd_reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

void spamd_limit_init(struct spamd_limit *l, unsigned max)
{
    gate_init(&l->gate, max);
}

void spamd_limit_destroy(struct spamd_limit *l)
{
    gate_destroy(&l->gate);
}

void spamd_limit_set_max(struct spamd_limit *l, unsigned max)
{
    gate_set_capacity(&l->gate, max);
}

int spamd_limit_acquire(struct spamd_limit *l, const struct timespec *deadline)
{
    return gate_acquire(&l->gate, 1, deadline);
}

void spamd_limit_release(struct spamd_limit *l)
{
    gate_release(&l->gate, 1);
}

static bool user_is_safe(const char *user)
{
    for (const unsigned char *p = (const unsigned char *)user; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static void fail(struct spamd_result *out, const char *fmt, const char *detail)
{
    out->status = SPAMD_ERROR;
    snprintf(out->error, sizeof(out->error), fmt, detail);
}

/* Sends the request; -1 with out->error set. */
static int send_request(struct fd_stream *io, const struct spamd_request *req, uint64_t size,
                        struct timespec deadline, struct spamd_result *out)
{
    struct strbuf head;
    enum fd_stream_status st;

    strbuf_init(&head, 1024);
    if (strbuf_printf(&head, "REPORT SPAMC/1.5\r\nContent-length: %llu\r\n",
                      (unsigned long long)size) < 0 ||
        (req->user[0] != '\0' && strbuf_printf(&head, "User: %s\r\n", req->user) < 0) ||
        strbuf_puts(&head, "\r\n") < 0) {
        fail(out, "%s", "spamd request header too long");
        strbuf_free(&head);
        return -1;
    }
    st = fd_stream_write_all(io, head.data, head.len, deadline);
    strbuf_free(&head);
    if (st != FDS_OK) {
        fail(out, "spamd write: %s", fd_stream_error(io, st));
        return -1;
    }

    st = fd_stream_send_spool(io, req->msg, deadline);
    if (st == FDS_ERROR && strcmp(io->err_op, "spool") == 0) {
        fail(out, "reading the spool: %s", strerror(io->err_no));
        return -1;
    }
    if (st != FDS_OK) {
        fail(out, "spamd write: %s", fd_stream_error(io, st));
        return -1;
    }
    if (shutdown(io->fd, SHUT_WR) < 0) {
        fail(out, "spamd shutdown: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads until EOF into reply (at most SPAMD_REPLY_MAX); -1 with error. */
static int read_reply(struct fd_stream *io, struct strbuf *reply, struct timespec deadline,
                      struct spamd_result *out)
{
    for (;;) {
        const char *data;
        size_t len;
        enum fd_stream_status st = fd_stream_peek(io, &data, &len, deadline);
        if (st == FDS_EOF)
            return 0;
        if (st != FDS_OK) {
            fail(out, "spamd read: %s", fd_stream_error(io, st));
            return -1;
        }
        if (strbuf_append(reply, data, len) < 0) {
            fail(out, "%s", "spamd reply too large");
            return -1;
        }
        fd_stream_consume(io, len);
    }
}

static void converse(const struct spamd_request *req, struct timespec deadline,
                     struct spamd_result *out)
{
    char err[256];
    struct fd_stream io;
    struct strbuf reply;
    struct spamd_reply parsed;
    uint64_t size = spool_size(req->msg);
    int ms = deadline_remaining_ms(deadline);
    int fd;

    if (ms == 0) {
        fail(out, "%s", "spamd timeout");
        return;
    }
    err[0] = '\0';
    fd = net_connect(req->address, ms, err, sizeof(err));
    if (fd < 0) {
        fail(out, "spamd connect: %s", err);
        return;
    }
    /* Nothing is queued: the request goes out with fd_stream_write_all. */
    fd_stream_init(&io, fd, CHUNK, 0, 0);
    if (send_request(&io, req, size, deadline, out) == 0) {
        strbuf_init(&reply, SPAMD_REPLY_MAX);
        if (read_reply(&io, &reply, deadline, out) == 0) {
            if (spamd_reply_parse(reply.data, reply.len, &parsed, err, sizeof(err)) < 0) {
                fail(out, "%s", err);
            } else {
                out->status = parsed.is_spam ? SPAMD_SPAM : SPAMD_HAM;
                out->score = parsed.score;
                out->required = parsed.required;
                out->rules = parsed.rules;
                out->n_rules = parsed.n_rules;
            }
        }
        strbuf_free(&reply);
    }
    fd_stream_free(&io);
    close(fd);
}

void spamd_check(const struct spamd_request *req, struct spamd_result *out)
{
    struct timespec start, deadline = req->deadline;
    uint64_t size = spool_size(req->msg);

    start = mono_now();
    out->status = SPAMD_ERROR;
    out->score = 0;
    out->required = 0;
    out->rules = NULL;
    out->n_rules = 0;
    out->error[0] = '\0';
    out->wait_us = 0;
    out->request_us = 0;

    if (req->max_size > 0 && size > req->max_size) {
        out->status = SPAMD_SKIPPED;
        snprintf(out->error, sizeof(out->error), "message size %llu over max_size %llu",
                 (unsigned long long)size, (unsigned long long)req->max_size);
        goto done;
    }
    if (!user_is_safe(req->user)) {
        fail(out, "%s", "spamd user contains control characters");
        goto done;
    }
    if (req->timeout > 0)
        deadline = deadline_min(deadline, deadline_after_ms((uint64_t)req->timeout * 1000));
    struct timespec asked = mono_now();
    int acquired = req->limit != NULL ? spamd_limit_acquire(req->limit, &deadline) : 0;
    struct timespec granted = mono_now();
    out->wait_us = timings_us_between(asked, granted);
    if (acquired < 0) {
        fail(out, "%s", "timeout waiting for a free spamd connection");
        goto done;
    }
    converse(req, deadline, out);
    if (req->limit != NULL)
        spamd_limit_release(req->limit);
    out->request_us = timings_us_between(granted, mono_now());
done:
    out->duration_ms = elapsed_ms(start);
}
