/*
 * cmd_simple: the commands without state of their own: RSET, NOOP, QUIT,
 * VRFY (252: we never confirm or deny an address).
 */
#include "lmtpd/session.h"

void cmd_rset(struct session *s, const struct command *c)
{
    (void)c;
    session_reset_transaction(s);
    session_reply(s, "250 2.0.0 Ok");
}

void cmd_noop(struct session *s, const struct command *c)
{
    (void)c;
    session_reply(s, "250 2.0.0 Ok");
}

void cmd_quit(struct session *s, const struct command *c)
{
    (void)c;
    session_reply(s, "221 2.0.0 Bye");
    s->quit = true;
}

void cmd_vrfy(struct session *s, const struct command *c)
{
    (void)c;
    session_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message");
}
