/*
 * envelope: transaction state helpers (see envelope.h).
 */
#include "common/envelope.h"
#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

void envelope_init(struct envelope *env)
{
    memset(env, 0, sizeof(*env));
}

void envelope_reset_transaction(struct envelope *env)
{
    env->has_mail = false;
    env->mail_from[0] = '\0';
    env->size_param = 0;
    env->body = BODY_UNSPECIFIED;
    env->smtputf8 = false;
    env->ret = DSN_RET_UNSPECIFIED;
    env->envid[0] = '\0';
    for (size_t i = 0; i < env->n_rcpts; i++) {
        free(env->rcpts[i].maildir);
        free(env->rcpts[i].destination);
    }
    env->n_rcpts = 0;
    env->mail_id[0] = '\0';
    /* XFORWARD attributes describe one transaction, as in Postfix. */
    memset(&env->xforward, 0, sizeof(env->xforward));
    memset(&env->timings, 0, sizeof(env->timings));
}

void envelope_free(struct envelope *env)
{
    envelope_reset_transaction(env);
    free(env->rcpts);
    env->rcpts = NULL;
    env->n_rcpts = env->cap_rcpts = 0;
}

struct recipient *envelope_add_rcpt(struct envelope *env)
{
    env->rcpts = xgrow(env->rcpts, &env->cap_rcpts, env->n_rcpts + 1, sizeof(*env->rcpts));
    struct recipient *r = &env->rcpts[env->n_rcpts++];
    memset(r, 0, sizeof(*r));
    return r;
}

const char *verdict_name(enum verdict v)
{
    switch (v) {
    case VERDICT_CLEAN:
        return "clean";
    case VERDICT_SPAM:
        return "spam";
    case VERDICT_VIRUS:
        return "virus";
    case VERDICT_UNCHECKED:
        return "unchecked";
    case VERDICT_BANNED:
        return "banned";
    case VERDICT_ENCRYPTED:
        return "encrypted";
    }
    return "?";
}

const char *action_name(enum action a)
{
    switch (a) {
    case ACTION_DELIVER:
        return "deliver";
    case ACTION_JUNK:
        return "junk";
    case ACTION_QUARANTINE:
        return "quarantine";
    case ACTION_DISCARD:
        return "discard";
    case ACTION_REJECT:
        return "reject";
    case ACTION_TEMPFAIL:
        return "tempfail";
    }
    return "?";
}
