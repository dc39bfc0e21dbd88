/*
 * policy: per-recipient policy lookup, verdict/action decision and the
 * header fields of SPEC sections 5 and 6 (see policy.h).
 *
 * Decision order for one recipient, using only the scanners its policy
 * asks for (virus_scan -> ClamAV, spam_scan -> the result of its
 * spam_engine, spamd or rspamd, mapped onto one model):
 *   1. ClamAV infected                  -> virus, virus_action
 *   1b. a file of ClamAV's inventory the policy bans (banned_names,
 *      banned_types, banned_double_extension; SPEC section 10)
 *                                       -> banned, banned_action
 *   1c. an encrypted file, encrypted_action not deliver
 *                                       -> encrypted, encrypted_action
 *   2. a scanner error                  -> unchecked, scan_error_action
 *      (ClamAV "engine loading" during a blocking reload: always tempfail)
 *   3. spamd score >= spam_block_level  -> spam, spam_block_action
 *      the engine marks it (score >= spam_mark_level, or the engine's own
 *      verdict with spam_mark_level = spamd: spamd's "Spam: True",
 *      rspamd's action reject, add header, rewrite subject, discard or
 *      quarantine)                      -> spam, spam_action
 *   4. ClamAV scan limits exceeded      -> unchecked, unchecked_action
 *   5. some scanner gave a clean result -> clean, deliver
 *      (spamd skipping a large message does not stop a clean verdict)
 *   6. nothing ran (scanners disabled by configuration or policy, or only
 *      a skipped spamd)                 -> unchecked, deliver
 *
 * A limit that cut the scan or the inventory short makes the message
 * unchecked (4.), so a banned check that could not see everything never
 * ends in clean. The inventory is walked once per distinct policy.
 *
 * Headers: X-Lmtpscan-Encrypted: PATH when the policy delivers encrypted
 * files and there is one; X-Virus-Scanned when ClamAV scanned the message for this
 * recipient (clean or infected: the complete-scan line; limits: the
 * "unchecked: REASON" line; none on error); X-Spam-* when spamd answered
 * for this recipient and the score is >= spam_header_level.
 * Pure, thread-safe.
 */
#include "scan/policy.h"

#include "common/content_rules.h"

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

/* What a policy's banned check found: computed once per distinct policy
 * of the transaction (policies are few, recipients many). */
struct content_memo {
    const struct policy *policy;
    long banned; /* inventory index or -1 */
    const char *rule;
};

#define MEMO_MAX 16

static void content_check(const struct policy *p, const struct clamav_result *cr,
                          struct content_memo *memo, size_t *n_memo, long *banned,
                          const char **rule)
{
    *banned = -1;
    *rule = NULL;
    if (cr == NULL || !content_policy_checks(p))
        return;
    for (size_t k = 0; k < *n_memo; k++) {
        if (memo[k].policy == p) {
            *banned = memo[k].banned;
            *rule = memo[k].rule;
            return;
        }
    }
    *banned = content_first_banned(p, &cr->inventory, rule);
    if (*n_memo < MEMO_MAX)
        memo[(*n_memo)++] = (struct content_memo){p, *banned, *rule};
}

static void decide_one(const struct policy *p, const struct clamav_result *cr,
                       const struct spamd_result *sr, long banned, const char *rule,
                       struct recipient *r)
{
    r->verdict = VERDICT_UNCHECKED;
    r->action = ACTION_DELIVER;
    r->has_content_file = false;
    r->content_rule = NULL;

    if (cr != NULL && cr->status == CLAMAV_INFECTED) {
        r->verdict = VERDICT_VIRUS;
        r->action = p->virus_action;
        return;
    }
    if (banned >= 0) {
        r->verdict = VERDICT_BANNED;
        r->action = p->banned_action;
        r->has_content_file = true;
        r->content_file = (size_t)banned;
        r->content_rule = rule;
        return;
    }
    if (cr != NULL && p->encrypted_action != ACTION_DELIVER) {
        long enc = content_first_encrypted(&cr->inventory);
        if (enc >= 0) {
            r->verdict = VERDICT_ENCRYPTED;
            r->action = p->encrypted_action;
            r->has_content_file = true;
            r->content_file = (size_t)enc;
            return;
        }
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
        char path[OUTCOME_DETAIL_MAX];
        if (r->has_content_file && cr != NULL)
            content_path_ascii(file_inventory_path(&cr->inventory, r->content_file), path,
                               sizeof(path));
        if (r->verdict == VERDICT_VIRUS)
            outcome_set(&r->outcome, OUTCOME_REJECTED_VIRUS, cr->virus);
        else if (r->verdict == VERDICT_BANNED && cr != NULL)
            outcome_set(&r->outcome, OUTCOME_REJECTED_BANNED, path);
        else if (r->verdict == VERDICT_ENCRYPTED && cr != NULL)
            outcome_set(&r->outcome, OUTCOME_REJECTED_ENCRYPTED, path);
        else if (r->verdict == VERDICT_SPAM)
            outcome_set(&r->outcome, OUTCOME_REJECTED_SPAM, NULL);
        else
            outcome_set(&r->outcome, OUTCOME_REJECTED_UNCHECKED, cr != NULL ? cr->reason : NULL);
    }
}

void policy_decide(struct envelope *env, const struct scan_result *res)
{
    struct content_memo memo[MEMO_MAX];
    size_t n_memo = 0;

    for (size_t i = 0; i < env->n_rcpts; i++) {
        struct recipient *r = &env->rcpts[i];
        const struct policy *p = r->policy;
        const struct clamav_result *cr = rcpt_clamav(p, res);
        long banned;
        const char *rule;
        content_check(p, cr, memo, &n_memo, &banned, &rule);
        decide_one(p, cr, rcpt_spamd(p, res, i), banned, rule, r);
        decide_outcome(cr, r);
    }
}

void policy_quarantine_reason(const struct envelope *env, const struct scan_result *res, char *out,
                              size_t out_len)
{
    bool virus = false, spam = false;
    const struct recipient *banned = NULL, *encrypted = NULL;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        if (r->action != ACTION_QUARANTINE)
            continue;
        virus |= r->verdict == VERDICT_VIRUS;
        spam |= r->verdict == VERDICT_SPAM;
        if (r->verdict == VERDICT_BANNED && banned == NULL && r->has_content_file)
            banned = r;
        if (r->verdict == VERDICT_ENCRYPTED && encrypted == NULL && r->has_content_file)
            encrypted = r;
    }
    const struct recipient *content = banned != NULL ? banned : encrypted;
    char path[INVENTORY_PATH_MAX + 1];
    if (content != NULL && content->content_file < res->clamav.inventory.n)
        content_path_ascii(file_inventory_path(&res->clamav.inventory, content->content_file), path,
                           sizeof(path));
    else
        content = NULL;
    if (virus)
        snprintf(out, out_len, "virus %s", res->clamav.virus);
    else if (content != NULL)
        snprintf(out, out_len, "%s %s", content == banned ? "banned" : "encrypted", path);
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
    if (cr != NULL && p->encrypted_action == ACTION_DELIVER) {
        long enc = content_first_encrypted(&cr->inventory);
        char path[900]; /* the header line stays below 998 bytes */
        if (enc >= 0) {
            content_path_ascii(file_inventory_path(&cr->inventory, (size_t)enc), path,
                               sizeof(path));
            if (strbuf_printf(out, "X-Lmtpscan-Encrypted: %s\r\n", path) < 0)
                goto full;
        }
    }
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

void policy_smtp_defer(struct envelope *env)
{
    if (env->protocol != PROTO_SMTP)
        return;
    bool tempfail = false;
    for (size_t i = 0; i < env->n_rcpts; i++)
        tempfail |= env->rcpts[i].action == ACTION_TEMPFAIL;
    if (!tempfail)
        return;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        struct recipient *r = &env->rcpts[i];
        if (r->action == ACTION_TEMPFAIL)
            continue;
        r->action = ACTION_TEMPFAIL;
        outcome_set(&r->outcome, OUTCOME_DEFERRED, NULL);
    }
}
