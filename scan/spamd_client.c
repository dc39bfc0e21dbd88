/*
 * spamd_client: the SPAMC/1.5 conversation with spamd (see
 * spamd_client.h). The socket is non-blocking and every read and write
 * waits in poll() until the request deadline, so a silent spamd costs at
 * most the deadline and a caller joining this thread is never stuck.
 */
#include "scan/spamd_client.h"

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "scan/deadline.h"
#include "scan/spamd_reply.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

void spamd_limit_init(struct spamd_limit *l, unsigned max)
{
    pthread_condattr_t attr;

    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&l->freed, &attr);
    pthread_condattr_destroy(&attr);
    l->max = max;
    l->in_use = 0;
}

void spamd_limit_destroy(struct spamd_limit *l)
{
    pthread_cond_destroy(&l->freed);
    pthread_mutex_destroy(&l->lock);
}

void spamd_limit_set_max(struct spamd_limit *l, unsigned max)
{
    pthread_mutex_lock(&l->lock);
    l->max = max;
    pthread_cond_broadcast(&l->freed);
    pthread_mutex_unlock(&l->lock);
}

int spamd_limit_acquire(struct spamd_limit *l, const struct timespec *deadline)
{
    int rc = 0;

    pthread_mutex_lock(&l->lock);
    while (l->max != 0 && l->in_use >= l->max) {
        if (pthread_cond_timedwait(&l->freed, &l->lock, deadline) == ETIMEDOUT &&
            l->in_use >= l->max) {
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        l->in_use++;
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void spamd_limit_release(struct spamd_limit *l)
{
    pthread_mutex_lock(&l->lock);
    if (l->in_use > 0)
        l->in_use--;
    pthread_cond_signal(&l->freed);
    pthread_mutex_unlock(&l->lock);
}

/* Waits for events on fd until the deadline. 0, or -1 with errno
 * (ETIMEDOUT). */
static int wait_fd(int fd, short events, struct timespec deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int ms = deadline_remaining_ms(deadline);
        if (ms == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        int rc = poll(&p, 1, ms);
        if (rc > 0)
            return 0;
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

static int send_all(int fd, const char *data, size_t len, struct timespec deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLOUT, deadline) < 0)
                return -1;
            continue;
        }
        if (n == 0)
            errno = EPIPE;
        return -1;
    }
    return 0;
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
static int send_request(int fd, const struct spamd_request *req, uint64_t size,
                        struct timespec deadline, struct spamd_result *out)
{
    struct strbuf head;
    char *buf;
    uint64_t off = 0;
    int rc = -1;

    strbuf_init(&head, 1024);
    if (strbuf_printf(&head, "REPORT SPAMC/1.5\r\nContent-length: %llu\r\n",
                      (unsigned long long)size) < 0 ||
        (req->user[0] != '\0' && strbuf_printf(&head, "User: %s\r\n", req->user) < 0) ||
        strbuf_puts(&head, "\r\n") < 0) {
        fail(out, "%s", "spamd request header too long");
        strbuf_free(&head);
        return -1;
    }
    if (send_all(fd, head.data, head.len, deadline) < 0) {
        fail(out, "spamd write: %s", errno == ETIMEDOUT ? "timeout" : strerror(errno));
        strbuf_free(&head);
        return -1;
    }
    strbuf_free(&head);

    buf = xmalloc(CHUNK);
    while (off < size) {
        size_t want = size - off > CHUNK ? CHUNK : (size_t)(size - off);
        ssize_t n = spool_pread(req->msg, buf, want, off);
        if (n <= 0) {
            fail(out, "reading the spool: %s", n == 0 ? "short file" : strerror(errno));
            goto out;
        }
        if (send_all(fd, buf, (size_t)n, deadline) < 0) {
            fail(out, "spamd write: %s", errno == ETIMEDOUT ? "timeout" : strerror(errno));
            goto out;
        }
        off += (uint64_t)n;
    }
    if (shutdown(fd, SHUT_WR) < 0) {
        fail(out, "spamd shutdown: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Reads until EOF into reply (at most SPAMD_REPLY_MAX); -1 with error. */
static int read_reply(int fd, struct strbuf *reply, struct timespec deadline,
                      struct spamd_result *out)
{
    char *buf = xmalloc(CHUNK);
    int rc = -1;

    for (;;) {
        ssize_t n = recv(fd, buf, CHUNK, 0);
        if (n > 0) {
            if (strbuf_append(reply, buf, (size_t)n) < 0) {
                fail(out, "%s", "spamd reply too large");
                break;
            }
            continue;
        }
        if (n == 0) {
            rc = 0;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(fd, POLLIN, deadline) < 0) {
                fail(out, "spamd read: %s", errno == ETIMEDOUT ? "timeout" : strerror(errno));
                break;
            }
            continue;
        }
        fail(out, "spamd read: %s", strerror(errno));
        break;
    }
    free(buf);
    return rc;
}

static void converse(const struct spamd_request *req, struct timespec deadline,
                     struct spamd_result *out)
{
    char err[256];
    struct strbuf reply;
    struct spamd_reply parsed;
    uint64_t size = spool_size(req->msg);
    int ms = deadline_remaining_ms(deadline);
    int fd, flags;

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
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        fail(out, "spamd socket: %s", strerror(errno));
        close(fd);
        return;
    }
    if (send_request(fd, req, size, deadline, out) < 0) {
        close(fd);
        return;
    }
    strbuf_init(&reply, SPAMD_REPLY_MAX);
    if (read_reply(fd, &reply, deadline, out) == 0) {
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
    close(fd);
}

void spamd_check(const struct spamd_request *req, struct spamd_result *out)
{
    struct timespec start, deadline = req->deadline;
    uint64_t size = spool_size(req->msg);

    clock_gettime(CLOCK_MONOTONIC, &start);
    out->status = SPAMD_ERROR;
    out->score = 0;
    out->required = 0;
    out->rules = NULL;
    out->n_rules = 0;
    out->error[0] = '\0';

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
    if (req->limit != NULL && spamd_limit_acquire(req->limit, &deadline) < 0) {
        fail(out, "%s", "timeout waiting for a free spamd connection");
        goto done;
    }
    converse(req, deadline, out);
    if (req->limit != NULL)
        spamd_limit_release(req->limit);
done:
    out->duration_ms = elapsed_ms(start);
}
