/*
 * test_clamav: the libclamav side of the scanning stage with a real engine
 * built from the test signature database (tests/make-test-signatures.sh):
 * detections in mail, limits, in-memory and on-disk spools, reload while a
 * scan holds the old engine, failed reloads, the database watcher, the
 * scan-memory budget, and scan_message with ClamAV only.
 */
#include "common/clock.h"
#include "scan/clamav_engine.h"
#include "scan/policy.h"
#include "scan/scan.h"
#include "scan/scan_budget.h"

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

#define TESTFILES "/usr/share/clamav-testfiles"
#define EICAR_B64                                                                                  \
    "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo="

static char tmpdir[] = "/tmp/lmtpscan-test-clamav-XXXXXX";
static char dbdir[512];   /* both signature files */
static char hdbonly[512]; /* only test.hdb (no EICAR) */

static int run(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), fmt, a, b);
    return system(cmd);
}

static int group_setup(void **state)
{
    (void)state;
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(dbdir, sizeof(dbdir), "%s/db", tmpdir);
    snprintf(hdbonly, sizeof(hdbonly), "%s/hdbonly", tmpdir);
    if (run("sh '%s/tests/make-test-signatures.sh' '%s'", LMTPSCAN_SOURCE_DIR, dbdir) != 0)
        return -1;
    if (mkdir(hdbonly, 0700) < 0 || run("cp '%s/test.hdb' '%s/'", dbdir, hdbonly) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return run("rm -rf '%s'%s", tmpdir, "");
}

static struct config *make_config(const char *db)
{
    struct config *cfg = calloc(1, sizeof(*cfg));
    assert_non_null(cfg);
    cfg->server.scan_timeout = 60;
    snprintf(cfg->server.spool_dir, sizeof(cfg->server.spool_dir), "%s", tmpdir);
    cfg->clamav.enabled = true;
    snprintf(cfg->clamav.database, sizeof(cfg->clamav.database), "%s", db);
    cfg->clamav.reload = RELOAD_CONCURRENT;
    cfg->clamav.max_scan_size = 100 * 1024 * 1024;
    cfg->clamav.max_file_size = 25 * 1024 * 1024;
    cfg->clamav.max_recursion = 16;
    cfg->clamav.max_files = 10000;
    cfg->clamav.scan_memory = 1024 * 1024 * 1024;
    cfg->spamd.enabled = false;
    snprintf(cfg->deliver.recipient_delimiter, sizeof(cfg->deliver.recipient_delimiter), "+");
    return cfg;
}

static struct spool *spool_bytes(const char *data, size_t len)
{
    struct spool *sp = spool_new(tmpdir);
    assert_non_null(sp);
    assert_int_equal(spool_write(sp, data, len), 0);
    assert_int_equal(spool_finish(sp), 0);
    return sp;
}

static struct spool *spool_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n;
    struct spool *sp = spool_new(tmpdir);

    assert_non_null(f);
    assert_non_null(sp);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        assert_int_equal(spool_write(sp, buf, n), 0);
    fclose(f);
    assert_int_equal(spool_finish(sp), 0);
    return sp;
}

/* A mail with a text part of pad bytes and the EICAR string as a base64
 * attachment. */
static struct spool *eicar_mail(size_t pad)
{
    struct spool *sp = spool_new(tmpdir);
    const char *head = "From: a@example.com\r\nTo: b@example.com\r\nSubject: test\r\n"
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n"
                       "--BOUNDARY\r\nContent-Type: text/plain\r\n\r\n";
    const char *tail = "\r\n--BOUNDARY\r\n"
                       "Content-Type: application/octet-stream; name=\"eicar.com\"\r\n"
                       "Content-Transfer-Encoding: base64\r\n"
                       "Content-Disposition: attachment; filename=\"eicar.com\"\r\n\r\n" EICAR_B64
                       "\r\n--BOUNDARY--\r\n";
    const char *line = "The quick brown fox jumps over the lazy dog again and again.\r\n";

    assert_non_null(sp);
    assert_int_equal(spool_write(sp, head, strlen(head)), 0);
    for (size_t done = 0; done < pad; done += strlen(line))
        assert_int_equal(spool_write(sp, line, strlen(line)), 0);
    assert_int_equal(spool_write(sp, tail, strlen(tail)), 0);
    assert_int_equal(spool_finish(sp), 0);
    return sp;
}

static const char plain_mail[] = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\n"
                                 "Message-ID: <1@example.com>\r\n\r\nJust a plain mail.\r\n";

/* plain_mail with `lines` more body lines of 44 bytes. */
static struct spool *padded_plain_mail(int lines)
{
    struct spool *sp = spool_new(tmpdir);
    assert_non_null(sp);
    assert_int_equal(spool_write(sp, plain_mail, sizeof(plain_mail) - 1), 0);
    for (int i = 0; i < lines; i++)
        assert_int_equal(spool_write(sp, "more text, nothing to see here............\r\n", 44), 0);
    assert_int_equal(spool_finish(sp), 0);
    return sp;
}

static struct clamav_engine *engine_for(const struct config *cfg)
{
    struct clamav_settings s;
    char err[512] = "";
    clamav_settings_from_config(cfg, &s);
    struct clamav_engine *ce = clamav_engine_new(&s, err, sizeof(err));
    if (ce == NULL)
        fail_msg("engine: %s", err);
    return ce;
}

/* Clears r for the next scan, freeing the file inventory the last one
 * filled. */
static void reset_result(struct clamav_result *r)
{
    file_inventory_free(&r->inventory);
    memset(r, 0, sizeof(*r));
}

static void scan_with(struct clamav_engine *ce, struct spool *sp, enum clamav_status want,
                      const char *name)
{
    struct clamav_result r = {0};
    unsigned sigs = 0;

    reset_result(&r);
    clamav_engine_scan(ce, sp, &r, &sigs);
    if (r.status != want)
        fail_msg("status %d (virus \"%s\", reason \"%s\"), expected %d", r.status, r.virus,
                 r.reason, want);
    if (name != NULL && want == CLAMAV_INFECTED)
        assert_string_equal(r.virus, name);
    assert_true(sigs > 0);
    reset_result(&r);
}

static void test_detections(void **state)
{
    (void)state;
    struct config *cfg = make_config(dbdir);
    struct clamav_engine *ce = engine_for(cfg);
    struct spool *sp;

    sp = spool_file(TESTFILES "/clam.mail");
    scan_with(ce, sp, CLAMAV_INFECTED, "ClamAV-Test-File.UNOFFICIAL");
    spool_free(sp);

    sp = spool_file(TESTFILES "/clam.exe.mbox.base64");
    scan_with(ce, sp, CLAMAV_INFECTED, "ClamAV-Test-File.UNOFFICIAL");
    spool_free(sp);

    sp = eicar_mail(0);
    assert_true(spool_fd(sp) < 0); /* in memory */
    scan_with(ce, sp, CLAMAV_INFECTED, "Eicar-Test-Signature.UNOFFICIAL");
    spool_free(sp);

    sp = spool_bytes(plain_mail, sizeof(plain_mail) - 1);
    scan_with(ce, sp, CLAMAV_CLEAN, NULL);
    spool_free(sp);

    sp = spool_bytes("", 0);
    scan_with(ce, sp, CLAMAV_CLEAN, NULL);
    spool_free(sp);

    clamav_engine_free(ce);
    free(cfg);
}

static void test_on_disk_spool(void **state)
{
    (void)state;
    struct config *cfg = make_config(dbdir);
    struct clamav_engine *ce = engine_for(cfg);
    struct spool *sp = eicar_mail(200 * 1024);

    assert_true(spool_size(sp) > SPOOL_MEMORY);
    assert_true(spool_fd(sp) >= 0);
    scan_with(ce, sp, CLAMAV_INFECTED, "Eicar-Test-Signature.UNOFFICIAL");
    spool_free(sp);

    /* a large clean one */
    sp = padded_plain_mail(3000);
    assert_true(spool_fd(sp) >= 0);
    scan_with(ce, sp, CLAMAV_CLEAN, NULL);
    spool_free(sp);

    clamav_engine_free(ce);
    free(cfg);
}

static void test_limits(void **state)
{
    (void)state;
    struct config *cfg = make_config(dbdir);
    struct clamav_result r = {0};
    cfg->clamav.max_file_size = 200;
    cfg->clamav.max_scan_size = 200;
    struct clamav_engine *ce = engine_for(cfg);
    struct spool *sp;

    /* over max_file_size / max_scan_size: limits, never clean or virus */
    sp = padded_plain_mail(20);
    reset_result(&r);
    clamav_engine_scan(ce, sp, &r, NULL);
    assert_int_equal(r.status, CLAMAV_LIMITS);
    assert_string_equal(r.reason, "Heuristics.Limits.Exceeded.MaxFileSize");
    assert_string_equal(r.virus, "");
    spool_free(sp);

    sp = spool_file(TESTFILES "/clam.mail");
    reset_result(&r);
    clamav_engine_scan(ce, sp, &r, NULL);
    assert_int_equal(r.status, CLAMAV_LIMITS);
    assert_string_equal(r.reason, "Heuristics.Limits.Exceeded.MaxFileSize");
    assert_string_equal(r.virus, "");
    spool_free(sp);

    sp = eicar_mail(200 * 1024);
    reset_result(&r);
    clamav_engine_scan(ce, sp, &r, NULL);
    assert_int_equal(r.status, CLAMAV_LIMITS);
    assert_string_equal(r.reason, "Heuristics.Limits.Exceeded.MaxFileSize");
    assert_string_equal(r.virus, "");
    spool_free(sp);

    reset_result(&r);
    clamav_engine_free(ce);
    free(cfg);
}

static void test_reload_swaps(void **state)
{
    (void)state;
    char db[600], err[512], why[256];
    bool loading;
    snprintf(db, sizeof(db), "%s/swap", tmpdir);
    assert_int_equal(run("mkdir -p '%s' && cp '%s/test.hdb' \"$0\"", db, hdbonly), 0);
    assert_int_equal(run("cp '%s/test.hdb' '%s/'", hdbonly, db), 0);
    struct config *cfg = make_config(db);
    struct clamav_engine *ce = engine_for(cfg);
    struct spool *eicar = eicar_mail(0), *clam = spool_file(TESTFILES "/clam.mail");
    struct clamav_result r = {0};

    struct clamav_ref *old = clamav_engine_acquire(ce, why, sizeof(why), &loading);
    assert_non_null(old);
    assert_int_equal(clamav_ref_signatures(old), 1);

    assert_int_equal(run("cp '%s/test.ndb' '%s/'", dbdir, db), 0);
    assert_int_equal(clamav_engine_reload(ce, NULL, err, sizeof(err)), 0);

    struct clamav_ref *cur = clamav_engine_acquire(ce, why, sizeof(why), &loading);
    assert_non_null(cur);
    assert_ptr_not_equal(cur, old);
    assert_int_equal(clamav_ref_signatures(cur), 2);

    /* the scan holding the old engine still works with the old signatures */
    reset_result(&r);
    clamav_ref_scan(old, eicar, &r);
    assert_int_equal(r.status, CLAMAV_CLEAN);
    reset_result(&r);
    clamav_ref_scan(old, clam, &r);
    assert_int_equal(r.status, CLAMAV_INFECTED);
    reset_result(&r);
    clamav_ref_scan(cur, eicar, &r);
    assert_int_equal(r.status, CLAMAV_INFECTED);
    clamav_engine_release(ce, old); /* frees the old engine (ASan checks) */
    clamav_engine_release(ce, cur);

    /* a reload that fails keeps the running engine */
    assert_int_equal(run("printf 'garbage without a signature\\n' > '%s/bad.ndb'%s", db, ""), 0);
    err[0] = '\0';
    assert_int_equal(clamav_engine_reload(ce, NULL, err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
    reset_result(&r);
    clamav_engine_scan(ce, eicar, &r, NULL);
    assert_int_equal(r.status, CLAMAV_INFECTED);

    /* same in blocking mode: no engine, an error (never clean), and a
     * later good reload recovers */
    struct clamav_settings s;
    cfg->clamav.reload = RELOAD_BLOCKING;
    clamav_settings_from_config(cfg, &s);
    assert_int_equal(clamav_engine_reload(ce, &s, err, sizeof(err)), -1);
    reset_result(&r);
    clamav_engine_scan(ce, eicar, &r, NULL);
    assert_int_equal(r.status, CLAMAV_ERROR);
    assert_false(r.engine_loading);
    assert_int_equal(run("rm '%s/bad.ndb'%s", db, ""), 0);
    assert_int_equal(clamav_engine_reload(ce, &s, err, sizeof(err)), 0);
    reset_result(&r);
    clamav_engine_scan(ce, eicar, &r, NULL);
    assert_int_equal(r.status, CLAMAV_INFECTED);

    spool_free(eicar);
    spool_free(clam);
    reset_result(&r);
    clamav_engine_free(ce);
    free(cfg);
}

static void test_bad_database(void **state)
{
    (void)state;
    char err[512] = "";
    struct config *cfg = make_config("/nonexistent/clamav-db");
    struct clamav_settings s;
    clamav_settings_from_config(cfg, &s);
    assert_null(clamav_engine_new(&s, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/clamav-db"));
    free(cfg);
}

static void test_watcher(void **state)
{
    (void)state;
    char db[600], why[256];
    bool loading;
    snprintf(db, sizeof(db), "%s/watch", tmpdir);
    assert_int_equal(run("mkdir -p '%s' && cp '%s/test.hdb' \"$0\"", db, hdbonly), 0);
    assert_int_equal(run("cp '%s/test.hdb' '%s/'", hdbonly, db), 0);
    struct config *cfg = make_config(db);
    cfg->clamav.reload_check = 1;
    struct clamav_engine *ce = engine_for(cfg);

    assert_int_equal(run("cp '%s/test.ndb' '%s/'", dbdir, db), 0);
    unsigned sigs = 0;
    for (int i = 0; i < 100 && sigs != 2; i++) {
        usleep(100 * 1000);
        struct clamav_ref *ref = clamav_engine_acquire(ce, why, sizeof(why), &loading);
        if (ref != NULL) {
            sigs = clamav_ref_signatures(ref);
            clamav_engine_release(ce, ref);
        }
    }
    assert_int_equal(sigs, 2);
    clamav_engine_free(ce); /* stops the watcher */
    free(cfg);
}

/* ---- scan budget ------------------------------------------------------ */

struct budget_waiter {
    struct scan_budget *b;
    uint64_t amount;
    int rc;
};

static void *budget_thread(void *arg)
{
    struct budget_waiter *w = arg;
    struct timespec dl = deadline_after_ms(5000);
    w->rc = scan_budget_reserve(w->b, w->amount, &dl);
    return NULL;
}

static void test_budget(void **state)
{
    (void)state;
    struct scan_budget b;
    struct timespec dl;
    pthread_t th;
    struct budget_waiter w;

    assert_int_equal(scan_budget_estimate(10), SCAN_BUDGET_MIN);
    assert_int_equal(scan_budget_estimate(1000000), 3000000);

    scan_budget_init(&b, 1000);
    dl = deadline_after_ms(100);
    assert_int_equal(scan_budget_reserve(&b, 600, &dl), 0);
    dl = deadline_after_ms(100);
    assert_int_equal(scan_budget_reserve(&b, 600, &dl), -1); /* does not fit: timeout */
    dl = deadline_after_ms(100);
    assert_int_equal(scan_budget_reserve(&b, 400, &dl), 0);

    /* a waiter gets in when the others release */
    w = (struct budget_waiter){&b, 700, 99};
    assert_int_equal(pthread_create(&th, NULL, budget_thread, &w), 0);
    usleep(100 * 1000);
    scan_budget_release(&b, 600);
    scan_budget_release(&b, 400);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(w.rc, 0);
    scan_budget_release(&b, 700);

    /* larger than the whole budget: only alone, and then it is granted */
    dl = deadline_after_ms(100);
    assert_int_equal(scan_budget_reserve(&b, 10, &dl), 0);
    dl = deadline_after_ms(100);
    assert_int_equal(scan_budget_reserve(&b, 5000, &dl), -1);
    scan_budget_release(&b, 10);
    dl = deadline_after_ms(100);
    assert_int_equal(scan_budget_reserve(&b, 5000, &dl), 0);
    dl = deadline_after_ms(100);
    assert_int_equal(scan_budget_reserve(&b, 10, &dl), -1);
    scan_budget_release(&b, 5000);
    scan_budget_destroy(&b);
}

/* ---- scan_message with ClamAV only ------------------------------------ */

static void test_scan_message(void **state)
{
    (void)state;
    struct config *cfg = make_config(dbdir);
    struct policy pols[2];
    char err[512];
    struct envelope env;
    struct scan_result res;

    memset(pols, 0, sizeof(pols));
    snprintf(pols[0].name, sizeof(pols[0].name), "default");
    pols[0].virus_scan = true;
    pols[0].spam_scan = true;
    pols[0].virus_action = ACTION_REJECT;
    pols[0].scan_error_action = ACTION_TEMPFAIL;
    pols[0].spam_mark_level = 5;
    pols[0].spam_block_level = 15;
    pols[1] = pols[0];
    snprintf(pols[1].name, sizeof(pols[1].name), "noscan");
    pols[1].virus_scan = false;
    cfg->policies = pols;
    cfg->n_policies = 2;

    struct scan_engine *se = scan_engine_new(cfg, err, sizeof(err));
    assert_non_null(se);
    envelope_init(&env);
    struct recipient *r = envelope_add_rcpt(&env);
    snprintf(r->address, sizeof(r->address), "a@example.com");
    r->policy = &pols[0];
    r = envelope_add_rcpt(&env);
    snprintf(r->address, sizeof(r->address), "b@example.com");
    r->policy = &pols[1];

    struct spool *sp = eicar_mail(100 * 1024);
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    assert_int_equal(res.clamav.status, CLAMAV_INFECTED);
    assert_string_equal(res.clamav.virus, "Eicar-Test-Signature.UNOFFICIAL");
    assert_int_equal(res.clamav_signatures, 2);
    assert_true(res.clamav_version[0] >= '0' && res.clamav_version[0] <= '9');
    assert_int_equal(res.n_spamd, 0); /* spamd disabled */
    assert_true(res.rcpt_spamd[0] == SIZE_MAX && res.rcpt_spamd[1] == SIZE_MAX);
    policy_decide(&env, &res);
    assert_int_equal(env.rcpts[0].verdict, VERDICT_VIRUS);
    assert_int_equal(env.rcpts[0].action, ACTION_REJECT);
    assert_int_equal(env.rcpts[1].verdict, VERDICT_UNCHECKED);
    assert_int_equal(env.rcpts[1].action, ACTION_DELIVER);
    scan_result_free(&res);

    /* no recipient wants ClamAV: not run */
    env.rcpts[0].policy = &pols[1];
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    assert_int_equal(res.clamav.status, CLAMAV_NOT_RUN);
    scan_result_free(&res);

    /* reload through the scan API with a new configuration */
    cfg->clamav.database[0] = '\0';
    snprintf(cfg->clamav.database, sizeof(cfg->clamav.database), "%s", hdbonly);
    assert_int_equal(scan_engine_reload(se, cfg, err, sizeof(err)), 0);
    env.rcpts[0].policy = &pols[0];
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    assert_int_equal(res.clamav.status, CLAMAV_CLEAN);
    assert_int_equal(res.clamav_signatures, 1);
    scan_result_free(&res);

    /* ClamAV disabled by a reload */
    cfg->clamav.enabled = false;
    assert_int_equal(scan_engine_reload(se, cfg, err, sizeof(err)), 0);
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    assert_int_equal(res.clamav.status, CLAMAV_NOT_RUN);
    scan_result_free(&res);

    spool_free(sp);
    envelope_free(&env);
    scan_engine_free(se);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detections),   cmocka_unit_test(test_on_disk_spool),
        cmocka_unit_test(test_limits),       cmocka_unit_test(test_reload_swaps),
        cmocka_unit_test(test_bad_database), cmocka_unit_test(test_watcher),
        cmocka_unit_test(test_budget),       cmocka_unit_test(test_scan_message),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
