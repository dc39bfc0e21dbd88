/*
 * test_report: writes reports for synthetic transactions (clean with
 * XFORWARD and DSN, infected and quarantined, spam with rules over SMTP,
 * scanner errors and limits, hostile header bytes, a 100 KB Subject, data
 * that did not arrive whole, reports off), validates each against
 * conf/report.xsd with xmlSchemaValidateDoc, and checks the values with
 * XPath; then release records appended to a report, report_find, the
 * UTC date directory (made again when removed), and a link planted as a
 * date directory (refused).
 */
#include "common/config.h"
#include "common/envelope.h"
#include "common/message_header.h"
#include "common/spool.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "deliver/report.h"
#include "scan/scan.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef LMTPSCAN_REPORT_XSD
#error "LMTPSCAN_REPORT_XSD must name conf/report.xsd"
#endif

#define MAIL_ID  "abcdef123456"
#define RECEIVED 1709251199 /* 2024-02-29T23:59:59Z */
#define R        "\xEF\xBF\xBD"

struct fixture {
    char tmp[256];
    char reports[300];
    struct config *cfg;
    struct policy policy;
    struct envelope env;
    struct spool *spool;
    struct message_header mh;
    struct scan_result res;
    struct spamd_result spamd[2];
    size_t rcpt_spamd[8];
    char path[4096];
};

static xmlSchemaPtr schema;

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
    snprintf(f->tmp, sizeof(f->tmp), "%s/test_report.XXXXXX", base);
    assert_non_null(mkdtemp(f->tmp));
    snprintf(f->reports, sizeof(f->reports), "%s/reports", f->tmp);
    assert_int_equal(mkdir(f->reports, 0700), 0);

    f->cfg = xcalloc(1, sizeof(*f->cfg));
    snprintf(f->cfg->report.dir, sizeof(f->cfg->report.dir), "%s", f->reports);
    snprintf(f->cfg->server.hostname, sizeof(f->cfg->server.hostname), "scan.example.net");
    f->cfg->deliver.mode = DELIVER_MAILDIR;
    snprintf(f->policy.name, sizeof(f->policy.name), "strict");

    envelope_init(&f->env);
    f->env.protocol = PROTO_LMTP;
    snprintf(f->env.helo, sizeof(f->env.helo), "client.example");
    snprintf(f->env.peer_addr, sizeof(f->env.peer_addr), "127.0.0.1");
    snprintf(f->env.peer_port, sizeof(f->env.peer_port), "40000");
    f->env.has_mail = true;
    snprintf(f->env.mail_from, sizeof(f->env.mail_from), "sender@example.org");
    snprintf(f->env.mail_id, sizeof(f->env.mail_id), MAIL_ID);
    f->env.received.tv_sec = RECEIVED;
    f->env.received.tv_nsec = 250000000;

    f->spool = spool_new(f->tmp);
    for (size_t i = 0; i < 8; i++)
        f->rcpt_spamd[i] = SIZE_MAX;
    f->res.rcpt_spamd = f->rcpt_spamd;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    message_header_free(&f->mh);
    spool_free(f->spool);
    envelope_free(&f->env);
    free(f->cfg);
    (void)nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void set_message(struct fixture *f, const char *msg, size_t len)
{
    assert_int_equal(spool_write(f->spool, msg, len), 0);
    assert_int_equal(spool_finish(f->spool), 0);
    assert_int_equal(message_header_read(f->spool, &f->mh), 0);
}

static struct recipient *add_rcpt(struct fixture *f, const char *addr, enum verdict v,
                                  enum action a, enum outcome_kind kind, const char *detail,
                                  const char *dest)
{
    struct recipient *r = envelope_add_rcpt(&f->env);
    snprintf(r->address, sizeof(r->address), "%s", addr);
    r->policy = &f->policy;
    r->verdict = v;
    r->action = a;
    outcome_set(&r->outcome, kind, detail);
    r->destination = dest ? xstrdup(dest) : NULL;
    return r;
}

/* Writes the report, checks where it went, parses and validates it. */
static xmlDocPtr write_and_load(struct fixture *f, bool whole, const char *smtp_reply)
{
    char err[256] = "";
    int rc = report_write(f->cfg, &f->env, whole ? &f->mh : NULL, whole ? f->spool : NULL, &f->res,
                          smtp_reply, f->path, sizeof(f->path), err, sizeof(err));
    if (rc != 0)
        fail_msg("report_write: %s", err);
    char want[512];
    snprintf(want, sizeof(want), "%s/2024-02-29/%s.xml", f->reports, MAIL_ID);
    assert_string_equal(f->path, want);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);

    xmlDocPtr doc = xmlReadFile(f->path, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
    assert_non_null(v);
    int valid = xmlSchemaValidateDoc(v, doc);
    xmlSchemaFreeValidCtxt(v);
    if (valid != 0)
        fail_msg("%s does not validate against the schema", f->path);
    return doc;
}

static xmlXPathObjectPtr eval(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    assert_non_null(ctx);
    assert_int_equal(
        xmlXPathRegisterNs(ctx, (const xmlChar *)"r", (const xmlChar *)REPORT_NAMESPACE), 0);
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    xmlXPathFreeContext(ctx);
    if (o == NULL)
        fail_msg("bad XPath %s", expr);
    return o;
}

/* The string value of an XPath expression (xmlFree'd by the caller). */
static char *xs(xmlDocPtr doc, const char *expr)
{
    xmlXPathObjectPtr o = eval(doc, expr);
    xmlChar *s = xmlXPathCastToString(o);
    xmlXPathFreeObject(o);
    return (char *)s;
}

static void assert_xpath(xmlDocPtr doc, const char *expr, const char *want)
{
    char *got = xs(doc, expr);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", expr, got, want);
    xmlFree(got);
}

static double xcount(xmlDocPtr doc, const char *expr)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "count(%s)", expr);
    xmlXPathObjectPtr o = eval(doc, buf);
    double n = xmlXPathCastToNumber(o);
    xmlXPathFreeObject(o);
    return n;
}

static const char clean_msg[] = "From: =?ISO-8859-1?Q?J=F6rg?= <j@example.org>\r\n"
                                "To: <a@example.com>\r\n"
                                "Subject: =?UTF-8?Q?caf=C3=A9?=\r\n"
                                " =?UTF-8?B?IMO8bsOvY29kZQ==?=\r\n"
                                "Message-ID: <1@example.org>\r\n"
                                "Date: Thu, 29 Feb 2024 23:59:58 +0000\r\n"
                                "\r\n"
                                "Hello.\r\n";

static void test_clean(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    struct xforward *xf = &f->env.xforward;
    snprintf(xf->name, sizeof(xf->name), "mx.example.net");
    snprintf(xf->addr, sizeof(xf->addr), "192.0.2.7");
    snprintf(xf->port, sizeof(xf->port), "2525");
    snprintf(xf->helo, sizeof(xf->helo), "sender.example.org");
    snprintf(xf->proto, sizeof(xf->proto), "ESMTP");
    snprintf(xf->ident, sizeof(xf->ident), "4F2A1");
    f->env.ret = DSN_RET_HDRS;
    snprintf(f->env.envid, sizeof(f->env.envid), "env-1");
    f->env.body = BODY_8BITMIME;
    struct recipient *r =
        add_rcpt(f, "a@example.com", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
                 "/vmail/example.com/a/Maildir/new/1.x,S=100");
    r->notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE;
    snprintf(r->orcpt, sizeof(r->orcpt), "rfc822;A@example.com");
    add_rcpt(f, "b@example.com", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/vmail/example.com/b/Maildir/new/2.x,S=100");

    f->res.clamav.status = CLAMAV_CLEAN;
    f->res.clamav.duration_ms = 12;
    snprintf(f->res.clamav_version, sizeof(f->res.clamav_version), "1.4.6");
    f->res.clamav_signatures = 8700000;
    struct spamd_rule rules[2] = {{"ALL_TRUSTED", -1.0, true}, {"NO_SCORE_RULE", 0, false}};
    struct spamd_result *s = &f->spamd[0];
    snprintf(s->user, sizeof(s->user), "a@example.com");
    s->status = SPAMD_HAM;
    s->score = 1.2;
    s->required = 5.0;
    s->rules = rules;
    s->n_rules = 2;
    s->duration_ms = 80;
    f->res.spamd = f->spamd;
    f->res.n_spamd = 1;
    f->rcpt_spamd[0] = 0;
    f->env.timings = (struct timings){.total_us = 95000,
                                      .receive_us = 1200,
                                      .scan_us = 81000,
                                      .clamav_us = 12000,
                                      .spam_wait_us = 300,
                                      .spam_us = 80000,
                                      .delivery_us = 9000,
                                      .relay_us = 0};

    xmlDocPtr doc = write_and_load(f, true, NULL);
    assert_xpath(doc, "/r:report/@mail-id", MAIL_ID);
    assert_xpath(doc, "/r:report/@version", "1");
    assert_xpath(doc, "/r:report/r:received/@at", "2024-02-29T23:59:59.250Z");
    assert_xpath(doc, "/r:report/r:received/@protocol", "LMTP");
    assert_xpath(doc, "/r:report/r:received/@host", "scan.example.net");
    assert_xpath(doc, "/r:report/r:client/@name", "mx.example.net");
    assert_xpath(doc, "/r:report/r:client/@addr", "192.0.2.7");
    assert_xpath(doc, "/r:report/r:client/@port", "2525");
    assert_xpath(doc, "/r:report/r:client/@helo", "sender.example.org");
    assert_xpath(doc, "/r:report/r:client/@proto", "ESMTP");
    assert_xpath(doc, "/r:report/r:client/@queue-id", "4F2A1");
    assert_xpath(doc, "/r:report/r:client/@peer", "127.0.0.1");
    assert_xpath(doc, "/r:report/r:client/@peer-helo", "client.example");
    assert_xpath(doc, "/r:report/r:envelope/@ret", "HDRS");
    assert_xpath(doc, "/r:report/r:envelope/@envid", "env-1");
    assert_xpath(doc, "/r:report/r:envelope/@body", "8BITMIME");
    assert_xpath(doc, "/r:report/r:envelope/r:mail-from", "sender@example.org");
    assert_int_equal(xcount(doc, "/r:report/r:envelope/r:rcpt"), 2);
    assert_xpath(doc, "/r:report/r:envelope/r:rcpt[1]", "a@example.com");
    assert_xpath(doc, "/r:report/r:envelope/r:rcpt[1]/@notify", "SUCCESS,FAILURE");
    assert_xpath(doc, "/r:report/r:envelope/r:rcpt[1]/@orcpt", "rfc822;A@example.com");
    assert_int_equal(xcount(doc, "/r:report/r:envelope/r:rcpt[2]/@notify"), 0);

    char size[32], sha[65];
    snprintf(size, sizeof(size), "%zu", sizeof(clean_msg) - 1);
    spool_sha256_hex(f->spool, sha);
    assert_xpath(doc, "/r:report/r:message/@size", size);
    assert_xpath(doc, "/r:report/r:message/@sha256", sha);
    assert_xpath(doc, "/r:report/r:message/@subject",
                 "caf\xC3\xA9 \xC3\xBCn\xC3\xAF"
                 "code");
    assert_xpath(doc, "/r:report/r:message/@from", "J\xC3\xB6rg <j@example.org>");
    assert_xpath(doc, "/r:report/r:message/@message-id", "<1@example.org>");
    assert_xpath(doc, "/r:report/r:message/@date", "Thu, 29 Feb 2024 23:59:58 +0000");
    assert_int_equal(xcount(doc, "/r:report/r:message/@truncated"), 0);

    assert_xpath(doc, "/r:report/r:timings/@total-us", "95000");
    assert_xpath(doc, "/r:report/r:timings/@receive-us", "1200");
    assert_xpath(doc, "/r:report/r:timings/@scan-us", "81000");
    assert_xpath(doc, "/r:report/r:timings/@clamav-us", "12000");
    assert_xpath(doc, "/r:report/r:timings/@spam-wait-us", "300");
    assert_xpath(doc, "/r:report/r:timings/@spam-us", "80000");
    assert_xpath(doc, "/r:report/r:timings/@delivery-us", "9000");
    assert_xpath(doc, "/r:report/r:timings/@relay-us", "0");
    assert_xpath(doc, "/r:report/r:scan[@engine='clamav']/@result", "clean");
    assert_xpath(doc, "/r:report/r:scan[@engine='clamav']/@duration-ms", "12");
    assert_xpath(doc, "/r:report/r:scan[@engine='clamav']/@version", "1.4.6");
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd']/@user", "a@example.com");
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd']/@result", "ham");
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd']/@score", "1.2");
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd']/@required", "5");
    assert_int_equal(xcount(doc, "/r:report/r:scan[@engine='spamd']/r:rule"), 2);
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd']/r:rule[1]/@score", "-1");
    assert_int_equal(xcount(doc, "/r:report/r:scan[@engine='spamd']/r:rule[2]/@score"), 0);

    assert_int_equal(xcount(doc, "/r:report/r:recipient"), 2);
    assert_xpath(doc, "/r:report/r:recipient[1]/@address", "a@example.com");
    assert_xpath(doc, "/r:report/r:recipient[1]/@policy", "strict");
    assert_xpath(doc, "/r:report/r:recipient[1]/@verdict", "clean");
    assert_xpath(doc, "/r:report/r:recipient[1]/@action", "deliver");
    assert_xpath(doc, "/r:report/r:recipient[1]/@spamd-user", "a@example.com");
    assert_int_equal(xcount(doc, "/r:report/r:recipient[2]/@spamd-user"), 0);
    assert_xpath(doc, "/r:report/r:recipient[2]/r:reply",
                 "250 2.0.0 <b@example.com> " MAIL_ID " delivered");
    assert_xpath(doc, "/r:report/r:recipient[2]/r:destination/@kind", "maildir");
    assert_xpath(doc, "/r:report/r:recipient[2]/r:destination",
                 "/vmail/example.com/b/Maildir/new/2.x,S=100");
    assert_int_equal(xcount(doc, "/r:report/r:smtp-reply"), 0);
    xmlFreeDoc(doc);

    /* the day directory: 0750 less the umask */
    char day[512];
    struct stat st;
    snprintf(day, sizeof(day), "%s/2024-02-29", f->reports);
    assert_int_equal(stat(day, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
}

static void test_infected(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_VIRUS, ACTION_QUARANTINE, OUTCOME_QUARANTINED, NULL,
             "/q/" MAIL_ID ".eml");
    add_rcpt(f, "b@example.com", VERDICT_VIRUS, ACTION_REJECT, OUTCOME_REJECTED_VIRUS,
             "Eicar-Test-Signature", NULL);
    f->res.clamav.status = CLAMAV_INFECTED;
    snprintf(f->res.clamav.virus, sizeof(f->res.clamav.virus), "Eicar-Test-Signature");
    xmlDocPtr doc = write_and_load(f, true, NULL);
    assert_xpath(doc, "/r:report/r:scan[@engine='clamav']/@result", "infected");
    assert_int_equal(xcount(doc, "/r:report/r:scan/r:virus"), 1);
    assert_xpath(doc, "/r:report/r:scan/r:virus", "Eicar-Test-Signature");
    assert_int_equal(xcount(doc, "/r:report/r:scan[@engine='spamd']"), 0);
    assert_xpath(doc, "/r:report/r:recipient[1]/@verdict", "virus");
    assert_xpath(doc, "/r:report/r:recipient[1]/@action", "quarantine");
    assert_xpath(doc, "/r:report/r:recipient[1]/r:destination/@kind", "quarantine");
    assert_xpath(doc, "/r:report/r:recipient[1]/r:destination", "/q/" MAIL_ID ".eml");
    assert_xpath(doc, "/r:report/r:recipient[2]/@action", "reject");
    assert_xpath(doc, "/r:report/r:recipient[2]/r:reply",
                 "554 5.7.0 <b@example.com> rejected: virus Eicar-Test-Signature");
    assert_int_equal(xcount(doc, "/r:report/r:recipient[2]/r:destination"), 0);
    xmlFreeDoc(doc);
}

static void test_several_viruses(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_VIRUS, ACTION_DISCARD, OUTCOME_DISCARDED, NULL, NULL);
    f->res.clamav.status = CLAMAV_INFECTED;
    snprintf(f->res.clamav.virus, sizeof(f->res.clamav.virus), "One.A, Two.B,,Three<&>");
    xmlDocPtr doc = write_and_load(f, true, NULL);
    assert_int_equal(xcount(doc, "/r:report/r:scan/r:virus"), 3);
    assert_xpath(doc, "/r:report/r:scan/r:virus[2]", "Two.B");
    assert_xpath(doc, "/r:report/r:scan/r:virus[3]", "Three<&>");
    xmlFreeDoc(doc);
}

static void test_spam_smtp(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    f->env.protocol = PROTO_SMTP;
    add_rcpt(f, "a@example.com", VERDICT_SPAM, ACTION_JUNK, OUTCOME_DELIVERED, NULL,
             "/vmail/example.com/a/Maildir/.Junk/new/1.x,S=100");
    add_rcpt(f, "b@example.org", VERDICT_SPAM, ACTION_DISCARD, OUTCOME_DISCARDED, NULL, NULL);
    struct spamd_rule rules[3] = {
        {"BAYES_99", 3.5, true}, {"URIBL_BLACK", 1.725, true}, {"HTML_MESSAGE", 0.001, true}};
    for (int k = 0; k < 2; k++) {
        struct spamd_result *s = &f->spamd[k];
        snprintf(s->user, sizeof(s->user), k == 0 ? "a@example.com" : "b@example.org");
        s->status = SPAMD_SPAM;
        s->score = 7.1;
        s->required = 5.0;
        s->rules = rules;
        s->n_rules = 3;
        f->rcpt_spamd[k] = (size_t)k;
    }
    f->res.spamd = f->spamd;
    f->res.n_spamd = 2;
    xmlDocPtr doc = write_and_load(f, true, "250 2.0.0 Ok: queued as " MAIL_ID);
    assert_xpath(doc, "/r:report/r:received/@protocol", "SMTP");
    assert_int_equal(xcount(doc, "/r:report/r:scan[@engine='spamd']"), 2);
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd'][2]/@user", "b@example.org");
    assert_xpath(doc, "/r:report/r:scan[1]/@result", "spam");
    assert_xpath(doc, "/r:report/r:scan[1]/@score", "7.1");
    assert_xpath(doc, "/r:report/r:scan[1]/r:rule[1]/@name", "BAYES_99");
    assert_xpath(doc, "/r:report/r:scan[1]/r:rule[2]/@score", "1.725");
    assert_xpath(doc, "/r:report/r:scan[1]/r:rule[3]/@score", "0.001");
    assert_xpath(doc, "/r:report/r:recipient[1]/@action", "junk");
    assert_xpath(doc, "/r:report/r:recipient[2]/@spamd-user", "b@example.org");
    assert_xpath(doc, "/r:report/r:smtp-reply", "250 2.0.0 Ok: queued as " MAIL_ID);
    xmlFreeDoc(doc);
}

/* Two engines in one report: an rspamd verdict reused from an earlier
 * mail beside a fresh spamd one; the XSD accepts engine="rspamd",
 * action, version and reused-from. */
static void test_rspamd_and_reuse(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_SPAM, ACTION_JUNK, OUTCOME_DELIVERED, NULL,
             "/vmail/example.com/a/Maildir/.Junk/new/1.x,S=100");
    add_rcpt(f, "b@example.org", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/vmail/example.org/b/Maildir/new/2.x,S=100");
    struct spamd_rule rules[2] = {{"MISSING_DATE", 1.0, true}, {"MISSING_TO", 2.0, true}};
    struct spamd_result *r = &f->spamd[0];
    r->engine = SPAM_ENGINE_RSPAMD;
    snprintf(r->user, sizeof(r->user), "a@example.com");
    r->status = SPAMD_SPAM;
    r->score = 7.9;
    r->required = 15;
    r->rules = rules;
    r->n_rules = 2;
    snprintf(r->action, sizeof(r->action), "add header");
    snprintf(r->version, sizeof(r->version), "rspamd/3.4");
    snprintf(r->reused_from, sizeof(r->reused_from), "abcdefabcdef");
    struct spamd_result *s = &f->spamd[1];
    s->engine = SPAM_ENGINE_SPAMD;
    snprintf(s->user, sizeof(s->user), "b@example.org");
    s->status = SPAMD_HAM;
    s->score = 0.5;
    s->required = 5;
    f->rcpt_spamd[0] = 0;
    f->rcpt_spamd[1] = 1;
    f->res.spamd = f->spamd;
    f->res.n_spamd = 2;
    xmlDocPtr doc = write_and_load(f, true, NULL);
    assert_xpath(doc, "/r:report/r:scan[@engine='rspamd']/@user", "a@example.com");
    assert_xpath(doc, "/r:report/r:scan[@engine='rspamd']/@result", "spam");
    assert_xpath(doc, "/r:report/r:scan[@engine='rspamd']/@score", "7.9");
    assert_xpath(doc, "/r:report/r:scan[@engine='rspamd']/@required", "15");
    assert_xpath(doc, "/r:report/r:scan[@engine='rspamd']/@action", "add header");
    assert_xpath(doc, "/r:report/r:scan[@engine='rspamd']/@version", "rspamd/3.4");
    assert_xpath(doc, "/r:report/r:scan[@engine='rspamd']/@reused-from", "abcdefabcdef");
    assert_xpath(doc, "/r:report/r:scan[@engine='rspamd']/r:rule[2]/@name", "MISSING_TO");
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd']/@result", "ham");
    assert_int_equal(xcount(doc, "/r:report/r:scan[@engine='spamd']/@reused-from"), 0);
    assert_int_equal(xcount(doc, "/r:report/r:scan[@engine='spamd']/@action"), 0);
    xmlFreeDoc(doc);
}

static void test_scanner_errors(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_UNCHECKED, ACTION_TEMPFAIL, OUTCOME_SCAN_FAILED, NULL,
             NULL);
    f->res.clamav.status = CLAMAV_ERROR;
    snprintf(f->res.clamav.reason, sizeof(f->res.clamav.reason), "Can't allocate memory");
    struct spamd_result *s = &f->spamd[0];
    snprintf(s->user, sizeof(s->user), "a@example.com");
    s->status = SPAMD_ERROR;
    snprintf(s->error, sizeof(s->error), "connect: Connection refused");
    f->res.spamd = f->spamd;
    f->res.n_spamd = 1;
    f->rcpt_spamd[0] = 0;
    xmlDocPtr doc = write_and_load(f, true, NULL);
    assert_xpath(doc, "/r:report/r:scan[@engine='clamav']/@result", "error");
    assert_xpath(doc, "/r:report/r:scan[@engine='clamav']/@reason", "Can't allocate memory");
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd']/@result", "error");
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd']/@reason", "connect: Connection refused");
    assert_int_equal(xcount(doc, "/r:report/r:scan[@engine='spamd']/@score"), 0);
    assert_xpath(doc, "/r:report/r:recipient/@verdict", "unchecked");
    assert_xpath(doc, "/r:report/r:recipient/@action", "tempfail");
    assert_xpath(doc, "/r:report/r:recipient/r:reply",
                 "451 4.3.0 <a@example.com> scan failed, try again later");
    xmlFreeDoc(doc);
}

static void test_limits_and_skipped(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_UNCHECKED, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/m/new/x");
    f->res.clamav.status = CLAMAV_LIMITS;
    snprintf(f->res.clamav.reason, sizeof(f->res.clamav.reason),
             "Heuristics.Limits.Exceeded.MaxFileSize");
    struct spamd_result *s = &f->spamd[0];
    snprintf(s->user, sizeof(s->user), "a@example.com");
    s->status = SPAMD_SKIPPED;
    f->spamd[1].status = SPAMD_NOT_RUN;
    f->res.spamd = f->spamd;
    f->res.n_spamd = 2;
    xmlDocPtr doc = write_and_load(f, true, NULL);
    assert_xpath(doc, "/r:report/r:scan[@engine='clamav']/@result", "unchecked");
    assert_xpath(doc, "/r:report/r:scan[@engine='clamav']/@reason",
                 "Heuristics.Limits.Exceeded.MaxFileSize");
    assert_int_equal(xcount(doc, "/r:report/r:scan[@engine='spamd']"), 1);
    assert_xpath(doc, "/r:report/r:scan[@engine='spamd']/@result", "skipped");
    xmlFreeDoc(doc);
}

static void test_hostile_headers(void **state)
{
    struct fixture *f = *state;
    static const char msg[] =
        "Subject: </subject><x/> ]]> \xFF\xFE a\0b \x01\x1B[31m =?UTF-8?Q?=00=0A?= & end\r\n"
        "From: \"<&>\" <x@y> \xC3(\r\n"
        "Message-ID: <\x7F@x>]]>\r\n"
        "Date: \xED\xA0\x80\r\n"
        "\r\n"
        "body\r\n";
    set_message(f, msg, sizeof(msg) - 1);
    snprintf(f->env.mail_from, sizeof(f->env.mail_from), "\xC3(bad@example.org");
    snprintf(f->env.helo, sizeof(f->env.helo), "h\x01]]><x/>");
    snprintf(f->env.xforward.name, sizeof(f->env.xforward.name), "\"><x/>");
    snprintf(f->env.xforward.ident, sizeof(f->env.xforward.ident), "\xFF");
    add_rcpt(f, "<&>\xFE@example.com", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/m/new/\x01<&>");
    xmlDocPtr doc = write_and_load(f, true, NULL);
    assert_xpath(doc, "/r:report/r:message/@subject",
                 "</subject><x/> ]]> " R R " ab " R R "[31m " R " & end");
    assert_xpath(doc, "/r:report/r:message/@from", "\"<&>\" <x@y> " R "(");
    assert_xpath(doc, "/r:report/r:message/@message-id", "<" R "@x>]]>");
    assert_xpath(doc, "/r:report/r:message/@date", R R R);
    assert_xpath(doc, "/r:report/r:envelope/r:mail-from", R "(bad@example.org");
    assert_xpath(doc, "/r:report/r:client/@helo", "h" R "]]><x/>");
    assert_xpath(doc, "/r:report/r:client/@name", "\"><x/>");
    assert_xpath(doc, "/r:report/r:client/@queue-id", R);
    assert_xpath(doc, "/r:report/r:recipient/@address", "<&>" R "@example.com");
    assert_xpath(doc, "/r:report/r:recipient/r:reply",
                 "250 2.0.0 <<&>" R "@example.com> " MAIL_ID " delivered");
    assert_xpath(doc, "/r:report/r:recipient/r:destination", "/m/new/" R "<&>");
    /* nothing was injected: the only elements are ours */
    assert_int_equal(xcount(doc, "//*[local-name()='x']"), 0);
    xmlFreeDoc(doc);

    /* the raw file holds no control bytes at all */
    FILE *fp = fopen(f->path, "rb");
    assert_non_null(fp);
    int c;
    while ((c = fgetc(fp)) != EOF)
        assert_true(c >= 0x20 || c == '\n');
    fclose(fp);
}

static void test_long_subject(void **state)
{
    struct fixture *f = *state;
    /* 100 KB of folded Subject: "é" pairs, a fold every 60 bytes */
    struct strbuf sb;
    strbuf_init(&sb, 200 * 1024);
    assert_int_equal(strbuf_puts(&sb, "Subject: "), 0);
    for (int i = 0; i < 100 * 1024 / 60; i++) {
        for (int k = 0; k < 29; k++)
            assert_int_equal(strbuf_puts(&sb, "\xC3\xA9"), 0);
        assert_int_equal(strbuf_puts(&sb, "\r\n x"), 0);
    }
    assert_int_equal(strbuf_puts(&sb, "\r\nFrom: a@b\r\n\r\nbody\r\n"), 0);
    set_message(f, sb.data, sb.len);
    strbuf_free(&sb);
    add_rcpt(f, "a@example.com", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/m/new/x");
    xmlDocPtr doc = write_and_load(f, true, NULL);
    char *subject = xs(doc, "string(/r:report/r:message/@subject)");
    if (strlen(subject) > REPORT_SUBJECT_MAX || strlen(subject) <= REPORT_SUBJECT_MAX - 4)
        fail_msg("subject of %zu bytes", strlen(subject));
    assert_memory_equal(subject, "\xC3\xA9\xC3\xA9", 4);
    xmlFree(subject);
    assert_xpath(doc, "/r:report/r:message/@truncated", "subject");
    assert_xpath(doc, "/r:report/r:message/@from", "a@b");
    xmlFreeDoc(doc);
}

static void test_data_not_whole(void **state)
{
    struct fixture *f = *state;
    add_rcpt(f, "a@example.com", VERDICT_UNCHECKED, ACTION_REJECT, OUTCOME_TOO_BIG, NULL, NULL);
    xmlDocPtr doc = write_and_load(f, false, NULL);
    assert_int_equal(xcount(doc, "/r:report/r:message"), 1);
    assert_int_equal(xcount(doc, "/r:report/r:message/@*"), 0);
    assert_int_equal(xcount(doc, "/r:report/r:scan"), 0);
    assert_xpath(doc, "/r:report/r:recipient/r:reply", "552 5.3.4 <a@example.com> message too big");
    xmlFreeDoc(doc);
}

static void test_reports_off(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/m/new/x");
    f->cfg->report.dir[0] = '\0';
    char path[256] = "x", err[256];
    assert_int_equal(report_write(f->cfg, &f->env, &f->mh, f->spool, &f->res, NULL, path,
                                  sizeof(path), err, sizeof(err)),
                     0);
    assert_string_equal(path, "");
    char day[512];
    snprintf(day, sizeof(day), "%s/2024-02-29", f->reports);
    assert_int_equal(access(day, F_OK), -1);
    assert_int_equal(report_find(f->cfg, MAIL_ID, path, sizeof(path)), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_write_failure(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/m/new/x");
    snprintf(f->cfg->report.dir, sizeof(f->cfg->report.dir), "%s/missing/deeper", f->tmp);
    char path[256], err[256] = "";
    assert_int_equal(report_write(f->cfg, &f->env, &f->mh, f->spool, &f->res, NULL, path,
                                  sizeof(path), err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "missing/deeper"));
}

static void test_release(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_VIRUS, ACTION_QUARANTINE, OUTCOME_QUARANTINED, NULL,
             "/q/" MAIL_ID ".eml");
    f->res.clamav.status = CLAMAV_INFECTED;
    snprintf(f->res.clamav.virus, sizeof(f->res.clamav.virus), "Eicar-Test-Signature");
    xmlFreeDoc(write_and_load(f, true, NULL));

    char path[4096], err[256] = "";
    assert_int_equal(report_find(f->cfg, MAIL_ID, path, sizeof(path)), 0);
    assert_string_equal(path, f->path);
    assert_int_equal(report_find(f->cfg, "zzzzzzzzzzzz", path, sizeof(path)), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(report_find(f->cfg, "../../etc/pa", path, sizeof(path)), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(report_find(f->cfg, "ABCDEF123456", path, sizeof(path)), -1);
    assert_int_equal(errno, EINVAL);

    struct report_release rel = {
        .at = RECEIVED + 3600,
        .by = "admin",
        .rcpt = "a@example.com",
        .reply = "250 2.0.0 <a@example.com> " MAIL_ID " delivered",
        .destination = "/m/new/released",
    };
    if (report_add_release(f->cfg, MAIL_ID, &rel, err, sizeof(err)) != 0)
        fail_msg("report_add_release: %s", err);
    struct report_release hostile = {
        .at = RECEIVED + 7200,
        .by = NULL,
        .rcpt = "\xFF<x/>@example.com",
        .reply = "451 4.4.1 relay said \x01]]>&",
        .destination = NULL,
    };
    if (report_add_release(f->cfg, MAIL_ID, &hostile, err, sizeof(err)) != 0)
        fail_msg("report_add_release: %s", err);
    assert_int_equal(report_add_release(f->cfg, "zzzzzzzzzzzz", &rel, err, sizeof(err)), -1);

    xmlDocPtr doc = xmlReadFile(f->path, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
    assert_int_equal(xmlSchemaValidateDoc(v, doc), 0);
    xmlSchemaFreeValidCtxt(v);
    assert_int_equal(xcount(doc, "/r:report/r:release"), 2);
    assert_xpath(doc, "/r:report/r:release[1]/@at", "2024-03-01T00:59:59.000Z");
    assert_xpath(doc, "/r:report/r:release[1]/@by", "admin");
    assert_xpath(doc, "/r:report/r:release[1]/@destination", "/m/new/released");
    assert_xpath(doc, "/r:report/r:release[2]/@rcpt", R "<x/>@example.com");
    assert_xpath(doc, "/r:report/r:release[2]/@reply", "451 4.4.1 relay said " R "]]>&");
    assert_int_equal(xcount(doc, "/r:report/r:release[2]/@by"), 0);
    /* the rest of the report is unchanged */
    assert_xpath(doc, "/r:report/r:scan/r:virus", "Eicar-Test-Signature");
    assert_xpath(doc, "/r:report/r:recipient/r:reply",
                 "250 2.7.0 <a@example.com> quarantined " MAIL_ID);
    xmlFreeDoc(doc);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
}

static void test_utc_day(void **state)
{
    struct fixture *f = *state;
    /* 2024-03-01 09:00 at UTC+14 is still 2024-02-29 in UTC */
    setenv("TZ", "Pacific/Kiritimati", 1);
    tzset();
    f->env.received.tv_sec = RECEIVED - 3600 * 5;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/m/new/x");
    xmlDocPtr doc = write_and_load(f, true, NULL);
    assert_xpath(doc, "/r:report/r:received/@at", "2024-02-29T18:59:59.250Z");
    xmlFreeDoc(doc);
    unsetenv("TZ");
    tzset();
}

/* The day directory is made once and remembered; removed while the
 * daemon runs (an expiry script, an administrator), it is made again for
 * the next report instead of failing every one until the next day. */
static void test_day_dir_made_again(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/m/new/x");
    xmlFreeDoc(write_and_load(f, true, NULL));
    char day[512];
    snprintf(day, sizeof(day), "%s/2024-02-29", f->reports);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(rmdir(day), 0);
    xmlFreeDoc(write_and_load(f, true, NULL));
    struct stat st;
    assert_int_equal(stat(day, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

/* A link planted as a day directory below report.dir is never written
 * through: not by a new report, not by a release record. */
static void test_day_dir_symlink(void **state)
{
    struct fixture *f = *state;
    set_message(f, clean_msg, sizeof(clean_msg) - 1);
    add_rcpt(f, "a@example.com", VERDICT_CLEAN, ACTION_DELIVER, OUTCOME_DELIVERED, NULL,
             "/m/new/x");
    char outside[512], day[512], path[4096], err[256] = "";
    snprintf(outside, sizeof(outside), "%s/outside", f->tmp);
    snprintf(day, sizeof(day), "%s/2024-02-29", f->reports);
    assert_int_equal(mkdir(outside, 0700), 0);
    assert_int_equal(symlink(outside, day), 0);
    assert_int_equal(report_write(f->cfg, &f->env, &f->mh, f->spool, &f->res, NULL, path,
                                  sizeof(path), err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "2024-02-29"));
    DIR *d = opendir(outside);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            fail_msg("%s written through the link", e->d_name);
    closedir(d);

    /* a real report whose day directory is then swapped for a link */
    assert_int_equal(unlink(day), 0);
    xmlFreeDoc(write_and_load(f, true, NULL));
    char moved[600], file[700];
    snprintf(moved, sizeof(moved), "%s/day", outside);
    assert_int_equal(rename(day, moved), 0);
    assert_int_equal(symlink(moved, day), 0);
    snprintf(file, sizeof(file), "%s/%s.xml", moved, MAIL_ID);
    struct stat before, after;
    assert_int_equal(stat(file, &before), 0);
    struct report_release rel = {.at = RECEIVED + 60, .rcpt = "a@example.com", .reply = "250 ok"};
    assert_int_equal(report_add_release(f->cfg, MAIL_ID, &rel, err, sizeof(err)), -1);
    assert_int_equal(stat(file, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino); /* not replaced */
    assert_int_equal(after.st_size, before.st_size);
}

int main(void)
{
    xmlInitParser();
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(LMTPSCAN_REPORT_XSD);
    if (pc == NULL || (schema = xmlSchemaParse(pc)) == NULL) {
        fprintf(stderr, "cannot load %s\n", LMTPSCAN_REPORT_XSD);
        return 1;
    }
    xmlSchemaFreeParserCtxt(pc);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_infected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_viruses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spam_smtp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rspamd_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scanner_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_subject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_not_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utc_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_dir_made_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_dir_symlink, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlSchemaFree(schema);
    xmlCleanupParser();
    return rc;
}
