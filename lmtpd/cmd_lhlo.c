/*
 * cmd_lhlo: LHLO (LMTP listeners), EHLO and HELO (SMTP listeners). A
 * greeting resets any transaction and announces the extensions of SPEC
 * section 4.
 */
#include "lmtpd/session.h"

#include <stdio.h>
#include <string.h>

void cmd_lhlo(struct session *s, const struct command *c)
{
    bool lmtp = s->protocol == PROTO_LMTP;
    if ((c->verb == CMD_LHLO) != lmtp) {
        session_reply(s, "500 5.5.1 Unknown command");
        return;
    }
    if (c->args_len == 0) {
        session_reply(s, "501 5.5.4 Syntax: %s hostname",
                      c->verb == CMD_LHLO   ? "LHLO"
                      : c->verb == CMD_EHLO ? "EHLO"
                                            : "HELO");
        return;
    }
    if (memchr(c->args, '\0', c->args_len) != NULL) {
        session_reply(s, "501 5.5.4 Invalid hostname");
        return;
    }
    session_reset_transaction(s);
    snprintf(s->env.helo, sizeof(s->env.helo), "%.*s", (int)c->args_len, c->args);
    s->greeted = true;

    const char *host = s->cfg->server.hostname;
    if (c->verb == CMD_HELO) {
        session_reply(s, "250 %s", host);
        return;
    }
    session_reply(s, "250-%s", host);
    session_reply(s, "250-PIPELINING");
    session_reply(s, "250-ENHANCEDSTATUSCODES");
    session_reply(s, "250-8BITMIME");
    session_reply(s, "250-SIZE %llu", (unsigned long long)s->cfg->server.max_message_size);
    session_reply(s, "250-SMTPUTF8");
    session_reply(s, "250-CHUNKING");
    session_reply(s, "250-DSN");
    const char *mechs = session_auth_mechs(s);
    if (mechs != NULL)
        session_reply(s, "250-AUTH %s", mechs);
    session_reply(s, "250 XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE");
}
