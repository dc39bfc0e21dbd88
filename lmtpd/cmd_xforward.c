/*
 * cmd_xforward: Postfix's XFORWARD (original client name, address, HELO,
 * protocol, queue id as IDENT). Allowed outside a transaction only, as
 * Postfix sends it; the attributes are kept for the report and the relay.
 */
#include "lmtpd/session.h"

void cmd_xforward(struct session *s, const struct command *c)
{
    if (!s->greeted) {
        session_reply(s, "503 5.5.1 Error: send %s first",
                      s->protocol == PROTO_LMTP ? "LHLO" : "EHLO");
        return;
    }
    if (s->env.has_mail) {
        session_reply(s, "503 5.5.1 Error: XFORWARD not allowed within a transaction");
        return;
    }
    struct command_error err;
    if (command_parse_xforward(c->args, c->args_len, &s->env.xforward, &err) != 0) {
        session_reply_error(s, &err);
        return;
    }
    session_reply(s, "250 2.0.0 Ok");
}
