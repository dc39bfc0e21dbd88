/*
 * lmtpload: the benchmark's load generator (LMTP, SMTP or rspamd's HTTP
 * /checkv2 client, threads).
 *
 * Sends COUNT messages to HOST:PORT over CONC connections at once, the way
 * Postfix's lmtp/smtp client does: several messages per connection, MAIL,
 * RCPT... and DATA pipelined in one write, the body after the 354. Times
 * each message's end-of-data replies: from the moment the body's last byte
 * (the final "." CRLF) is handed to the kernel until the last
 * per-recipient reply (LMTP) or the single reply (SMTP) has arrived.
 *
 * Usage: lmtpload -p PORT -c CONC -n COUNT [-H HOST] [-r 1|3] [-s|-w]
 *                 [-k PER_CONN] [-t TIMEOUT_S] [-o OFFSET] [-u NONCE] [-S]
 *                 [-F LIST] [FILE...]
 *   FILE: messages in wire form (CRLF line ends, dot-stuffed, ending in
 *   CRLF), used in turn from OFFSET; LIST: a file naming one message file a
 *   line; -r 3: 1-3 recipients per message (the same sequence as
 *   loadgen.recipients_for); -s: SMTP instead of LMTP.
 *   -u NONCE: every message sent is unique: "X-Bench-Unique: NONCE.N" is
 *   put before its first header line (N the message's number), so no
 *   cache keyed on the message's bytes can help.
 *   -w: rspamd alone: one HTTP "POST /checkv2" a message on a connection
 *   of its own (Connection: close, as lmtpscand's rspamd client sends it),
 *   the message without dot-stuffing as the body, the envelope as
 *   Deliver-To/From/Rcpt headers; latency from the body's last byte to the
 *   end of the reply; success: status 200 and an "action" in the reply.
 *   -S: "Postfix retries and recipient splits": each message goes out in
 *   three transactions, one after another on the same thread: to users A
 *   and B, then to C (the rest of a split recipient list), then to A and B
 *   again (a retry); with -u the three carry the same bytes. COUNT counts
 *   transactions.
 * Output (stdout): "sent N", "failed N", "elapsed S", "error TEXT" (first
 * failure, if any), then "lat MICROSECONDS" per message (transaction, HTTP
 * request) delivered.
 *
 * Failure modes: a connection error, time-out (SO_RCVTIMEO/SO_SNDTIMEO) or
 * an unexpected reply counts the message as failed and the connection is
 * opened again; exit 2 on bad arguments or unreadable files.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mailfiles.h"

#define USERS    20
#define MAX_RCPT 3
#define RBUF     16384

static struct sockaddr_in addr;
static long count, per_conn = 10, offset;
static int rcpt_mode = 1, smtp, http, scenario, timeout_s = 300;
static const char *nonce; /* -u: messages made unique */
static atomic_long next_index;
static long *lat_us; /* one slot per message index, -1 = not delivered */
static atomic_long n_sent, n_failed;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_error[256];

struct conn {
    int fd;
    char buf[RBUF];
    size_t start, end;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void note_error(const char *what, const char *detail)
{
    atomic_fetch_add(&n_failed, 1);
    pthread_mutex_lock(&err_lock);
    if (first_error[0] == '\0')
        snprintf(first_error, sizeof first_error, "%s: %.200s", what, detail);
    pthread_mutex_unlock(&err_lock);
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One reply (the last line of a multi-line one): its code, or -1. The
 * line is copied into line (bounded). */
static int read_reply(struct conn *c, char *line, size_t linesz)
{
    for (;;) {
        char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
        if (nl) {
            size_t len = (size_t)(nl - (c->buf + c->start)) + 1;
            const char *l = c->buf + c->start;
            c->start += len;
            if (len < 4)
                return -1;
            if (l[3] == '-')
                continue;
            size_t cp = len < linesz ? len : linesz - 1;
            memcpy(line, l, cp);
            line[cp] = '\0';
            line[strcspn(line, "\r\n")] = '\0';
            return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
        }
        if (c->start > 0) {
            memmove(c->buf, c->buf + c->start, c->end - c->start);
            c->end -= c->start;
            c->start = 0;
        }
        if (c->end == sizeof c->buf)
            return -1; /* a line longer than the buffer */
        ssize_t n = recv(c->fd, c->buf + c->end, sizeof c->buf - c->end, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        c->end += (size_t)n;
    }
}

static int open_conn(struct conn *c, char *line, size_t linesz)
{
    c->start = c->end = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = timeout_s};
    int one = 1;
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
        connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        snprintf(line, linesz, "connect: %s", strerror(errno));
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    if (read_reply(c, line, linesz) != 220)
        goto fail;
    const char *hello = smtp ? "EHLO bench-client.example\r\n" : "LHLO bench-client.example\r\n";
    if (send_all(c->fd, hello, strlen(hello)) < 0 || read_reply(c, line, linesz) != 250)
        goto fail;
    return 0;
fail:
    close(c->fd);
    c->fd = -1;
    return -1;
}

static int recipients(long i, int *users)
{
    int n = rcpt_mode == 1 ? 1 : 1 + (int)((i * 7 + i / 3) % 3);
    for (int k = 0; k < n; k++)
        users[k] = (int)((i * 5 + k * 7) % USERS);
    return n;
}

/* The -S scenario's recipients of transaction k (0, 1, 2) of message u:
 * A and B, then C, then A and B again. */
static int scenario_recipients(long u, int k, int *users)
{
    if (k == 1) {
        users[0] = (int)((u * 5 + 14) % USERS);
        return 1;
    }
    users[0] = (int)((u * 5) % USERS);
    users[1] = (int)((u * 5 + 7) % USERS);
    return 2;
}

/* The unique header of message number key (empty without -u). */
static size_t unique_header(long key, char *buf, size_t bufsz)
{
    if (!nonce)
        return 0;
    int n = snprintf(buf, bufsz, "X-Bench-Unique: %s.%ld\r\n", nonce, key);
    return n > 0 && (size_t)n < bufsz ? (size_t)n : 0;
}

/* One LMTP/SMTP transaction on c (opened when needed): 1 delivered, 0
 * refused (the connection stays usable), -1 with the connection closed. */
static int transaction(struct conn *c, long *on_conn, const struct msg *m, const char *uh,
                       size_t uhlen, const int *users, int nr, long slot)
{
    char line[512], env[1024];
    line[0] = '\0';
    if (c->fd < 0) {
        if (open_conn(c, line, sizeof line) < 0) {
            note_error("session", line);
            return -1;
        }
        *on_conn = 0;
    }
    int off = snprintf(env, sizeof env, "MAIL FROM:<bench-sender@bench-src.example>\r\n");
    for (int k = 0; k < nr; k++)
        off += snprintf(env + off, sizeof env - (size_t)off, "RCPT TO:<user%d@bench.example>\r\n",
                        users[k]);
    off += snprintf(env + off, sizeof env - (size_t)off, "DATA\r\n");
    const char *what = "envelope";
    if (send_all(c->fd, env, (size_t)off) < 0)
        goto broken;
    for (int k = 0; k < 1 + nr; k++)
        if (read_reply(c, line, sizeof line) != 250)
            goto broken;
    what = "DATA";
    if (read_reply(c, line, sizeof line) != 354)
        goto broken;
    what = "body";
    if (send_all(c->fd, uh, uhlen) < 0 || send_all(c->fd, m->data, m->len) < 0 ||
        send_all(c->fd, ".\r\n", 3) < 0)
        goto broken;
    double t0 = now();
    int ok = 1;
    what = "end of data";
    for (int k = 0; k < (smtp ? 1 : nr); k++) {
        int code = read_reply(c, line, sizeof line);
        if (code < 0)
            goto broken;
        if (code / 100 != 2)
            ok = 0;
    }
    double t1 = now();
    if (ok) {
        lat_us[slot] = (long)((t1 - t0) * 1e6);
        atomic_fetch_add(&n_sent, 1);
    } else {
        note_error("end of data", line);
    }
    if (++*on_conn >= per_conn) {
        if (send_all(c->fd, "QUIT\r\n", 6) == 0)
            (void)read_reply(c, line, sizeof line);
        close(c->fd);
        c->fd = -1;
    }
    return ok;
broken:
    note_error(what, line[0] ? line : strerror(errno));
    close(c->fd);
    c->fd = -1;
    return -1;
}

static void *worker(void *arg)
{
    (void)arg;
    struct conn *c = malloc(sizeof *c);
    if (!c)
        abort();
    c->fd = -1;
    char uh[160], line[512];
    long on_conn = 0;
    long units = scenario ? (count + 2) / 3 : count;
    for (;;) {
        long u = atomic_fetch_add(&next_index, 1);
        if (u >= units)
            break;
        const struct msg *m = &msgs[(size_t)(offset + u) % nmsgs];
        size_t uhlen = unique_header(offset + u, uh, sizeof uh);
        int users[MAX_RCPT];
        if (!scenario) {
            int nr = recipients(u, users);
            (void)transaction(c, &on_conn, m, uh, uhlen, users, nr, u);
            continue;
        }
        for (int k = 0; k < 3 && u * 3 + k < count; k++) {
            int nr = scenario_recipients(u, k, users);
            (void)transaction(c, &on_conn, m, uh, uhlen, users, nr, u * 3 + k);
        }
    }
    if (c->fd >= 0) {
        if (send_all(c->fd, "QUIT\r\n", 6) == 0)
            (void)read_reply(c, line, sizeof line);
        close(c->fd);
    }
    free(c);
    return NULL;
}

/* Whether the HTTP reply in buf[0..len) is whole: its head ended and
 * Content-Length bytes of body after it (without Content-Length: when the
 * peer closes). */
static int reply_complete(char *buf, size_t len)
{
    buf[len] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!end)
        return 0;
    for (char *p = buf; p < end; p++) {
        if ((p == buf || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0) {
            char *e;
            unsigned long long cl = strtoull(p + 15, &e, 10);
            if (e == p + 15)
                return 0;
            return (size_t)(end + 4 - buf) + cl <= len;
        }
    }
    return 0;
}

/* rspamd alone (-w): one POST /checkv2 a message, Connection: close. */
static void *http_worker(void *arg)
{
    (void)arg;
    size_t cap = 256 * 1024;
    char *resp = malloc(cap + 1);
    char uh[160], head[1024];
    if (!resp)
        abort();
    for (;;) {
        long i = atomic_fetch_add(&next_index, 1);
        if (i >= count)
            break;
        const struct msg *m = &msgs[(size_t)(offset + i) % nmsgs];
        size_t uhlen = unique_header(offset + i, uh, sizeof uh);
        int users[MAX_RCPT];
        int nr = recipients(i, users);
        int off = snprintf(head, sizeof head,
                           "POST /checkv2 HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n"
                           "User-Agent: lmtpload\r\nContent-Length: %zu\r\n"
                           "Deliver-To: user%d@bench.example\r\n"
                           "From: <bench-sender@bench-src.example>\r\n",
                           uhlen + m->len, users[0]);
        for (int k = 0; k < nr; k++)
            off += snprintf(head + off, sizeof head - (size_t)off, "Rcpt: user%d@bench.example\r\n",
                            users[k]);
        off += snprintf(head + off, sizeof head - (size_t)off, "\r\n");
        struct timeval tv = {.tv_sec = timeout_s};
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        const char *what = "connect";
        if (fd < 0) {
            note_error(what, strerror(errno));
            continue;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
            connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
            goto broken;
        what = "request";
        if (send_all(fd, head, (size_t)off) < 0 || send_all(fd, uh, uhlen) < 0 ||
            send_all(fd, m->data, m->len) < 0)
            goto broken;
        double t0 = now();
        size_t got = 0;
        what = "reply";
        for (;;) {
            char sink[4096];
            char *dst = got < cap ? resp + got : sink;
            size_t room = got < cap ? cap - got : sizeof sink;
            ssize_t n = recv(fd, dst, room, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                goto broken;
            if (n == 0)
                break;
            if (got < cap)
                got += (size_t)n;
            if (reply_complete(resp, got))
                break;
        }
        double t1 = now();
        close(fd);
        resp[got] = '\0';
        if ((strncmp(resp, "HTTP/1.1 200", 12) == 0 || strncmp(resp, "HTTP/1.0 200", 12) == 0) &&
            strstr(resp, "\"action\"")) {
            lat_us[i] = (long)((t1 - t0) * 1e6);
            atomic_fetch_add(&n_sent, 1);
        } else {
            resp[strcspn(resp, "\r\n")] = '\0';
            note_error("rspamd reply", resp);
        }
        continue;
    broken:
        note_error(what, strerror(errno));
        close(fd);
    }
    free(resp);
    return NULL;
}

/* The message as rspamd gets it: dot-stuffing undone. */
static void unstuff(struct msg *m)
{
    size_t r = 0, w = 0;
    int bol = 1;
    while (r < m->len) {
        if (bol && m->data[r] == '.' && r + 1 < m->len && m->data[r + 1] == '.')
            r++;
        bol = m->data[r] == '\n';
        m->data[w++] = m->data[r++];
    }
    m->len = w;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *list = NULL;
    int port = 0, conc = 1, opt;
    while ((opt = getopt(argc, argv, "H:p:c:n:r:sk:t:o:u:wSF:")) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'c':
            conc = atoi(optarg);
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 'r':
            rcpt_mode = atoi(optarg);
            break;
        case 's':
            smtp = 1;
            break;
        case 'k':
            per_conn = atol(optarg);
            break;
        case 't':
            timeout_s = atoi(optarg);
            break;
        case 'o':
            offset = atol(optarg);
            break;
        case 'u':
            nonce = optarg;
            break;
        case 'w':
            http = 1;
            break;
        case 'S':
            scenario = 1;
            break;
        case 'F':
            list = optarg;
            break;
        default:
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || conc <= 0 || conc > 1024 || count <= 0 || count > 100000000L ||
        per_conn <= 0 || offset < 0 || (optind >= argc && !list) || (http && (smtp || scenario)) ||
        (nonce && strlen(nonce) > 64)) {
        fprintf(stderr, "usage: lmtpload -p PORT -c CONC -n COUNT [-H HOST] [-r 1|3] [-s|-w] "
                        "[-k PER_CONN] [-t TIMEOUT_S] [-o OFFSET] [-u NONCE] [-S] [-F LIST] "
                        "[FILE...]\n");
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "lmtpload: bad address %s\n", host);
        return 2;
    }
    msgs = calloc(MAX_MSGS, sizeof *msgs);
    lat_us = malloc((size_t)count * sizeof *lat_us);
    pthread_t *th = calloc((size_t)conc, sizeof *th);
    if (!msgs || !lat_us || !th)
        return 2;
    if (list && add_list("lmtpload", list) < 0)
        return 2;
    for (int k = optind; k < argc; k++)
        if (add_file("lmtpload", argv[k]) < 0)
            return 2;
    if (nmsgs == 0)
        return 2;
    if (http)
        for (size_t k = 0; k < nmsgs; k++)
            unstuff(&msgs[k]);
    for (long i = 0; i < count; i++)
        lat_us[i] = -1;
    double t0 = now();
    for (int k = 0; k < conc; k++)
        if (pthread_create(&th[k], NULL, http ? http_worker : worker, NULL) != 0) {
            fprintf(stderr, "lmtpload: pthread_create failed\n");
            return 2;
        }
    for (int k = 0; k < conc; k++)
        pthread_join(th[k], NULL);
    double elapsed = now() - t0;
    printf("sent %ld\nfailed %ld\nelapsed %.6f\n", atomic_load(&n_sent), atomic_load(&n_failed),
           elapsed);
    if (first_error[0])
        printf("error %s\n", first_error);
    for (long i = 0; i < count; i++)
        if (lat_us[i] >= 0)
            printf("lat %ld\n", lat_us[i]);
    return 0;
}
