/*
 * test_policy: table-driven tests of policy_lookup, policy_decide and
 * policy_headers (exact bytes) on a configuration built by hand.
 */
#include "scan/policy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct policy make_policy(const char *name)
{
    struct policy p;
    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "%s", name);
    p.virus_scan = true;
    p.spam_scan = true;
    snprintf(p.spamd_user, sizeof(p.spamd_user), "%%u");
    p.spam_header_level = -999;
    p.spam_mark_level = 5.0;
    p.spam_block_level = 15.0;
    p.spam_action = ACTION_JUNK;
    p.spam_block_action = ACTION_QUARANTINE;
    p.virus_action = ACTION_QUARANTINE;
    snprintf(p.junk_folder, sizeof(p.junk_folder), "Junk");
    p.scan_error_action = ACTION_TEMPFAIL;
    return p;
}

static struct config *make_config(void)
{
    struct config *cfg = calloc(1, sizeof(*cfg));
    assert_non_null(cfg);
    snprintf(cfg->deliver.recipient_delimiter, sizeof(cfg->deliver.recipient_delimiter), "+-");
    cfg->n_policies = 4;
    cfg->policies = calloc(cfg->n_policies, sizeof(*cfg->policies));
    cfg->policies[0] = make_policy("default");
    cfg->policies[1] = make_policy("strict");
    cfg->policies[2] = make_policy("lenient");
    cfg->policies[3] = make_policy("vip");
    static const char *rules[][2] = {
        {"user@example.com", "strict"},
        {"@example.org", "lenient"},
        {"user+vip@example.com", "vip"},
    };
    cfg->n_recipients = 3;
    cfg->recipients = calloc(cfg->n_recipients, sizeof(*cfg->recipients));
    for (size_t i = 0; i < cfg->n_recipients; i++) {
        snprintf(cfg->recipients[i].key, sizeof(cfg->recipients[i].key), "%s", rules[i][0]);
        snprintf(cfg->recipients[i].policy, sizeof(cfg->recipients[i].policy), "%s", rules[i][1]);
    }
    return cfg;
}

static void free_config(struct config *cfg)
{
    free(cfg->policies);
    free(cfg->recipients);
    free(cfg);
}

/* ---- policy_lookup ---------------------------------------------------- */

static void test_lookup(void **state)
{
    (void)state;
    static const char *cases[][2] = {
        {"user@example.com", "strict"},
        {"User@Example.COM", "strict"},
        {"user+tag@example.com", "strict"},
        {"user-tag@example.com", "strict"},
        {"USER+Tag+more@example.com", "strict"},
        {"user+vip@example.com", "vip"},
        {"USER+VIP@EXAMPLE.COM", "vip"},
        {"other@example.com", "default"},
        {"x@EXAMPLE.org", "lenient"},
        {"x+y@example.org", "lenient"},
        {"user@example.org", "lenient"},
        {"foo@sub.example.org", "default"},
        {"postmaster", "default"},
        {"\"odd@local\"@example.org", "lenient"},
        /* a quoted local part is the same mailbox as the plain one */
        {"\"user\"@example.com", "strict"},
        {"\"User+VIP\"@Example.com", "vip"},
        {"\"user+other\"@example.com", "strict"},
        {"\"us\\er\"@example.com", "strict"},
        {"\"user x\"@example.com", "default"},
    };
    struct config *cfg = make_config();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct address a;
        assert_int_equal(address_parse(&a, cases[i][0], strlen(cases[i][0]),
                                       cfg->deliver.recipient_delimiter, NULL),
                         ADDRESS_OK);
        const struct policy *p = policy_lookup(cfg, &a);
        assert_non_null(p);
        if (strcmp(p->name, cases[i][1]) != 0)
            fail_msg("%s: policy %s, expected %s", cases[i][0], p->name, cases[i][1]);
    }
    free_config(cfg);
}

static void test_lookup_without_default(void **state)
{
    (void)state;
    struct config *cfg = calloc(1, sizeof(*cfg));
    assert_non_null(cfg);
    struct address a;
    assert_int_equal(address_parse(&a, "a@b.c", 5, "+", NULL), ADDRESS_OK);
    const struct policy *p = policy_lookup(cfg, &a);
    assert_non_null(p);
    assert_string_equal(p->name, "default");
    /* an address that was never parsed (all empty) gets the default too */
    memset(&a, 0, sizeof(a));
    assert_string_equal(policy_lookup(cfg, &a)->name, "default");
    assert_true(p->virus_scan && p->spam_scan);
    assert_int_equal(p->scan_error_action, ACTION_TEMPFAIL);
    free(cfg);
}

/* ---- policy_decide ---------------------------------------------------- */

enum knob {
    K_NONE = 0,
    K_ERR_PASS = 1,
    K_NO_VIRUS = 2,
    K_NO_SPAM = 4,
    K_FROM_SPAMD = 8,
    K_UNCHECKED_QUARANTINE = 16,
    K_UNCHECKED_REJECT = 32,
};

struct decide_case {
    const char *name;
    unsigned knobs;
    enum clamav_status clamav;
    bool loading;
    enum spamd_status spamd; /* SPAMD_NOT_RUN: no spamd result for the recipient */
    double score;
    enum verdict verdict;
    enum action action;
};

static const struct decide_case decide_cases[] = {
    {"clean", K_NONE, CLAMAV_CLEAN, false, SPAMD_HAM, 1.0, VERDICT_CLEAN, ACTION_DELIVER},
    {"clamav only clean", K_NONE, CLAMAV_CLEAN, false, SPAMD_NOT_RUN, 0, VERDICT_CLEAN,
     ACTION_DELIVER},
    {"spamd only ham", K_NONE, CLAMAV_NOT_RUN, false, SPAMD_HAM, 0, VERDICT_CLEAN, ACTION_DELIVER},
    {"virus", K_NONE, CLAMAV_INFECTED, false, SPAMD_HAM, 0, VERDICT_VIRUS, ACTION_QUARANTINE},
    {"virus and spam", K_NONE, CLAMAV_INFECTED, false, SPAMD_SPAM, 20, VERDICT_VIRUS,
     ACTION_QUARANTINE},
    {"virus and spamd error", K_NONE, CLAMAV_INFECTED, false, SPAMD_ERROR, 0, VERDICT_VIRUS,
     ACTION_QUARANTINE},
    {"virus, policy without virus_scan", K_NO_VIRUS, CLAMAV_INFECTED, false, SPAMD_HAM, 0,
     VERDICT_CLEAN, ACTION_DELIVER},
    {"spam at mark level", K_NONE, CLAMAV_CLEAN, false, SPAMD_SPAM, 5.0, VERDICT_SPAM, ACTION_JUNK},
    {"just below mark", K_NONE, CLAMAV_CLEAN, false, SPAMD_HAM, 4.9, VERDICT_CLEAN, ACTION_DELIVER},
    {"spamd says spam below our mark", K_NONE, CLAMAV_CLEAN, false, SPAMD_SPAM, 4.0, VERDICT_CLEAN,
     ACTION_DELIVER},
    {"mark from spamd: spam", K_FROM_SPAMD, CLAMAV_CLEAN, false, SPAMD_SPAM, 4.0, VERDICT_SPAM,
     ACTION_JUNK},
    {"mark from spamd: ham", K_FROM_SPAMD, CLAMAV_CLEAN, false, SPAMD_HAM, 9.0, VERDICT_CLEAN,
     ACTION_DELIVER},
    {"block level", K_NONE, CLAMAV_CLEAN, false, SPAMD_SPAM, 15.0, VERDICT_SPAM, ACTION_QUARANTINE},
    {"above block level", K_NONE, CLAMAV_CLEAN, false, SPAMD_SPAM, 1000.0, VERDICT_SPAM,
     ACTION_QUARANTINE},
    {"spam, policy without spam_scan", K_NO_SPAM, CLAMAV_CLEAN, false, SPAMD_SPAM, 20,
     VERDICT_CLEAN, ACTION_DELIVER},
    {"clamav error tempfail", K_NONE, CLAMAV_ERROR, false, SPAMD_HAM, 0, VERDICT_UNCHECKED,
     ACTION_TEMPFAIL},
    {"clamav error pass", K_ERR_PASS, CLAMAV_ERROR, false, SPAMD_HAM, 0, VERDICT_UNCHECKED,
     ACTION_DELIVER},
    {"clamav error beats spam", K_NONE, CLAMAV_ERROR, false, SPAMD_SPAM, 20, VERDICT_UNCHECKED,
     ACTION_TEMPFAIL},
    {"clamav error, no virus_scan", K_NO_VIRUS, CLAMAV_ERROR, false, SPAMD_HAM, 0, VERDICT_CLEAN,
     ACTION_DELIVER},
    {"engine loading, pass policy", K_ERR_PASS, CLAMAV_ERROR, true, SPAMD_HAM, 0, VERDICT_UNCHECKED,
     ACTION_TEMPFAIL},
    {"spamd error tempfail", K_NONE, CLAMAV_CLEAN, false, SPAMD_ERROR, 0, VERDICT_UNCHECKED,
     ACTION_TEMPFAIL},
    {"spamd error pass", K_ERR_PASS, CLAMAV_CLEAN, false, SPAMD_ERROR, 0, VERDICT_UNCHECKED,
     ACTION_DELIVER},
    {"spamd error, no spam_scan", K_NO_SPAM, CLAMAV_CLEAN, false, SPAMD_ERROR, 0, VERDICT_CLEAN,
     ACTION_DELIVER},
    {"limits", K_NONE, CLAMAV_LIMITS, false, SPAMD_HAM, 0, VERDICT_UNCHECKED, ACTION_DELIVER},
    {"limits, clamav only", K_NONE, CLAMAV_LIMITS, false, SPAMD_NOT_RUN, 0, VERDICT_UNCHECKED,
     ACTION_DELIVER},
    {"limits, unchecked_action quarantine", K_UNCHECKED_QUARANTINE, CLAMAV_LIMITS, false, SPAMD_HAM,
     0, VERDICT_UNCHECKED, ACTION_QUARANTINE},
    {"limits, unchecked_action reject", K_UNCHECKED_REJECT, CLAMAV_LIMITS, false, SPAMD_NOT_RUN, 0,
     VERDICT_UNCHECKED, ACTION_REJECT},
    {"spamd error pass is not a limit", K_ERR_PASS | K_UNCHECKED_REJECT, CLAMAV_CLEAN, false,
     SPAMD_ERROR, 0, VERDICT_UNCHECKED, ACTION_DELIVER},
    {"limits but spam", K_NONE, CLAMAV_LIMITS, false, SPAMD_SPAM, 8, VERDICT_SPAM, ACTION_JUNK},
    {"limits and spamd error", K_NONE, CLAMAV_LIMITS, false, SPAMD_ERROR, 0, VERDICT_UNCHECKED,
     ACTION_TEMPFAIL},
    {"spamd skipped, clamav clean", K_NONE, CLAMAV_CLEAN, false, SPAMD_SKIPPED, 0, VERDICT_CLEAN,
     ACTION_DELIVER},
    {"spamd skipped only", K_NO_VIRUS, CLAMAV_NOT_RUN, false, SPAMD_SKIPPED, 0, VERDICT_UNCHECKED,
     ACTION_DELIVER},
    {"nothing ran", K_NONE, CLAMAV_NOT_RUN, false, SPAMD_NOT_RUN, 0, VERDICT_UNCHECKED,
     ACTION_DELIVER},
    {"both scans off in policy", K_NO_VIRUS | K_NO_SPAM, CLAMAV_CLEAN, false, SPAMD_HAM, 0,
     VERDICT_UNCHECKED, ACTION_DELIVER},
};

static void test_decide(void **state)
{
    (void)state;
    struct config *cfg = make_config();

    for (size_t k = 0; k < sizeof(decide_cases) / sizeof(decide_cases[0]); k++) {
        const struct decide_case *c = &decide_cases[k];
        struct policy p = make_policy("t");
        struct envelope env;
        struct scan_result res;
        struct spamd_result sr;
        size_t map = SIZE_MAX;

        p.spam_action = ACTION_JUNK;
        if (c->knobs & K_ERR_PASS)
            p.scan_error_action = ACTION_DELIVER;
        if (c->knobs & K_NO_VIRUS)
            p.virus_scan = false;
        if (c->knobs & K_NO_SPAM)
            p.spam_scan = false;
        if (c->knobs & K_FROM_SPAMD)
            p.spam_mark_from_spamd = true;
        if (c->knobs & K_UNCHECKED_QUARANTINE)
            p.unchecked_action = ACTION_QUARANTINE;
        if (c->knobs & K_UNCHECKED_REJECT)
            p.unchecked_action = ACTION_REJECT;

        memset(&res, 0, sizeof(res));
        memset(&sr, 0, sizeof(sr));
        res.clamav.status = c->clamav;
        res.clamav.engine_loading = c->loading;
        if (c->spamd != SPAMD_NOT_RUN) {
            sr.status = c->spamd;
            sr.score = c->score;
            sr.required = 5.0;
            res.spamd = &sr;
            res.n_spamd = 1;
            map = 0;
        }
        res.rcpt_spamd = &map;

        envelope_init(&env);
        struct recipient *r = envelope_add_rcpt(&env);
        snprintf(r->address, sizeof(r->address), "a@example.net");
        r->policy = &p;
        r->verdict = VERDICT_VIRUS; /* must be overwritten */
        r->action = ACTION_REJECT;

        policy_decide(&env, &res);
        if (r->verdict != c->verdict || r->action != c->action)
            fail_msg("%s: %s/%s, expected %s/%s", c->name, verdict_name(r->verdict),
                     action_name(r->action), verdict_name(c->verdict), action_name(c->action));
        envelope_free(&env);
    }
    free_config(cfg);
}

static void test_decide_per_recipient(void **state)
{
    (void)state;
    /* two recipients, two spamd users with different results */
    struct config *cfg = make_config();
    struct policy lenient = make_policy("l");
    struct envelope env;
    struct scan_result res;
    struct spamd_result sr[2];
    size_t map[3] = {0, 1, SIZE_MAX};

    lenient.spam_mark_level = 10;
    lenient.virus_action = ACTION_DISCARD;
    memset(&res, 0, sizeof(res));
    memset(sr, 0, sizeof(sr));
    res.clamav.status = CLAMAV_CLEAN;
    sr[0].status = SPAMD_SPAM;
    sr[0].score = 7;
    sr[1].status = SPAMD_SPAM;
    sr[1].score = 7;
    res.spamd = sr;
    res.n_spamd = 2;
    res.rcpt_spamd = map;

    envelope_init(&env);
    for (int i = 0; i < 3; i++) {
        struct recipient *r = envelope_add_rcpt(&env);
        snprintf(r->address, sizeof(r->address), "r%d@example.com", i);
    }
    env.rcpts[0].policy = &cfg->policies[0];
    env.rcpts[1].policy = &lenient;
    /* resolved at RCPT: default; no spamd result mapped */
    assert_int_equal(address_parse(&env.rcpts[2].addr, env.rcpts[2].address,
                                   strlen(env.rcpts[2].address), "+", NULL),
                     ADDRESS_OK);
    env.rcpts[2].policy = policy_lookup(cfg, &env.rcpts[2].addr);
    policy_decide(&env, &res);
    assert_int_equal(env.rcpts[0].verdict, VERDICT_SPAM);
    assert_int_equal(env.rcpts[0].action, ACTION_JUNK);
    assert_int_equal(env.rcpts[1].verdict, VERDICT_CLEAN);
    assert_int_equal(env.rcpts[1].action, ACTION_DELIVER);
    assert_int_equal(env.rcpts[2].verdict, VERDICT_CLEAN);

    res.clamav.status = CLAMAV_INFECTED;
    policy_decide(&env, &res);
    assert_int_equal(env.rcpts[0].action, ACTION_QUARANTINE);
    assert_int_equal(env.rcpts[1].action, ACTION_DISCARD);
    envelope_free(&env);
    free_config(cfg);
}

/* ---- policy_headers --------------------------------------------------- */

struct header_fixture {
    struct config *cfg;
    struct policy p;
    struct envelope env;
    struct scan_result res;
    struct spamd_result sr;
    struct spamd_rule rules[64];
    size_t map;
};

static void fixture_init(struct header_fixture *f, enum clamav_status cs, enum spamd_status ss,
                         double score, const char *const *rules)
{
    memset(f, 0, sizeof(*f));
    f->cfg = make_config();
    f->p = make_policy("t");
    f->res.clamav.status = cs;
    snprintf(f->res.clamav_version, sizeof(f->res.clamav_version), "1.4.6");
    f->res.clamav_signatures = 42;
    f->sr.status = ss;
    f->sr.score = score;
    f->sr.required = 6.5;
    for (size_t i = 0; rules != NULL && rules[i] != NULL; i++) {
        snprintf(f->rules[i].name, sizeof(f->rules[i].name), "%s", rules[i]);
        f->sr.n_rules++;
    }
    f->sr.rules = f->rules;
    f->res.spamd = &f->sr;
    f->res.n_spamd = 1;
    f->map = ss == SPAMD_NOT_RUN ? SIZE_MAX : 0;
    f->res.rcpt_spamd = &f->map;
    envelope_init(&f->env);
    struct recipient *r = envelope_add_rcpt(&f->env);
    snprintf(r->address, sizeof(r->address), "a@example.net");
    r->policy = &f->p;
}

static void fixture_free(struct header_fixture *f)
{
    envelope_free(&f->env);
    free_config(f->cfg);
}

static void expect_headers(struct header_fixture *f, const char *subject, const char *expected,
                           bool expect_replaced)
{
    struct strbuf out;
    bool replaced = !expect_replaced;

    strbuf_init(&out, 64 * 1024);
    policy_decide(&f->env, &f->res);
    assert_int_equal(
        policy_headers(&f->env, 0, &f->res, "mx.example.com", subject, &out, &replaced), 0);
    assert_string_equal(out.len ? out.data : "", expected);
    assert_int_equal(replaced, expect_replaced);
    strbuf_free(&out);
}

static void test_headers_ham(void **state)
{
    (void)state;
    static const char *const rules[] = {"BAYES_00", "DKIM_SIGNED", NULL};
    struct header_fixture f;

    fixture_init(&f, CLAMAV_CLEAN, SPAMD_HAM, 2.34, rules);
    expect_headers(&f, " Hello",
                   "X-Virus-Scanned: lmtpscan (ClamAV 1.4.6, 42 signatures) at mx.example.com\r\n"
                   "X-Spam-Score: 2.3\r\n"
                   "X-Spam-Level: **\r\n"
                   "X-Spam-Status: No, score=2.3 required=5.0 tests=BAYES_00,DKIM_SIGNED\r\n",
                   false);
    fixture_free(&f);
}

static void test_headers_spam_subject(void **state)
{
    (void)state;
    static const char *const rules[] = {"GTUBE", NULL};
    struct header_fixture f;

    fixture_init(&f, CLAMAV_CLEAN, SPAMD_SPAM, 7.1, rules);
    snprintf(f.p.subject_tag, sizeof(f.p.subject_tag), "[SPAM] ");
    expect_headers(&f, " Hello\r\n world",
                   "X-Virus-Scanned: lmtpscan (ClamAV 1.4.6, 42 signatures) at mx.example.com\r\n"
                   "X-Spam-Flag: YES\r\n"
                   "X-Spam-Score: 7.1\r\n"
                   "X-Spam-Level: *******\r\n"
                   "X-Spam-Status: Yes, score=7.1 required=5.0 tests=GTUBE\r\n"
                   "Subject: [SPAM] Hello\r\n world\r\n",
                   true);
    /* no Subject in the message: the tag alone */
    expect_headers(&f, NULL,
                   "X-Virus-Scanned: lmtpscan (ClamAV 1.4.6, 42 signatures) at mx.example.com\r\n"
                   "X-Spam-Flag: YES\r\n"
                   "X-Spam-Score: 7.1\r\n"
                   "X-Spam-Level: *******\r\n"
                   "X-Spam-Status: Yes, score=7.1 required=5.0 tests=GTUBE\r\n"
                   "Subject: [SPAM]\r\n",
                   true);
    fixture_free(&f);
}

static void test_headers_levels(void **state)
{
    (void)state;
    struct header_fixture f;

    /* below one point: X-Spam-Level present and empty; no rules: none */
    fixture_init(&f, CLAMAV_NOT_RUN, SPAMD_HAM, 0.5, NULL);
    expect_headers(&f, NULL,
                   "X-Spam-Score: 0.5\r\n"
                   "X-Spam-Level: \r\n"
                   "X-Spam-Status: No, score=0.5 required=5.0 tests=none\r\n",
                   false);
    fixture_free(&f);

    fixture_init(&f, CLAMAV_NOT_RUN, SPAMD_HAM, -2.0, NULL);
    expect_headers(&f, NULL,
                   "X-Spam-Score: -2.0\r\n"
                   "X-Spam-Level: \r\n"
                   "X-Spam-Status: No, score=-2.0 required=5.0 tests=none\r\n",
                   false);
    fixture_free(&f);

    /* at most 50 stars; above the block level it is spam */
    static const char *const gtube[] = {"GTUBE", NULL};
    fixture_init(&f, CLAMAV_NOT_RUN, SPAMD_SPAM, 1000.0, gtube);
    expect_headers(&f, NULL,
                   "X-Spam-Flag: YES\r\n"
                   "X-Spam-Score: 1000.0\r\n"
                   "X-Spam-Level: **************************************************\r\n"
                   "X-Spam-Status: Yes, score=1000.0 required=5.0 tests=GTUBE\r\n",
                   false);
    fixture_free(&f);

    /* below spam_header_level: no X-Spam fields at all */
    fixture_init(&f, CLAMAV_CLEAN, SPAMD_HAM, 1.0, NULL);
    f.p.spam_header_level = 3.0;
    expect_headers(&f, NULL,
                   "X-Virus-Scanned: lmtpscan (ClamAV 1.4.6, 42 signatures) at mx.example.com\r\n",
                   false);
    fixture_free(&f);

    /* spam_mark_level = spamd: spamd's verdict and required score */
    fixture_init(&f, CLAMAV_NOT_RUN, SPAMD_SPAM, 6.9, NULL);
    f.p.spam_mark_from_spamd = true;
    expect_headers(&f, NULL,
                   "X-Spam-Flag: YES\r\n"
                   "X-Spam-Score: 6.9\r\n"
                   "X-Spam-Level: ******\r\n"
                   "X-Spam-Status: Yes, score=6.9 required=6.5 tests=none\r\n",
                   false);
    fixture_free(&f);
}

static void test_headers_no_scan(void **state)
{
    (void)state;
    struct header_fixture f;

    /* scanner errors: no headers claiming a scan */
    fixture_init(&f, CLAMAV_ERROR, SPAMD_ERROR, 0, NULL);
    expect_headers(&f, NULL, "", false);
    fixture_free(&f);

    /* the policy did not ask for the scans */
    fixture_init(&f, CLAMAV_CLEAN, SPAMD_SPAM, 20, NULL);
    f.p.virus_scan = false;
    f.p.spam_scan = false;
    snprintf(f.p.subject_tag, sizeof(f.p.subject_tag), "[SPAM] ");
    expect_headers(&f, " x", "", false);
    fixture_free(&f);

    /* limits: scanned partly, never the line of a complete scan */
    fixture_init(&f, CLAMAV_LIMITS, SPAMD_SKIPPED, 0, NULL);
    snprintf(f.res.clamav.reason, sizeof(f.res.clamav.reason), "%s",
             "Heuristics.Limits.Exceeded.MaxRecursion");
    expect_headers(&f, NULL,
                   "X-Virus-Scanned: lmtpscan (ClamAV 1.4.6) unchecked: "
                   "Heuristics.Limits.Exceeded.MaxRecursion at mx.example.com\r\n",
                   false);
    fixture_free(&f);
}

static void test_headers_fold(void **state)
{
    (void)state;
    const char *names[41];
    char storage[40][32];
    struct header_fixture f;
    struct strbuf out, unfolded;
    bool replaced;

    for (int i = 0; i < 40; i++) {
        snprintf(storage[i], sizeof(storage[i]), "SOME_LONGER_RULE_%02d", i);
        names[i] = storage[i];
    }
    names[40] = NULL;
    fixture_init(&f, CLAMAV_NOT_RUN, SPAMD_HAM, 3.0, names);
    strbuf_init(&out, 64 * 1024);
    strbuf_init(&unfolded, 64 * 1024);
    assert_int_equal(policy_headers(&f.env, 0, &f.res, "h", NULL, &out, &replaced), 0);

    /* every line ends in CRLF, is at most 78 characters, continuation
     * lines start with a TAB and only follow a comma */
    const char *p = out.data;
    size_t lines = 0;
    while (*p != '\0') {
        const char *crlf = strstr(p, "\r\n");
        assert_non_null(crlf);
        assert_true(crlf - p <= 78);
        if (*p == '\t') {
            assert_true(p[-3] == ',');
            assert_int_equal(strbuf_append(&unfolded, p + 1, (size_t)(crlf - p - 1)), 0);
            assert_int_equal(strbuf_puts(&unfolded, "\n"), 0);
        } else {
            assert_int_equal(strbuf_append(&unfolded, p, (size_t)(crlf - p)), 0);
            assert_int_equal(strbuf_puts(&unfolded, "\n"), 0);
        }
        lines++;
        p = crlf + 2;
    }
    assert_true(lines > 10);
    struct strbuf expect;
    strbuf_init(&expect, 64 * 1024);
    assert_int_equal(strbuf_puts(&expect, "X-Spam-Score: 3.0\nX-Spam-Level: ***\n"
                                          "X-Spam-Status: No, score=3.0 required=5.0 tests="),
                     0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(strbuf_printf(&expect, "%s%s", i ? "," : "", storage[i]), 0);
    assert_int_equal(strbuf_puts(&expect, "\n"), 0);
    /* unfolded: joined lines, with the newline of folded lines removed */
    struct strbuf joined;
    strbuf_init(&joined, 64 * 1024);
    for (size_t i = 0; i < unfolded.len; i++) {
        if (unfolded.data[i] == '\n' && i + 1 < unfolded.len && unfolded.data[i - 1] == ',')
            continue;
        assert_int_equal(strbuf_append(&joined, &unfolded.data[i], 1), 0);
    }
    assert_string_equal(joined.data, expect.data);
    strbuf_free(&joined);
    strbuf_free(&expect);
    strbuf_free(&unfolded);
    strbuf_free(&out);
    fixture_free(&f);
}

static void test_headers_limit(void **state)
{
    (void)state;
    struct header_fixture f;
    struct strbuf out;
    bool replaced = true;

    fixture_init(&f, CLAMAV_CLEAN, SPAMD_HAM, 1.0, NULL);
    strbuf_init(&out, 100);
    assert_int_equal(strbuf_puts(&out, "Received: x\r\n"), 0);
    assert_int_equal(policy_headers(&f.env, 0, &f.res, "mx", NULL, &out, &replaced), -1);
    assert_string_equal(out.data, "Received: x\r\n");
    assert_false(replaced);
    strbuf_free(&out);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),         cmocka_unit_test(test_lookup_without_default),
        cmocka_unit_test(test_decide),         cmocka_unit_test(test_decide_per_recipient),
        cmocka_unit_test(test_headers_ham),    cmocka_unit_test(test_headers_spam_subject),
        cmocka_unit_test(test_headers_levels), cmocka_unit_test(test_headers_no_scan),
        cmocka_unit_test(test_headers_fold),   cmocka_unit_test(test_headers_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
