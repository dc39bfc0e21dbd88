/*
 * test_banned: the pure parts of banned-content checking (SPEC section
 * 10): glob and double-extension matching, MIME name decoding (RFC 2231
 * continuations, RFC 2231/2047 charsets), the inventory's bound, the
 * inventory built from libclamav-like callback sequences, the decision
 * (banned/encrypted per recipient, virus first) and its replies, and the
 * configuration keys.
 */
#include "common/clamav_types.h"
#include "common/content_rules.h"
#include "common/file_inventory.h"
#include "scan/file_collect.h"
#include "scan/mime_names.h"
#include "scan/policy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- glob and double extension ------------------------------------------ */

static void test_glob(void **state)
{
    (void)state;
    static const struct {
        const char *glob, *name;
        bool match;
    } cases[] = {
        {"*.exe", "setup.exe", true},
        {"*.exe", "Invoice.EXE", true},
        {"*.exe", "trailing.exe.", true},
        {"*.exe", "blank.exe  ", true},
        {"*.exe", "setup.exe.txt", false},
        {"*.exe", "exe", false},
        {"*.js", "a.json", false},
        {"*{\?\?\?\?\?\?\?\?-\?\?\?\?-\?\?\?\?-\?\?\?\?-\?\?\?\?\?\?\?\?\?\?\?\?}",
         "x.{3050f4d8-98b5-11cf-bb82-00aa00bdce0b}", true},
        {"*{\?\?\?\?\?\?\?\?-\?\?\?\?-\?\?\?\?-\?\?\?\?-\?\?\?\?\?\?\?\?\?\?\?\?}", "x.{3050f4d8}",
         false},
        {"*.docm", "report.DocM", true},
        {"r?sum?.scr", "resume.scr", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (content_glob_match(cases[i].glob, cases[i].name) != cases[i].match)
            fail_msg("%s ~ %s: expected %d", cases[i].glob, cases[i].name, cases[i].match);
}

static void test_double_extension(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool match;
    } cases[] = {
        {"invoice.pdf.exe", true},
        {"INVOICE.PDF.EXE", true},
        {"photo.jpg.scr", true},
        {"a.doc.js", true},
        {"x.pdf.exe.", true},
        {"setup.exe", false},
        {"report.pdf", false},
        {"archive.tar.gz", false},
        {".hidden.exe", false},
        {"a..exe", false},
        {"exe", false},
        {"a.txt.vbs  ", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (content_double_extension(cases[i].name) != cases[i].match)
            fail_msg("%s: expected %d", cases[i].name, cases[i].match);
}

/* ---- MIME names ------------------------------------------------------------- */

struct found {
    char names[8][MIME_NAME_MAX + 1];
    bool undecodable[8];
    size_t n;
};

static void collect_name(void *arg, const char *name, size_t len, bool undecodable)
{
    struct found *f = arg;
    if (f->n >= 8)
        return;
    snprintf(f->names[f->n], sizeof(f->names[f->n]), "%.*s", (int)len, name);
    f->undecodable[f->n++] = undecodable;
}

static void test_mime_field(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        const char *name;
        bool undecodable;
    } cases[] = {
        {" application/octet-stream; name=\"plain.exe\"", "plain.exe", false},
        {" attachment; filename=token.exe", "token.exe", false},
        {" attachment; filename*0*=UTF-8''%65vil.e; filename*1*=xe", "evil.exe", false},
        {" attachment; filename*0=\"cd4.e\"; filename*1=\"xe\"", "cd4.exe", false},
        /* pieces out of order are joined in index order */
        {" attachment; filename*1=\"xe\"; filename*0=\"ord.e\"", "ord.exe", false},
        {" attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.scr", "r\xc3\xa9sum\xc3\xa9.scr", false},
        {" attachment; filename*=iso-8859-1'fr'r%E9sum%E9.scr", "r\xc3\xa9sum\xc3\xa9.scr", false},
        {" attachment; filename=\"=?UTF-8?B?cmVjaG51bmcucGRmLmV4ZQ==?=\"", "rechnung.pdf.exe",
         false},
        {" attachment; filename=\"=?ISO-8859-1?Q?r=E9sum=E9.scr?=\"", "r\xc3\xa9sum\xc3\xa9.scr",
         false},
        /* a missing piece, an unknown charset, an encoded word not decoded */
        {" attachment; filename*0=\"gap.e\"; filename*2=\"xe\"", "gap.exe", true},
        {" attachment; filename*=x-no-such-charset''a.exe", "a.exe", true},
        {" attachment; filename=\"=?x-no-such?B?YS5leGU=?=\"", "=?x-no-such?B?YS5leGU=?=", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct found f;
        memset(&f, 0, sizeof(f));
        mime_names_field(cases[i].value, strlen(cases[i].value), collect_name, &f);
        if (f.n != 1 || strcmp(f.names[0], cases[i].name) != 0 ||
            f.undecodable[0] != cases[i].undecodable)
            fail_msg("case %zu (%s): got %zu names, first \"%s\" undecodable=%d", i, cases[i].value,
                     f.n, f.n ? f.names[0] : "", f.n ? f.undecodable[0] : -1);
    }
}

static void test_mime_scan(void **state)
{
    (void)state;
    const char *msg = "From: a@b\r\n"
                      "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
                      "\r\n"
                      "--XX\r\n"
                      "Content-Type: application/octet-stream;\r\n"
                      "\tname*0=\"ct3.e\";\r\n"
                      " name*1=\"xe\"\r\n"
                      "Content-Disposition: attachment\r\n"
                      "\r\n"
                      "QUJD\r\n"
                      "--XX\r\n"
                      "content-disposition: attachment; filename=\"b.txt\"\r\n"
                      "\r\n"
                      "Content-Type is only text here, no parameters\r\n"
                      "--XX--\r\n";
    struct found f;
    memset(&f, 0, sizeof(f));
    mime_names_scan(msg, strlen(msg), collect_name, &f);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.names[0], "ct3.exe");
    assert_string_equal(f.names[1], "b.txt");
}

/* ---- inventory -------------------------------------------------------------- */

static void test_inventory_bound(void **state)
{
    (void)state;
    struct file_inventory inv;
    file_inventory_init(&inv, 3);
    for (int i = 0; i < 3; i++)
        assert_true(file_inventory_add(&inv, "a.zip", 5, "x.txt", 5, CLAMAV_TYPE_UNKNOWN, 0, 2) ==
                    i);
    assert_false(inv.overflow);
    assert_int_equal(file_inventory_add(&inv, "", 0, "y.exe", 5, CLAMAV_TYPE_UNKNOWN, 0, 1), -1);
    assert_true(inv.overflow);
    assert_int_equal(inv.n, 3);
    assert_string_equal(file_inventory_path(&inv, 0), "a.zip/x.txt");
    assert_string_equal(file_inventory_name(&inv, 0), "x.txt");
    file_inventory_free(&inv);

    /* an overlong name keeps its end, the extension */
    char name[3000];
    memset(name, 'a', sizeof(name));
    memcpy(name + sizeof(name) - 5, ".exe", 5);
    file_inventory_init(&inv, 10);
    assert_int_equal(file_inventory_add(&inv, "", 0, name, strlen(name), -1, 0, 1), 0);
    assert_true(strlen(file_inventory_path(&inv, 0)) <= INVENTORY_PATH_MAX);
    assert_true(content_glob_match("*.exe", file_inventory_name(&inv, 0)));
    file_inventory_free(&inv);

    /* a NUL in a decoded name does not hide the extension after it */
    file_inventory_init(&inv, 10);
    assert_int_equal(file_inventory_add(&inv, "", 0, "x.txt\0.exe", 10, -1, 0, 1), 0);
    assert_string_equal(file_inventory_name(&inv, 0), "x.txt?.exe");
    assert_true(content_glob_match("*.exe", file_inventory_name(&inv, 0)));
    file_inventory_free(&inv);
}

static long find_path(const struct file_inventory *inv, const char *path)
{
    for (size_t i = 0; i < inv->n; i++)
        if (strcmp(file_inventory_path(inv, i), path) == 0)
            return (long)i;
    return -1;
}

/* The sequence libclamav 1.4 gives for a mail with outer.zip (docs/,
 * docs/readme.txt, docs/invoice.pdf.exe, inner.zip holding an ELF), an
 * encrypted zip, and a tar.gz: members are listed (twice for zip) before
 * they are inspected, inspected files of zips carry base names only. */
static void test_collect_sequence(void **state)
{
    (void)state;
    struct file_inventory inv;
    struct file_collect fc;
    const char *mail = "Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\n"
                       "Content-Disposition: attachment; filename=\"outer.zip\"\r\n\r\n--X--\r\n";
    file_inventory_init(&inv, 100);
    file_collect_init(&fc, &inv);

    file_collect_inspect(&fc, "CL_TYPE_MAIL", NULL, 0, mail, strlen(mail));
    file_collect_listed(&fc, "CL_TYPE_MAIL", "outer.zip", 0);
    file_collect_inspect(&fc, "CL_TYPE_ZIP", "outer.zip", 1, NULL, 0);
    for (int twice = 0; twice < 2; twice++) {
        file_collect_listed(&fc, "CL_TYPE_ZIP", "docs/", 0);
        file_collect_listed(&fc, "CL_TYPE_ZIP", "docs/readme.txt", 0);
    }
    for (int twice = 0; twice < 2; twice++)
        file_collect_listed(&fc, "CL_TYPE_ZIP", "docs/invoice.pdf.exe", 0);
    for (int twice = 0; twice < 2; twice++)
        file_collect_listed(&fc, "CL_TYPE_ZIP", "inner.zip", 0);
    file_collect_inspect(&fc, "CL_TYPE_TEXT_ASCII", "readme.txt", 2, NULL, 0);
    file_collect_inspect(&fc, "CL_TYPE_MSEXE", "invoice.pdf.exe", 2, NULL, 0);
    file_collect_inspect(&fc, "CL_TYPE_MSEXE", NULL, 3, NULL, 0); /* an unpacked layer */
    file_collect_inspect(&fc, "CL_TYPE_ZIP", "inner.zip", 2, NULL, 0);
    file_collect_listed(&fc, "CL_TYPE_ZIP", "prog", 0);
    file_collect_inspect(&fc, "CL_TYPE_ELF", "prog", 3, NULL, 0);
    file_collect_listed(&fc, "CL_TYPE_MAIL", "enc.zip", 0);
    file_collect_inspect(&fc, "CL_TYPE_ZIP", "enc.zip", 1, NULL, 0);
    file_collect_listed(&fc, "CL_TYPE_ZIP", "s.txt", 1);
    file_collect_listed(&fc, "CL_TYPE_ZIP", "s.txt", 1);
    file_collect_listed(&fc, "CL_TYPE_MAIL", "t.tar.gz", 0);
    file_collect_inspect(&fc, "CL_TYPE_GZ", "t.tar.gz", 1, NULL, 0);
    file_collect_inspect(&fc, "CL_TYPE_POSIX_TAR", NULL, 2, NULL, 0);
    file_collect_listed(&fc, "CL_TYPE_POSIX_TAR", "docs/x.pdf.exe", 0);
    file_collect_inspect(&fc, "CL_TYPE_MSEXE", "docs/x.pdf.exe", 3, NULL, 0);

    long exe = find_path(&inv, "outer.zip/docs/invoice.pdf.exe");
    assert_true(exe >= 0);
    assert_string_equal(clamav_type_name(inv.files[exe].type), "CL_TYPE_MSEXE");
    assert_string_equal(file_inventory_name(&inv, (size_t)exe), "invoice.pdf.exe");
    /* listed and inspected: one entry, not two */
    assert_int_equal(find_path(&inv, "outer.zip/invoice.pdf.exe"), -1);
    long elf = find_path(&inv, "outer.zip/inner.zip/prog");
    assert_true(elf >= 0);
    assert_string_equal(clamav_type_name(inv.files[elf].type), "CL_TYPE_ELF");
    long enc = find_path(&inv, "enc.zip/s.txt");
    assert_true(enc >= 0);
    assert_true(inv.files[enc].flags & FILE_ENCRYPTED);
    assert_int_equal(content_first_encrypted(&inv), enc);
    long tar = find_path(&inv, "t.tar.gz/docs/x.pdf.exe");
    assert_true(tar >= 0);
    assert_string_equal(clamav_type_name(inv.files[tar].type), "CL_TYPE_MSEXE");
    assert_true(find_path(&inv, "outer.zip/docs/readme.txt") >= 0);
    assert_int_equal(find_path(&inv, "outer.zip/docs"), -1); /* directories are not files */
    /* named by the header and by libclamav: one entry, with its type */
    long outer = find_path(&inv, "outer.zip");
    assert_true(outer >= 0);
    assert_string_equal(clamav_type_name(inv.files[outer].type), "CL_TYPE_ZIP");
    for (size_t i = 0; i < inv.n; i++)
        if (i != (size_t)outer && strcmp(file_inventory_path(&inv, i), "outer.zip") == 0)
            fail_msg("outer.zip listed twice");
    file_inventory_free(&inv);
}

/* ---- the decision ----------------------------------------------------------- */

static struct policy base_policy(const char *name)
{
    struct policy p = *config_default_policy();
    snprintf(p.name, sizeof(p.name), "%s", name);
    return p;
}

/* A scan result whose inventory holds the given files (path, type). */
static void make_result(struct scan_result *res, enum clamav_status st)
{
    memset(res, 0, sizeof(*res));
    res->clamav.status = st;
    file_inventory_init(&res->clamav.inventory, 100);
    struct file_inventory *inv = &res->clamav.inventory;
    assert_true(file_inventory_add(inv, "", 0, "notes.txt", 9,
                                   clamav_type_index("CL_TYPE_TEXT_ASCII"), 0, 1) >= 0);
    assert_true(
        file_inventory_add(inv, "", 0, "a.zip", 5, clamav_type_index("CL_TYPE_ZIP"), 0, 1) >= 0);
    assert_true(file_inventory_add(inv, "a.zip", 5, "docs/invoice.pdf.exe", 20,
                                   clamav_type_index("CL_TYPE_MSEXE"), FILE_FROM_META, 2) >= 0);
    assert_true(file_inventory_add(inv, "", 0, "secret.zip", 10, clamav_type_index("CL_TYPE_ZIP"),
                                   0, 1) >= 0);
    assert_true(file_inventory_add(inv, "secret.zip", 10, "s.txt", 5, CLAMAV_TYPE_UNKNOWN,
                                   FILE_ENCRYPTED | FILE_FROM_META, 2) >= 0);
}

static void set_names(struct policy *p, const char *const *globs)
{
    size_t off = 0;
    memset(p->banned_names, 0, sizeof(p->banned_names));
    for (; *globs != NULL; globs++) {
        size_t n = strlen(*globs) + 1;
        memcpy(p->banned_names + off, *globs, n);
        off += n;
    }
}

static void test_decide_per_recipient(void **state)
{
    (void)state;
    struct policy strict = base_policy("strict"), lenient = base_policy("lenient"),
                  types = base_policy("types"), enc = base_policy("enc");
    static const char *const exe[] = {"*.exe", NULL};
    set_names(&strict, exe);
    strict.banned_action = ACTION_REJECT;
    types.banned_types[types.n_banned_types++] = (int16_t)clamav_type_index("CL_TYPE_MSEXE");
    types.banned_action = ACTION_DISCARD;
    enc.encrypted_action = ACTION_REJECT;
    lenient.spam_scan = false;
    strict.spam_scan = types.spam_scan = enc.spam_scan = false;

    struct scan_result res;
    make_result(&res, CLAMAV_CLEAN);
    struct envelope env;
    envelope_init(&env);
    const struct policy *pols[] = {&strict, &lenient, &types, &enc};
    for (size_t i = 0; i < 4; i++) {
        struct recipient *r = envelope_add_rcpt(&env);
        snprintf(r->address, sizeof(r->address), "r%zu@example.net", i);
        r->policy = pols[i];
    }
    size_t map[4] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    res.rcpt_spamd = map;
    policy_decide(&env, &res);

    char line[OUTCOME_LINE_MAX];
    assert_int_equal(env.rcpts[0].verdict, VERDICT_BANNED);
    assert_int_equal(env.rcpts[0].action, ACTION_REJECT);
    assert_string_equal(env.rcpts[0].content_rule, "*.exe");
    outcome_format(&env.rcpts[0].outcome, env.rcpts[0].address, "m", line, sizeof(line));
    assert_string_equal(line,
                        "554 5.7.0 <r0@example.net> rejected: banned a.zip/docs/invoice.pdf.exe");
    assert_int_equal(env.rcpts[1].verdict, VERDICT_CLEAN);
    assert_int_equal(env.rcpts[1].action, ACTION_DELIVER);
    assert_int_equal(env.rcpts[2].verdict, VERDICT_BANNED);
    assert_int_equal(env.rcpts[2].action, ACTION_DISCARD);
    assert_string_equal(env.rcpts[2].content_rule, "CL_TYPE_MSEXE");
    assert_int_equal(env.rcpts[3].verdict, VERDICT_ENCRYPTED);
    outcome_format(&env.rcpts[3].outcome, env.rcpts[3].address, "m", line, sizeof(line));
    assert_string_equal(line, "554 5.7.0 <r3@example.net> rejected: encrypted secret.zip/s.txt");

    /* encrypted_action = deliver: the header names the file */
    struct strbuf sb;
    bool replaced;
    strbuf_init(&sb, 4096);
    assert_int_equal(policy_headers(&env, 1, &res, "mx.test", NULL, &sb, &replaced), 0);
    assert_non_null(strstr(sb.data, "X-Lmtpscan-Encrypted: secret.zip/s.txt\r\n"));
    strbuf_free(&sb);

    /* quarantine reason names the banned path */
    env.rcpts[0].action = ACTION_QUARANTINE;
    char reason[512];
    policy_quarantine_reason(&env, &res, reason, sizeof(reason));
    assert_string_equal(reason, "banned a.zip/docs/invoice.pdf.exe");

    /* a virus wins over banned */
    res.clamav.status = CLAMAV_INFECTED;
    snprintf(res.clamav.virus, sizeof(res.clamav.virus), "Eicar");
    policy_decide(&env, &res);
    assert_int_equal(env.rcpts[0].verdict, VERDICT_VIRUS);
    assert_int_equal(env.rcpts[2].verdict, VERDICT_VIRUS);

    /* a limit (e.g. the inventory bound) gives unchecked, never clean */
    res.clamav.status = CLAMAV_LIMITS;
    policy_decide(&env, &res);
    assert_int_equal(env.rcpts[1].verdict, VERDICT_UNCHECKED);
    /* and a file already found banned stays banned */
    assert_int_equal(env.rcpts[0].verdict, VERDICT_BANNED);

    envelope_free(&env);
    res.rcpt_spamd = NULL;
    scan_result_free(&res);
}

static void test_undecodable(void **state)
{
    (void)state;
    struct policy p = base_policy("p");
    struct file_inventory inv;
    file_inventory_init(&inv, 10);
    assert_int_equal(file_inventory_add(&inv, "", 0, "=?x?B?YQ==?=", 12, CLAMAV_TYPE_UNKNOWN,
                                        FILE_UNDECODABLE | FILE_FROM_HEADER, 1),
                     0);
    const char *rule = NULL;
    /* no banned_names: an undecodable name alone bans nothing */
    assert_int_equal(content_first_banned(&p, &inv, &rule), -1);
    static const char *const scr[] = {"*.scr", NULL};
    set_names(&p, scr);
    assert_int_equal(content_first_banned(&p, &inv, &rule), 0);
    assert_string_equal(rule, RULE_UNDECODABLE);
    file_inventory_free(&inv);
}

/* ---- configuration ---------------------------------------------------------- */

static void test_config_keys(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    const char *good = "[policy default]\n"
                       "banned_names = *.exe, *.SCR , "
                       "*{\?\?\?\?\?\?\?\?-\?\?\?\?-\?\?\?\?-\?\?\?\?-\?\?\?\?\?\?\?\?\?\?\?\?}\n"
                       "banned_types = CL_TYPE_MSEXE, CL_TYPE_ELF\n"
                       "banned_double_extension = yes\n"
                       "banned_action = reject\n"
                       "encrypted_action = quarantine\n";
    assert_int_equal(config_load_string(good, "t.conf", &cfg, err, sizeof(err)), 0);
    const struct policy *p = config_find_policy(cfg, "default");
    assert_non_null(p);
    assert_string_equal(p->banned_names, "*.exe");
    assert_string_equal(p->banned_names + 6, "*.SCR");
    assert_int_equal(p->n_banned_types, 2);
    assert_string_equal(clamav_type_name(p->banned_types[1]), "CL_TYPE_ELF");
    assert_true(p->banned_double_extension);
    assert_int_equal(p->banned_action, ACTION_REJECT);
    assert_int_equal(p->encrypted_action, ACTION_QUARANTINE);
    config_free(cfg);

    /* defaults: nothing banned, encrypted delivered, banned quarantined */
    assert_int_equal(config_load_string("", "t.conf", &cfg, err, sizeof(err)), 0);
    p = config_find_policy(cfg, "default");
    assert_false(content_policy_checks(p));
    assert_int_equal(p->encrypted_action, ACTION_DELIVER);
    assert_int_equal(p->banned_action, ACTION_QUARANTINE);
    config_free(cfg);

    static const struct {
        const char *text, *want;
    } bads[] = {
        {"[policy default]\nbanned_types = CL_TYPE_NOPE\n", "CL_TYPE_NOPE"},
        {"[policy default]\nbanned_types = cl_type_msexe\n", "cl_type_msexe"},
        {"[policy default]\nbanned_names = docs/*.exe\n", "without '/'"},
        {"[policy default]\nbanned_names = *.exe,,*.scr\n", "empty item"},
        {"[policy default]\nbanned_action = deliver\n", "banned_action"},
        {"[policy default]\nencrypted_action = junk\n", "encrypted_action"},
    };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        cfg = NULL;
        if (config_load_string(bads[i].text, "t.conf", &cfg, err, sizeof(err)) == 0)
            fail_msg("accepted: %s", bads[i].text);
        if (strstr(err, bads[i].want) == NULL || strstr(err, "t.conf:2") == NULL)
            fail_msg("message \"%s\" lacks \"%s\"", err, bads[i].want);
    }
}

static void test_config_needs_clamav(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    static const char *const texts[] = {
        "[clamav]\nenabled = no\n[policy default]\nbanned_names = *.exe\n",
        "[policy default]\nvirus_scan = no\nbanned_types = CL_TYPE_ELF\n",
        "[clamav]\nenabled = no\n[policy x]\nencrypted_action = reject\n",
    };
    static const char *const lines[] = {"t.conf:4", "t.conf:3", "t.conf:4"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        cfg = NULL;
        if (config_load_string(texts[i], "t.conf", &cfg, err, sizeof(err)) == 0)
            fail_msg("accepted: %s", texts[i]);
        if (strstr(err, "[clamav] enabled = yes and virus_scan = yes") == NULL ||
            strstr(err, lines[i]) == NULL)
            fail_msg("message \"%s\" for %s", err, texts[i]);
    }
    /* clamav off and nothing banned: fine */
    assert_int_equal(
        config_load_string("[clamav]\nenabled = no\n", "t.conf", &cfg, err, sizeof(err)), 0);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_double_extension),
        cmocka_unit_test(test_mime_field),
        cmocka_unit_test(test_mime_scan),
        cmocka_unit_test(test_inventory_bound),
        cmocka_unit_test(test_collect_sequence),
        cmocka_unit_test(test_decide_per_recipient),
        cmocka_unit_test(test_undecodable),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_config_needs_clamav),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
