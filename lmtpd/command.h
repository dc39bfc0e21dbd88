/*
 * command: the pure LMTP/SMTP command-line parser. Bytes in (one line
 * without its CRLF, at most 4094 bytes), a struct or an error out; no I/O,
 * no session state. Each parser is table-tested and fuzzed.
 * Thread-safe (no shared state).
 */
#ifndef LMTPSCAN_COMMAND_H
#define LMTPSCAN_COMMAND_H

#include "common/envelope.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMMAND_LINE_MAX 4096 /* including CRLF */

enum command_verb {
    CMD_UNKNOWN,
    CMD_LHLO,
    CMD_EHLO,
    CMD_HELO,
    CMD_MAIL,
    CMD_RCPT,
    CMD_DATA,
    CMD_BDAT,
    CMD_RSET,
    CMD_NOOP,
    CMD_QUIT,
    CMD_VRFY,
    CMD_XFORWARD,
    CMD_AUTH,
};

struct command {
    enum command_verb verb;
    const char *args; /* points into the line, after the verb and blanks */
    size_t args_len;
};

/* Splits the verb (case-insensitive) from its arguments. A line holding a
 * NUL byte parses as CMD_UNKNOWN. Never fails otherwise. */
void command_parse(const char *line, size_t len, struct command *out);

/* Result of the argument parsers: 0 ok, else the reply to send. */
struct command_error {
    int code;           /* 501, 555, 552, ... */
    const char *status; /* "5.5.4" */
    const char *text;
};

struct mail_args {
    char from[ADDRESS_MAX + 1]; /* empty for <> */
    uint64_t size;
    enum body_type body;
    bool smtputf8;
    enum dsn_ret ret;
    char envid[128]; /* xtext as given */
};

struct rcpt_args {
    char to[ADDRESS_MAX + 1];
    char orcpt[ADDRESS_MAX + 16]; /* "rfc822;addr" as given (xtext) */
    unsigned notify;              /* DSN_NOTIFY_* */
};

/* "FROM:<addr> [params]" (a blank after the colon is tolerated). */
int command_parse_mail(const char *args, size_t len, struct mail_args *out,
                       struct command_error *err);
/* "TO:<addr> [params]". The null path is refused. */
int command_parse_rcpt(const char *args, size_t len, struct rcpt_args *out,
                       struct command_error *err);
/* "SIZE [LAST]". */
int command_parse_bdat(const char *args, size_t len, uint64_t *size, bool *last,
                       struct command_error *err);
/* "ATTR=value ..." merged into xf; "[UNAVAILABLE]" clears an attribute. */
int command_parse_xforward(const char *args, size_t len, struct xforward *xf,
                           struct command_error *err);

#endif
