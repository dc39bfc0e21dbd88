/*
 * outcome: the fixed code and text of each outcome kind, and the
 * formatting of recipient and SMTP message replies (see outcome.h).
 * The only place that writes reply text for the data path.
 */
#include "common/outcome.h"

#include "common/envelope.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct kind_info {
    int code;
    const char *enhanced;
};

static const struct kind_info kinds[] = {
    [OUTCOME_NONE] = {0, ""},
    [OUTCOME_DELIVERED] = {250, "2.0.0"},
    [OUTCOME_RELAYED] = {250, "2.0.0"},
    [OUTCOME_QUARANTINED] = {250, "2.7.0"},
    [OUTCOME_DISCARDED] = {250, "2.7.0"},
    [OUTCOME_REJECTED_VIRUS] = {554, "5.7.0"},
    [OUTCOME_REJECTED_SPAM] = {554, "5.7.1"},
    [OUTCOME_REJECTED_UNCHECKED] = {554, "5.7.0"},
    [OUTCOME_REJECTED_BANNED] = {554, "5.7.0"},
    [OUTCOME_REJECTED_ENCRYPTED] = {554, "5.7.0"},
    [OUTCOME_SCAN_FAILED] = {451, "4.3.0"},
    [OUTCOME_DEFERRED] = {451, "4.3.0"},
    [OUTCOME_TOO_BIG] = {552, "5.3.4"},
    [OUTCOME_NO_MAILBOX] = {550, "5.1.1"},
    [OUTCOME_DISK_FULL] = {452, "4.3.1"},
    [OUTCOME_LOCAL_ERROR] = {451, "4.3.0"},
    [OUTCOME_RELAY_REFUSED] = {451, "4.0.0"},
    [OUTCOME_RELAY_UNAVAILABLE] = {451, "4.4.1"},
};

void outcome_set(struct outcome *o, enum outcome_kind kind, const char *detail)
{
    o->kind = kind;
    o->code = kinds[kind].code;
    snprintf(o->enhanced, sizeof(o->enhanced), "%s", kinds[kind].enhanced);
    snprintf(o->detail, sizeof(o->detail), "%s", detail != NULL ? detail : "");
}

void outcome_set_errno(struct outcome *o, int err, const char *detail)
{
    outcome_set(o, err == ENOSPC || err == EDQUOT ? OUTCOME_DISK_FULL : OUTCOME_LOCAL_ERROR,
                detail);
}

void outcome_set_relay(struct outcome *o, int code, const char *enhanced, const char *text)
{
    outcome_set(o, OUTCOME_RELAY_REFUSED, text);
    o->code = code;
    if (enhanced != NULL && enhanced[0] != '\0')
        snprintf(o->enhanced, sizeof(o->enhanced), "%s", enhanced);
    else
        snprintf(o->enhanced, sizeof(o->enhanced), "%d.0.0", code / 100);
}

int outcome_class(const struct outcome *o)
{
    return o->code / 100;
}

bool outcome_is_policy(const struct outcome *o)
{
    return o->kind == OUTCOME_REJECTED_VIRUS || o->kind == OUTCOME_REJECTED_SPAM ||
           o->kind == OUTCOME_REJECTED_UNCHECKED || o->kind == OUTCOME_REJECTED_BANNED ||
           o->kind == OUTCOME_REJECTED_ENCRYPTED;
}

bool outcome_is_delivery_failure(const struct outcome *o)
{
    return outcome_class(o) == 5 &&
           (o->kind == OUTCOME_RELAY_REFUSED || o->kind == OUTCOME_NO_MAILBOX);
}

void outcome_format(const struct outcome *o, const char *address, const char *mail_id, char *out,
                    size_t out_len)
{
    int n = snprintf(out, out_len, "%d %s <%s> ", o->code, o->enhanced, address);
    if (n < 0 || (size_t)n >= out_len)
        return;
    char *p = out + n;
    size_t left = out_len - (size_t)n;
    switch (o->kind) {
    case OUTCOME_NONE:
        snprintf(out, out_len, "451 4.3.0 <%s> local error, try again later", address);
        return;
    case OUTCOME_DELIVERED:
        snprintf(p, left, "%s delivered", mail_id);
        return;
    case OUTCOME_RELAYED:
        snprintf(p, left, "%s relayed (%s)", mail_id, o->detail);
        return;
    case OUTCOME_QUARANTINED:
        snprintf(p, left, "quarantined %s", mail_id);
        return;
    case OUTCOME_DISCARDED:
        snprintf(p, left, "discarded");
        return;
    case OUTCOME_REJECTED_VIRUS:
        snprintf(p, left, "rejected: virus %s", o->detail);
        return;
    case OUTCOME_REJECTED_SPAM:
        snprintf(p, left, "rejected: spam");
        return;
    case OUTCOME_REJECTED_UNCHECKED:
        snprintf(p, left, "rejected: unchecked: %s", o->detail);
        return;
    case OUTCOME_REJECTED_BANNED:
        snprintf(p, left, "rejected: banned %s", o->detail);
        return;
    case OUTCOME_REJECTED_ENCRYPTED:
        snprintf(p, left, "rejected: encrypted %s", o->detail);
        return;
    case OUTCOME_SCAN_FAILED:
        snprintf(p, left, "scan failed, try again later");
        return;
    case OUTCOME_DEFERRED:
        snprintf(p, left, "deferred with the message, try again later");
        return;
    case OUTCOME_TOO_BIG:
        snprintf(p, left, "message too big");
        return;
    case OUTCOME_NO_MAILBOX:
        snprintf(p, left, "User unknown (no mailbox)");
        return;
    case OUTCOME_DISK_FULL:
        snprintf(p, left, "insufficient system storage");
        return;
    case OUTCOME_LOCAL_ERROR:
        snprintf(p, left, "local error, try again later");
        return;
    case OUTCOME_RELAY_REFUSED:
        snprintf(p, left, "relay refused (%s)", o->detail);
        return;
    case OUTCOME_RELAY_UNAVAILABLE:
        snprintf(p, left, "relay unavailable");
        return;
    }
}

/* Whether every recipient's outcome has the first one's enhanced code,
 * so that one text explains them all. */
static bool same_enhanced_code(const struct envelope *env)
{
    for (size_t i = 1; i < env->n_rcpts; i++)
        if (strcmp(env->rcpts[i].outcome.enhanced, env->rcpts[0].outcome.enhanced) != 0)
            return false;
    return true;
}

void outcome_smtp_summary(const struct envelope *env, bool dsn_failed, char *out, size_t out_len)
{
    size_t rejected = 0;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        if (outcome_class(&r->outcome) == 4 || r->outcome.kind == OUTCOME_NONE) {
            /* The recipient address is in the text; keep it, it helps. */
            outcome_format(&r->outcome, r->address, env->mail_id, out, out_len);
            return;
        }
        rejected += outcome_class(&r->outcome) == 5;
    }
    if (env->n_rcpts > 0 && rejected == env->n_rcpts) {
        const struct recipient *first = &env->rcpts[0];
        if (first->outcome.kind == OUTCOME_TOO_BIG) {
            snprintf(out, out_len, "552 5.3.4 Message size exceeds fixed limit");
        } else if (same_enhanced_code(env)) {
            /* one reason: say it */
            char line[OUTCOME_LINE_MAX];
            outcome_format(&first->outcome, first->address, env->mail_id, line, sizeof(line));
            snprintf(out, out_len, "554 %s", line + 4);
        } else {
            snprintf(out, out_len, "554 5.7.1 Message rejected for all recipients");
        }
        return;
    }
    if (dsn_failed)
        snprintf(out, out_len, "451 4.4.1 Delivery status notification not sent, try again later");
    else
        snprintf(out, out_len, "250 2.0.0 Ok: queued as %s", env->mail_id);
}
