/*
 * cmd_rcpt: RCPT TO with the DSN parameters NOTIFY and ORCPT. The
 * recipient's canonical address (common/address.h) is made here, once,
 * and its policy looked up from it; in maildir mode its Maildir path is
 * computed and checked too, so a hostile, over-long or unknown address is
 * refused now (550 5.1.3 / 550 5.1.1) rather than with a 4xx after every
 * DATA. A local part over 64 or a domain over 255 octets (RFC 5321
 * 4.5.3.1) is 550 5.1.3 in every mode. RFC 5321's domainless <postmaster>
 * (which every server must accept) gets the mailbox and policy of
 * postmaster@HOSTNAME in maildir mode, as Postfix qualifies a bare name
 * with its own domain; the relay gets it as sent.
 */
#include "lmtpd/session.h"
#include "common/address.h"
#include "common/xalloc.h"
#include "deliver/maildir.h"
#include "scan/policy.h"

#include <stdio.h>
#include <string.h>

void cmd_rcpt(struct session *s, const struct command *c)
{
    struct envelope *env = &s->env;
    const struct config *cfg = s->cfg;
    if (!env->has_mail) {
        session_reply(s, "503 5.5.1 Error: need MAIL command");
        return;
    }
    if (env->n_rcpts >= cfg->server.max_recipients) {
        session_reply(s, "452 4.5.3 Too many recipients");
        return;
    }
    struct rcpt_args args;
    struct command_error err;
    if (command_parse_rcpt(c->args, c->args_len, &args, &err) != 0) {
        session_reply_error(s, &err);
        return;
    }
    bool maildir_mode = cfg->deliver.mode == DELIVER_MAILDIR;
    struct address addr;
    switch (address_parse(&addr, args.to, strlen(args.to), cfg->deliver.recipient_delimiter,
                          maildir_mode ? cfg->server.hostname : NULL)) {
    case ADDRESS_OK:
        break;
    case ADDRESS_TOO_LONG:
        session_reply(s, "550 5.1.3 <%s> Recipient address too long", args.to);
        return;
    case ADDRESS_SYNTAX:
        session_reply(s, "550 5.1.3 <%s> Bad recipient address syntax", args.to);
        return;
    }
    char maildir[PATH_MAX] = "";
    if (maildir_mode) {
        switch (maildir_path_expand(cfg->deliver.maildir, &addr, maildir, sizeof(maildir))) {
        case MAILDIR_PATH_OK:
            break;
        case MAILDIR_PATH_UNSAFE:
            session_reply(s, "550 5.1.3 <%s> Recipient address unsafe for delivery", args.to);
            return;
        case MAILDIR_PATH_TOO_LONG:
            session_reply(s, "550 5.1.3 <%s> Recipient address too long for a Maildir", args.to);
            return;
        case MAILDIR_PATH_BAD_ADDRESS:
            session_reply(s, "550 5.1.3 <%s> Bad recipient address syntax", args.to);
            return;
        }
        if (!cfg->deliver.maildir_create && !maildir_exists(maildir)) {
            session_reply(s, "550 5.1.1 <%s> User unknown (no mailbox)", args.to);
            return;
        }
    }
    struct recipient *r = envelope_add_rcpt(env);
    snprintf(r->address, sizeof(r->address), "%s", args.to);
    snprintf(r->orcpt, sizeof(r->orcpt), "%s", args.orcpt);
    r->notify = args.notify;
    r->addr = addr;
    r->policy = policy_lookup(cfg, &r->addr);
    if (maildir[0] != '\0')
        r->maildir = xstrdup(maildir);
    session_reply(s, "250 2.1.5 Ok");
}
