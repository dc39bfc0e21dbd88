/*
 * spamd_client: spamd's side of a spam_call (see spamd_client.h): the
 * SPAMC/1.5 REPORT head, the half-close after the message, and the reply
 * parsed by spamd_reply.c; the conversation itself is scan/spam_call.c.
 */
#include "scan/spamd_client.h"

#include "scan/spam_call.h"
#include "scan/spamd_reply.h"

#include <stdio.h>
#include <string.h>

void spamd_limit_init(struct spamd_limit *l, unsigned max)
{
    gate_init(&l->gate, max);
}

void spamd_limit_destroy(struct spamd_limit *l)
{
    gate_destroy(&l->gate);
}

void spamd_limit_set_max(struct spamd_limit *l, unsigned max)
{
    gate_set_capacity(&l->gate, max);
}

int spamd_limit_acquire(struct spamd_limit *l, const struct timespec *deadline)
{
    return gate_acquire(&l->gate, 1, deadline);
}

void spamd_limit_release(struct spamd_limit *l)
{
    gate_release(&l->gate, 1);
}

static bool user_is_safe(const char *user)
{
    for (const unsigned char *p = (const unsigned char *)user; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* "REPORT SPAMC/1.5" with the size and the user (spam_protocol.head). */
static int spamd_head(const void *arg, uint64_t size, struct strbuf *head, char *why,
                      size_t why_len)
{
    const struct spamd_request *req = arg;
    if (!user_is_safe(req->user)) {
        snprintf(why, why_len, "spamd user contains control characters");
        return -1;
    }
    if (strbuf_printf(head, "REPORT SPAMC/1.5\r\nContent-length: %llu\r\n",
                      (unsigned long long)size) < 0 ||
        (req->user[0] != '\0' && strbuf_printf(head, "User: %s\r\n", req->user) < 0) ||
        strbuf_puts(head, "\r\n") < 0) {
        snprintf(why, why_len, "spamd request header too long");
        return -1;
    }
    return 0;
}

static int spamd_parse(const char *reply, size_t len, struct spamd_result *out, char *err,
                       size_t err_len)
{
    struct spamd_reply parsed;
    if (spamd_reply_parse(reply, len, &parsed, err, err_len) < 0)
        return -1;
    out->status = parsed.is_spam ? SPAMD_SPAM : SPAMD_HAM;
    out->score = parsed.score;
    out->required = parsed.required;
    out->rules = parsed.rules;
    out->n_rules = parsed.n_rules;
    return 0;
}

/* spamd reads until the client half-closes and closes after its reply. */
static const struct spam_protocol spamd_protocol = {
    .name = "spamd",
    .head_max = 1024,
    .reply_max = SPAMD_REPLY_MAX,
    .half_close = true,
    .head = spamd_head,
    .complete = NULL,
    .parse = spamd_parse,
};

void spamd_check(const struct spamd_request *req, struct spamd_result *out)
{
    struct spam_call c = {
        .address = req->address,
        .msg = req->msg,
        .max_size = req->max_size,
        .timeout = req->timeout,
        .deadline = req->deadline,
        .limit = req->limit != NULL ? &req->limit->gate : NULL,
        .req = req,
    };
    spam_call_run(&spamd_protocol, &c, out);
}
