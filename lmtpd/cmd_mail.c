/*
 * cmd_mail: MAIL FROM with SIZE, BODY, SMTPUTF8 and the DSN parameters
 * RET and ENVID (kept for the relay).
 */
#include "lmtpd/session.h"

#include <stdio.h>
#include <string.h>

void cmd_mail(struct session *s, const struct command *c)
{
    if (!s->greeted) {
        session_reply(s, "503 5.5.1 Error: send %s first",
                      s->protocol == PROTO_LMTP ? "LHLO" : "EHLO");
        return;
    }
    if (s->env.has_mail) {
        session_reply(s, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    struct mail_args args;
    struct command_error err;
    if (command_parse_mail(c->args, c->args_len, &args, &err) != 0) {
        session_reply_error(s, &err);
        return;
    }
    if (args.size > s->cfg->server.max_message_size) {
        session_reply(s, "552 5.3.4 Message size exceeds fixed limit");
        return;
    }
    struct envelope *env = &s->env;
    env->has_mail = true;
    snprintf(env->mail_from, sizeof(env->mail_from), "%s", args.from);
    env->size_param = args.size;
    env->body = args.body;
    env->smtputf8 = args.smtputf8;
    env->ret = args.ret;
    snprintf(env->envid, sizeof(env->envid), "%s", args.envid);
    session_reply(s, "250 2.1.0 Ok");
}
