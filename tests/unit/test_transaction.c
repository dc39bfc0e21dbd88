/*
 * test_transaction: the data path without a socket. The outcome
 * formatter (every kind's reply line, the SMTP summary), the delivery
 * stage (dispatch_run: Maildir, junk folder, one quarantine copy,
 * discard, reject untouched, a vanished Maildir; the DSN encoding), and
 * transaction_run() end to end with scanners off (LMTP and SMTP replies,
 * a message too big, a spool error, the report written), on real
 * directories under a fresh mkdtemp root.
 */
#include "common/outcome.h"
#include "common/xalloc.h"
#include "deliver/dispatch.h"
#include "deliver/dsn.h"
#include "lmtpd/transaction.h"
#include "scan/policy.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define MAIL_ID "abcdefghijkl"
#define MESSAGE "Subject: hi\r\nFrom: <s@example.org>\r\n\r\nHello.\r\n"

/* ---- the formatter ---------------------------------------------------- */

static void test_format_every_kind(void **state)
{
    (void)state;
    static const struct {
        enum outcome_kind kind;
        const char *detail;
        const char *line;
    } cases[] = {
        {OUTCOME_DELIVERED, NULL, "250 2.0.0 <a@x> " MAIL_ID " delivered"},
        {OUTCOME_RELAYED, "2.0.0 Ok: queued as 4F",
         "250 2.0.0 <a@x> " MAIL_ID " relayed (2.0.0 Ok: queued as 4F)"},
        {OUTCOME_QUARANTINED, NULL, "250 2.7.0 <a@x> quarantined " MAIL_ID},
        {OUTCOME_DISCARDED, NULL, "250 2.7.0 <a@x> discarded"},
        {OUTCOME_REJECTED_VIRUS, "Eicar-Test-Signature",
         "554 5.7.0 <a@x> rejected: virus Eicar-Test-Signature"},
        {OUTCOME_REJECTED_SPAM, NULL, "554 5.7.1 <a@x> rejected: spam"},
        {OUTCOME_REJECTED_UNCHECKED, "Heuristics.Limits.Exceeded.MaxRecursion",
         "554 5.7.0 <a@x> rejected: unchecked: Heuristics.Limits.Exceeded.MaxRecursion"},
        {OUTCOME_SCAN_FAILED, "timeout", "451 4.3.0 <a@x> scan failed, try again later"},
        {OUTCOME_DEFERRED, NULL, "451 4.3.0 <a@x> deferred with the message, try again later"},
        {OUTCOME_TOO_BIG, NULL, "552 5.3.4 <a@x> message too big"},
        {OUTCOME_NO_MAILBOX, "no such Maildir", "550 5.1.1 <a@x> User unknown (no mailbox)"},
        {OUTCOME_DISK_FULL, "ENOSPC", "452 4.3.1 <a@x> insufficient system storage"},
        {OUTCOME_LOCAL_ERROR, "EIO", "451 4.3.0 <a@x> local error, try again later"},
        {OUTCOME_RELAY_UNAVAILABLE, "connect: refused", "451 4.4.1 <a@x> relay unavailable"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct outcome o;
        char line[OUTCOME_LINE_MAX];
        outcome_set(&o, cases[i].kind, cases[i].detail);
        outcome_format(&o, "a@x", MAIL_ID, line, sizeof(line));
        assert_string_equal(line, cases[i].line);
    }

    struct outcome o;
    char line[OUTCOME_LINE_MAX];
    outcome_set_relay(&o, 550, "5.1.1", "5.1.1 <a@x>: User unknown");
    outcome_format(&o, "a@x", MAIL_ID, line, sizeof(line));
    assert_string_equal(line, "550 5.1.1 <a@x> relay refused (5.1.1 <a@x>: User unknown)");
    assert_true(outcome_is_delivery_failure(&o));
    outcome_set_relay(&o, 452, "", "too many");
    outcome_format(&o, "a@x", MAIL_ID, line, sizeof(line));
    assert_string_equal(line, "452 4.0.0 <a@x> relay refused (too many)");
    assert_false(outcome_is_delivery_failure(&o));
    outcome_set_errno(&o, EDQUOT, NULL);
    assert_int_equal(o.kind, OUTCOME_DISK_FULL);
    outcome_set(&o, OUTCOME_REJECTED_SPAM, NULL);
    assert_true(outcome_is_policy(&o));
    assert_false(outcome_is_delivery_failure(&o));
}

static void add(struct envelope *env, const char *addr, enum outcome_kind kind, const char *detail)
{
    struct recipient *r = envelope_add_rcpt(env);
    snprintf(r->address, sizeof(r->address), "%s", addr);
    outcome_set(&r->outcome, kind, detail);
}

static void test_smtp_summary(void **state)
{
    (void)state;
    char out[OUTCOME_LINE_MAX];
    struct envelope env;

    envelope_init(&env);
    snprintf(env.mail_id, sizeof(env.mail_id), MAIL_ID);
    add(&env, "a@x", OUTCOME_DELIVERED, NULL);
    add(&env, "b@x", OUTCOME_REJECTED_SPAM, NULL);
    outcome_smtp_summary(&env, false, out, sizeof(out));
    assert_string_equal(out, "250 2.0.0 Ok: queued as " MAIL_ID);
    outcome_smtp_summary(&env, true, out, sizeof(out));
    assert_string_equal(out, "451 4.4.1 Delivery status notification not sent, try again later");
    add(&env, "c@x", OUTCOME_SCAN_FAILED, NULL);
    outcome_smtp_summary(&env, false, out, sizeof(out));
    assert_string_equal(out, "451 4.3.0 <c@x> scan failed, try again later");
    envelope_free(&env);

    envelope_init(&env);
    add(&env, "a@x", OUTCOME_REJECTED_VIRUS, "Eicar");
    add(&env, "b@x", OUTCOME_REJECTED_VIRUS, "Eicar");
    outcome_smtp_summary(&env, false, out, sizeof(out));
    assert_string_equal(out, "554 5.7.0 <a@x> rejected: virus Eicar");
    add(&env, "c@x", OUTCOME_REJECTED_SPAM, NULL);
    outcome_smtp_summary(&env, false, out, sizeof(out));
    assert_string_equal(out, "554 5.7.1 Message rejected for all recipients");
    envelope_free(&env);

    envelope_init(&env);
    add(&env, "a@x", OUTCOME_TOO_BIG, NULL);
    outcome_smtp_summary(&env, false, out, sizeof(out));
    assert_string_equal(out, "552 5.3.4 Message size exceeds fixed limit");
    envelope_free(&env);
}

/* ---- a fixture with real directories --------------------------------- */

struct fixture {
    char tmp[256];
    char mail[300];
    struct config *cfg;
    struct envelope env;
    struct spool *spool;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(f->tmp, sizeof(f->tmp), "%s/test_transaction.XXXXXX", base);
    assert_non_null(mkdtemp(f->tmp));
    snprintf(f->mail, sizeof(f->mail), "%s/mail", f->tmp);
    char text[4096], err[512];
    snprintf(text, sizeof(text),
             "[server]\nlisten = inet:127.0.0.1:10024\nhostname = scan.example.net\n"
             "spool_dir = %s\n"
             "[clamav]\nenabled = no\n[spamd]\nenabled = no\n"
             "[deliver]\nmode = maildir\nmaildir = %s/%%d/%%n/Maildir\n"
             "quarantine_dir = %s\nrelay =\n"
             "[report]\ndir = %s\n",
             f->tmp, f->mail, f->tmp, f->tmp);
    assert_int_equal(config_load_string(text, "test.conf", &f->cfg, err, sizeof(err)), 0);
    envelope_init(&f->env);
    f->env.protocol = PROTO_LMTP;
    snprintf(f->env.helo, sizeof(f->env.helo), "client.example");
    snprintf(f->env.peer_addr, sizeof(f->env.peer_addr), "127.0.0.1");
    f->env.has_mail = true;
    snprintf(f->env.mail_from, sizeof(f->env.mail_from), "s@example.org");
    f->spool = spool_new(f->tmp);
    assert_int_equal(spool_write(f->spool, MESSAGE, strlen(MESSAGE)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    envelope_free(&f->env);
    spool_free(f->spool);
    config_free(f->cfg);
    (void)nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct recipient *rcpt(struct fixture *f, const char *local, enum action a)
{
    struct recipient *r = envelope_add_rcpt(&f->env);
    snprintf(r->address, sizeof(r->address), "%s@example.com", local);
    char path[600];
    snprintf(path, sizeof(path), "%s/example.com/%s/Maildir", f->mail, local);
    r->maildir = xstrdup(path);
    assert_int_equal(address_parse(&r->addr, r->address, strlen(r->address), "+", NULL),
                     ADDRESS_OK);
    r->policy = policy_lookup(f->cfg, &r->addr);
    r->verdict = VERDICT_CLEAN;
    r->action = a;
    return r;
}

/* Files in DIR (not counting . and ..); -1 when it does not exist. */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int count_in(struct fixture *f, const char *local, const char *sub)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/example.com/%s/Maildir/%s", f->mail, local, sub);
    return count_files(path);
}

static void test_dispatch_maildir(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(spool_finish(f->spool), 0);
    struct message_header mh;
    memset(&mh, 0, sizeof(mh));
    assert_int_equal(message_header_read(f->spool, &mh), 0);
    snprintf(f->env.mail_id, sizeof(f->env.mail_id), MAIL_ID);

    rcpt(f, "inbox", ACTION_DELIVER);
    rcpt(f, "junk", ACTION_JUNK);
    rcpt(f, "held1", ACTION_QUARANTINE);
    rcpt(f, "held2", ACTION_QUARANTINE);
    rcpt(f, "gone", ACTION_DISCARD);
    struct recipient *rej = rcpt(f, "rejected", ACTION_REJECT);
    outcome_set(&rej->outcome, OUTCOME_REJECTED_SPAM, NULL);
    struct dispatch_copy copies[6];
    for (size_t i = 0; i < 6; i++)
        copies[i] = (struct dispatch_copy){.block = "X-Test: 1\r\n", .block_len = 11};
    struct dispatch d = {
        .cfg = f->cfg,
        .env = &f->env,
        .msg = f->spool,
        .header = &mh,
        .copies = copies,
        .quarantine_reason = "spam",
    };
    dispatch_run(&d);

    assert_int_equal(f->env.rcpts[0].outcome.kind, OUTCOME_DELIVERED);
    assert_int_equal(count_in(f, "inbox", "new"), 1);
    assert_int_equal(f->env.rcpts[1].outcome.kind, OUTCOME_DELIVERED);
    assert_int_equal(count_in(f, "junk", ".Junk/new"), 1);
    assert_int_equal(count_in(f, "junk", "new"), 0);
    assert_int_equal(f->env.rcpts[2].outcome.kind, OUTCOME_QUARANTINED);
    assert_int_equal(f->env.rcpts[3].outcome.kind, OUTCOME_QUARANTINED);
    /* one quarantine copy (.eml + .env) for both */
    assert_string_equal(f->env.rcpts[2].destination, f->env.rcpts[3].destination);
    assert_int_equal(count_in(f, "held1", "new"), -1);
    assert_int_equal(f->env.rcpts[4].outcome.kind, OUTCOME_DISCARDED);
    assert_int_equal(count_in(f, "gone", "new"), -1);
    assert_int_equal(f->env.rcpts[5].outcome.kind, OUTCOME_REJECTED_SPAM);
    assert_int_equal(count_in(f, "rejected", "new"), -1);
    message_header_free(&mh);
}

static void test_dispatch_vanished_maildir_owes_dsn(void **state)
{
    struct fixture *f = *state;
    struct config *cfg = f->cfg;
    cfg->deliver.maildir_create = false;
    assert_int_equal(spool_finish(f->spool), 0);
    struct message_header mh;
    memset(&mh, 0, sizeof(mh));
    assert_int_equal(message_header_read(f->spool, &mh), 0);
    snprintf(f->env.mail_id, sizeof(f->env.mail_id), MAIL_ID);
    f->env.protocol = PROTO_SMTP;
    struct recipient *r = rcpt(f, "nobody", ACTION_DELIVER);
    struct dispatch_copy copy = {.block = "", .block_len = 0};
    struct dispatch d = {
        .cfg = cfg, .env = &f->env, .msg = f->spool, .header = &mh, .copies = &copy};
    dispatch_run(&d);
    assert_int_equal(r->outcome.kind, OUTCOME_NO_MAILBOX);
    assert_true(dsn_failed_recipient(r));
    /* the only recipient: 554 for the message, no DSN owed */
    assert_true(dispatch_notify_failures(cfg, &f->env, f->spool));
    /* with a delivered one beside it and no relay: the DSN cannot go */
    struct recipient *ok = envelope_add_rcpt(&f->env);
    snprintf(ok->address, sizeof(ok->address), "ok@example.com");
    outcome_set(&ok->outcome, OUTCOME_DELIVERED, NULL);
    assert_false(dispatch_notify_failures(cfg, &f->env, f->spool));
    /* NOTIFY=NEVER: nothing owed */
    f->env.rcpts[0].notify = DSN_NOTIFY_NEVER;
    assert_true(dispatch_notify_failures(cfg, &f->env, f->spool));
    message_header_free(&mh);
}

static void test_dsn_encoding(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(spool_finish(f->spool), 0);
    struct recipient *r = rcpt(f, "x", ACTION_DELIVER);
    outcome_set_relay(&r->outcome, 550, "5.1.1", "unknown");
    bool utf8, eight;
    dsn_encoding(&f->env, f->spool, &utf8, &eight);
    assert_false(utf8);
    assert_false(eight);
    snprintf(r->orcpt, sizeof(r->orcpt), "utf-8;bj\xc3\xb8rn@example.com");
    dsn_encoding(&f->env, f->spool, &utf8, &eight);
    assert_true(utf8);
    assert_true(eight);
    r->orcpt[0] = '\0';
    outcome_set_relay(&r->outcome, 550, "5.1.1", "unbekannt: M\xc3\xbcller");
    dsn_encoding(&f->env, f->spool, &utf8, &eight);
    assert_false(utf8);
    assert_true(eight);
}

/* ---- transaction_run ---------------------------------------------------- */

static void test_run_lmtp_delivers_each(void **state)
{
    struct fixture *f = *state;
    rcpt(f, "a", ACTION_DELIVER);
    rcpt(f, "b", ACTION_DELIVER);
    struct transaction t = {.cfg = f->cfg, .env = &f->env, .spool = f->spool};
    char smtp[OUTCOME_LINE_MAX] = "x";
    transaction_run(&t, DATA_OK, 0, smtp, sizeof(smtp));
    assert_string_equal(smtp, "");
    assert_int_equal(strlen(f->env.mail_id), 12);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(f->env.rcpts[i].outcome.kind, OUTCOME_DELIVERED);
        assert_int_equal(f->env.rcpts[i].verdict, VERDICT_UNCHECKED);
        assert_non_null(f->env.rcpts[i].destination);
    }
    assert_int_equal(count_in(f, "a", "new"), 1);
    assert_int_equal(count_in(f, "b", "new"), 1);
}

static void test_run_smtp_one_reply(void **state)
{
    struct fixture *f = *state;
    f->env.protocol = PROTO_SMTP;
    rcpt(f, "a", ACTION_DELIVER);
    struct transaction t = {.cfg = f->cfg, .env = &f->env, .spool = f->spool};
    char smtp[OUTCOME_LINE_MAX];
    transaction_run(&t, DATA_OK, 0, smtp, sizeof(smtp));
    char want[OUTCOME_LINE_MAX];
    snprintf(want, sizeof(want), "250 2.0.0 Ok: queued as %s", f->env.mail_id);
    assert_string_equal(smtp, want);
}

static void test_run_too_big_and_spool_error(void **state)
{
    struct fixture *f = *state;
    rcpt(f, "a", ACTION_DELIVER);
    struct transaction t = {.cfg = f->cfg, .env = &f->env, .spool = f->spool};
    char smtp[OUTCOME_LINE_MAX];
    transaction_run(&t, DATA_TOO_BIG, 0, smtp, sizeof(smtp));
    assert_int_equal(f->env.rcpts[0].outcome.kind, OUTCOME_TOO_BIG);
    assert_int_equal(count_in(f, "a", "new"), -1);

    f->env.protocol = PROTO_SMTP;
    transaction_run(&t, DATA_SPOOL_ERROR, ENOSPC, smtp, sizeof(smtp));
    assert_int_equal(f->env.rcpts[0].outcome.kind, OUTCOME_DISK_FULL);
    assert_string_equal(smtp, "452 4.3.1 <a@example.com> insufficient system storage");
    assert_int_equal(count_in(f, "a", "new"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_every_kind),
        cmocka_unit_test(test_smtp_summary),
        cmocka_unit_test_setup_teardown(test_dispatch_maildir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_vanished_maildir_owes_dsn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dsn_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_lmtp_delivers_each, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_smtp_one_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_too_big_and_spool_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
