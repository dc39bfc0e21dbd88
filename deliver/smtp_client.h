/*
 * smtp_client: the wire level of an SMTP client (RFC 5321) for the relay:
 * a connection over a common/fd_stream.h stream (bounded input and output
 * buffers; every blocking step waits at most the connection's timeout),
 * multi-line reply reading, EHLO capability parsing, xtext encoding, and
 * a DATA writer that dot-stuffs and terminates the message.
 *
 * Public: smtp_conn_open(), smtp_conn_close(), smtp_conn_error() and the
 * other accessors, smtp_cmd(), smtp_write(), smtp_flush(),
 * smtp_read_reply(), smtp_ehlo(), smtp_xtext_append(), smtp_data_begin(),
 * smtp_data_sink(), smtp_data_end().
 *
 * Failure modes: every function returning int gives 0 on success and -1
 * on a connection-level failure (timeout, reset, closed, malformed or
 * overlong reply); the reason is in smtp_conn_error() and the connection
 * must then be closed. A 4xx/5xx reply is not a failure of these
 * functions: it is returned in struct smtp_reply. Not thread-safe: one
 * owner per connection (the pool in relay.c hands connections over).
 */
#ifndef LMTPSCAN_SMTP_CLIENT_H
#define LMTPSCAN_SMTP_CLIENT_H

#include "common/net_address.h"
#include "common/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_REPLY_LINE_MAX 1024 /* a longer reply line is a protocol error */
#define SMTP_REPLY_TEXT_MAX 1024 /* kept text of a reply (first line) */

struct smtp_reply {
    int code;                       /* 3 digits */
    char status[16];                /* enhanced status "x.y.z" or "" */
    char text[SMTP_REPLY_TEXT_MAX]; /* first line after the code and status */
    char line[SMTP_REPLY_TEXT_MAX]; /* first line as received, no CRLF */
};

/* XFORWARD attribute bits (the names the server lists). */
#define SMTP_XF_NAME   0x01
#define SMTP_XF_ADDR   0x02
#define SMTP_XF_PORT   0x04
#define SMTP_XF_PROTO  0x08
#define SMTP_XF_HELO   0x10
#define SMTP_XF_IDENT  0x20
#define SMTP_XF_SOURCE 0x40

struct smtp_caps {
    bool pipelining;
    bool size;
    uint64_t size_max; /* 0: no limit given */
    bool eightbitmime;
    bool smtputf8;
    bool dsn;
    bool chunking;
    bool enhanced;
    unsigned xforward; /* SMTP_XF_* bits; 0: no XFORWARD */
    char auth[256];    /* mechanisms after AUTH, space-separated; "" none */
};

struct smtp_conn;

/* Connects to a (timeout_ms for the connect, then for every later step)
 * and reads the greeting into greeting. 0 when connected, even if the
 * greeting is not 2xx (the caller decides); -1 with err when the
 * connection failed (*out is then NULL). */
int smtp_conn_open(const struct net_address *a, int timeout_ms, struct smtp_conn **out,
                   struct smtp_reply *greeting, char *err, size_t errlen);
void smtp_conn_close(struct smtp_conn *c);
/* Why the last call failed ("" if none). */
const char *smtp_conn_error(const struct smtp_conn *c);
/* The capabilities of the last EHLO (all false before one). */
const struct smtp_caps *smtp_conn_caps(const struct smtp_conn *c);
/* Numeric "addr;port" of each end, as libsasl2 wants them ("" for a
 * unix socket). */
const char *smtp_conn_local(const struct smtp_conn *c);
const char *smtp_conn_remote(const struct smtp_conn *c);
/* Changes the per-step timeout (e.g. a short probe of a pooled one). */
void smtp_conn_set_timeout(struct smtp_conn *c, int timeout_ms);

/* Queues one command line (CRLF added); flushes when the buffer fills. */
int smtp_cmd(struct smtp_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queues raw bytes. */
int smtp_write(struct smtp_conn *c, const void *data, size_t len);
int smtp_flush(struct smtp_conn *c);
/* Flushes pending output, then reads one (possibly multi-line) reply.
 * line_cb, when not NULL, gets the text of every line (after "NNN-"). */
int smtp_read_reply(struct smtp_conn *c, struct smtp_reply *r,
                    void (*line_cb)(void *arg, const char *text), void *arg);
/* EHLO hostname: fills c->caps from a 250 reply. Returns 0 with the reply
 * in r (the caller checks r->code), -1 on a connection failure. */
int smtp_ehlo(struct smtp_conn *c, const char *hostname, struct smtp_reply *r);

/* Appends s as RFC 3461 xtext ('+', '=', and bytes outside 33..126 as
 * "+HH"). -1 when sb's limit is reached. */
int smtp_xtext_append(struct strbuf *sb, const char *s);

/* DATA content writer: feeds message bytes (CRLF line ends) to the
 * connection, doubling a '.' at the start of every line. */
struct smtp_data_writer {
    struct smtp_conn *conn;
    bool line_start;
    bool last_cr;
    uint64_t bytes;
};
void smtp_data_begin(struct smtp_data_writer *w, struct smtp_conn *c);
/* A copy_sink_fn (arg: struct smtp_data_writer *). */
int smtp_data_sink(void *arg, const char *data, size_t len);
/* Ends the data with CRLF (if the content did not) and ".", flushes. */
int smtp_data_end(struct smtp_data_writer *w);

#endif
