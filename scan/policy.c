/*
 * policy: per-recipient policy lookup, verdict/action decision and the
 * header fields of SPEC sections 5 and 6 (see policy.h).
 *
 * Decision order for one recipient, using only the scanners its policy
 * asks for (virus_scan -> ClamAV, spam_scan -> its spamd result):
 *   1. ClamAV infected                  -> virus, virus_action
 *   2. a scanner error                  -> unchecked, scan_error_action
 *      (ClamAV "engine loading" during a blocking reload: always tempfail)
 *   3. spamd score >= spam_block_level  -> spam, spam_block_action
 *      spamd marks it (score >= spam_mark_level, or spamd's own verdict
 *      with spam_mark_level = spamd)  -> spam, spam_action
 *   4. ClamAV scan limits exceeded      -> unchecked, unchecked_action
 *   5. some scanner gave a clean result -> clean, deliver
 *      (spamd skipping a large message does not stop a clean verdict)
 *   6. nothing ran (scanners disabled by configuration or policy, or only
 *      a skipped spamd)                 -> unchecked, deliver
 *
 * Headers: X-Virus-Scanned when ClamAV scanned the message for this
 * recipient (clean or infected: the complete-scan line; limits: the
 * "unchecked: REASON" line; none on error); X-Spam-* when spamd answered
 * for this recipient and the score is >= spam_header_level.
 * Pure, thread-safe.
 */
#include "scan/policy.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FOLD_AT 78 /* preferred line length for the folded tests= list */

static const struct policy *find_policy(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_policies; i++)
        if (strcmp(cfg->policies[i].name, name) == 0)
            return &cfg->policies[i];
    return NULL;
}

static const struct policy *find_rule(const struct config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n_recipients; i++)
        if (strcmp(cfg->recipients[i].key, key) == 0)
            return find_policy(cfg, cfg->recipients[i].policy);
    return NULL;
}

const struct policy *policy_lookup(const struct config *cfg, const struct address *addr)
{
    const struct policy *p = NULL;
    char key[ADDRESS_MAX + 2]; /* "@" domain, or base "@" domain */

    if (addr->mailbox[0] != '\0') {
        p = find_rule(cfg, addr->mailbox);
        if (p == NULL && addr->has_detail && addr->domain[0] != '\0') {
            snprintf(key, sizeof(key), "%s@%s", addr->base, addr->domain);
            p = find_rule(cfg, key);
        }
        if (p == NULL && addr->domain[0] != '\0') {
            snprintf(key, sizeof(key), "@%s", addr->domain);
            p = find_rule(cfg, key);
        }
    }
    if (p == NULL)
        p = find_policy(cfg, "default");
    return p != NULL ? p : config_default_policy();
}

/* The ClamAV result if it counts for policy p, else NULL. */
static const struct clamav_result *rcpt_clamav(const struct policy *p,
                                               const struct scan_result *res)
{
    if (!p->virus_scan || res->clamav.status == CLAMAV_NOT_RUN)
        return NULL;
    return &res->clamav;
}

/* The spamd result of recipient i if it counts for policy p, else NULL. */
static const struct spamd_result *rcpt_spamd(const struct policy *p, const struct scan_result *res,
                                             size_t i)
{
    if (!p->spam_scan || res->rcpt_spamd == NULL || res->rcpt_spamd[i] == SIZE_MAX ||
        res->rcpt_spamd[i] >= res->n_spamd)
        return NULL;
    const struct spamd_result *sr = &res->spamd[res->rcpt_spamd[i]];
    return sr->status == SPAMD_NOT_RUN ? NULL : sr;
}

static bool spamd_answered(const struct spamd_result *sr)
{
    return sr != NULL && (sr->status == SPAMD_HAM || sr->status == SPAMD_SPAM);
}

static bool is_marked(const struct policy *p, const struct spamd_result *sr)
{
    if (p->spam_mark_from_spamd)
        return sr->status == SPAMD_SPAM;
    return sr->score >= p->spam_mark_level;
}

static bool is_blocked(const struct policy *p, const struct spamd_result *sr)
{
    return sr->score >= p->spam_block_level;
}

static void decide_one(const struct policy *p, const struct clamav_result *cr,
                       const struct spamd_result *sr, struct recipient *r)
{
    r->verdict = VERDICT_UNCHECKED;
    r->action = ACTION_DELIVER;

    if (cr != NULL && cr->status == CLAMAV_INFECTED) {
        r->verdict = VERDICT_VIRUS;
        r->action = p->virus_action;
        return;
    }
    if ((cr != NULL && cr->status == CLAMAV_ERROR) || (sr != NULL && sr->status == SPAMD_ERROR)) {
        r->action = (cr != NULL && cr->status == CLAMAV_ERROR && cr->engine_loading)
                        ? ACTION_TEMPFAIL
                        : p->scan_error_action;
        return;
    }
    if (spamd_answered(sr)) {
        if (is_blocked(p, sr)) {
            r->verdict = VERDICT_SPAM;
            r->action = p->spam_block_action;
            return;
        }
        if (is_marked(p, sr)) {
            r->verdict = VERDICT_SPAM;
            r->action = p->spam_action;
            return;
        }
    }
    if (cr != NULL && cr->status == CLAMAV_LIMITS) {
        r->action = p->unchecked_action;
        return;
    }
    if ((cr != NULL && cr->status == CLAMAV_CLEAN) || spamd_answered(sr))
        r->verdict = VERDICT_CLEAN;
}

/* The outcome of the actions that store nothing and say why: reject and
 * tempfail. The delivery stage sets the others. */
static void decide_outcome(const struct clamav_result *cr, struct recipient *r)
{
    if (r->action == ACTION_TEMPFAIL) {
        outcome_set(&r->outcome, OUTCOME_SCAN_FAILED, cr != NULL ? cr->reason : NULL);
    } else if (r->action == ACTION_REJECT) {
        if (r->verdict == VERDICT_VIRUS)
            outcome_set(&r->outcome, OUTCOME_REJECTED_VIRUS, cr->virus);
        else if (r->verdict == VERDICT_SPAM)
            outcome_set(&r->outcome, OUTCOME_REJECTED_SPAM, NULL);
        else
            outcome_set(&r->outcome, OUTCOME_REJECTED_UNCHECKED, cr != NULL ? cr->reason : NULL);
    }
}

void policy_decide(struct envelope *env, const struct scan_result *res)
{
    for (size_t i = 0; i < env->n_rcpts; i++) {
        struct recipient *r = &env->rcpts[i];
        const struct policy *p = r->policy;
        const struct clamav_result *cr = rcpt_clamav(p, res);
        decide_one(p, cr, rcpt_spamd(p, res, i), r);
        decide_outcome(cr, r);
    }
}

void policy_quarantine_reason(const struct envelope *env, const struct scan_result *res, char *out,
                              size_t out_len)
{
    bool virus = false, spam = false;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        if (r->action != ACTION_QUARANTINE)
            continue;
        virus |= r->verdict == VERDICT_VIRUS;
        spam |= r->verdict == VERDICT_SPAM;
    }
    if (virus)
        snprintf(out, out_len, "virus %s", res->clamav.virus);
    else if (spam)
        snprintf(out, out_len, "spam");
    else
        snprintf(out, out_len, "unchecked: %s", res->clamav.reason);
}

/* "tests=A,B,..." folded at commas so lines stay near FOLD_AT (and far
 * below 998) characters; line_len is the length of the line so far. */
static int append_tests(struct strbuf *out, const struct spamd_result *sr, size_t line_len)
{
    if (strbuf_puts(out, "tests=") < 0)
        return -1;
    line_len += 6;
    if (sr->n_rules == 0)
        return strbuf_puts(out, "none");
    for (size_t i = 0; i < sr->n_rules; i++) {
        size_t n = strnlen(sr->rules[i].name, sizeof(sr->rules[i].name));
        if (i > 0) {
            if (line_len + 1 + n > FOLD_AT) {
                if (strbuf_puts(out, ",\r\n\t") < 0)
                    return -1;
                line_len = 1;
            } else {
                if (strbuf_puts(out, ",") < 0)
                    return -1;
                line_len++;
            }
        }
        if (strbuf_append(out, sr->rules[i].name, n) < 0)
            return -1;
        line_len += n;
    }
    return 0;
}

static int append_spam_headers(const struct policy *p, const struct spamd_result *sr,
                               struct strbuf *out)
{
    bool spam = is_marked(p, sr) || is_blocked(p, sr);
    double required = p->spam_mark_from_spamd ? sr->required : p->spam_mark_level;
    char stars[51];
    size_t n_stars = 0;
    size_t mark;

    if (sr->score >= 1)
        n_stars = sr->score >= 50 ? 50 : (size_t)sr->score; /* whole points */
    memset(stars, '*', n_stars);
    stars[n_stars] = '\0';

    if ((spam && strbuf_puts(out, "X-Spam-Flag: YES\r\n") < 0) ||
        strbuf_printf(out, "X-Spam-Score: %.1f\r\n", sr->score) < 0 ||
        strbuf_printf(out, "X-Spam-Level: %s\r\n", stars) < 0)
        return -1;
    mark = out->len;
    if (strbuf_printf(out, "X-Spam-Status: %s, score=%.1f required=%.1f ", spam ? "Yes" : "No",
                      sr->score, required) < 0 ||
        append_tests(out, sr, out->len - mark) < 0 || strbuf_puts(out, "\r\n") < 0)
        return -1;
    return 0;
}

/* "Subject: TAG original": one space between the tag and the subject,
 * as SpamAssassin's rewrite_header (the config reader strips a trailing
 * blank, so it cannot come from the tag). */
static int append_subject(const char *tag, const char *original, struct strbuf *out)
{
    if (strbuf_puts(out, "Subject: ") < 0 || strbuf_puts(out, tag) < 0)
        return -1;
    if (original != NULL) {
        while (*original == ' ' || *original == '\t')
            original++;
        size_t tag_len = strlen(tag);
        bool blank = tag_len > 0 && (tag[tag_len - 1] == ' ' || tag[tag_len - 1] == '\t');
        if (!blank && *original != '\0' && strbuf_puts(out, " ") < 0)
            return -1;
        if (strbuf_puts(out, original) < 0)
            return -1;
    } else {
        /* no original subject: the tag alone, without trailing blanks */
        while (out->len > 0 && (out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\t'))
            out->data[--out->len] = '\0';
    }
    return strbuf_puts(out, "\r\n");
}

int policy_headers(const struct envelope *env, size_t i, const struct scan_result *res,
                   const char *hostname, const char *original_subject, struct strbuf *out,
                   bool *subject_replaced)
{
    const struct recipient *r = &env->rcpts[i];
    const struct policy *p = r->policy;
    const struct clamav_result *cr = rcpt_clamav(p, res);
    const struct spamd_result *sr = rcpt_spamd(p, res, i);
    size_t start = out->len;

    *subject_replaced = false;
    if (cr != NULL && (cr->status == CLAMAV_CLEAN || cr->status == CLAMAV_INFECTED)) {
        if (strbuf_printf(out, "X-Virus-Scanned: lmtpscan (ClamAV %s, %u signatures) at %s\r\n",
                          res->clamav_version, res->clamav_signatures, hostname) < 0)
            goto full;
    } else if (cr != NULL && cr->status == CLAMAV_LIMITS) {
        /* never the line of a complete scan on mail a limit cut short */
        if (strbuf_printf(out, "X-Virus-Scanned: lmtpscan (ClamAV %s) unchecked: %s at %s\r\n",
                          res->clamav_version, cr->reason, hostname) < 0)
            goto full;
    }
    if (spamd_answered(sr)) {
        if (sr->score >= p->spam_header_level && append_spam_headers(p, sr, out) < 0)
            goto full;
        if (p->subject_tag[0] != '\0' && (is_marked(p, sr) || is_blocked(p, sr))) {
            if (append_subject(p->subject_tag, original_subject, out) < 0)
                goto full;
            *subject_replaced = true;
        }
    }
    return 0;
full:
    /* leave out as it was */
    out->len = start;
    if (out->data != NULL)
        out->data[start] = '\0';
    *subject_replaced = false;
    return -1;
}
