/*
 * rspamd_client: rspamd's side of a spam_call (see rspamd_client.h): the
 * HTTP request head with the envelope and the identity, the reply whole
 * at its Content-Length, parsed by rspamd_reply.c; the conversation
 * itself is scan/spam_call.c.
 */
#include "scan/rspamd_client.h"

#include "common/strbuf.h"
#include "scan/rspamd_reply.h"
#include "scan/spam_call.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool has_control(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* XFORWARD's words for "no value". */
static bool xforward_unset(const char *v)
{
    return v[0] == '\0' || strcasecmp(v, "[UNAVAILABLE]") == 0 ||
           strcasecmp(v, "[TEMPUNAVAIL]") == 0;
}

/* "Name: value\r\n"; optional values that are unset or unsafe (client
 * data) are left out, *bad set for a required one. */
static int add_field(struct strbuf *head, const char *name, const char *value, bool required,
                     bool *bad)
{
    if (has_control(value)) {
        if (required)
            *bad = true;
        return 0;
    }
    return strbuf_printf(head, "%s: %s\r\n", name, value);
}

int rspamd_request_head(const struct rspamd_request *req, uint64_t size, struct strbuf *head,
                        char *why, size_t why_len)
{
    const struct envelope *env = req->env;
    const struct xforward *xf = env != NULL ? &env->xforward : NULL;
    bool bad = false;
    int rc = 0;

    rc |= strbuf_printf(head,
                        "POST /checkv2 HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n"
                        "User-Agent: lmtpscan\r\nContent-Length: %llu\r\n",
                        (unsigned long long)size);
    if (req->user[0] != '\0')
        rc |= add_field(head, "Deliver-To", req->user, true, &bad);
    if (env != NULL) {
        char from[ADDRESS_MAX + 3];
        snprintf(from, sizeof(from), "<%s>", env->mail_from);
        rc |= add_field(head, "From", from, false, &bad);
        for (size_t i = 0; i < req->n_rcpts; i++)
            rc |= add_field(head, "Rcpt", req->rcpts[i], false, &bad);
        if (!xforward_unset(xf->addr)) {
            const char *ip = xf->addr;
            if (strncasecmp(ip, "IPV6:", 5) == 0)
                ip += 5;
            rc |= add_field(head, "IP", ip, false, &bad);
        }
        if (!xforward_unset(xf->helo))
            rc |= add_field(head, "Helo", xf->helo, false, &bad);
        if (!xforward_unset(xf->name))
            rc |= add_field(head, "Hostname", xf->name, false, &bad);
        if (!xforward_unset(xf->ident))
            rc |= add_field(head, "Queue-Id", xf->ident, false, &bad);
    }
    rc |= strbuf_puts(head, "\r\n");
    if (bad) {
        snprintf(why, why_len, "rspamd user contains control characters");
        return -1;
    }
    if (rc != 0) {
        snprintf(why, why_len, "rspamd request header too long");
        return -1;
    }
    return 0;
}

static int rspamd_head(const void *arg, uint64_t size, struct strbuf *head, char *why,
                       size_t why_len)
{
    return rspamd_request_head(arg, size, head, why, why_len);
}

static int rspamd_parse(const char *reply, size_t len, struct spamd_result *out, char *err,
                        size_t err_len)
{
    struct rspamd_reply parsed;
    if (rspamd_reply_parse(reply, len, &parsed, err, err_len) < 0)
        return -1;
    out->status = parsed.is_spam ? SPAMD_SPAM : SPAMD_HAM;
    out->score = parsed.score;
    out->required = parsed.required;
    out->rules = parsed.rules;
    out->n_rules = parsed.n_rules;
    snprintf(out->action, sizeof(out->action), "%s", parsed.action);
    snprintf(out->version, sizeof(out->version), "%s", parsed.version);
    return 0;
}

static bool rspamd_complete(const char *reply, size_t len)
{
    return rspamd_reply_complete(reply, len) != 0;
}

/* The reply is whole at its Content-Length. */
static const struct spam_protocol rspamd_protocol = {
    .name = "rspamd",
    .head_max = RSPAMD_HEAD_MAX,
    .reply_max = RSPAMD_REPLY_MAX,
    .half_close = false,
    .head = rspamd_head,
    .complete = rspamd_complete,
    .parse = rspamd_parse,
};

void rspamd_check(const struct rspamd_request *req, struct spamd_result *out)
{
    out->action[0] = '\0';
    out->version[0] = '\0';
    struct spam_call c = {
        .address = req->address,
        .msg = req->msg,
        .max_size = req->max_size,
        .timeout = req->timeout,
        .deadline = req->deadline,
        .limit = req->limit,
        .req = req,
    };
    spam_call_run(&rspamd_protocol, &c, out);
}
