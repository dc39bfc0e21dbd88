/*
 * test_config: the configuration loader, table-driven. Every key with good
 * values (checked through a rendering of the loaded field) and bad values
 * (checked against the exact "FILE:LINE: [section] key: reason" start),
 * the defaults, quoting and comments, sizes and times, unknown keys and
 * sections, duplicates, policies and recipients, long lines, the SPEC's
 * sample, files (CRLF, BOM, NUL, missing) and the shipped samples in conf/.
 */
#include "common/config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef CONF_DIR
#error "CONF_DIR must point at the conf/ directory"
#endif

#define ERR_MAX 1024
#define OUT_MAX 4096

/* ---- rendering a loaded key as text ---- */

static const char *action_name(enum action a)
{
    switch (a) {
    case ACTION_DELIVER:
        return "pass";
    case ACTION_JUNK:
        return "junk";
    case ACTION_QUARANTINE:
        return "quarantine";
    case ACTION_DISCARD:
        return "discard";
    case ACTION_REJECT:
        return "reject";
    case ACTION_TEMPFAIL:
        return "tempfail";
    }
    return "?";
}

static void render_addresses(const struct net_address *a, size_t n, char *out, size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char one[400];
        net_address_format(&a[i], one, sizeof(one));
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", one);
    }
}

static void render_cidrs(const struct cidr *c, size_t n, char *out, size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char addr[INET6_ADDRSTRLEN];
        assert_non_null(inet_ntop(c[i].family, c[i].addr, addr, sizeof(addr)));
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%s/%u", i ? ", " : "", addr, c[i].prefix);
    }
}

#define YESNO(b) ((b) ? "yes" : "no")

/* Writes the loaded value of [section] key to out; fails on an unknown key. */
static void render(const struct config *cfg, const char *section, const char *key, char *out,
                   size_t n)
{
#define IS(s, k) (strcmp(section, s) == 0 && strcmp(key, k) == 0)
#define STR(v)   snprintf(out, n, "%s", v)
#define NUM(v)   snprintf(out, n, "%llu", (unsigned long long)(v))
    if (IS("server", "listen"))
        render_addresses(cfg->server.listen, cfg->server.n_listen, out, n);
    else if (IS("server", "smtp_listen"))
        render_addresses(cfg->server.smtp_listen, cfg->server.n_smtp_listen, out, n);
    else if (IS("server", "hostname"))
        STR(cfg->server.hostname);
    else if (IS("server", "max_sessions"))
        NUM(cfg->server.max_sessions);
    else if (IS("server", "max_message_size"))
        NUM(cfg->server.max_message_size);
    else if (IS("server", "max_recipients"))
        NUM(cfg->server.max_recipients);
    else if (IS("server", "timeout"))
        NUM(cfg->server.timeout);
    else if (IS("server", "scan_timeout"))
        NUM(cfg->server.scan_timeout);
    else if (IS("server", "allow_from"))
        render_cidrs(cfg->server.allow_from, cfg->server.n_allow_from, out, n);
    else if (IS("server", "auth"))
        STR(YESNO(cfg->server.auth));
    else if (IS("server", "sasl_service"))
        STR(cfg->server.sasl_service);
    else if (IS("server", "user"))
        STR(cfg->server.user);
    else if (IS("server", "spool_dir"))
        STR(cfg->server.spool_dir);
    else if (IS("server", "log"))
        STR(cfg->server.log == LOG_TO_SYSLOG ? "syslog" : "stderr");
    else if (IS("server", "session_timeout"))
        NUM(cfg->server.session_timeout);
    else if (IS("server", "max_errors"))
        NUM(cfg->server.max_errors);
    else if (IS("server", "max_auth_failures"))
        NUM(cfg->server.max_auth_failures);
    else if (IS("server", "max_commands_before_auth"))
        NUM(cfg->server.max_commands_before_auth);
    else if (IS("server", "trusted_sessions"))
        NUM(cfg->server.trusted_sessions);
    else if (IS("clamav", "enabled"))
        STR(YESNO(cfg->clamav.enabled));
    else if (IS("clamav", "database"))
        STR(cfg->clamav.database);
    else if (IS("clamav", "tmp_dir"))
        STR(cfg->clamav.tmp_dir);
    else if (IS("clamav", "reload_check"))
        NUM(cfg->clamav.reload_check);
    else if (IS("clamav", "reload"))
        STR(cfg->clamav.reload == RELOAD_CONCURRENT ? "concurrent" : "blocking");
    else if (IS("clamav", "max_scan_size"))
        NUM(cfg->clamav.max_scan_size);
    else if (IS("clamav", "max_file_size"))
        NUM(cfg->clamav.max_file_size);
    else if (IS("clamav", "max_recursion"))
        NUM(cfg->clamav.max_recursion);
    else if (IS("clamav", "max_files"))
        NUM(cfg->clamav.max_files);
    else if (IS("clamav", "scan_memory"))
        NUM(cfg->clamav.scan_memory);
    else if (IS("spamd", "enabled"))
        STR(YESNO(cfg->spamd.enabled));
    else if (IS("spamd", "address"))
        net_address_format(&cfg->spamd.address, out, n);
    else if (IS("spamd", "timeout"))
        NUM(cfg->spamd.timeout);
    else if (IS("spamd", "max_size"))
        NUM(cfg->spamd.max_size);
    else if (IS("spamd", "connections"))
        NUM(cfg->spamd.connections);
    else if (IS("rspamd", "enabled"))
        STR(YESNO(cfg->rspamd.enabled));
    else if (IS("rspamd", "address"))
        net_address_format(&cfg->rspamd.address, out, n);
    else if (IS("rspamd", "timeout"))
        NUM(cfg->rspamd.timeout);
    else if (IS("rspamd", "max_size"))
        NUM(cfg->rspamd.max_size);
    else if (IS("rspamd", "connections"))
        NUM(cfg->rspamd.connections);
    else if (IS("scan", "verdict_reuse"))
        NUM(cfg->scan.verdict_reuse);
    else if (IS("deliver", "mode"))
        STR(cfg->deliver.mode == DELIVER_RELAY ? "relay" : "maildir");
    else if (IS("deliver", "relay"))
        net_address_format(&cfg->deliver.relay, out, n);
    else if (IS("deliver", "relay_sasl_username"))
        STR(cfg->deliver.relay_sasl_username);
    else if (IS("deliver", "relay_sasl_password"))
        STR(cfg->deliver.relay_sasl_password);
    else if (IS("deliver", "maildir"))
        STR(cfg->deliver.maildir);
    else if (IS("deliver", "maildir_create"))
        STR(YESNO(cfg->deliver.maildir_create));
    else if (IS("deliver", "recipient_delimiter"))
        STR(cfg->deliver.recipient_delimiter);
    else if (IS("deliver", "quarantine_dir"))
        STR(cfg->deliver.quarantine_dir);
    else if (IS("report", "dir"))
        STR(cfg->report.dir);
    else if (strncmp(section, "policy ", 7) == 0) {
        const struct policy *p = config_find_policy(cfg, section + 7);
        assert_non_null(p);
        if (strcmp(key, "virus_scan") == 0)
            STR(YESNO(p->virus_scan));
        else if (strcmp(key, "spam_scan") == 0)
            STR(YESNO(p->spam_scan));
        else if (strcmp(key, "spamd_user") == 0)
            STR(p->spamd_user);
        else if (strcmp(key, "spam_engine") == 0)
            STR(p->spam_engine == SPAM_ENGINE_RSPAMD ? "rspamd" : "spamd");
        else if (strcmp(key, "spam_header_level") == 0)
            snprintf(out, n, "%g", p->spam_header_level);
        else if (strcmp(key, "spam_mark_level") == 0 && p->spam_mark_from_spamd)
            STR("spamd");
        else if (strcmp(key, "spam_mark_level") == 0)
            snprintf(out, n, "%g", p->spam_mark_level);
        else if (strcmp(key, "spam_block_level") == 0)
            snprintf(out, n, "%g", p->spam_block_level);
        else if (strcmp(key, "spam_action") == 0)
            STR(action_name(p->spam_action));
        else if (strcmp(key, "spam_block_action") == 0)
            STR(action_name(p->spam_block_action));
        else if (strcmp(key, "virus_action") == 0)
            STR(action_name(p->virus_action));
        else if (strcmp(key, "junk_folder") == 0)
            STR(p->junk_folder);
        else if (strcmp(key, "subject_tag") == 0)
            STR(p->subject_tag);
        else if (strcmp(key, "scan_error_action") == 0)
            STR(action_name(p->scan_error_action));
        else if (strcmp(key, "unchecked_action") == 0) /* says "deliver", not "pass" */
            STR(p->unchecked_action == ACTION_DELIVER ? "deliver"
                                                      : action_name(p->unchecked_action));
        else
            fail_msg("no renderer for [%s] %s", section, key);
    } else {
        fail_msg("no renderer for [%s] %s", section, key);
    }
#undef IS
#undef STR
#undef NUM
}

/* ---- defaults ---- */

struct default_case {
    const char *section;
    const char *key;
    const char *expected;
};

static const struct default_case defaults[] = {
    {"server", "listen", "unix:/run/lmtpscan/lmtp.sock, inet:127.0.0.1:10024"},
    {"server", "smtp_listen", ""},
    {"server", "max_sessions", "32"},
    {"server", "max_message_size", "52428800"},
    {"server", "max_recipients", "1000"},
    {"server", "timeout", "300"},
    {"server", "scan_timeout", "120"},
    {"server", "allow_from", "127.0.0.0/8, ::1/128"},
    {"server", "auth", "no"},
    {"server", "sasl_service", "lmtpscan"},
    {"server", "user", ""},
    {"server", "spool_dir", "/var/spool/lmtpscan"},
    {"server", "log", "syslog"},
    {"server", "session_timeout", "1800"},
    {"server", "max_errors", "20"},
    {"server", "max_auth_failures", "3"},
    {"server", "max_commands_before_auth", "20"},
    {"server", "trusted_sessions", "8"},
    {"clamav", "enabled", "yes"},
    {"clamav", "database", "/var/lib/clamav"},
    {"clamav", "tmp_dir", ""},
    {"clamav", "reload_check", "300"},
    {"clamav", "reload", "concurrent"},
    {"clamav", "max_scan_size", "104857600"},
    {"clamav", "max_file_size", "26214400"},
    {"clamav", "max_recursion", "16"},
    {"clamav", "max_files", "10000"},
    {"clamav", "scan_memory", "1073741824"},
    {"spamd", "enabled", "yes"},
    {"spamd", "address", "inet:127.0.0.1:783"},
    {"spamd", "timeout", "30"},
    {"spamd", "max_size", "512000"},
    {"spamd", "connections", "8"},
    {"rspamd", "enabled", "no"},
    {"rspamd", "address", "inet:127.0.0.1:11333"},
    {"rspamd", "timeout", "30"},
    {"rspamd", "max_size", "20971520"},
    {"rspamd", "connections", "16"},
    {"scan", "verdict_reuse", "0"},
    {"deliver", "mode", "relay"},
    {"deliver", "relay", "inet:127.0.0.1:10025"},
    {"deliver", "relay_sasl_username", ""},
    {"deliver", "relay_sasl_password", ""},
    {"deliver", "maildir", "/var/vmail/%d/%n/Maildir"},
    {"deliver", "maildir_create", "yes"},
    {"deliver", "recipient_delimiter", "+"},
    {"deliver", "quarantine_dir", "/var/spool/lmtpscan/quarantine"},
    {"report", "dir", "/var/spool/lmtpscan/reports"},
    {"policy default", "virus_scan", "yes"},
    {"policy default", "spam_scan", "yes"},
    {"policy default", "spamd_user", "%u"},
    {"policy default", "spam_engine", "spamd"},
    {"policy default", "spam_header_level", "-999"},
    {"policy default", "spam_mark_level", "5"},
    {"policy default", "spam_block_level", "15"},
    {"policy default", "spam_action", "junk"},
    {"policy default", "spam_block_action", "quarantine"},
    {"policy default", "virus_action", "quarantine"},
    {"policy default", "junk_folder", "Junk"},
    {"policy default", "subject_tag", ""},
    {"policy default", "scan_error_action", "tempfail"},
    {"policy default", "unchecked_action", "deliver"},
};

static void test_defaults(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[ERR_MAX], out[OUT_MAX];
    assert_int_equal(config_load_string("", "empty.conf", &cfg, err, sizeof(err)), 0);
    assert_non_null(cfg);
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        render(cfg, defaults[i].section, defaults[i].key, out, sizeof(out));
        if (strcmp(out, defaults[i].expected) != 0)
            fail_msg("default [%s] %s: got \"%s\", want \"%s\"", defaults[i].section,
                     defaults[i].key, out, defaults[i].expected);
    }
    char host[256];
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    host[sizeof(host) - 1] = '\0';
    assert_string_equal(cfg->server.hostname, host);
    assert_string_equal(cfg->path, "empty.conf");
    assert_int_equal(cfg->n_policies, 1);
    assert_string_equal(cfg->policies[0].name, "default");
    assert_false(cfg->policies[0].spam_mark_from_spamd);
    assert_int_equal(cfg->n_recipients, 0);
    config_free(cfg);
}

/* An empty first line once made the NUL check read a NULL buffer (found by
 * fuzz_config under UBSan). */
static void test_leading_empty_lines(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[ERR_MAX];
    assert_int_equal(
        config_load_string("\n\n[server]\nmax_sessions = 3\n", "lead.conf", &cfg, err, sizeof(err)),
        0);
    assert_int_equal(cfg->server.max_sessions, 3);
    config_free(cfg);
}

/* ---- good values ---- */

struct good_case {
    const char *section; /* as written in the file, e.g. "policy default" */
    const char *key;
    const char *value;    /* as written after "key = " */
    const char *expected; /* render() of the loaded value */
    const char *extra;    /* more lines for the same section, or NULL */
};

static const struct good_case goods[] = {
    {"server", "listen", "unix:/tmp/a.sock", "unix:/tmp/a.sock", NULL},
    {"server", "listen", "inet:[::1]:10024,inet:0.0.0.0:24", "inet:[::1]:10024, inet:0.0.0.0:24",
     NULL},
    {"server", "listen", " inet:localhost:10024 ,  unix:/x ", "inet:localhost:10024, unix:/x",
     NULL},
    {"server", "listen", "inet:127.0.0.1:01024", "inet:127.0.0.1:1024", NULL},
    {"server", "listen", "", "", "smtp_listen = inet:127.0.0.1:10026"},
    {"server", "smtp_listen", "inet:127.0.0.1:10026", "inet:127.0.0.1:10026", NULL},
    {"server", "smtp_listen", "", "", NULL},
    {"server", "hostname", "mx1.example.org", "mx1.example.org", NULL},
    {"server", "max_sessions", "1", "1", NULL},
    {"server", "max_sessions", "100000", "100000", NULL},
    {"server", "max_message_size", "10M", "10485760", NULL},
    {"server", "max_message_size", "1k", "1024", NULL},
    {"server", "max_message_size", "123", "123", NULL},
    {"server", "max_message_size", "2G", "2147483648", NULL},
    {"server", "max_recipients", "5", "5", NULL},
    {"server", "timeout", "5m", "300", NULL},
    {"server", "timeout", "1h", "3600", NULL},
    {"server", "timeout", "45", "45", NULL},
    {"server", "timeout", "10s", "10", NULL},
    {"server", "scan_timeout", "2m", "120", NULL},
    {"server", "allow_from", "10.0.0.0/8, 192.168.1.5, 2001:db8::/32",
     "10.0.0.0/8, 192.168.1.5/32, 2001:db8::/32", NULL},
    {"server", "allow_from", "10.1.2.3/8", "10.0.0.0/8", NULL},
    {"server", "allow_from", "", "", NULL},
    {"server", "auth", "yes", "yes", NULL},
    {"server", "auth", "true", "yes", NULL},
    {"server", "auth", "On", "yes", NULL},
    {"server", "auth", "1", "yes", NULL},
    {"server", "auth", "NO", "no", NULL},
    {"server", "auth", "false", "no", NULL},
    {"server", "auth", "off", "no", NULL},
    {"server", "auth", "0", "no", NULL},
    {"server", "sasl_service", "smtp", "smtp", NULL},
    {"server", "user", "lmtpscan", "lmtpscan", NULL},
    {"server", "user", "", "", NULL},
    {"server", "spool_dir", "/srv/spool", "/srv/spool", NULL},
    {"server", "log", "stderr", "stderr", NULL},
    {"server", "log", "syslog", "syslog", NULL},
    {"server", "session_timeout", "1h", "3600", NULL},
    {"server", "session_timeout", "45", "45", NULL},
    {"server", "max_errors", "5", "5", NULL},
    {"server", "max_auth_failures", "1", "1", NULL},
    {"server", "max_commands_before_auth", "100", "100", NULL},
    {"server", "trusted_sessions", "0", "0", NULL},
    {"server", "trusted_sessions", "16", "16", NULL},
    {"clamav", "enabled", "no", "no", NULL},
    {"clamav", "database", "/srv/clamav", "/srv/clamav", NULL},
    {"clamav", "database", "", "", "enabled = no"},
    {"clamav", "tmp_dir", "/dev/shm/lmtpscan", "/dev/shm/lmtpscan", NULL},
    {"clamav", "tmp_dir", "", "", NULL},
    {"clamav", "reload_check", "0", "0", NULL},
    {"clamav", "reload_check", "10m", "600", NULL},
    {"clamav", "reload", "blocking", "blocking", NULL},
    {"clamav", "reload", "concurrent", "concurrent", NULL},
    {"clamav", "max_scan_size", "200M", "209715200", NULL},
    {"clamav", "max_file_size", "0", "0", NULL},
    {"clamav", "max_recursion", "20", "20", NULL},
    {"clamav", "max_files", "0", "0", NULL},
    {"clamav", "scan_memory", "2G", "2147483648", NULL},
    {"spamd", "enabled", "no", "no", NULL},
    {"spamd", "address", "unix:/run/spamd.sock", "unix:/run/spamd.sock", NULL},
    {"spamd", "address", "", "", "enabled = no"},
    {"spamd", "timeout", "1m", "60", NULL},
    {"spamd", "max_size", "1M", "1048576", NULL},
    {"spamd", "connections", "1", "1", NULL},
    {"rspamd", "enabled", "yes", "yes", NULL},
    {"rspamd", "address", "unix:/run/rspamd/normal.sock", "unix:/run/rspamd/normal.sock", NULL},
    {"rspamd", "address", "", "", "enabled = no"},
    {"rspamd", "timeout", "2m", "120", NULL},
    {"rspamd", "max_size", "5M", "5242880", NULL},
    {"rspamd", "connections", "1024", "1024", NULL},
    {"scan", "verdict_reuse", "10m", "600", NULL},
    {"scan", "verdict_reuse", "0", "0", NULL},
    {"policy default", "spam_engine", "rspamd", "rspamd", NULL},
    {"policy x", "spam_engine", "RSPAMD", "rspamd", NULL},
    {"policy x", "spam_engine", "spamd", "spamd", NULL},
    {"deliver", "mode", "maildir", "maildir", NULL},
    {"deliver", "mode", "relay", "relay", NULL},
    {"deliver", "relay", "inet:[::1]:25", "inet:[::1]:25", NULL},
    {"deliver", "relay", "", "", "mode = maildir"},
    {"deliver", "relay_sasl_username", "filter", "filter", "relay_sasl_password = s3cret"},
    {"deliver", "relay_sasl_password", "\"p#ss word\"", "p#ss word",
     "relay_sasl_username = filter"},
    {"deliver", "relay_sasl_password", "p#ss", "p#ss", "relay_sasl_username = filter"},
    {"deliver", "maildir", "/home/%u/Maildir", "/home/%u/Maildir", NULL},
    {"deliver", "maildir", "/v/%d/%n/%e/%%/Maildir", "/v/%d/%n/%e/%%/Maildir", NULL},
    {"deliver", "maildir", "", "", NULL},
    {"deliver", "maildir_create", "no", "no", NULL},
    {"deliver", "recipient_delimiter", "", "", NULL},
    {"deliver", "recipient_delimiter", "+-", "+-", NULL},
    {"deliver", "recipient_delimiter", "\"+\"", "+", NULL},
    {"deliver", "quarantine_dir", "/q", "/q", NULL},
    {"report", "dir", "", "", NULL},
    {"report", "dir", "/srv/reports", "/srv/reports", NULL},
    {"policy default", "virus_scan", "no", "no", NULL},
    {"policy default", "spam_scan", "no", "no", NULL},
    {"policy default", "spamd_user", "%n", "%n", NULL},
    {"policy default", "spamd_user", "filter", "filter", NULL},
    {"policy default", "spamd_user", "", "", "spam_scan = no"},
    {"policy default", "spam_header_level", "2.5", "2.5", NULL},
    {"policy default", "spam_header_level", "-5", "-5", NULL},
    {"policy default", "spam_mark_level", "6.31", "6.31", NULL},
    {"policy default", "spam_mark_level", "+3", "3", NULL},
    {"policy default", "spam_mark_level", "spamd", "spamd", NULL},
    {"policy default", "spam_block_level", "20", "20", NULL},
    {"policy default", "spam_action", "junk", "junk", NULL},
    {"policy default", "spam_action", "pass", "pass", NULL},
    {"policy default", "spam_action", "quarantine", "quarantine", NULL},
    {"policy default", "spam_action", "discard", "discard", NULL},
    {"policy default", "spam_action", "reject", "reject", NULL},
    {"policy default", "spam_block_action", "quarantine", "quarantine", NULL},
    {"policy default", "spam_block_action", "discard", "discard", NULL},
    {"policy default", "spam_block_action", "reject", "reject", NULL},
    {"policy default", "virus_action", "quarantine", "quarantine", NULL},
    {"policy default", "virus_action", "discard", "discard", NULL},
    {"policy default", "virus_action", "reject", "reject", NULL},
    {"policy default", "junk_folder", "Spam", "Spam", NULL},
    {"policy default", "junk_folder", "Junk.Spam", "Junk.Spam", NULL},
    {"policy default", "subject_tag", "\"[SPAM] \"", "[SPAM] ", NULL},
    {"policy default", "subject_tag", "***SPAM***", "***SPAM***", NULL},
    {"policy default", "subject_tag", "[SPAM]   # a comment", "[SPAM]", NULL},
    {"policy default", "subject_tag", "\"[#SPAM] # kept\"   # dropped", "[#SPAM] # kept", NULL},
    {"policy default", "subject_tag", "\"say \\\"hi\\\" \\\\ ok\"", "say \"hi\" \\ ok", NULL},
    {"policy default", "subject_tag", "a\"b", "a\"b", NULL},
    {"policy default", "subject_tag", "C#", "C#", NULL},
    {"policy default", "subject_tag", "\"\"", "", NULL},
    {"policy default", "scan_error_action", "pass", "pass", NULL},
    {"policy default", "scan_error_action", "tempfail", "tempfail", NULL},
    {"policy default", "unchecked_action", "deliver", "deliver", NULL},
    {"policy default", "unchecked_action", "Quarantine", "quarantine", NULL},
    {"policy default", "unchecked_action", "reject", "reject", NULL},
    {"policy strict", "unchecked_action", "quarantine", "quarantine", NULL},
    {"policy strict", "spam_action", "reject", "reject", NULL},
    {"policy a.b-c_9", "virus_action", "discard", "discard", NULL},
};

static void test_good_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        const struct good_case *c = &goods[i];
        char text[2048], err[ERR_MAX], out[OUT_MAX];
        snprintf(text, sizeof(text), "[%s]\n%s = %s\n%s\n", c->section, c->key, c->value,
                 c->extra ? c->extra : "");
        struct config *cfg = NULL;
        if (config_load_string(text, "t.conf", &cfg, err, sizeof(err)) != 0)
            fail_msg("case %zu [%s] %s = %s: unexpected error: %s", i, c->section, c->key, c->value,
                     err);
        render(cfg, c->section, c->key, out, sizeof(out));
        if (strcmp(out, c->expected) != 0)
            fail_msg("case %zu [%s] %s = %s: got \"%s\", want \"%s\"", i, c->section, c->key,
                     c->value, out, c->expected);
        config_free(cfg);
    }
}

/* ---- bad values and syntax ---- */

struct bad_case {
    const char *text;
    const char *expected; /* the start of the error message */
};

static const struct bad_case bads[] = {
    /* [server] */
    {"[server]\nlisten = tcp:1.2.3.4:5\n",
     "t.conf:2: [server] listen: tcp:1.2.3.4:5: expected unix:/PATH or inet:HOST:PORT"},
    {"[server]\nlisten = inet:::1:24\n", "t.conf:2: [server] listen: inet:::1:24: an IPv6"},
    {"[server]\nlisten = inet:127.0.0.1:99999\n", "t.conf:2: [server] listen: inet:127.0.0.1:"},
    {"[server]\nlisten = inet:127.0.0.1:0\n", "t.conf:2: [server] listen: inet:127.0.0.1:0: "
                                              "port 0 is not allowed"},
    {"[server]\nlisten = inet:127.0.0.1\n", "t.conf:2: [server] listen: inet:127.0.0.1: "},
    {"[server]\nlisten = unix:relative.sock\n", "t.conf:2: [server] listen: unix:relative.sock: "
                                                "the socket path must be absolute"},
    {"[server]\nlisten = unix:/a,,unix:/b\n", "t.conf:2: [server] listen: empty item"},
    {"[server]\nlisten = unix:/a,\n", "t.conf:2: [server] listen: empty item"},
    {"[server]\nlisten = unix:/1,unix:/2,unix:/3,unix:/4,unix:/5,unix:/6,unix:/7,unix:/8,"
     "unix:/9,unix:/10,unix:/11,unix:/12,unix:/13,unix:/14,unix:/15,unix:/16,unix:/17\n",
     "t.conf:2: [server] listen: too many addresses (at most 16)"},
    {"[server]\n\nlisten =\nsmtp_listen =\n",
     "t.conf:3: [server] listen: no listener: listen and smtp_listen are both empty"},
    {"[server]\nlisten = inet:127.0.0.1:24\nsmtp_listen = inet:127.0.0.1:24\n",
     "t.conf:3: [server] smtp_listen: inet:127.0.0.1:24 is listed twice"},
    {"[server]\nlisten = unix:/a, unix:/a\n", "t.conf:2: [server] listen: unix:/a is listed twice"},
    {"[server]\nhostname = bad host\n", "t.conf:2: [server] hostname: \"bad host\": only"},
    {"[server]\nhostname = .example\n", "t.conf:2: [server] hostname: \".example\" is not a host"},
    {"[server]\nmax_sessions = 0\n", "t.conf:2: [server] max_sessions: 0 is out of range"},
    {"[server]\nmax_sessions = abc\n", "t.conf:2: [server] max_sessions: \"abc\" is not a number"},
    {"[server]\nmax_sessions = -1\n", "t.conf:2: [server] max_sessions: \"-1\" is not a number"},
    {"[server]\nmax_sessions = 3.5\n", "t.conf:2: [server] max_sessions: \"3.5\" is not a number"},
    {"[server]\nmax_sessions =\n", "t.conf:2: [server] max_sessions: \"\" is not a number"},
    {"[server]\nmax_message_size = 10X\n",
     "t.conf:2: [server] max_message_size: \"10X\" is not a size"},
    {"[server]\nmax_message_size = 10 M\n",
     "t.conf:2: [server] max_message_size: \"10 M\" is not a size"},
    {"[server]\nmax_message_size = 0\n", "t.conf:2: [server] max_message_size: 0 is out of range"},
    {"[server]\nmax_message_size = 99999999999999999999G\n",
     "t.conf:2: [server] max_message_size: \"99999999999999999999G\" is not a size"},
    {"[server]\nmax_message_size = M\n", "t.conf:2: [server] max_message_size: \"M\" is not"},
    {"[server]\nmax_recipients = 0\n", "t.conf:2: [server] max_recipients: 0 is out of range"},
    {"[server]\ntimeout = 5w\n", "t.conf:2: [server] timeout: \"5w\" is not a time"},
    {"[server]\ntimeout = 2d\n", "t.conf:2: [server] timeout: 2d is out of range"},
    {"[server]\ntimeout = 0\n", "t.conf:2: [server] timeout: 0 is out of range"},
    {"[server]\ntimeout = 1h30m\n", "t.conf:2: [server] timeout: \"1h30m\" is not a time"},
    {"[server]\nscan_timeout = 4294967296\n", "t.conf:2: [server] scan_timeout: \"4294967296\""},
    {"[server]\nallow_from = 10.0.0.0/33\n",
     "t.conf:2: [server] allow_from: \"10.0.0.0/33\" is not an address"},
    {"[server]\nallow_from = localhost\n", "t.conf:2: [server] allow_from: \"localhost\" is not"},
    {"[server]\nallow_from = ::1/129\n", "t.conf:2: [server] allow_from: \"::1/129\" is not"},
    {"[server]\nallow_from = 10.0.0.0/\n", "t.conf:2: [server] allow_from: \"10.0.0.0/\" is not"},
    {"[server]\nauth = maybe\n", "t.conf:2: [server] auth: \"maybe\" is not a boolean"},
    {"[server]\nauth =\n", "t.conf:2: [server] auth: \"\" is not a boolean"},
    {"[server]\nsasl_service =\n", "t.conf:2: [server] sasl_service: a value is required"},
    {"[server]\nsasl_service = a/b\n", "t.conf:2: [server] sasl_service: \"a/b\": only"},
    {"[server]\nuser = -x\n", "t.conf:2: [server] user: \"-x\" must not start with '-'"},
    {"[server]\nspool_dir = spool\n", "t.conf:2: [server] spool_dir: \"spool\" is not an absolute"},
    {"[server]\nspool_dir =\n", "t.conf:2: [server] spool_dir: a value is required"},
    {"[server]\nlog = file\n",
     "t.conf:2: [server] log: \"file\" is not allowed (expected syslog | stderr)"},
    {"[server]\nsession_timeout = 0\n", "t.conf:2: [server] session_timeout: 0 is out of range"},
    {"[server]\nsession_timeout = 2d\n", "t.conf:2: [server] session_timeout: 2d is out of range"},
    {"[server]\nsession_timeout = 25h\n",
     "t.conf:2: [server] session_timeout: 25h is out of range"},
    {"[server]\nmax_errors = 0\n", "t.conf:2: [server] max_errors: 0 is out of range"},
    {"[server]\nmax_errors = many\n", "t.conf:2: [server] max_errors: \"many\" is not a number"},
    {"[server]\nmax_auth_failures = 0\n",
     "t.conf:2: [server] max_auth_failures: 0 is out of range"},
    {"[server]\nmax_auth_failures = 1001\n",
     "t.conf:2: [server] max_auth_failures: 1001 is out of range"},
    {"[server]\nmax_commands_before_auth = -1\n",
     "t.conf:2: [server] max_commands_before_auth: \"-1\" is not a number"},
    {"[server]\nmax_commands_before_auth = 0\n",
     "t.conf:2: [server] max_commands_before_auth: 0 is out of range"},
    {"[server]\ntrusted_sessions = 100001\n",
     "t.conf:2: [server] trusted_sessions: 100001 is out of range"},
    {"[server]\n\ntrusted_sessions = 8x\n",
     "t.conf:3: [server] trusted_sessions: \"8x\" is not a number"},
    /* [clamav] */
    {"[clamav]\nenabled = si\n", "t.conf:2: [clamav] enabled: \"si\" is not a boolean"},
    {"[clamav]\ndatabase = clamav\n", "t.conf:2: [clamav] database: \"clamav\" is not an"},
    {"[clamav]\ndatabase =\n",
     "t.conf:2: [clamav] database: enabled = yes needs a database directory"},
    {"[clamav]\nreload_check = soon\n", "t.conf:2: [clamav] reload_check: \"soon\" is not a time"},
    {"[clamav]\nreload = lazy\n",
     "t.conf:2: [clamav] reload: \"lazy\" is not allowed (expected concurrent | blocking)"},
    {"[clamav]\nmax_scan_size = 5G\n", "t.conf:2: [clamav] max_scan_size: 5G is out of range"},
    {"[clamav]\nmax_file_size = -1\n", "t.conf:2: [clamav] max_file_size: \"-1\" is not a size"},
    {"[clamav]\nmax_recursion = 0\n", "t.conf:2: [clamav] max_recursion: 0 is out of range"},
    {"[clamav]\nmax_files = x\n", "t.conf:2: [clamav] max_files: \"x\" is not a number"},
    {"[clamav]\nscan_memory = 1K\n", "t.conf:2: [clamav] scan_memory: 1K is out of range"},
    /* [spamd] */
    {"[spamd]\nenabled = 2\n", "t.conf:2: [spamd] enabled: \"2\" is not a boolean"},
    {"[spamd]\naddress = 127.0.0.1:783\n", "t.conf:2: [spamd] address: 127.0.0.1:783: expected"},
    {"[spamd]\naddress =\n", "t.conf:2: [spamd] address: enabled = yes needs an address"},
    {"[spamd]\ntimeout = 0\n", "t.conf:2: [spamd] timeout: 0 is out of range"},
    {"[spamd]\nmax_size = big\n", "t.conf:2: [spamd] max_size: \"big\" is not a size"},
    {"[spamd]\nconnections = 0\n", "t.conf:2: [spamd] connections: 0 is out of range"},
    /* [rspamd], [scan] */
    {"[rspamd]\nenabled = 2\n", "t.conf:2: [rspamd] enabled: \"2\" is not a boolean"},
    {"[rspamd]\nenabled = yes\naddress =\n",
     "t.conf:3: [rspamd] address: enabled = yes needs an address"},
    {"[rspamd]\naddress = localhost:11333\n", "t.conf:2: [rspamd] address: localhost:11333"},
    {"[rspamd]\ntimeout = 0\n", "t.conf:2: [rspamd] timeout: 0 is out of range"},
    {"[rspamd]\nconnections = 1025\n", "t.conf:2: [rspamd] connections: 1025 is out of range"},
    {"[rspamd]\nrequests = 3\n", "t.conf:2: [rspamd] requests: unknown key"},
    {"[scan]\nverdict_reuse = 25h\n", "t.conf:2: [scan] verdict_reuse: 25h is out of range"},
    {"[scan]\nverdict_reuse = soon\n", "t.conf:2: [scan] verdict_reuse: \"soon\" is not"},
    {"[policy default]\nspam_engine = amavis\n",
     "t.conf:2: [policy default] spam_engine: \"amavis\" is not allowed (expected spamd | "
     "rspamd)"},
    /* [deliver] */
    {"[deliver]\nmode = lmtp\n",
     "t.conf:2: [deliver] mode: \"lmtp\" is not allowed (expected relay | maildir)"},
    {"[deliver]\nrelay =\n", "t.conf:2: [deliver] relay: mode = relay needs a relay address"},
    {"[deliver]\nmode = relay\nrelay =\n",
     "t.conf:3: [deliver] relay: mode = relay needs a relay address"},
    {"[deliver]\nrelay = smtp:127.0.0.1:25\n", "t.conf:2: [deliver] relay: smtp:127.0.0.1:25: "},
    {"[deliver]\nmode = maildir\nmaildir =\n",
     "t.conf:3: [deliver] maildir: mode = maildir needs a maildir template"},
    {"[deliver]\nmaildir = /var/%x/Maildir\n",
     "t.conf:2: [deliver] maildir: unknown escape \"%x\" (known: %% %u %n %d %e)"},
    {"[deliver]\nmaildir = /var/%\n", "t.conf:2: [deliver] maildir: unknown escape \"%\""},
    {"[deliver]\nmaildir = vmail/%u\n", "t.conf:2: [deliver] maildir: \"vmail/%u\" is not an"},
    {"[deliver]\nrelay_sasl_username = filter\n",
     "t.conf:2: [deliver] relay_sasl_password: relay_sasl_username and relay_sasl_password "
     "must be set together"},
    {"[deliver]\n\nrelay_sasl_password = x\n",
     "t.conf:3: [deliver] relay_sasl_username: relay_sasl_username and"},
    {"[deliver]\nmaildir_create = sometimes\n", "t.conf:2: [deliver] maildir_create: "},
    {"[deliver]\nrecipient_delimiter = @\n",
     "t.conf:2: [deliver] recipient_delimiter: '@' cannot be a delimiter"},
    {"[deliver]\nrecipient_delimiter = \"+ \"\n",
     "t.conf:2: [deliver] recipient_delimiter: ' ' cannot be a delimiter"},
    {"[deliver]\nrecipient_delimiter = +-_.~!$&*^{}|/:;\n",
     "t.conf:2: [deliver] recipient_delimiter: too long (at most 15 bytes)"},
    {"[deliver]\nquarantine_dir =\n", "t.conf:2: [deliver] quarantine_dir: a value is required"},
    /* [report] */
    {"[report]\ndir = reports\n", "t.conf:2: [report] dir: \"reports\" is not an absolute path"},
    {"[report]\ndirectory = /r\n", "t.conf:2: [report] directory: unknown key"},
    /* [policy NAME] */
    {"[policy default]\nvirus_scan = maybe\n",
     "t.conf:2: [policy default] virus_scan: \"maybe\" is not a boolean"},
    {"[policy default]\nspam_scan = 2\n", "t.conf:2: [policy default] spam_scan: \"2\" is not"},
    {"[policy default]\nspamd_user = %x\n",
     "t.conf:2: [policy default] spamd_user: unknown escape \"%x\" (known: %% %u %n %d)"},
    {"[policy default]\nspamd_user = %e\n", "t.conf:2: [policy default] spamd_user: unknown"},
    {"[policy default]\nspamd_user = a b\n",
     "t.conf:2: [policy default] spamd_user: blanks are not allowed"},
    {"[policy x]\n\nspamd_user =\n",
     "t.conf:3: [policy x] spamd_user: spam_scan = yes needs a spamd_user"},
    {"[policy default]\nspam_header_level = abc\n",
     "t.conf:2: [policy default] spam_header_level: \"abc\" is not a score"},
    {"[policy default]\nspam_header_level = 1e3\n",
     "t.conf:2: [policy default] spam_header_level: \"1e3\" is not a score"},
    {"[policy default]\nspam_header_level = nan\n", "t.conf:2: [policy default] spam_header_level"},
    {"[policy default]\nspam_header_level = .5\n", "t.conf:2: [policy default] spam_header_level"},
    {"[policy default]\nspam_mark_level = spamd2\n",
     "t.conf:2: [policy default] spam_mark_level: \"spamd2\" is not a score (a decimal number "
     "or \"spamd\")"},
    {"[policy default]\nspam_block_level =\n",
     "t.conf:2: [policy default] spam_block_level: \"\" is not a score"},
    {"[policy default]\nspam_action = tempfail\n",
     "t.conf:2: [policy default] spam_action: \"tempfail\" is not allowed (expected junk | pass "
     "| quarantine | discard | reject)"},
    {"[policy default]\nspam_block_action = junk\n",
     "t.conf:2: [policy default] spam_block_action: \"junk\" is not allowed (expected "
     "quarantine | discard | reject)"},
    {"[policy default]\nspam_block_action = pass\n",
     "t.conf:2: [policy default] spam_block_action: \"pass\" is not allowed"},
    {"[policy default]\nvirus_action = pass\n",
     "t.conf:2: [policy default] virus_action: \"pass\" is not allowed (expected quarantine | "
     "discard | reject)"},
    {"[policy default]\nvirus_action = junk\n", "t.conf:2: [policy default] virus_action: "},
    {"[policy default]\nscan_error_action = reject\n",
     "t.conf:2: [policy default] scan_error_action: \"reject\" is not allowed (expected tempfail "
     "| pass)"},
    {"[policy default]\nunchecked_action = pass\n",
     "t.conf:2: [policy default] unchecked_action: \"pass\" is not allowed (expected deliver | "
     "quarantine | reject)"},
    {"[policy default]\nunchecked_action = junk\n",
     "t.conf:2: [policy default] unchecked_action: \"junk\" is not allowed"},
    {"[policy default]\nunchecked_action = discard\n",
     "t.conf:2: [policy default] unchecked_action: \"discard\" is not allowed"},
    {"[policy x]\n\nunchecked_action = tempfail\n",
     "t.conf:3: [policy x] unchecked_action: \"tempfail\" is not allowed"},
    {"[policy default]\nunchecked_action =\n",
     "t.conf:2: [policy default] unchecked_action: \"\" is not allowed"},
    {"[policy default]\nunchecked_action = reject\nunchecked_action = deliver\n",
     "t.conf:3: [policy default] unchecked_action: duplicate key (already set at line 2)"},
    {"[policy default]\njunk_folder = .Junk\n",
     "t.conf:2: [policy default] junk_folder: \".Junk\": a folder name must not"},
    {"[policy default]\njunk_folder = a/b\n", "t.conf:2: [policy default] junk_folder: \"a/b\""},
    {"[policy default]\njunk_folder = a..b\n", "t.conf:2: [policy default] junk_folder: "},
    {"[policy default]\njunk_folder =\n",
     "t.conf:2: [policy default] junk_folder: a value is required"},
    {"[policy default]\nsubject_tag = \"[SPAM] \n",
     "t.conf:2: [policy default] subject_tag: missing closing '\"'"},
    {"[policy default]\nsubject_tag = \"a\" b\n",
     "t.conf:2: [policy default] subject_tag: text after the closing '\"'"},
    {"[policy default]\nsubject_tag = \"a\\tb\"\n",
     "t.conf:2: [policy default] subject_tag: only \\\" and \\\\ may follow a backslash"},
    {"[policy default]\nsubject_tag = "
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
     "t.conf:2: [policy default] subject_tag: too long (at most 255 bytes)"},
    {"[policy default]\nspam_level = 5\n", "t.conf:2: [policy default] spam_level: unknown key"},
    {"[policy]\n", "t.conf:1: [policy]: a policy needs a name"},
    {"[policy bad/name]\n", "t.conf:1: [policy bad/name]: bad policy name"},
    {"[policy "
     "a234567890123456789012345678901234567890123456789012345678901234]\n",
     "t.conf:1: [policy a2345678"},
    /* unknown keys and sections, duplicates, syntax */
    {"[server]\nbogus = 1\n", "t.conf:2: [server] bogus: unknown key"},
    {"[server]\nspamd_user = x\n", "t.conf:2: [server] spamd_user: unknown key"},
    {"# c\n[bogus]\n", "t.conf:2: [bogus]: unknown section"},
    {"[server]\n[Bogus]\nx = 1\n", "t.conf:2: [Bogus]: unknown section"},
    {"[server]\nauth = yes\nauth = no\n",
     "t.conf:3: [server] auth: duplicate key (already set at line 2)"},
    {"[server]\nauth = yes\n[clamav]\n[server]\nAUTH = no\n",
     "t.conf:5: [server] AUTH: duplicate key (already set at line 2)"},
    {"[policy p]\nspam_action = junk\n[policy q]\n[policy p]\nspam_action = pass\n",
     "t.conf:5: [policy p] spam_action: duplicate key (already set at line 2)"},
    {"auth = yes\n", "t.conf:1: \"auth\" is outside of any [section]"},
    {"[server]\njunk line\n", "t.conf:2: syntax error: expected \"key = value\""},
    {"[server]\nlisten: inet:1.2.3.4:5\n", "t.conf:2: syntax error: expected \"key = value\""},
    {"[server]\n= 5\n", "t.conf:2: syntax error: missing key before '='"},
    {"[server\n", "t.conf:1: syntax error: missing ']'"},
    {"[server] x\n", "t.conf:1: syntax error: text after ']'"},
    /* [recipients] */
    {"[recipients]\nuser@example.com = strict\n",
     "t.conf:2: [recipients] user@example.com: there is no [policy strict] section"},
    {"[recipients]\nnobody = default\n",
     "t.conf:2: [recipients] nobody: expected user@domain or @domain"},
    {"[recipients]\nuser@ = default\n", "t.conf:2: [recipients] user@: expected user@domain"},
    {"[recipients]\n@example.org = bad name!\n",
     "t.conf:2: [recipients] @example.org: \"bad name!\" is not a policy name"},
    {"[recipients]\n@example.org =\n", "t.conf:2: [recipients] @example.org: \"\" is not a"},
    {"[recipients]\nUser@Example.com = default\n@x.org = default\nuser@example.COM = default\n",
     "t.conf:4: [recipients] user@example.com: duplicate address (already listed at line 2)"},
    {"[recipients]\na b@x.org = default\n", "t.conf:2: [recipients] a b@x.org: blanks"},
    /* a quoted local part is the address RCPT makes of it */
    {"[recipients]\n\"Ceo\"@example.com = default\nceo@example.com = default\n",
     "t.conf:3: [recipients] ceo@example.com: duplicate address (already listed at line 2)"},
};

static void test_bad_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        char err[ERR_MAX];
        struct config *cfg = (struct config *)1;
        int rc = config_load_string(bads[i].text, "t.conf", &cfg, err, sizeof(err));
        if (rc == 0)
            fail_msg("case %zu: \"%s\" loaded, want error \"%s\"", i, bads[i].text,
                     bads[i].expected);
        assert_null(cfg);
        if (strncmp(err, bads[i].expected, strlen(bads[i].expected)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, bads[i].expected);
    }
}

/* ---- value parsers ---- */

static void test_value_parsers(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
        uint64_t value;
    } sizes[] = {
        {"0", 0, 0},
        {"1", 0, 1},
        {"500K", 0, 512000},
        {"500k", 0, 512000},
        {"50M", 0, 52428800},
        {"1G", 0, 1073741824},
        {"18446744073709551615", 0, UINT64_MAX},
        {"18446744073709551616", -1, 0},
        {"17179869184G", -1, 0},
        {"", -1, 0},
        {"K", -1, 0},
        {"1T", -1, 0},
        {"1KB", -1, 0},
        {" 1", -1, 0},
        {"+1", -1, 0},
        {"1.5M", -1, 0},
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t v = 12345;
        int rc = config_parse_size(sizes[i].text, &v);
        if (rc != sizes[i].rc || (rc == 0 && v != sizes[i].value))
            fail_msg("size \"%s\": rc %d value %llu", sizes[i].text, rc, (unsigned long long)v);
    }
    static const struct {
        const char *text;
        int rc;
        unsigned value;
    } times[] = {
        {"0", 0, 0},
        {"30", 0, 30},
        {"30s", 0, 30},
        {"30S", 0, 30},
        {"2m", 0, 120},
        {"2h", 0, 7200},
        {"4294967295", 0, 4294967295u},
        {"4294967296", -1, 0},
        {"71582789m", -1, 0},
        {"s", -1, 0},
        {"", -1, 0},
        {"1d", 0, 86400},
        {"14D", 0, 14 * 86400},
        {"1w", -1, 0},
        {"-1", -1, 0},
        {"1 s", -1, 0},
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        unsigned v = 12345;
        int rc = config_parse_time(times[i].text, &v);
        if (rc != times[i].rc || (rc == 0 && v != times[i].value))
            fail_msg("time \"%s\": rc %d value %u", times[i].text, rc, v);
    }
    static const struct {
        const char *text;
        int rc;
        bool value;
    } bools[] = {
        {"yes", 0, true},    {"YES", 0, true}, {"true", 0, true},   {"on", 0, true},
        {"1", 0, true},      {"no", 0, false}, {"False", 0, false}, {"off", 0, false},
        {"0", 0, false},     {"", -1, false},  {"y", -1, false},    {"2", -1, false},
        {"yes ", -1, false},
    };
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        bool v = !bools[i].value;
        int rc = config_parse_bool(bools[i].text, &v);
        if (rc != bools[i].rc || (rc == 0 && v != bools[i].value))
            fail_msg("bool \"%s\": rc %d value %d", bools[i].text, rc, v);
    }
}

/* ---- policies and recipients ---- */

static void test_policies(void **state)
{
    (void)state;
    const char *text = "[recipients]\n"
                       "User@Example.COM = strict\n"
                       "@Example.org = lenient\n"
                       "boss+tag@example.com = default\n"
                       "[policy default]\n"
                       "spam_mark_level = 3\n"
                       "spam_action = reject\n"
                       "[policy strict]\n"
                       "virus_action = reject\n"
                       "[policy lenient]\n";
    char err[ERR_MAX];
    struct config *cfg = NULL;
    assert_int_equal(config_load_string(text, "p.conf", &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->n_policies, 3);
    assert_string_equal(cfg->policies[0].name, "default");
    assert_true(cfg->policies[0].spam_mark_level == 3.0);
    assert_int_equal(cfg->policies[0].spam_action, ACTION_REJECT);

    /* A named policy starts from the SPEC defaults, not from [policy default]. */
    const struct policy *strict = config_find_policy(cfg, "strict");
    assert_non_null(strict);
    assert_true(strict->spam_mark_level == 5.0);
    assert_int_equal(strict->spam_action, ACTION_JUNK);
    assert_int_equal(strict->virus_action, ACTION_REJECT);
    const struct policy *lenient = config_find_policy(cfg, "lenient");
    assert_non_null(lenient);
    assert_int_equal(lenient->virus_action, ACTION_QUARANTINE);
    assert_string_equal(lenient->junk_folder, "Junk");
    assert_null(config_find_policy(cfg, "Strict"));
    assert_null(config_find_policy(cfg, "none"));
    assert_null(config_find_policy(cfg, NULL));
    assert_ptr_equal(config_find_policy(cfg, "default"), &cfg->policies[0]);

    assert_int_equal(cfg->n_recipients, 3);
    assert_string_equal(cfg->recipients[0].key, "user@example.com");
    assert_string_equal(cfg->recipients[0].policy, "strict");
    assert_string_equal(cfg->recipients[1].key, "@example.org");
    assert_string_equal(cfg->recipients[1].policy, "lenient");
    assert_string_equal(cfg->recipients[2].key, "boss+tag@example.com");
    assert_string_equal(cfg->recipients[2].policy, "default");
    config_free(cfg);

    /* Without [policy default] the built-in one is there, first. */
    assert_int_equal(
        config_load_string("[policy only]\nspam_scan = no\n", "p.conf", &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->n_policies, 2);
    assert_string_equal(cfg->policies[0].name, "default");
    assert_true(cfg->policies[0].spam_scan);
    assert_false(config_find_policy(cfg, "only")->spam_scan);
    config_free(cfg);

    /* Many recipients: all kept, in file order. */
    char *big = malloc(200000);
    assert_non_null(big);
    size_t used = (size_t)snprintf(big, 200000, "[recipients]\n");
    for (int i = 0; i < 3000; i++)
        used += (size_t)snprintf(big + used, 200000 - used, "u%d@example.com = default\n", i);
    assert_int_equal(config_load_string(big, "p.conf", &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->n_recipients, 3000);
    assert_string_equal(cfg->recipients[2999].key, "u2999@example.com");
    config_free(cfg);
    snprintf(big + used, 200000 - used, "U17@example.com = default\n");
    assert_int_equal(config_load_string(big, "p.conf", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "p.conf:3002: [recipients] u17@example.com: duplicate address "
                             "(already listed at line 19)");
    free(big);
}

/* config_default_policy() is the policy an empty file loads as "default"
 * and the one every named policy starts from. */
static void test_default_policy(void **state)
{
    (void)state;
    char err[ERR_MAX], a[OUT_MAX], b[OUT_MAX], c[OUT_MAX];
    struct config *cfg = NULL;
    const char *text = "[policy default]\n"
                       "unchecked_action = reject\n"
                       "spam_action = pass\n"
                       "[policy plain]\n";
    assert_int_equal(config_load_string(text, "d.conf", &cfg, err, sizeof(err)), 0);
    struct config *empty = NULL;
    assert_int_equal(config_load_string("", "empty.conf", &empty, err, sizeof(err)), 0);

    const struct policy *def = config_default_policy();
    assert_non_null(def);
    assert_string_equal(def->name, "default");
    assert_false(def->spam_mark_from_spamd);
    struct policy copy = *def;
    snprintf(copy.name, sizeof(copy.name), "plain");
    struct config fake;
    memset(&fake, 0, sizeof(fake));
    fake.policies = &copy;
    fake.n_policies = 1;
    size_t n = 0;
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        if (strcmp(defaults[i].section, "policy default") != 0)
            continue;
        render(&fake, "policy plain", defaults[i].key, a, sizeof(a));
        render(empty, "policy default", defaults[i].key, b, sizeof(b));
        render(cfg, "policy plain", defaults[i].key, c, sizeof(c));
        if (strcmp(a, defaults[i].expected) != 0 || strcmp(b, a) != 0 || strcmp(c, a) != 0)
            fail_msg("%s: built-in \"%s\", empty file \"%s\", [policy plain] \"%s\", want "
                     "\"%s\"",
                     defaults[i].key, a, b, c, defaults[i].expected);
        n++;
    }
    assert_int_equal(n, 14);
    /* [policy default]'s own values stay its own. */
    assert_int_equal(cfg->policies[0].unchecked_action, ACTION_REJECT);
    assert_int_equal(config_find_policy(cfg, "plain")->unchecked_action, ACTION_DELIVER);
    assert_int_equal(config_find_policy(cfg, "plain")->spam_action, ACTION_JUNK);
    config_free(empty);
    config_free(cfg);
}

/* ---- comments, case, layout, long lines ---- */

static void test_layout(void **state)
{
    (void)state;
    const char *text = "; a semicolon comment\n"
                       "# a hash comment\n"
                       "\n"
                       "  [ SERVER ]   # comment after a header\n"
                       "\tMax_Sessions=7#not a comment start, so a bad number?\n";
    char err[ERR_MAX];
    struct config *cfg = NULL;
    /* '#' only starts a comment after a blank: "7#..." is the value. */
    assert_int_equal(config_load_string(text, "l.conf", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "l.conf:5: [server] Max_Sessions: \"7#not a comment start, so a "
                             "bad number?\" is not a number");

    text = "; a semicolon comment\n"
           "# a hash comment\n"
           "\n"
           "  [ SERVER ]   # comment after a header\n"
           "\tMax_Sessions=7\t# comment\r\n"
           "timeout = 120s                 # idle/command timeout;\n"
           "                               #   continued comment\n"
           "    auth = yes\n"
           "[policy  spaced]\n"
           "subject_tag = \"  two blanks  \"\n";
    assert_int_equal(config_load_string(text, "l.conf", &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->server.max_sessions, 7);
    assert_int_equal(cfg->server.timeout, 120);
    assert_true(cfg->server.auth);
    assert_string_equal(config_find_policy(cfg, "spaced")->subject_tag, "  two blanks  ");
    config_free(cfg);

    /* Long lines: values and comments far past libinih's 200-byte default,
     * and the line numbers after them stay right. */
    char *buf = malloc(20000);
    assert_non_null(buf);
    char path[1001];
    path[0] = '/';
    for (int i = 1; i < 1000; i++)
        path[i] = (char)('a' + i % 26);
    path[1000] = '\0';
    char comment[3001];
    memset(comment, 'c', 3000);
    comment[0] = '#';
    comment[3000] = '\0';
    snprintf(buf, 20000,
             "[deliver]\n"
             "%s\n"
             "maildir = %s/%%u   # a comment\n"
             "[server]\n"
             "listen = inet:127.0.0.1:10024, inet:127.0.0.1:10025, inet:127.0.0.1:10026, "
             "inet:127.0.0.1:10027, inet:127.0.0.1:10028, inet:127.0.0.1:10029, "
             "inet:127.0.0.1:10030, unix:/run/lmtpscan/a-rather-long-socket-name.sock\n"
             "max_sessions = 9\n",
             comment, path);
    assert_true(strlen(buf) > 4000);
    assert_int_equal(config_load_string(buf, "long.conf", &cfg, err, sizeof(err)), 0);
    assert_int_equal(strlen(cfg->deliver.maildir), 1003);
    assert_memory_equal(cfg->deliver.maildir, path, 1000);
    assert_string_equal(cfg->deliver.maildir + 1000, "/%u");
    assert_int_equal(cfg->server.n_listen, 8);
    assert_string_equal(cfg->server.listen[7].path, "/run/lmtpscan/a-rather-long-socket-name.sock");
    assert_int_equal(cfg->server.max_sessions, 9);
    config_free(cfg);

    size_t used = strlen(buf);
    snprintf(buf + used, 20000 - used, "bogus = 1\n");
    assert_int_equal(config_load_string(buf, "long.conf", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "long.conf:7: [server] bogus: unknown key");

    /* A line over the limit is refused with its number. */
    memset(buf, 'x', 10000);
    memcpy(buf, "[server]\n# ", 11);
    memcpy(buf + 10000, "\n", 2);
    assert_int_equal(config_load_string(buf, "long.conf", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "long.conf:2: line too long (at most 8192 bytes)");
    free(buf);

    /* A path longer than its field. */
    char longpath[5000];
    memset(longpath, 'p', sizeof(longpath));
    memcpy(longpath, "[server]\nspool_dir = /", 22);
    memcpy(longpath + sizeof(longpath) - 2, "\n", 2);
    assert_int_equal(config_load_string(longpath, "long.conf", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "long.conf:2: [server] spool_dir: too long (at most 4095 bytes)");

    /* The error message is cut to the caller's buffer, never overflowed. */
    char small[16];
    assert_int_equal(config_load_string("[server]\nauth = x\n", "abcdefghijklmnop.conf", &cfg,
                                        small, sizeof(small)),
                     -1);
    assert_string_equal(small, "abcdefghijklmno");
}

/* ---- the SPEC's sample ---- */

static const char spec_sample[] =
    "[server]\n"
    "listen = unix:/run/lmtpscan/lmtp.sock, inet:127.0.0.1:10024   # LMTP listeners\n"
    "smtp_listen =                      # optional SMTP listeners, same syntax [none]\n"
    "hostname =                         # for greetings and headers [gethostname()]\n"
    "max_sessions = 32                  # concurrent sessions; beyond: 421 4.3.2\n"
    "max_message_size = 50M             # SIZE; larger: 552 5.3.4\n"
    "max_recipients = 1000              # per transaction; beyond: 452 4.5.3\n"
    "timeout = 300s                     # idle/command timeout\n"
    "scan_timeout = 120s                # whole scanning stage of one message;\n"
    "                                   #   past it: scan_error_action\n"
    "allow_from = 127.0.0.0/8, ::1      # inet clients allowed without AUTH\n"
    "auth = no                          # yes: SASL AUTH (libsasl2) required for\n"
    "                                   #   inet clients outside allow_from\n"
    "sasl_service = lmtpscan            # libsasl2 service name\n"
    "user =                             # drop privileges to this user after binding\n"
    "spool_dir = /var/spool/lmtpscan    # temporary message files\n"
    "log = syslog                       # syslog | stderr\n"
    "\n"
    "[clamav]\n"
    "enabled = yes\n"
    "database = /var/lib/clamav         # directory of .cvd/.cld/.hdb/.ndb/... files\n"
    "reload_check = 300s                # poll the database for changes; 0 = never\n"
    "reload = concurrent                # concurrent: build the new engine beside\n"
    "                                   #   the old (2x memory while loading);\n"
    "                                   #   blocking: free first, 451 4.3.0 while\n"
    "                                   #   loading\n"
    "max_scan_size = 100M               # libclamav limits (engine fields)\n"
    "max_file_size = 25M\n"
    "max_recursion = 16\n"
    "max_files = 10000\n"
    "scan_memory = 1G                   # budget for scans in flight: libclamav's\n"
    "                                   #   mail parser holds about 3x a message's\n"
    "                                   #   size; a scan that does not fit waits\n"
    "                                   #   (within scan_timeout)\n"
    "\n"
    "[spamd]\n"
    "enabled = yes\n"
    "address = inet:127.0.0.1:783       # or unix:/run/spamd.sock\n"
    "timeout = 30s\n"
    "max_size = 500K                    # larger messages are not sent (skipped)\n"
    "connections = 8                    # concurrent spamd requests at most\n"
    "\n"
    "[deliver]\n"
    "mode = relay                       # relay | maildir\n"
    "relay = inet:127.0.0.1:10025       # SMTP re-injection (relay mode, releases)\n"
    "relay_sasl_username =              # SMTP AUTH to the relay via libsasl2\n"
    "relay_sasl_password =\n"
    "maildir = /var/vmail/%d/%n/Maildir # template: %u address, %n local part\n"
    "                                   #   (detail removed), %d domain, %e detail\n"
    "maildir_create = yes               # no: a missing Maildir is 550 5.1.1 at RCPT\n"
    "recipient_delimiter = +\n"
    "quarantine_dir = /var/spool/lmtpscan/quarantine\n"
    "\n"
    "[report]\n"
    "dir = /var/spool/lmtpscan/reports  # empty: no reports\n"
    "\n"
    "[policy default]                   # any number of [policy NAME] sections\n"
    "virus_scan = yes\n"
    "spam_scan = yes\n"
    "spamd_user = %u                    # User sent to spamd (per-user prefs); %u %n %d\n"
    "spam_header_level = -999           # add X-Spam-Status/-Score/-Level at/above\n"
    "spam_mark_level = 5.0              # X-Spam-Flag: YES, subject tag, spam_action;\n"
    "                                   #   \"spamd\" = spamd's per-user verdict\n"
    "spam_block_level = 15.0            # spam_block_action at/above\n"
    "spam_action = junk                 # junk | pass | quarantine | discard | reject\n"
    "spam_block_action = quarantine     # quarantine | discard | reject\n"
    "virus_action = quarantine          # quarantine | discard | reject\n"
    "junk_folder = Junk                 # Maildir++ folder (.Junk)\n"
    "subject_tag =                      # e.g. \"[SPAM] \"; empty: subject unchanged\n"
    "scan_error_action = tempfail       # tempfail | pass (scanner failure)\n"
    "\n"
    "[recipients]                       # lookup: address, address without\n"
    "user@example.com = strict          #   detail, @domain, then \"default\"\n"
    "@example.org = lenient\n";

static void test_spec_sample(void **state)
{
    (void)state;
    char err[ERR_MAX];
    struct config *cfg = NULL;

    /* As printed it names policies it does not define. */
    assert_int_equal(config_load_string(spec_sample, "spec.conf", &cfg, err, sizeof(err)), -1);
    assert_string_equal(
        err, "spec.conf:73: [recipients] user@example.com: there is no [policy strict] section");

    size_t n = strlen(spec_sample) + 200;
    char *text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "%s[policy strict]\nspam_action = reject\n[policy lenient]\n", spec_sample);
    assert_int_equal(config_load_string(text, "spec.conf", &cfg, err, sizeof(err)), 0);
    free(text);

    /* Everything equals the defaults of an empty file. */
    struct config *empty = NULL;
    assert_int_equal(config_load_string("", "empty.conf", &empty, err, sizeof(err)), 0);
    char a[OUT_MAX], b[OUT_MAX];
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        render(cfg, defaults[i].section, defaults[i].key, a, sizeof(a));
        render(empty, defaults[i].section, defaults[i].key, b, sizeof(b));
        if (strcmp(a, b) != 0)
            fail_msg("[%s] %s: sample \"%s\", default \"%s\"", defaults[i].section, defaults[i].key,
                     a, b);
    }
    assert_string_equal(cfg->server.hostname, empty->server.hostname);
    assert_int_equal(cfg->n_recipients, 2);
    assert_string_equal(cfg->recipients[1].key, "@example.org");
    assert_int_equal(config_find_policy(cfg, "strict")->spam_action, ACTION_REJECT);
    config_free(empty);
    config_free(cfg);
}

/* ---- files ---- */

static char tmpdir[64];

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_files(void **state)
{
    (void)state;
    char path[128], err[ERR_MAX], want[256];
    struct config *cfg = NULL;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));

    /* CRLF lines and a UTF-8 byte order mark. */
    snprintf(path, sizeof(path), "%s/crlf.conf", tmpdir);
    const char crlf[] = "\xEF\xBB\xBF[server]\r\nmax_sessions = 4\r\n\r\n[deliver]\r\n"
                        "mode = maildir\r\n";
    write_file(path, crlf, sizeof(crlf) - 1);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->server.max_sessions, 4);
    assert_int_equal(cfg->deliver.mode, DELIVER_MAILDIR);
    assert_string_equal(cfg->path, path);
    config_free(cfg);

    /* Errors name the file and line. */
    snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
    const char bad[] = "[server]\n\n# x\nmax_sessions = none\n";
    write_file(path, bad, sizeof(bad) - 1);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
    assert_null(cfg);
    snprintf(want, sizeof(want), "%s:4: [server] max_sessions: \"none\" is not a number", path);
    assert_string_equal(err, want);

    /* A NUL byte. */
    snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
    const char nul[] = "[server]\nauth = y\0es\n";
    write_file(path, nul, sizeof(nul) - 1);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
    assert_string_equal(err, want);

    /* No final newline. */
    snprintf(path, sizeof(path), "%s/nonl.conf", tmpdir);
    write_file(path, "[server]\nmax_sessions = 3", 25);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->server.max_sessions, 3);
    config_free(cfg);

    /* A missing file. */
    snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);

    const char *names[] = {"crlf.conf", "bad.conf", "nul.conf", "nonl.conf"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(rmdir(tmpdir), 0);
}

static void test_shipped_samples(void **state)
{
    (void)state;
    char err[ERR_MAX];
    struct config *cfg = NULL;

    if (config_load(CONF_DIR "/lmtpscan.conf", &cfg, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(cfg->deliver.mode, DELIVER_RELAY);
    assert_int_equal(cfg->server.n_listen, 1);
    assert_int_equal(cfg->server.listen[0].kind, NET_INET);
    assert_string_equal(cfg->server.listen[0].host, "127.0.0.1");
    assert_string_equal(cfg->server.listen[0].port, "10024");
    assert_string_equal(cfg->deliver.relay.host, "127.0.0.1");
    assert_string_equal(cfg->deliver.relay.port, "10025");
    assert_non_null(config_find_policy(cfg, "default"));
    assert_int_equal(cfg->server.session_timeout, 1800);
    assert_int_equal(cfg->server.max_errors, 20);
    assert_int_equal(cfg->server.max_auth_failures, 3);
    assert_int_equal(cfg->server.max_commands_before_auth, 20);
    assert_int_equal(cfg->server.trusted_sessions, 8);
    assert_int_equal(config_find_policy(cfg, "default")->unchecked_action, ACTION_DELIVER);
    config_free(cfg);

    if (config_load(CONF_DIR "/lmtpscan-maildir.conf", &cfg, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(cfg->deliver.mode, DELIVER_MAILDIR);
    assert_int_equal(cfg->server.n_listen, 1);
    assert_int_equal(cfg->server.listen[0].kind, NET_UNIX);
    assert_string_equal(cfg->server.listen[0].path, "/run/lmtpscan/lmtp.sock");
    assert_non_null(config_find_policy(cfg, "default"));
    assert_int_equal(cfg->server.session_timeout, 1800);
    assert_int_equal(cfg->server.trusted_sessions, 8);
    assert_int_equal(config_find_policy(cfg, "default")->unchecked_action, ACTION_DELIVER);
    config_free(cfg);
}

/* ---- [notify] ---- */

static void test_notify(void **state)
{
    (void)state;
    char err[ERR_MAX];
    struct config *cfg = NULL;
    /* defaults: admin_on = virus, banned; nothing configured */
    assert_int_equal(config_load_string("", "t.conf", &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->notify.admin_on, NOTIFY_ON_VIRUS | NOTIFY_ON_BANNED);
    assert_int_equal(cfg->notify.recipient_on, 0);
    assert_string_equal(cfg->notify.from, "postmaster");
    assert_string_equal(cfg->notify.queue_dir, "/var/spool/lmtpscan/notify");
    assert_false(net_address_is_set(&cfg->notify.method));
    assert_false(config_notify_enabled(cfg));
    config_free(cfg);

    assert_int_equal(config_load_string("[notify]\nadmin = root@example.com\n"
                                        "recipient_on = Spam , virus\nadmin_on =\n"
                                        "method = inet:127.0.0.1:2525\n",
                                        "t.conf", &cfg, err, sizeof(err)),
                     0);
    assert_int_equal(cfg->notify.recipient_on, NOTIFY_ON_SPAM | NOTIFY_ON_VIRUS);
    assert_int_equal(cfg->notify.admin_on, 0);
    assert_true(net_address_is_set(&cfg->notify.method));
    assert_true(config_notify_enabled(cfg));
    config_free(cfg);

    static const struct bad_case notify_bads[] = {
        {"[notify]\nadmin_on = virus, worm\n", "t.conf:2: [notify] admin_on: \"worm\" is not a"},
        {"[notify]\nrecipient_on = spam,,virus\n", "t.conf:2: [notify] recipient_on: empty item"},
        {"[notify]\nqueue_dir = relative\n", "t.conf:2: [notify] queue_dir: \"relative\""},
        {"[notify]\nfrom = a b\n", "t.conf:2: [notify] from: \"a b\" is not a plain address"},
        {"[notify]\nadmin = <x@y>\n", "t.conf:2: [notify] admin: \"<x@y>\" is not a plain"},
        {"[deliver]\nmode = maildir\nrelay =\n[notify]\nrecipient_on = spam\n",
         "t.conf:5: [notify] method: notices need a method or a [deliver] relay"},
    };
    for (size_t i = 0; i < sizeof(notify_bads) / sizeof(notify_bads[0]); i++) {
        cfg = NULL;
        if (config_load_string(notify_bads[i].text, "t.conf", &cfg, err, sizeof(err)) == 0)
            fail_msg("case %zu loaded, want \"%s\"", i, notify_bads[i].expected);
        if (strncmp(err, notify_bads[i].expected, strlen(notify_bads[i].expected)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, notify_bads[i].expected);
    }
    /* [web]: the digest's links */
    assert_int_equal(config_load_string("", "t.conf", &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg->web.url, "http://127.0.0.1:10080");
    assert_string_equal(cfg->web.secret_file, "/etc/lmtpscan/web.key");
    assert_int_equal(cfg->web.link_lifetime, 14 * 86400);
    assert_int_equal(cfg->web.listen.kind, NET_INET);
    assert_string_equal(cfg->web.listen.port, "10080");
    assert_string_equal(cfg->web.admin_password_hash, "");
    config_free(cfg);
    assert_int_equal(
        config_load_string("[web]\nurl = https://q.example.com/x\nlink_lifetime = 2d\n", "t.conf",
                           &cfg, err, sizeof(err)),
        0);
    assert_int_equal(cfg->web.link_lifetime, 2 * 86400);
    config_free(cfg);
    static const struct bad_case web_bads[] = {
        {"[web]\nlisten = unix:/run/x.sock\n", "t.conf:2: [web] listen: expected inet:HOST:PORT"},
        {"[web]\nlisten =\n", "t.conf:2: [web] listen: "},
        {"[web]\nurl = ftp://x\n", "t.conf:2: [web] url: \"ftp://x\" is not an http"},
        {"[web]\nurl = http://x/?a=b\n", "t.conf:2: [web] url: \"http://x/?a=b\" is not"},
        {"[web]\nurl = http://x/\"<\n", "t.conf:2: [web] url: "},
        {"[web]\nlink_lifetime = 400d\n", "t.conf:2: [web] link_lifetime: 400d is out of range"},
        {"[web]\nsecret_file = web.key\n", "t.conf:2: [web] secret_file: \"web.key\" is not"},
    };
    for (size_t i = 0; i < sizeof(web_bads) / sizeof(web_bads[0]); i++) {
        cfg = NULL;
        if (config_load_string(web_bads[i].text, "t.conf", &cfg, err, sizeof(err)) == 0)
            fail_msg("web case %zu loaded, want \"%s\"", i, web_bads[i].expected);
        if (strncmp(err, web_bads[i].expected, strlen(web_bads[i].expected)) != 0)
            fail_msg("web case %zu: got \"%s\", want \"%s...\"", i, err, web_bads[i].expected);
    }
    assert_int_equal(config_notify_bit("ENCRYPTED"), NOTIFY_ON_ENCRYPTED);
    assert_int_equal(config_notify_bit("nope"), 0);
}

/* ---- [clamav] tmp_dir from RUNTIME_DIRECTORY (the daemon's default) ---- */

static void test_runtime_tmp_dir(void **state)
{
    (void)state;
    static const struct {
        const char *env; /* NULL: unset */
        const char *file_tmp_dir;
        const char *want;
    } cases[] = {
        {"/run/lmtpscan", "", "/run/lmtpscan/clamav"},
        {"/run/lmtpscan:/run/other", "", "/run/lmtpscan/clamav"}, /* the first of several */
        {"/run/lmtpscan", "/dev/shm/x", "/dev/shm/x"},            /* the file's value wins */
        {NULL, "", ""},                                           /* no unit: libclamav's */
        {"", "", ""},                                             /* empty: ignored */
        {"run/lmtpscan", "", ""},                                 /* relative: ignored */
        {":/run/lmtpscan", "", ""},                               /* an empty first path: ignored */
    };
    char err[ERR_MAX], text[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config *cfg = NULL;
        if (cases[i].env != NULL)
            assert_int_equal(setenv("RUNTIME_DIRECTORY", cases[i].env, 1), 0);
        else
            assert_int_equal(unsetenv("RUNTIME_DIRECTORY"), 0);
        snprintf(text, sizeof(text), "[clamav]\ntmp_dir = %s\n", cases[i].file_tmp_dir);
        assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), 0);
        /* loading alone never looks at the environment */
        assert_string_equal(cfg->clamav.tmp_dir, cases[i].file_tmp_dir);
        config_default_tmp_dir(cfg);
        if (strcmp(cfg->clamav.tmp_dir, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, cfg->clamav.tmp_dir, cases[i].want);
        config_free(cfg);
    }
    /* a path that leaves no room for "/clamav": ignored, not cut short */
    char long_dir[PATH_MAX + 8];
    memset(long_dir, 'a', sizeof(long_dir) - 1);
    long_dir[0] = '/';
    long_dir[sizeof(long_dir) - 1] = '\0';
    struct config *cfg = NULL;
    assert_int_equal(config_load_string("", "t.conf", &cfg, err, sizeof(err)), 0);
    assert_int_equal(setenv("RUNTIME_DIRECTORY", long_dir, 1), 0);
    config_default_tmp_dir(cfg);
    assert_string_equal(cfg->clamav.tmp_dir, "");
    config_free(cfg);
    assert_int_equal(unsetenv("RUNTIME_DIRECTORY"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_bad_values),      cmocka_unit_test(test_value_parsers),
        cmocka_unit_test(test_policies),        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_spec_sample),     cmocka_unit_test(test_files),
        cmocka_unit_test(test_shipped_samples), cmocka_unit_test(test_leading_empty_lines),
        cmocka_unit_test(test_default_policy),  cmocka_unit_test(test_notify),
        cmocka_unit_test(test_runtime_tmp_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
