/*
 * test_quarantine_env: the .env reader against what quarantine_store()
 * writes (round trip with DSN parameters, only the quarantined
 * recipients), a table of well-formed and malformed texts (addresses with
 * '>' and blanks, parameters taken from the end, unknown keys ignored,
 * missing keys, NUL bytes, over-long values), and the loader's errors.
 */
#include "common/envelope.h"
#include "common/spool.h"
#include "deliver/quarantine.h"
#include "deliver/quarantine_env.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_round_trip(void **state)
{
    (void)state;
    char dir[256];
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof(dir), "%s/test_qenv.XXXXXX", base);
    assert_non_null(mkdtemp(dir));

    struct envelope env;
    envelope_init(&env);
    snprintf(env.mail_id, sizeof(env.mail_id), "abcdef123456");
    snprintf(env.mail_from, sizeof(env.mail_from), "sender@example.org");
    snprintf(env.envid, sizeof(env.envid), "ENV+2B1");
    env.ret = DSN_RET_HDRS;
    env.received.tv_sec = 1709251199;
    struct recipient *r = envelope_add_rcpt(&env);
    snprintf(r->address, sizeof(r->address), "a@example.com");
    r->action = ACTION_QUARANTINE;
    r->notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE;
    snprintf(r->orcpt, sizeof(r->orcpt), "rfc822;A@example.com");
    r = envelope_add_rcpt(&env);
    snprintf(r->address, sizeof(r->address), "b@example.com");
    r->action = ACTION_DELIVER; /* not quarantined: not in the .env */
    r = envelope_add_rcpt(&env);
    snprintf(r->address, sizeof(r->address), "\"odd> name\"@example.com");
    r->action = ACTION_QUARANTINE;

    struct spool *sp = spool_new(dir);
    assert_int_equal(spool_write(sp, "Subject: x\r\n\r\nbody\r\n", 20), 0);
    assert_int_equal(spool_finish(sp), 0);
    char eml[4096];
    assert_int_equal(quarantine_store(dir, &env, sp, "virus Eicar\x01Test", eml, sizeof(eml)), 0);

    struct quarantine_env q;
    char err[256];
    if (quarantine_env_load(dir, "abcdef123456", &q, err, sizeof(err)) != 0)
        fail_msg("load: %s", err);
    assert_string_equal(q.mail_id, "abcdef123456");
    assert_string_equal(q.received, "2024-02-29T23:59:59Z");
    assert_string_equal(q.sender, "sender@example.org");
    assert_string_equal(q.envid, "ENV+2B1");
    assert_int_equal(q.ret, DSN_RET_HDRS);
    assert_string_equal(q.reason, "virus Eicar Test");
    assert_int_equal(q.n_rcpts, 2);
    assert_string_equal(q.rcpts[0].address, "a@example.com");
    assert_string_equal(q.rcpts[0].orcpt, "rfc822;A@example.com");
    assert_int_equal(q.rcpts[0].notify, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE);
    assert_string_equal(q.rcpts[1].address, "\"odd> name\"@example.com");
    assert_string_equal(q.rcpts[1].orcpt, "");
    assert_int_equal(q.rcpts[1].notify, 0);
    quarantine_env_free(&q);

    assert_int_equal(quarantine_env_load(dir, "zzzzzzzzzzzz", &q, err, sizeof(err)), -1);
    assert_int_equal(errno, ENOENT);

    /* a file whose mail-id does not match its name is refused */
    char path[4096];
    snprintf(path, sizeof(path), "%s/bbbbbbbbbbbb.env", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("mail-id: abcdef123456\nsender: <>\n", f);
    fclose(f);
    assert_int_equal(quarantine_env_load(dir, "bbbbbbbbbbbb", &q, err, sizeof(err)), -1);
    assert_int_equal(errno, EINVAL);

    spool_free(sp);
    envelope_free(&env);
    (void)nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

struct parse_case {
    const char *text;
    size_t len; /* 0: strlen */
    int rc;
    size_t n_rcpts;
    const char *first_rcpt;
    const char *first_orcpt;
    unsigned first_notify;
};

static const struct parse_case cases[] = {
    {"mail-id: abcdef123456\nsender: <>\n", 0, 0, 0, NULL, NULL, 0},
    {"mail-id: abcdef123456\nsender: <a@b>\nrcpt: <c@d>\n", 0, 0, 1, "c@d", "", 0},
    {"mail-id: abcdef123456\nsender: <a@b>\nrcpt: <c@d> notify=8\n", 0, 0, 1, "c@d", "", 8},
    {"mail-id: abcdef123456\nsender: <a@b>\nrcpt: <c@d> orcpt=rfc822;x@y notify=14", 0, 0, 1, "c@d",
     "rfc822;x@y", 14},
    {"mail-id: abcdef123456\nsender: <a@b>\nrcpt: <\"a b\"@d> notify=1\n", 0, 0, 1, "\"a b\"@d", "",
     1},
    {"mail-id: abcdef123456\nsender: <a@b>\nrcpt: <\"x notify=1\"@d>\n", 0, 0, 1,
     "\"x notify=1\"@d", "", 0},
    {"mail-id: abcdef123456\nsender: <a@b>\nfuture-key: whatever\nrcpt: <c@d>\n", 0, 0, 1, "c@d",
     "", 0},
    {"mail-id: abcdef123456\r\nsender: <a@b>\r\n", 0, -1, 0, NULL, NULL, 0}, /* CR kept: bad */
    {"sender: <a@b>\n", 0, -1, 0, NULL, NULL, 0},
    {"mail-id: abcdef123456\n", 0, -1, 0, NULL, NULL, 0},
    {"mail-id: ABCDEF123456\nsender: <a@b>\n", 0, -1, 0, NULL, NULL, 0},
    {"mail-id: abcdef123456\nsender: a@b\n", 0, -1, 0, NULL, NULL, 0},
    {"mail-id: abcdef123456\nsender: <a@b>\nrcpt: c@d\n", 0, -1, 0, NULL, NULL, 0},
    {"mail-id: abcdef123456\nsender: <a@b>\nrcpt: <>\n", 0, -1, 0, NULL, NULL, 0},
    {"mail-id: abcdef123456\nsender: <a@b>\nret: MAYBE\n", 0, -1, 0, NULL, NULL, 0},
    {"mail-id: abcdef123456\nsender: <a@b>\ngarbage\n", 0, -1, 0, NULL, NULL, 0},
    {"mail-id: abcdef123456\nsender: <a\0b>\n", 36, -1, 0, NULL, NULL, 0},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct parse_case *c = &cases[i];
        struct quarantine_env q;
        char err[256] = "";
        int rc =
            quarantine_env_parse(c->text, c->len ? c->len : strlen(c->text), &q, err, sizeof(err));
        if (rc != c->rc)
            fail_msg("case %zu: rc %d (%s)", i, rc, err);
        if (rc == 0) {
            assert_int_equal(q.n_rcpts, c->n_rcpts);
            if (c->n_rcpts > 0) {
                assert_string_equal(q.rcpts[0].address, c->first_rcpt);
                assert_string_equal(q.rcpts[0].orcpt, c->first_orcpt);
                assert_int_equal(q.rcpts[0].notify, c->first_notify);
            }
            quarantine_env_free(&q);
        } else {
            assert_null(q.rcpts);
            assert_true(err[0] != '\0');
        }
    }
}

static void test_long_value(void **state)
{
    (void)state;
    char text[2048];
    int n = snprintf(text, sizeof(text), "mail-id: abcdef123456\nsender: <");
    memset(text + n, 'a', 400);
    snprintf(text + n + 400, sizeof(text) - (size_t)n - 400, "@b>\n");
    struct quarantine_env q;
    char err[256];
    assert_int_equal(quarantine_env_parse(text, strlen(text), &q, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_long_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
