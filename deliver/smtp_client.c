/*
 * smtp_client: SMTP client wire level (see smtp_client.h) on a
 * common/fd_stream.h stream: input in its fixed buffer, output collected
 * in its bounded strbuf and written out when it passes a threshold or
 * before a reply is awaited. A reply must be complete within the timeout;
 * a write fails after the timeout without progress (the stream's idle
 * limit).
 */
#include "deliver/smtp_client.h"
#include "common/clock.h"
#include "common/fd_stream.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define OUT_FLUSH_AT    (32 * 1024)
#define OUT_MAX         (64 * 1024)
#define REPLY_LINES_MAX 200
#define IN_SIZE         8192

struct smtp_conn {
    struct fd_stream io; /* idle_ms: the per-step timeout */
    char error[256];
    struct smtp_caps caps;
    char local[80];
    char remote[80];
};

static int fail(struct smtp_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct smtp_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof(c->error), fmt, ap);
    va_end(ap);
    return -1;
}

/* Fails c for a stream status other than FDS_OK, in the words of the
 * error texts before the shared stream; timeout_text for a timeout. */
static int io_fail(struct smtp_conn *c, enum fd_stream_status st, const char *timeout_text)
{
    switch (st) {
    case FDS_TIMEOUT:
        return fail(c, "%s", timeout_text);
    case FDS_EOF:
        return fail(c, "connection closed by the server");
    case FDS_TOO_LONG:
        return fail(c, "reply line too long");
    case FDS_ERROR:
        return fail(c, "%s: %s", c->io.err_op, strerror(c->io.err_no));
    case FDS_OK:
    case FDS_STOPPED:
        break;
    }
    return fail(c, "I/O failed");
}

static void describe_end(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t outlen)
{
    out[0] = '\0';
    if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
        return;
    char host[64], port[8];
    if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(out, outlen, "%s;%s", host, port);
}

int smtp_conn_open(const struct net_address *a, int timeout_ms, struct smtp_conn **out,
                   struct smtp_reply *greeting, char *err, size_t errlen)
{
    *out = NULL;
    int fd = net_connect(a, timeout_ms, err, errlen);
    if (fd < 0)
        return -1;
    struct smtp_conn *c = xcalloc(1, sizeof(*c));
    fd_stream_init(&c->io, fd, IN_SIZE, OUT_MAX, OUT_FLUSH_AT);
    smtp_conn_set_timeout(c, timeout_ms);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        describe_end(&ss, len, c->local, sizeof(c->local));
    len = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        describe_end(&ss, len, c->remote, sizeof(c->remote));
    if (smtp_read_reply(c, greeting, NULL, NULL) < 0) {
        snprintf(err, errlen, "greeting: %s", c->error);
        smtp_conn_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void smtp_conn_close(struct smtp_conn *c)
{
    if (c == NULL)
        return;
    if (c->io.fd >= 0)
        close(c->io.fd);
    fd_stream_free(&c->io);
    free(c);
}

const char *smtp_conn_error(const struct smtp_conn *c)
{
    return c->error;
}

const struct smtp_caps *smtp_conn_caps(const struct smtp_conn *c)
{
    return &c->caps;
}

const char *smtp_conn_local(const struct smtp_conn *c)
{
    return c->local;
}

const char *smtp_conn_remote(const struct smtp_conn *c)
{
    return c->remote;
}

void smtp_conn_set_timeout(struct smtp_conn *c, int timeout_ms)
{
    c->io.idle_ms = timeout_ms > 0 ? timeout_ms : 300000;
}

int smtp_flush(struct smtp_conn *c)
{
    enum fd_stream_status st = fd_stream_flush(&c->io, deadline_never());
    return st == FDS_OK ? 0 : io_fail(c, st, "write timed out");
}

int smtp_write(struct smtp_conn *c, const void *data, size_t len)
{
    enum fd_stream_status st = fd_stream_queue(&c->io, data, len, deadline_never());
    return st == FDS_OK ? 0 : io_fail(c, st, "write timed out");
}

int smtp_cmd(struct smtp_conn *c, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) - 2)
        return fail(c, "command too long");
    line[n++] = '\r';
    line[n++] = '\n';
    return smtp_write(c, line, (size_t)n);
}

/* One reply line without its line end into line (SMTP_REPLY_LINE_MAX + 1
 * bytes); a line of SMTP_REPLY_LINE_MAX bytes or more without its end is a
 * protocol error, as is a NUL byte. -1 on failure. */
static int read_line(struct smtp_conn *c, char *line, struct timespec deadline)
{
    size_t len;
    enum fd_stream_status st =
        fd_stream_read_line(&c->io, line, SMTP_REPLY_LINE_MAX + 1, &len, deadline);
    if (st != FDS_OK)
        return io_fail(c, st, "timed out waiting for a reply");
    if (len >= SMTP_REPLY_LINE_MAX)
        return fail(c, "reply line too long");
    if (memchr(line, '\0', len) != NULL)
        return fail(c, "NUL byte in reply");
    return 0;
}

/* "x.y.z" at the start of text whose class matches the code: its length,
 * else 0. */
static size_t enhanced_status_len(const char *text, int code)
{
    const char *p = text;
    if (*p != '0' + code / 100 || p[1] != '.')
        return 0;
    p += 2;
    for (int part = 0; part < 2; part++) {
        size_t digits = 0;
        while (isdigit((unsigned char)*p) && digits < 4) {
            p++;
            digits++;
        }
        if (digits == 0 || isdigit((unsigned char)*p))
            return 0;
        if (part == 0) {
            if (*p != '.')
                return 0;
            p++;
        }
    }
    if (*p != '\0' && *p != ' ')
        return 0;
    return (size_t)(p - text);
}

int smtp_read_reply(struct smtp_conn *c, struct smtp_reply *r,
                    void (*line_cb)(void *arg, const char *text), void *arg)
{
    memset(r, 0, sizeof(*r));
    if (c->io.out.len > 0 && smtp_flush(c) < 0)
        return -1;
    struct timespec deadline = deadline_after_ms((uint64_t)c->io.idle_ms);
    char line[SMTP_REPLY_LINE_MAX + 1];
    for (int n = 0;; n++) {
        if (n >= REPLY_LINES_MAX)
            return fail(c, "reply has too many lines");
        if (read_line(c, line, deadline) < 0)
            return -1;
        size_t len = strlen(line);
        if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
            !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5' ||
            (len > 3 && line[3] != ' ' && line[3] != '-'))
            return fail(c, "malformed reply: %.80s", line);
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        const char *text = len > 3 ? line + 4 : "";
        if (n == 0) {
            r->code = code;
            snprintf(r->line, sizeof(r->line), "%s", line);
            size_t sl = enhanced_status_len(text, code);
            if (sl > 0 && sl < sizeof(r->status)) {
                memcpy(r->status, text, sl);
                r->status[sl] = '\0';
                text += sl;
                while (*text == ' ')
                    text++;
            }
            snprintf(r->text, sizeof(r->text), "%s", text);
        } else if (code != r->code) {
            return fail(c, "inconsistent multi-line reply");
        }
        if (line_cb != NULL)
            line_cb(arg, len > 3 ? line + 4 : "");
        if (len == 3 || line[3] == ' ')
            return 0;
    }
}

struct ehlo_state {
    struct smtp_caps caps;
    bool first;
};

static bool keyword_is(const char *text, const char *kw, const char **rest)
{
    size_t n = strlen(kw);
    if (strncasecmp(text, kw, n) != 0 || (text[n] != '\0' && text[n] != ' ' && text[n] != '='))
        return false;
    *rest = text[n] ? text + n + 1 : text + n;
    return true;
}

static void ehlo_line(void *arg, const char *text)
{
    struct ehlo_state *st = arg;
    if (st->first) { /* the server's name */
        st->first = false;
        return;
    }
    struct smtp_caps *k = &st->caps;
    const char *rest;
    if (keyword_is(text, "PIPELINING", &rest)) {
        k->pipelining = true;
    } else if (keyword_is(text, "SIZE", &rest)) {
        k->size = true;
        k->size_max = strtoull(rest, NULL, 10);
    } else if (keyword_is(text, "8BITMIME", &rest)) {
        k->eightbitmime = true;
    } else if (keyword_is(text, "SMTPUTF8", &rest)) {
        k->smtputf8 = true;
    } else if (keyword_is(text, "DSN", &rest)) {
        k->dsn = true;
    } else if (keyword_is(text, "CHUNKING", &rest)) {
        k->chunking = true;
    } else if (keyword_is(text, "ENHANCEDSTATUSCODES", &rest)) {
        k->enhanced = true;
    } else if (keyword_is(text, "AUTH", &rest)) {
        if (k->auth[0] == '\0')
            snprintf(k->auth, sizeof(k->auth), "%s", rest);
    } else if (keyword_is(text, "XFORWARD", &rest)) {
        static const struct {
            const char *name;
            unsigned bit;
        } attrs[] = {{"NAME", SMTP_XF_NAME},    {"ADDR", SMTP_XF_ADDR}, {"PORT", SMTP_XF_PORT},
                     {"PROTO", SMTP_XF_PROTO},  {"HELO", SMTP_XF_HELO}, {"IDENT", SMTP_XF_IDENT},
                     {"SOURCE", SMTP_XF_SOURCE}};
        char copy[256];
        snprintf(copy, sizeof(copy), "%s", rest);
        char *save = NULL;
        for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
            for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
                if (strcasecmp(tok, attrs[i].name) == 0)
                    k->xforward |= attrs[i].bit;
    }
}

int smtp_ehlo(struct smtp_conn *c, const char *hostname, struct smtp_reply *r)
{
    struct ehlo_state st = {.first = true};
    memset(&c->caps, 0, sizeof(c->caps));
    if (smtp_cmd(c, "EHLO %s", hostname) < 0 || smtp_read_reply(c, r, ehlo_line, &st) < 0)
        return -1;
    if (r->code == 250)
        c->caps = st.caps;
    return 0;
}

int smtp_xtext_append(struct strbuf *sb, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int rc = (*p < 33 || *p > 126 || *p == '+' || *p == '=') ? strbuf_printf(sb, "+%02X", *p)
                                                                 : strbuf_append(sb, p, 1);
        if (rc < 0)
            return -1;
    }
    return 0;
}

void smtp_data_begin(struct smtp_data_writer *w, struct smtp_conn *c)
{
    memset(w, 0, sizeof(*w));
    w->conn = c;
    w->line_start = true;
}

int smtp_data_sink(void *arg, const char *data, size_t len)
{
    struct smtp_data_writer *w = arg;
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        if (w->line_start && data[i] == '.') {
            /* write what came before, then the extra dot */
            if (smtp_write(w->conn, data + from, i - from) < 0 || smtp_write(w->conn, ".", 1) < 0)
                goto fail;
            w->bytes++;
            from = i;
        }
        w->line_start = data[i] == '\n';
        w->last_cr = data[i] == '\r';
    }
    if (smtp_write(w->conn, data + from, len - from) < 0)
        goto fail;
    w->bytes += len;
    return 0;
fail:
    errno = EIO;
    return -1;
}

int smtp_data_end(struct smtp_data_writer *w)
{
    if (!w->line_start) {
        const char *end = w->last_cr ? "\n" : "\r\n";
        if (smtp_write(w->conn, end, strlen(end)) < 0)
            return -1;
    }
    if (smtp_write(w->conn, ".\r\n", 3) < 0)
        return -1;
    return smtp_flush(w->conn);
}
