/*
 * test_spamd_reply: table-driven tests of the pure spamd REPORT reply
 * parser: real spamd replies, truncation, garbage, oversize input, and
 * the rules sorted by name whatever order spamd listed them in.
 */
#include "scan/spamd_reply.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define GTUBE_BODY                                                                                 \
    "Spam detection software, running on the system \"vm\",\n"                                     \
    "has identified this incoming email as possible spam.\n"                                       \
    "\n"                                                                                           \
    "Content analysis details:   (1000.0 points, 5.0 required)\n"                                  \
    "\n"                                                                                           \
    " pts rule name              description\n"                                                    \
    "---- ---------------------- --------------------------------------------------\n"             \
    "-0.0 NO_RECEIVED            Informational: message has no Received headers\n"                 \
    "1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email\n"                  \
    " 2.5 URIBL_BLACK            Contains an URL listed in the URIBL blacklist\n"                  \
    "                            [URIs: example.com]\n"                                            \
    "-0.0 NO_RELAYS              Informational: message was not relayed via SMTP\n"                \
    "\n"

#define HAM_BODY                                                                                   \
    "Content analysis details:   (0.0 points, 5.0 required)\n"                                     \
    "\n"                                                                                           \
    " pts rule name              description\n"                                                    \
    "---- ---------------------- --------------------------------------------------\n"             \
    "\n"

struct reply_case {
    const char *name;
    const char *text; /* NULL: built by the test */
    int rc;
    bool is_spam;
    double score, required;
    size_t n_rules;
    const char *first_rule;
    const char *error_part;
};

static char *with_length(const char *head, const char *body)
{
    size_t n = strlen(head) + strlen(body) + 64;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%sContent-length: %zu\r\n\r\n%s", head, strlen(body), body);
    return s;
}

static void check(const struct reply_case *c, const char *text, size_t len)
{
    struct spamd_reply r;
    char err[256] = "";
    int rc = spamd_reply_parse(text, len, &r, err, sizeof(err));

    if (rc != c->rc)
        fail_msg("%s: rc %d, expected %d (err: %s)", c->name, rc, c->rc, err);
    if (rc < 0) {
        if (c->error_part != NULL && strstr(err, c->error_part) == NULL)
            fail_msg("%s: error \"%s\" lacks \"%s\"", c->name, err, c->error_part);
        return;
    }
    assert_int_equal(r.is_spam, c->is_spam);
    assert_true(r.score == c->score);
    assert_true(r.required == c->required);
    if (r.n_rules != c->n_rules)
        fail_msg("%s: %zu rules, expected %zu", c->name, r.n_rules, c->n_rules);
    if (c->first_rule != NULL)
        assert_string_equal(r.rules[0].name, c->first_rule);
    spamd_reply_free(&r);
}

static void test_real_replies(void **state)
{
    (void)state;
    char *spam = with_length("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1000.0 / 5.0\r\n", GTUBE_BODY);
    char *ham = with_length("SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n", HAM_BODY);
    struct reply_case spam_case = {"gtube", NULL, 0, true, 1000.0, 5.0, 4, "GTUBE", NULL};
    struct reply_case ham_case = {"ham", NULL, 0, false, 0.0, 5.0, 0, NULL, NULL};
    struct spamd_reply r;
    char err[256];

    check(&spam_case, spam, strlen(spam));
    check(&ham_case, ham, strlen(ham));

    /* sorted by name; each score stays with its rule */
    assert_int_equal(spamd_reply_parse(spam, strlen(spam), &r, err, sizeof(err)), 0);
    assert_string_equal(r.rules[0].name, "GTUBE");
    assert_true(r.rules[0].score == 1000.0);
    assert_true(r.rules[0].has_score);
    assert_string_equal(r.rules[1].name, "NO_RECEIVED");
    assert_true(r.rules[1].score == 0.0);
    assert_string_equal(r.rules[2].name, "NO_RELAYS");
    assert_string_equal(r.rules[3].name, "URIBL_BLACK");
    assert_true(r.rules[3].score == 2.5);
    spamd_reply_free(&r);
    free(spam);
    free(ham);
}

static const struct reply_case table[] = {
    {"no body, no length", "SPAMD/1.1 0 EX_OK\r\nSpam: Yes ; -1.5 / 5.0\r\n\r\n", 0, true, -1.5,
     5.0, 0, NULL, NULL},
    {"spamd 1.5 status", "SPAMD/1.5 0 EX_OK\r\nSpam: False ; 3.2 / 4.5\r\n\r\n", 0, false, 3.2, 4.5,
     0, NULL, NULL},
    {"extra header", "SPAMD/1.1 0 EX_OK\r\nX-Other: 1\r\nSpam: False ; 0.1 / 5.0\r\n\r\n", 0, false,
     0.1, 5.0, 0, NULL, NULL},
    {"lower-case header",
     "SPAMD/1.1 0 EX_OK\r\nspam: true ; 7.0 / 5.0\r\ncontent-length: 0\r\n\r\n", 0, true, 7.0, 5.0,
     0, NULL, NULL},
    {"error status", "SPAMD/1.0 76 Bad header line: (Content-Length mismatch)\r\n\r\n", -1, false,
     0, 0, 0, NULL, "76 Bad header"},
    {"EX_OK with another code", "SPAMD/1.1 0 EX_USAGE\r\nSpam: True ; 1 / 2\r\n\r\n", -1, false, 0,
     0, 0, NULL, "status"},
    {"empty", "", -1, false, 0, 0, 0, NULL, "truncated"},
    {"status only, no line end", "SPAMD/1.1 0 EX_OK", -1, false, 0, 0, 0, NULL, "truncated"},
    {"headers cut", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1000.0 / 5.0\r\n", -1, false, 0, 0, 0, NULL,
     "truncated"},
    {"header line cut", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1000.0 / 5", -1, false, 0, 0, 0, NULL,
     "truncated"},
    {"body shorter than length",
     "SPAMD/1.1 0 EX_OK\r\nContent-length: 100\r\nSpam: True ; 1.0 / 5.0\r\n\r\nabc", -1, false, 0,
     0, 0, NULL, "Content-length"},
    {"body longer than length",
     "SPAMD/1.1 0 EX_OK\r\nContent-length: 1\r\nSpam: True ; 1.0 / 5.0\r\n\r\nabc", -1, false, 0, 0,
     0, NULL, "Content-length"},
    {"no Spam header", "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", -1, false, 0, 0, 0, NULL,
     "Spam header"},
    {"two Spam headers", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 2\r\nSpam: False ; 1 / 2\r\n\r\n",
     -1, false, 0, 0, 0, NULL, "Spam header"},
    {"bad verdict word", "SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1.0 / 5.0\r\n\r\n", -1, false, 0, 0, 0,
     NULL, "Spam header"},
    {"bad score", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; x / 5.0\r\n\r\n", -1, false, 0, 0, 0, NULL,
     "Spam header"},
    {"missing required", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0\r\n\r\n", -1, false, 0, 0, 0, NULL,
     "Spam header"},
    {"trailing junk", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0 / 5.0 x\r\n\r\n", -1, false, 0, 0, 0,
     NULL, "Spam header"},
    {"bad length", "SPAMD/1.1 0 EX_OK\r\nContent-length: 1x\r\nSpam: True ; 1 / 5\r\n\r\n", -1,
     false, 0, 0, 0, NULL, "Content-length"},
    {"garbage", "HTTP/1.1 200 OK\r\n\r\nhello", -1, false, 0, 0, 0, NULL, "status"},
    {"binary garbage", "\x01\x02\xff\xfe\n\n", -1, false, 0, 0, 0, NULL, "status"},
    {"header without colon", "SPAMD/1.1 0 EX_OK\r\nSpam True\r\n\r\n", -1, false, 0, 0, 0, NULL,
     "header"},
    {"bad rule row",
     "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9.0 / 5.0\r\n\r\n"
     "---- ---------------------- ----\nnot a row\n\n",
     -1, false, 0, 0, 0, NULL, "rule"},
    {"rule name too long",
     "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9.0 / 5.0\r\n\r\n"
     "---- ---------------------- ----\n"
     "1.0 A123456789012345678901234567890123456789012345678901234567890123456789 x\n\n",
     -1, false, 0, 0, 0, NULL, "rule"},
    {"continuation starting with digits",
     "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9.0 / 5.0\r\n\r\n"
     "---- ---------------------- ----\n"
     " 0.1 FIRST_RULE             a long description\n"
     "                            2 URLs more text\n"
     "\t[tab indented]\n"
     "-1.9 BAYES_00               b\n\ntrailer 1.0 X\n",
     0, true, 9.0, 5.0, 2, "BAYES_00", NULL},
    {"rule without description",
     "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9.0 / 5.0\r\n\r\n"
     "---- ---------------------- ----\n9.0 ONE_RULE\n",
     0, true, 9.0, 5.0, 1, "ONE_RULE", NULL},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        check(&table[i], table[i].text, strlen(table[i].text));
}

static void test_embedded_nul(void **state)
{
    (void)state;
    static const char text[] = "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0 / 5.0\r\n\0\r\n\r\n";
    struct reply_case c = {"nul", NULL, -1, false, 0, 0, 0, NULL, NULL};
    check(&c, text, sizeof(text) - 1);
}

static void test_huge(void **state)
{
    (void)state;
    size_t n = SPAMD_REPLY_MAX + 1;
    char *text = malloc(n);
    const char *head = "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0 / 5.0\r\n\r\n";
    struct reply_case c = {"huge", NULL, -1, false, 0, 0, 0, NULL, "too large"};

    assert_non_null(text);
    memset(text, 'a', n);
    memcpy(text, head, strlen(head));
    check(&c, text, n);
    free(text);
}

static void test_too_many_rules(void **state)
{
    (void)state;
    const char *head = "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0 / 5.0\r\n\r\n"
                       "---- ---------------------- ----\n";
    size_t cap = strlen(head) + (SPAMD_MAX_RULES + 1) * 32 + 2, len;
    char *text = malloc(cap);
    struct reply_case c = {"rules", NULL, -1, false, 0, 0, 0, NULL, "rules"};

    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "%s", head);
    for (int i = 0; i <= SPAMD_MAX_RULES; i++)
        len += (size_t)snprintf(text + len, cap - len, "0.1 RULE_%d x\n", i);
    check(&c, text, len);
    free(text);
}

/* A reply whose table lists the rows given, in that order. */
static char *reply_with_rows(const char *const *rows, size_t n)
{
    size_t cap = 256, len = 0;
    char *body, *text;

    for (size_t i = 0; i < n; i++)
        cap += strlen(rows[i]) + 1;
    body = malloc(cap);
    assert_non_null(body);
    len = (size_t)snprintf(body, cap,
                           " pts rule name              description\n"
                           "---- ---------------------- ----\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s\n", rows[i]);
    snprintf(body + len, cap - len, "\n");
    text = with_length("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9.9 / 5.0\r\n", body);
    free(body);
    return text;
}

static void assert_rules(const char *text, const char *const *names, const double *scores, size_t n)
{
    struct spamd_reply r;
    char err[256] = "";

    if (spamd_reply_parse(text, strlen(text), &r, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
    assert_int_equal(r.n_rules, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r.rules[i].name, names[i]);
        assert_true(r.rules[i].score == scores[i]);
    }
    spamd_reply_free(&r);
}

/* spamd lists the rules in an order that changes from one spamd process
 * to the next; the parsed rules come out in one order, by name in byte
 * order as SpamAssassin's "tests=" list ('V' < '_', digits < letters). */
static void test_rules_sorted_by_name(void **state)
{
    (void)state;
    static const char *const orders[][5] = {
        {"-0.0 NO_RELAYS  x", "-0.0 NO_RECEIVED x", "1000 GTUBE y", " 0.1 T_SCC_BODY z",
         " 1.2 TVD_SPACE w"},
        {" 1.2 TVD_SPACE w", "1000 GTUBE y", " 0.1 T_SCC_BODY z", "-0.0 NO_RECEIVED x",
         "-0.0 NO_RELAYS  x"},
        {"1000 GTUBE y", "-0.0 NO_RECEIVED x", "-0.0 NO_RELAYS  x", " 1.2 TVD_SPACE w",
         " 0.1 T_SCC_BODY z"},
    };
    static const char *const sorted[] = {"GTUBE", "NO_RECEIVED", "NO_RELAYS", "TVD_SPACE",
                                         "T_SCC_BODY"};
    static const double scores[] = {1000.0, 0.0, 0.0, 1.2, 0.1};

    for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
        char *text = reply_with_rows(orders[k], 5);
        assert_rules(text, sorted, scores, 5);
        free(text);
    }
}

/* The most rules a reply may have, listed backwards, come out sorted. */
static void test_many_rules_sorted(void **state)
{
    (void)state;
    const char *rows[SPAMD_MAX_RULES];
    char(*row)[32] = calloc(SPAMD_MAX_RULES, sizeof(*row));
    struct spamd_reply r;
    char err[256] = "";

    assert_non_null(row);
    for (int i = 0; i < SPAMD_MAX_RULES; i++) {
        snprintf(row[i], sizeof(row[i]), "0.1 RULE_%04d x", SPAMD_MAX_RULES - 1 - i);
        rows[i] = row[i];
    }
    char *text = reply_with_rows(rows, SPAMD_MAX_RULES);
    if (spamd_reply_parse(text, strlen(text), &r, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
    assert_int_equal(r.n_rules, SPAMD_MAX_RULES);
    for (int i = 0; i < SPAMD_MAX_RULES; i++) {
        char want[32];
        snprintf(want, sizeof(want), "RULE_%04d", i);
        assert_string_equal(r.rules[i].name, want);
    }
    spamd_reply_free(&r);
    free(text);
    free(row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_replies),      cmocka_unit_test(test_table),
        cmocka_unit_test(test_embedded_nul),      cmocka_unit_test(test_huge),
        cmocka_unit_test(test_too_many_rules),    cmocka_unit_test(test_rules_sorted_by_name),
        cmocka_unit_test(test_many_rules_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
