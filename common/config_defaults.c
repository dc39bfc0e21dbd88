/*
 * config_defaults: the defaults of SPEC section 3, the one place they are
 * written: the default policy (every [policy NAME] starts from it, and
 * config_default_policy() hands it to code that needs a policy where a
 * configuration has none), the defaults of the other sections, the
 * host name taken from gethostname() when hostname is empty, and the
 * daemon's tmp_dir default from its environment (RUNTIME_DIRECTORY).
 */
#include "common/config_loader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct policy default_policy = {
    .name = "default",
    .virus_scan = true,
    .spam_scan = true,
    .spamd_user = "%u",
    .spam_engine = SPAM_ENGINE_SPAMD,
    .spam_header_level = -999.0,
    .spam_mark_level = 5.0,
    .spam_mark_from_spamd = false,
    .spam_block_level = 15.0,
    .spam_action = ACTION_JUNK,
    .spam_block_action = ACTION_QUARANTINE,
    .virus_action = ACTION_QUARANTINE,
    .junk_folder = "Junk",
    .subject_tag = "",
    .scan_error_action = ACTION_TEMPFAIL,
    .unchecked_action = ACTION_DELIVER,
    .banned_names = "",
    .n_banned_types = 0,
    .banned_double_extension = false,
    .banned_action = ACTION_QUARANTINE,
    .encrypted_action = ACTION_DELIVER,
};

const struct policy *config_default_policy(void)
{
    return &default_policy;
}

void config_policy_defaults(struct policy *p, const char *name)
{
    *p = default_policy;
    snprintf(p->name, sizeof(p->name), "%s", name);
}

void config_defaults(struct config *cfg)
{
    char why[256];
    memset(cfg, 0, sizeof(*cfg));

    /* Fixed literals: these parses cannot fail. */
    if (net_address_parse("unix:/run/lmtpscan/lmtp.sock", &cfg->server.listen[0], why,
                          sizeof(why)) == 0 &&
        net_address_parse("inet:127.0.0.1:10024", &cfg->server.listen[1], why, sizeof(why)) == 0)
        cfg->server.n_listen = 2;
    cfg->server.n_smtp_listen = 0;
    cfg->server.hostname[0] = '\0';
    cfg->server.max_sessions = 32;
    cfg->server.max_message_size = 50 * MiB;
    cfg->server.max_recipients = 1000;
    cfg->server.timeout = 300;
    cfg->server.scan_timeout = 120;
    if (cidr_parse("127.0.0.0/8", &cfg->server.allow_from[0]) == 0 &&
        cidr_parse("::1", &cfg->server.allow_from[1]) == 0)
        cfg->server.n_allow_from = 2;
    cfg->server.auth = false;
    snprintf(cfg->server.sasl_service, sizeof(cfg->server.sasl_service), "lmtpscan");
    cfg->server.user[0] = '\0';
    snprintf(cfg->server.spool_dir, sizeof(cfg->server.spool_dir), "/var/spool/lmtpscan");
    cfg->server.log = LOG_TO_SYSLOG;
    cfg->server.session_timeout = 30 * 60;
    cfg->server.max_errors = 20;
    cfg->server.max_auth_failures = 3;
    cfg->server.max_commands_before_auth = 20;
    cfg->server.trusted_sessions = 8;

    cfg->clamav.enabled = true;
    snprintf(cfg->clamav.database, sizeof(cfg->clamav.database), "/var/lib/clamav");
    cfg->clamav.reload_check = 300;
    cfg->clamav.reload = RELOAD_CONCURRENT;
    cfg->clamav.max_scan_size = 100 * MiB;
    cfg->clamav.max_file_size = 25 * MiB;
    cfg->clamav.max_recursion = 16;
    cfg->clamav.max_files = 10000;
    cfg->clamav.scan_memory = 1 * GiB;
    cfg->clamav.scan_threads = 0; /* the online CPUs, at least 2 */

    cfg->spamd.enabled = true;
    if (net_address_parse("inet:127.0.0.1:783", &cfg->spamd.address, why, sizeof(why)) != 0)
        memset(&cfg->spamd.address, 0, sizeof(cfg->spamd.address));
    cfg->spamd.timeout = 30;
    cfg->spamd.max_size = 500 * KiB;
    cfg->spamd.connections = 8;

    cfg->rspamd.enabled = false;
    if (net_address_parse("inet:127.0.0.1:11333", &cfg->rspamd.address, why, sizeof(why)) != 0)
        memset(&cfg->rspamd.address, 0, sizeof(cfg->rspamd.address));
    cfg->rspamd.timeout = 30;
    cfg->rspamd.max_size = 20 * MiB;
    cfg->rspamd.connections = 16;

    cfg->scan.verdict_reuse = 0;

    cfg->deliver.mode = DELIVER_RELAY;
    if (net_address_parse("inet:127.0.0.1:10025", &cfg->deliver.relay, why, sizeof(why)) != 0)
        memset(&cfg->deliver.relay, 0, sizeof(cfg->deliver.relay));
    snprintf(cfg->deliver.maildir, sizeof(cfg->deliver.maildir), "/var/vmail/%%d/%%n/Maildir");
    cfg->deliver.maildir_create = true;
    snprintf(cfg->deliver.recipient_delimiter, sizeof(cfg->deliver.recipient_delimiter), "+");
    snprintf(cfg->deliver.quarantine_dir, sizeof(cfg->deliver.quarantine_dir),
             "/var/spool/lmtpscan/quarantine");

    snprintf(cfg->report.dir, sizeof(cfg->report.dir), "/var/spool/lmtpscan/reports");

    memset(&cfg->notify.method, 0, sizeof(cfg->notify.method));
    snprintf(cfg->notify.from, sizeof(cfg->notify.from), "postmaster");
    cfg->notify.admin[0] = '\0';
    cfg->notify.admin_on = NOTIFY_ON_VIRUS | NOTIFY_ON_BANNED;
    cfg->notify.recipient_on = 0;
    snprintf(cfg->notify.queue_dir, sizeof(cfg->notify.queue_dir), "/var/spool/lmtpscan/notify");

    if (net_address_parse("inet:127.0.0.1:10080", &cfg->web.listen, why, sizeof(why)) != 0)
        memset(&cfg->web.listen, 0, sizeof(cfg->web.listen));
    cfg->web.admin_password_hash[0] = '\0';
    snprintf(cfg->web.url, sizeof(cfg->web.url), "http://127.0.0.1:10080");
    snprintf(cfg->web.secret_file, sizeof(cfg->web.secret_file), "/etc/lmtpscan/web.key");
    cfg->web.link_lifetime = 14 * DAY;
}

const char *config_system_tmp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    return tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
}

void config_default_tmp_dir(struct config *cfg)
{
    const char *run = getenv("RUNTIME_DIRECTORY");
    if (cfg->clamav.tmp_dir[0] != '\0' || run == NULL || run[0] != '/')
        return;
    size_t len = strcspn(run, ":");
    if (len + sizeof("/clamav") > sizeof(cfg->clamav.tmp_dir))
        return;
    snprintf(cfg->clamav.tmp_dir, sizeof(cfg->clamav.tmp_dir), "%.*s/clamav", (int)len, run);
}
