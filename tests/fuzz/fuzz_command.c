/*
 * fuzz_command: libFuzzer target for the LMTP/SMTP command parser
 * (lmtpd/command.h). The input is one command line without its CRLF, cut
 * to what the session passes (at most COMMAND_LINE_MAX - 2 bytes). It is
 * split into verb and arguments, and the arguments (and the whole line)
 * go through every argument parser. Checks: the arguments lie inside the
 * line; a parser that fails sets a 4xx/5xx code; a parsed address is a
 * NUL-terminated string that fits its field.
 */
#include "common/envelope.h"
#include "lmtpd/command.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_error(int rc, const struct command_error *err)
{
    if (rc != 0 && (err->code < 400 || err->code > 599 || err->status == NULL))
        abort();
}

static void parse_args(const char *args, size_t len)
{
    struct command_error err;
    struct mail_args mail;
    memset(&err, 0, sizeof(err));
    int rc = command_parse_mail(args, len, &mail, &err);
    check_error(rc, &err);
    if (rc == 0 && (memchr(mail.from, '\0', sizeof(mail.from)) == NULL ||
                    memchr(mail.envid, '\0', sizeof(mail.envid)) == NULL))
        abort();

    struct rcpt_args rcpt;
    memset(&err, 0, sizeof(err));
    rc = command_parse_rcpt(args, len, &rcpt, &err);
    check_error(rc, &err);
    if (rc == 0 && (rcpt.to[0] == '\0' || memchr(rcpt.to, '\0', sizeof(rcpt.to)) == NULL ||
                    memchr(rcpt.orcpt, '\0', sizeof(rcpt.orcpt)) == NULL))
        abort();

    uint64_t size;
    bool last;
    memset(&err, 0, sizeof(err));
    rc = command_parse_bdat(args, len, &size, &last, &err);
    check_error(rc, &err);

    struct xforward xf;
    memset(&xf, 0, sizeof(xf));
    memset(&err, 0, sizeof(err));
    rc = command_parse_xforward(args, len, &xf, &err);
    check_error(rc, &err);
    if (memchr(xf.name, '\0', sizeof(xf.name)) == NULL ||
        memchr(xf.addr, '\0', sizeof(xf.addr)) == NULL ||
        memchr(xf.helo, '\0', sizeof(xf.helo)) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > COMMAND_LINE_MAX - 2)
        size = COMMAND_LINE_MAX - 2;
    /* A private copy of exactly size bytes, so ASan sees any over-read. */
    char *line = malloc(size ? size : 1);
    if (line == NULL)
        return 0;
    memcpy(line, data, size);

    struct command cmd;
    command_parse(line, size, &cmd);
    if (cmd.verb != CMD_UNKNOWN) {
        if (cmd.args < line || cmd.args > line + size ||
            cmd.args_len > (size_t)(line + size - cmd.args))
            abort();
        parse_args(cmd.args, cmd.args_len);
    }
    parse_args(line, size);
    free(line);
    return 0;
}
