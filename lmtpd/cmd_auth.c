/*
 * cmd_auth: AUTH (RFC 4954). Placeholder until SASL lands: every AUTH is
 * refused, so clients that must authenticate cannot send mail.
 */
#include "lmtpd/session.h"

void cmd_auth(struct session *s, const struct command *c)
{
    (void)c;
    session_reply(s, "504 5.5.4 Authentication not available");
}

void session_auth_free(struct session *s)
{
    (void)s;
}
