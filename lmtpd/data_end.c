/*
 * data_end: the replies after the final dot or BDAT LAST. The session
 * hands its configuration, scan engine, envelope and spool to the
 * transaction (which knows no session), then formats each outcome into
 * the protocol's reply lines: the only place the data path's outcomes
 * become LMTP or SMTP lines.
 */
#include "lmtpd/session.h"

void session_end_of_data(struct session *s, enum data_status status, int spool_errno)
{
    struct transaction t = {
        .cfg = s->cfg,
        .scan = s->rt->scan,
        .env = &s->env,
        .spool = s->spool,
    };
    char smtp_reply[REPLY_MAX];
    transaction_run(&t, status, spool_errno, smtp_reply, sizeof(smtp_reply));
    if (s->protocol == PROTO_LMTP) {
        for (size_t i = 0; i < s->env.n_rcpts; i++) {
            const struct recipient *r = &s->env.rcpts[i];
            char line[REPLY_MAX];
            outcome_format(&r->outcome, r->address, s->env.mail_id, line, sizeof(line));
            session_reply(s, "%s", line);
        }
    } else {
        session_reply(s, "%s", smtp_reply);
    }
    session_reset_transaction(s);
}
