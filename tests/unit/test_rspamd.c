/*
 * test_rspamd: the rspamd pieces that need no rspamd: the pure /checkv2
 * reply parser (real rspamd 3.4 replies, errors, hostile input, bounds),
 * the request header (envelope fields, XFORWARD's "unavailable" words,
 * control characters) and the verdict cache of [scan] verdict_reuse
 * (hits, misses across users, engines and messages, the version rule,
 * expiry, the fixed bound).
 */
#include "common/envelope.h"
#include "scan/rspamd_client.h"
#include "scan/rspamd_reply.h"
#include "scan/verdict_cache.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* Bodies as rspamd 3.4 sent them (whitespace kept). */
static const char HAM_JSON[] =
    "{\"is_skipped\":false,\"score\":-0.100000,\"required_score\":15.0,\"action\":\"no "
    "action\",\"symbols\":{\"MIME_TRACE\":{\"name\":\"MIME_TRACE\",\"score\":0.0,\"metric_score\":"
    "0.0,\"options\":[\"0:+\"]},\"FROM_NO_DN\":{\"name\":\"FROM_NO_DN\",\"score\":0.0,\"metric_"
    "score\":0.0,\"description\":\"From header does not have a display name\"},\"MIME_GOOD\":{"
    "\"name\":\"MIME_GOOD\",\"score\":-0.100000,\"metric_score\":-0.100000,\"description\":"
    "\"Known content-type\",\"options\":[\"text/plain\"]}},\"messages\":{},\"message-id\":\"x@"
    "example.com\",\"time_real\":0.345551}";
static const char GTUBE_JSON[] =
    "{\"is_skipped\": true, \"score\": 15.0, \"required_score\": 15.0, \"action\": \"reject\", "
    "\"symbols\": {\"GTUBE\": {\"name\": \"GTUBE\", \"score\": 0.0, \"metric_score\": 0.0}}, "
    "\"messages\": {\"smtp_message\": \"Gtube pattern\"}, \"message-id\": \"undef\", "
    "\"time_real\": 0.000464}";
static const char ADD_HEADER_JSON[] =
    "{\"is_skipped\":false,\"score\":7.900000,\"required_score\":15.0,\"action\":\"add "
    "header\",\"symbols\":{\"MISSING_TO\":{\"name\":\"MISSING_TO\",\"score\":2.0},"
    "\"MISSING_SUBJECT\":{\"name\":\"MISSING_SUBJECT\",\"score\":0.500000,\"metric_score\":2.0},"
    "\"MISSING_DATE\":{\"name\":\"MISSING_DATE\",\"score\":1.0}}}";

/* A whole HTTP reply around body (malloc'd). */
static char *http(int status, const char *extra, const char *body, long length)
{
    size_t n = strlen(body) + 512;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n,
             "HTTP/1.1 %d OK\r\nConnection: close\r\nServer: rspamd/3.4\r\n%sContent-Length: "
             "%ld\r\nContent-Type: application/json\r\n\r\n%s",
             status, extra, length >= 0 ? length : (long)strlen(body), body);
    return s;
}

static int parse(const char *text, struct rspamd_reply *r, char *err)
{
    err[0] = '\0';
    return rspamd_reply_parse(text, strlen(text), r, err, 256);
}

static void test_real_replies(void **state)
{
    (void)state;
    struct rspamd_reply r;
    char err[256];
    char *t = http(200, "", HAM_JSON, -1);
    assert_int_equal(parse(t, &r, err), 0);
    assert_false(r.is_spam);
    assert_true(r.score < -0.09 && r.score > -0.11);
    assert_true(r.required == 15.0);
    assert_string_equal(r.action, "no action");
    assert_string_equal(r.version, "rspamd/3.4");
    assert_int_equal(r.n_rules, 3);
    /* sorted by name, whatever the JSON order */
    assert_string_equal(r.rules[0].name, "FROM_NO_DN");
    assert_string_equal(r.rules[1].name, "MIME_GOOD");
    assert_true(r.rules[1].has_score && r.rules[1].score < -0.09);
    assert_string_equal(r.rules[2].name, "MIME_TRACE");
    rspamd_reply_free(&r);
    free(t);

    t = http(200, "", GTUBE_JSON, -1);
    assert_int_equal(parse(t, &r, err), 0);
    assert_true(r.is_spam);
    assert_string_equal(r.action, "reject");
    assert_int_equal(r.n_rules, 1);
    assert_string_equal(r.rules[0].name, "GTUBE");
    rspamd_reply_free(&r);
    free(t);

    /* "add header" is spam by rspamd's own verdict; a symbol's "score"
     * (what it added), not its metric_score */
    t = http(200, "", ADD_HEADER_JSON, -1);
    assert_int_equal(parse(t, &r, err), 0);
    assert_true(r.is_spam);
    assert_string_equal(r.rules[1].name, "MISSING_SUBJECT");
    assert_true(r.rules[1].score == 0.5);
    rspamd_reply_free(&r);
    free(t);
}

static void test_spam_actions(void **state)
{
    (void)state;
    static const struct {
        const char *action;
        bool spam;
    } cases[] = {{"no action", false}, {"greylist", false},       {"soft reject", false},
                 {"add header", true}, {"rewrite subject", true}, {"reject", true},
                 {"discard", true},    {"quarantine", true}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"score\":1,\"required_score\":15,\"action\":\"%s\"}",
                 cases[i].action);
        char *t = http(200, "", body, -1);
        struct rspamd_reply r;
        char err[256];
        assert_int_equal(parse(t, &r, err), 0);
        assert_int_equal(r.is_spam, cases[i].spam);
        assert_int_equal(r.n_rules, 0);
        rspamd_reply_free(&r);
        free(t);
    }
}

/* Each of these is a scanner failure, never a result. */
static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int status;
        const char *extra;
        const char *body;
        long length;
        const char *error_part;
    } cases[] = {
        {"500", 500, "", "{\"error\":\"bad things\"}", -1, "rspamd error: 500"},
        {"empty body", 200, "", "", -1, "bad JSON"},
        {"not json", 200, "", "<html>", -1, "bad JSON"},
        {"array", 200, "", "[1,2]", -1, "not a JSON object"},
        {"trailing", 200, "", "{\"score\":1,\"required_score\":15,\"action\":\"reject\"} x", -1,
         "after the JSON"},
        {"two values", 200, "", "{\"score\":1,\"required_score\":15,\"action\":\"x\"}{}", -1,
         "after the JSON"},
        {"no score", 200, "", "{\"required_score\":15,\"action\":\"reject\"}", -1, "score"},
        {"string score", 200, "", "{\"score\":\"9\",\"required_score\":15,\"action\":\"reject\"}",
         -1, "score"},
        {"huge score", 200, "", "{\"score\":1e300,\"required_score\":15,\"action\":\"reject\"}", -1,
         "score"},
        {"no action", 200, "", "{\"score\":1,\"required_score\":15}", -1, "action"},
        {"numeric action", 200, "", "{\"score\":1,\"required_score\":15,\"action\":3}", -1,
         "action"},
        {"long action", 200, "",
         "{\"score\":1,\"required_score\":15,\"action\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
         -1, "action"},
        {"symbols array", 200, "",
         "{\"score\":1,\"required_score\":15,\"action\":\"x\",\"symbols\":[]}", -1, "symbols"},
        {"symbol not object", 200, "",
         "{\"score\":1,\"required_score\":15,\"action\":\"x\",\"symbols\":{\"A\":1}}", -1,
         "symbol"},
        {"symbol bad name", 200, "",
         "{\"score\":1,\"required_score\":15,\"action\":\"x\",\"symbols\":{\"A B\":{}}}", -1,
         "symbol"},
        {"symbol empty name", 200, "",
         "{\"score\":1,\"required_score\":15,\"action\":\"x\",\"symbols\":{\"\":{}}}", -1,
         "symbol"},
        {"symbol bad score", 200, "",
         "{\"score\":1,\"required_score\":15,\"action\":\"x\",\"symbols\":{\"A\":{\"score\":[]}}}",
         -1, "symbol score"},
        {"too deep", 200, "",
         "{\"score\":1,\"required_score\":15,\"action\":\"x\",\"a\":[[[[[[[[[[1]]]]]]]]]]}", -1,
         "bad JSON"},
        {"short body", 200, "", "{\"score\":1}", 500, "Content-Length"},
        {"long body", 200, "", "{\"score\":1}", 3, "Content-Length"},
        {"chunked", 200, "Transfer-Encoding: chunked\r\n", "{}", -1, "Transfer-Encoding"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = http(cases[i].status, cases[i].extra, cases[i].body, cases[i].length);
        struct rspamd_reply r;
        char err[256];
        if (parse(t, &r, err) == 0)
            fail_msg("%s: parsed", cases[i].name);
        if (strstr(err, cases[i].error_part) == NULL)
            fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].name, err, cases[i].error_part);
        assert_null(r.rules);
        free(t);
    }
    static const char *const heads[] = {
        "",
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
        "SPAMD/1.1 0 EX_OK\r\n\r\n{}",
        "HTTP/1.1 2x0 OK\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        struct rspamd_reply r;
        char err[256];
        assert_int_equal(parse(heads[i], &r, err), -1);
        assert_true(err[0] != '\0');
    }
}

static void test_embedded_nul(void **state)
{
    (void)state;
    char *t = http(200, "", GTUBE_JSON, -1);
    size_t len = strlen(t);
    char *nul = strstr(t, "reject");
    nul[2] = '\0';
    struct rspamd_reply r;
    char err[256];
    assert_int_equal(rspamd_reply_parse(t, len, &r, err, sizeof(err)), -1);
    free(t);
}

static void test_bounds(void **state)
{
    (void)state;
    struct rspamd_reply r;
    char err[256];
    /* over RSPAMD_REPLY_MAX */
    size_t big = RSPAMD_REPLY_MAX + 16;
    char *t = calloc(1, big + 1);
    assert_non_null(t);
    memset(t, ' ', big);
    memcpy(t, "HTTP/1.1 200 OK\r\n\r\n", 19);
    assert_int_equal(rspamd_reply_parse(t, big, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too large"));
    free(t);

    /* SPAMD_MAX_RULES symbols pass, one more fails */
    for (int extra = 0; extra <= 1; extra++) {
        size_t cap = 64 * (SPAMD_MAX_RULES + 2) + 256;
        char *body = malloc(cap);
        assert_non_null(body);
        size_t o = (size_t)snprintf(body, cap,
                                    "{\"score\":1,\"required_score\":15,\"action\":\"x\","
                                    "\"symbols\":{");
        for (int i = 0; i < SPAMD_MAX_RULES + extra; i++)
            o += (size_t)snprintf(body + o, cap - o, "%s\"S%05d\":{\"score\":%d}", i ? "," : "",
                                  SPAMD_MAX_RULES + extra - i, i % 7);
        snprintf(body + o, cap - o, "}}");
        t = http(200, "", body, -1);
        int rc = parse(t, &r, err);
        if (extra == 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(r.n_rules, SPAMD_MAX_RULES);
            for (size_t i = 1; i < r.n_rules; i++)
                assert_true(strcmp(r.rules[i - 1].name, r.rules[i].name) < 0);
            rspamd_reply_free(&r);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "symbols"));
        }
        free(t);
        free(body);
    }

    /* a symbol name as long as a rule's name field allows, and one more */
    char name[sizeof(((struct spamd_rule *)0)->name) + 1];
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = sizeof(name) - 2 + (size_t)extra;
        memset(name, 'A', n);
        name[n] = '\0';
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"score\":1,\"required_score\":15,\"action\":\"x\",\"symbols\":{\"%s\":{}}}",
                 name);
        t = http(200, "", body, -1);
        assert_int_equal(parse(t, &r, err), extra == 0 ? 0 : -1);
        if (extra == 0) {
            assert_string_equal(r.rules[0].name, name);
            assert_false(r.rules[0].has_score);
            rspamd_reply_free(&r);
        }
        free(t);
    }
}

static void test_complete(void **state)
{
    (void)state;
    char *t = http(200, "", HAM_JSON, -1);
    size_t len = strlen(t);
    size_t body = (size_t)(strstr(t, "\r\n\r\n") - t) + 4;
    assert_int_equal(rspamd_reply_complete(t, 0), 0);
    assert_int_equal(rspamd_reply_complete(t, body - 1), 0);
    assert_int_equal(rspamd_reply_complete(t, body), 0);
    assert_int_equal(rspamd_reply_complete(t, len - 1), 0);
    assert_int_equal(rspamd_reply_complete(t, len), 1);
    /* malformed: more bytes would not help */
    assert_int_equal(rspamd_reply_complete("garbage\r\n", 9), 1);
    /* no Content-Length: only the end of the stream ends it */
    const char *nolen = "HTTP/1.1 200 OK\r\n\r\n{}";
    assert_int_equal(rspamd_reply_complete(nolen, strlen(nolen)), 0);
    free(t);
}

/* ---- request header ---- */

static void test_request_head(void **state)
{
    (void)state;
    struct envelope env;
    envelope_init(&env);
    snprintf(env.mail_from, sizeof(env.mail_from), "sender@example.test");
    snprintf(env.xforward.addr, sizeof(env.xforward.addr), "IPV6:2001:db8::1");
    snprintf(env.xforward.helo, sizeof(env.xforward.helo), "mx.example.test");
    snprintf(env.xforward.name, sizeof(env.xforward.name), "[UNAVAILABLE]");
    snprintf(env.xforward.ident, sizeof(env.xforward.ident), "4F2A1");
    const char *rcpts[] = {"a@example.org", "b@example.org"};
    struct rspamd_request req = {
        .user = "a@example.org", .env = &env, .rcpts = rcpts, .n_rcpts = 2};
    struct strbuf head;
    char why[128];
    strbuf_init(&head, RSPAMD_HEAD_MAX);
    assert_int_equal(rspamd_request_head(&req, 1234, &head, why, sizeof(why)), 0);
    assert_non_null(strstr(head.data, "POST /checkv2 HTTP/1.1\r\n"));
    assert_non_null(strstr(head.data, "\r\nContent-Length: 1234\r\n"));
    assert_non_null(strstr(head.data, "\r\nDeliver-To: a@example.org\r\n"));
    assert_non_null(strstr(head.data, "\r\nFrom: <sender@example.test>\r\n"));
    assert_non_null(strstr(head.data, "\r\nRcpt: a@example.org\r\nRcpt: b@example.org\r\n"));
    assert_non_null(strstr(head.data, "\r\nIP: 2001:db8::1\r\n"));
    assert_non_null(strstr(head.data, "\r\nHelo: mx.example.test\r\n"));
    assert_non_null(strstr(head.data, "\r\nQueue-Id: 4F2A1\r\n"));
    assert_null(strstr(head.data, "Hostname:")); /* [UNAVAILABLE] */
    assert_null(strstr(head.data, "\r\nUser:"));
    assert_true(head.len > 4 && memcmp(head.data + head.len - 4, "\r\n\r\n", 4) == 0);
    strbuf_free(&head);

    /* the null sender; client data with a line break is left out */
    env.mail_from[0] = '\0';
    snprintf(env.xforward.helo, sizeof(env.xforward.helo), "evil\r\nUser: x");
    strbuf_init(&head, RSPAMD_HEAD_MAX);
    assert_int_equal(rspamd_request_head(&req, 1, &head, why, sizeof(why)), 0);
    assert_non_null(strstr(head.data, "\r\nFrom: <>\r\n"));
    assert_null(strstr(head.data, "Helo:"));
    assert_null(strstr(head.data, "User: x"));
    strbuf_free(&head);

    /* an identity with a control character fails the request */
    req.user = "a\nb";
    strbuf_init(&head, RSPAMD_HEAD_MAX);
    assert_int_equal(rspamd_request_head(&req, 1, &head, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "control"));
    strbuf_free(&head);

    /* a header over its bound fails, it is not cut */
    req.user = "a@example.org";
    strbuf_init(&head, 100);
    assert_int_equal(rspamd_request_head(&req, 1, &head, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "too long"));
    strbuf_free(&head);
    envelope_free(&env);
}

/* ---- verdict cache ---- */

static const char SHA_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char SHA_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static struct spamd_result answer(enum spam_engine e, const char *user, const char *version)
{
    static struct spamd_rule rules[2] = {{"A_RULE", 1.5, true}, {"B_RULE", 2.0, true}};
    struct spamd_result r;
    memset(&r, 0, sizeof(r));
    r.engine = e;
    snprintf(r.user, sizeof(r.user), "%s", user);
    r.status = SPAMD_SPAM;
    r.score = 9.5;
    r.required = 6;
    r.rules = rules;
    r.n_rules = 2;
    snprintf(r.action, sizeof(r.action), "add header");
    snprintf(r.version, sizeof(r.version), "%s", version);
    return r;
}

static bool lookup(struct verdict_cache *vc, enum spam_engine e, const char *user, const char *sha,
                   unsigned ttl, struct spamd_result *out)
{
    memset(out, 0, sizeof(*out));
    out->engine = e;
    snprintf(out->user, sizeof(out->user), "%s", user);
    return verdict_cache_get(vc, sha, ttl, out);
}

static void test_cache_hits_and_misses(void **state)
{
    (void)state;
    struct verdict_cache *vc = verdict_cache_new();
    struct spamd_result got, a = answer(SPAM_ENGINE_RSPAMD, "u@example.org", "rspamd/3.4");

    assert_false(lookup(vc, SPAM_ENGINE_RSPAMD, "u@example.org", SHA_A, 600, &got));
    verdict_cache_put(vc, SHA_A, "aaaaaaaaaaa1", &a);
    assert_true(lookup(vc, SPAM_ENGINE_RSPAMD, "u@example.org", SHA_A, 600, &got));
    assert_int_equal(got.status, SPAMD_SPAM);
    assert_true(got.score == 9.5 && got.required == 6);
    assert_int_equal(got.n_rules, 2);
    assert_string_equal(got.rules[1].name, "B_RULE");
    assert_string_equal(got.action, "add header");
    assert_string_equal(got.reused_from, "aaaaaaaaaaa1");
    free(got.rules);
    /* another user, another engine, another message, reuse off */
    assert_false(lookup(vc, SPAM_ENGINE_RSPAMD, "v@example.org", SHA_A, 600, &got));
    assert_false(lookup(vc, SPAM_ENGINE_SPAMD, "u@example.org", SHA_A, 600, &got));
    assert_false(lookup(vc, SPAM_ENGINE_RSPAMD, "u@example.org", SHA_B, 600, &got));
    assert_false(lookup(vc, SPAM_ENGINE_RSPAMD, "u@example.org", SHA_A, 0, &got));

    /* errors and skips are never stored */
    struct spamd_result e = answer(SPAM_ENGINE_SPAMD, "w", "");
    e.status = SPAMD_ERROR;
    verdict_cache_put(vc, SHA_A, "aaaaaaaaaaa2", &e);
    e.status = SPAMD_SKIPPED;
    verdict_cache_put(vc, SHA_A, "aaaaaaaaaaa2", &e);
    assert_false(lookup(vc, SPAM_ENGINE_SPAMD, "w", SHA_A, 600, &got));

    /* another version from the engine ends reuse of what it said before */
    struct spamd_result other = answer(SPAM_ENGINE_RSPAMD, "x@example.org", "rspamd/3.5");
    verdict_cache_put(vc, SHA_B, "aaaaaaaaaaa3", &other);
    assert_false(lookup(vc, SPAM_ENGINE_RSPAMD, "u@example.org", SHA_A, 600, &got));
    assert_true(lookup(vc, SPAM_ENGINE_RSPAMD, "x@example.org", SHA_B, 600, &got));
    free(got.rules);

    /* expiry */
    assert_true(lookup(vc, SPAM_ENGINE_RSPAMD, "x@example.org", SHA_B, 1, &got));
    free(got.rules);
    sleep(1);
    assert_false(lookup(vc, SPAM_ENGINE_RSPAMD, "x@example.org", SHA_B, 1, &got));

    /* a reload clears */
    verdict_cache_put(vc, SHA_B, "aaaaaaaaaaa3", &other);
    verdict_cache_clear(vc);
    assert_false(lookup(vc, SPAM_ENGINE_RSPAMD, "x@example.org", SHA_B, 600, &got));
    verdict_cache_free(vc);
}

static void test_cache_bounded(void **state)
{
    (void)state;
    struct verdict_cache *vc = verdict_cache_new();
    struct spamd_result got;
    char user[32];
    /* twice the slots: the first half is evicted, the last half stays */
    for (int i = 0; i < 2 * VERDICT_CACHE_SLOTS; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        struct spamd_result a = answer(SPAM_ENGINE_SPAMD, user, "");
        verdict_cache_put(vc, SHA_A, "aaaaaaaaaaa1", &a);
    }
    int hits = 0;
    for (int i = 0; i < 2 * VERDICT_CACHE_SLOTS; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        if (lookup(vc, SPAM_ENGINE_SPAMD, user, SHA_A, 600, &got)) {
            hits++;
            assert_true(i >= VERDICT_CACHE_SLOTS);
            free(got.rules);
        }
    }
    assert_int_equal(hits, VERDICT_CACHE_SLOTS);

    /* a verdict with more rules than an entry holds is not kept */
    struct spamd_rule many[VERDICT_CACHE_RULES + 1];
    memset(many, 0, sizeof(many));
    struct spamd_result big = answer(SPAM_ENGINE_SPAMD, "big", "");
    big.rules = many;
    big.n_rules = VERDICT_CACHE_RULES + 1;
    verdict_cache_put(vc, SHA_B, "aaaaaaaaaaa1", &big);
    assert_false(lookup(vc, SPAM_ENGINE_SPAMD, "big", SHA_B, 600, &got));
    verdict_cache_free(vc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_replies),  cmocka_unit_test(test_spam_actions),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_bounds),        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_request_head),  cmocka_unit_test(test_cache_hits_and_misses),
        cmocka_unit_test(test_cache_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
