/*
 * cmd_rcpt: RCPT TO with the DSN parameters NOTIFY and ORCPT. The
 * recipient's policy is looked up here, and in maildir mode its Maildir
 * path is computed and checked, so a hostile or unknown address is refused
 * now (550 5.1.3 / 550 5.1.1) rather than after the data. RFC 5321's
 * domainless <postmaster> (which every server must accept) gets the
 * mailbox and policy of postmaster@HOSTNAME in maildir mode, as Postfix
 * qualifies a bare name with its own domain; the relay gets it as sent.
 */
#include "lmtpd/session.h"
#include "common/xalloc.h"
#include "deliver/maildir.h"
#include "scan/policy.h"

#include <stdio.h>
#include <string.h>

void cmd_rcpt(struct session *s, const struct command *c)
{
    struct envelope *env = &s->env;
    if (!env->has_mail) {
        session_reply(s, "503 5.5.1 Error: need MAIL command");
        return;
    }
    if (env->n_rcpts >= s->cfg->server.max_recipients) {
        session_reply(s, "452 4.5.3 Too many recipients");
        return;
    }
    struct rcpt_args args;
    struct command_error err;
    if (command_parse_rcpt(c->args, c->args_len, &args, &err) != 0) {
        session_reply_error(s, &err);
        return;
    }
    char mailbox[sizeof(args.to) + sizeof(s->cfg->server.hostname)];
    snprintf(mailbox, sizeof(mailbox), "%s", args.to);
    char maildir[PATH_MAX] = "";
    if (s->cfg->deliver.mode == DELIVER_MAILDIR) {
        if (strchr(args.to, '@') == NULL) /* the parser lets only postmaster through */
            snprintf(mailbox, sizeof(mailbox), "%s@%s", args.to, s->cfg->server.hostname);
        switch (maildir_path_expand(s->cfg->deliver.maildir, mailbox,
                                    s->cfg->deliver.recipient_delimiter, maildir,
                                    sizeof(maildir))) {
        case MAILDIR_PATH_OK:
            break;
        case MAILDIR_PATH_UNSAFE:
            session_reply(s, "550 5.1.3 <%s> Recipient address unsafe for delivery", args.to);
            return;
        case MAILDIR_PATH_BAD_ADDRESS:
        case MAILDIR_PATH_TOO_LONG:
            session_reply(s, "550 5.1.3 <%s> Bad recipient address syntax", args.to);
            return;
        }
        if (!s->cfg->deliver.maildir_create && !maildir_exists(maildir)) {
            session_reply(s, "550 5.1.1 <%s> User unknown (no mailbox)", args.to);
            return;
        }
    }
    struct recipient *r = envelope_add_rcpt(env);
    snprintf(r->address, sizeof(r->address), "%s", args.to);
    snprintf(r->orcpt, sizeof(r->orcpt), "%s", args.orcpt);
    r->notify = args.notify;
    r->policy = policy_lookup(s->cfg, mailbox);
    if (maildir[0] != '\0')
        r->maildir = xstrdup(maildir);
    session_reply(s, "250 2.1.5 Ok");
}
