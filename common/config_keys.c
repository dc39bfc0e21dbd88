/*
 * config_keys: the keys of each section, as tables: a key's name, the
 * parser of its value, where the value goes (an offset into struct
 * config, or into struct policy for [policy NAME] keys), its range or
 * allowed words, and whether it may be empty. Also the section names and
 * the key lookup. Adding a key is one line here plus its default.
 */
#include "common/config_loader.h"

#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#define CFG_OFF(member)  offsetof(struct config, member)
#define CFG_SIZE(member) FIELD_SIZE(struct config, member)
#define POL_OFF(member)  offsetof(struct policy, member)
#define POL_SIZE(member) FIELD_SIZE(struct policy, member)

#define K_BOOL(name, off)                                                                          \
    {                                                                                              \
        name, config_parse_bool_key, off, 0, 0, 0, NULL, STR_TEXT, 0                               \
    }
#define K_UINT(name, off, lo, hi)                                                                  \
    {                                                                                              \
        name, config_parse_uint_key, off, 0, lo, hi, NULL, STR_TEXT, 0                             \
    }
#define K_SIZE(name, off, lo, hi)                                                                  \
    {                                                                                              \
        name, config_parse_size_key, off, 0, lo, hi, NULL, STR_TEXT, 0                             \
    }
#define K_TIME(name, off, lo, hi)                                                                  \
    {                                                                                              \
        name, config_parse_time_key, off, 0, lo, hi, NULL, STR_TEXT, 0                             \
    }
#define K_STR(name, off, sz, chk, f)                                                               \
    {                                                                                              \
        name, config_parse_string_key, off, sz, 0, 0, NULL, chk, f                                 \
    }
#define K_ENUM(name, off, sz, ch)                                                                  \
    {                                                                                              \
        name, config_parse_enum_key, off, sz, 0, 0, ch, STR_TEXT, 0                                \
    }
#define K_FN(name, fn, off, f)                                                                     \
    {                                                                                              \
        name, fn, off, 0, 0, 0, NULL, STR_TEXT, f                                                  \
    }
#define K_END                                                                                      \
    {                                                                                              \
        NULL, NULL, 0, 0, 0, 0, NULL, STR_TEXT, 0                                                  \
    }

/* config_parse_enum_key() stores an int: every enum field must be one. */
_Static_assert(sizeof(enum action) == sizeof(int), "enum action is not int-sized");
_Static_assert(sizeof(enum deliver_mode) == sizeof(int), "enum deliver_mode is not int-sized");
_Static_assert(sizeof(enum clamav_reload) == sizeof(int), "enum clamav_reload is not int-sized");
_Static_assert(sizeof(enum log_target) == sizeof(int), "enum log_target is not int-sized");
_Static_assert(sizeof(enum spam_engine) == sizeof(int), "enum spam_engine is not int-sized");

static const struct choice log_choices[] = {
    {"syslog", LOG_TO_SYSLOG}, {"stderr", LOG_TO_STDERR}, {NULL, 0}};
static const struct choice reload_choices[] = {
    {"concurrent", RELOAD_CONCURRENT}, {"blocking", RELOAD_BLOCKING}, {NULL, 0}};
static const struct choice mode_choices[] = {
    {"relay", DELIVER_RELAY}, {"maildir", DELIVER_MAILDIR}, {NULL, 0}};
static const struct choice spam_action_choices[] = {
    {"junk", ACTION_JUNK},       {"pass", ACTION_DELIVER},  {"quarantine", ACTION_QUARANTINE},
    {"discard", ACTION_DISCARD}, {"reject", ACTION_REJECT}, {NULL, 0}};
static const struct choice block_action_choices[] = {{"quarantine", ACTION_QUARANTINE},
                                                     {"discard", ACTION_DISCARD},
                                                     {"reject", ACTION_REJECT},
                                                     {NULL, 0}};
static const struct choice spam_engine_choices[] = {
    {"spamd", SPAM_ENGINE_SPAMD}, {"rspamd", SPAM_ENGINE_RSPAMD}, {NULL, 0}};
static const struct choice error_action_choices[] = {
    {"tempfail", ACTION_TEMPFAIL}, {"pass", ACTION_DELIVER}, {NULL, 0}};
static const struct choice unchecked_action_choices[] = {{"deliver", ACTION_DELIVER},
                                                         {"quarantine", ACTION_QUARANTINE},
                                                         {"reject", ACTION_REJECT},
                                                         {NULL, 0}};

static const struct choice encrypted_action_choices[] = {{"deliver", ACTION_DELIVER},
                                                         {"quarantine", ACTION_QUARANTINE},
                                                         {"discard", ACTION_DISCARD},
                                                         {"reject", ACTION_REJECT},
                                                         {NULL, 0}};

static const struct key_def server_keys[] = {
    K_FN("listen", config_parse_listen_key, 0, KEY_EMPTY_OK),
    K_FN("smtp_listen", config_parse_listen_key, 0, KEY_EMPTY_OK),
    K_STR("hostname", CFG_OFF(server.hostname), CFG_SIZE(server.hostname), STR_HOSTNAME,
          KEY_EMPTY_OK),
    K_UINT("max_sessions", CFG_OFF(server.max_sessions), 1, 100000),
    K_SIZE("max_message_size", CFG_OFF(server.max_message_size), 1, 64 * GiB),
    K_UINT("max_recipients", CFG_OFF(server.max_recipients), 1, 100000),
    K_TIME("timeout", CFG_OFF(server.timeout), 1, DAY),
    K_TIME("scan_timeout", CFG_OFF(server.scan_timeout), 1, DAY),
    K_FN("allow_from", config_parse_cidr_key, 0, KEY_EMPTY_OK),
    K_FN("metrics_listen", config_parse_address_key, CFG_OFF(server.metrics_listen), KEY_EMPTY_OK),
    K_BOOL("auth", CFG_OFF(server.auth)),
    K_STR("sasl_service", CFG_OFF(server.sasl_service), CFG_SIZE(server.sasl_service), STR_NAME, 0),
    K_STR("user", CFG_OFF(server.user), CFG_SIZE(server.user), STR_NAME, KEY_EMPTY_OK),
    K_STR("spool_dir", CFG_OFF(server.spool_dir), CFG_SIZE(server.spool_dir), STR_PATH, 0),
    K_ENUM("log", CFG_OFF(server.log), CFG_SIZE(server.log), log_choices),
    K_TIME("session_timeout", CFG_OFF(server.session_timeout), 1, DAY),
    K_UINT("max_errors", CFG_OFF(server.max_errors), 1, 100000),
    K_UINT("max_auth_failures", CFG_OFF(server.max_auth_failures), 1, 1000),
    K_UINT("max_commands_before_auth", CFG_OFF(server.max_commands_before_auth), 1, 100000),
    K_UINT("trusted_sessions", CFG_OFF(server.trusted_sessions), 0, 100000),
    K_END,
};

static const struct key_def clamav_keys[] = {
    K_BOOL("enabled", CFG_OFF(clamav.enabled)),
    K_STR("database", CFG_OFF(clamav.database), CFG_SIZE(clamav.database), STR_PATH, KEY_EMPTY_OK),
    K_STR("tmp_dir", CFG_OFF(clamav.tmp_dir), CFG_SIZE(clamav.tmp_dir), STR_PATH, KEY_EMPTY_OK),
    K_TIME("reload_check", CFG_OFF(clamav.reload_check), 0, DAY),
    K_ENUM("reload", CFG_OFF(clamav.reload), CFG_SIZE(clamav.reload), reload_choices),
    K_SIZE("max_scan_size", CFG_OFF(clamav.max_scan_size), 0, 4 * GiB),
    K_SIZE("max_file_size", CFG_OFF(clamav.max_file_size), 0, 4 * GiB),
    K_UINT("max_recursion", CFG_OFF(clamav.max_recursion), 1, 1000),
    K_UINT("max_files", CFG_OFF(clamav.max_files), 0, UINT32_MAX),
    K_SIZE("scan_memory", CFG_OFF(clamav.scan_memory), 1 * MiB, 1024 * GiB),
    K_UINT("scan_threads", CFG_OFF(clamav.scan_threads), 0, 64),
    K_END,
};

static const struct key_def spamd_keys[] = {
    K_BOOL("enabled", CFG_OFF(spamd.enabled)),
    K_FN("address", config_parse_address_key, CFG_OFF(spamd.address), KEY_EMPTY_OK),
    K_TIME("timeout", CFG_OFF(spamd.timeout), 1, DAY),
    K_SIZE("max_size", CFG_OFF(spamd.max_size), 1, 1 * GiB),
    K_UINT("connections", CFG_OFF(spamd.connections), 1, 1024),
    K_END,
};

static const struct key_def rspamd_keys[] = {
    K_BOOL("enabled", CFG_OFF(rspamd.enabled)),
    K_FN("address", config_parse_address_key, CFG_OFF(rspamd.address), KEY_EMPTY_OK),
    K_TIME("timeout", CFG_OFF(rspamd.timeout), 1, DAY),
    K_SIZE("max_size", CFG_OFF(rspamd.max_size), 1, 1 * GiB),
    K_UINT("connections", CFG_OFF(rspamd.connections), 1, 1024),
    K_END,
};

static const struct key_def scan_keys[] = {
    K_TIME("verdict_reuse", CFG_OFF(scan.verdict_reuse), 0, DAY),
    K_END,
};

static const struct key_def deliver_keys[] = {
    K_ENUM("mode", CFG_OFF(deliver.mode), CFG_SIZE(deliver.mode), mode_choices),
    K_FN("relay", config_parse_address_key, CFG_OFF(deliver.relay), KEY_EMPTY_OK),
    K_STR("relay_sasl_username", CFG_OFF(deliver.relay_sasl_username),
          CFG_SIZE(deliver.relay_sasl_username), STR_TEXT, KEY_EMPTY_OK),
    K_STR("relay_sasl_password", CFG_OFF(deliver.relay_sasl_password),
          CFG_SIZE(deliver.relay_sasl_password), STR_TEXT, KEY_EMPTY_OK),
    K_STR("maildir", CFG_OFF(deliver.maildir), CFG_SIZE(deliver.maildir), STR_MAILDIR,
          KEY_EMPTY_OK),
    K_BOOL("maildir_create", CFG_OFF(deliver.maildir_create)),
    K_STR("recipient_delimiter", CFG_OFF(deliver.recipient_delimiter),
          CFG_SIZE(deliver.recipient_delimiter), STR_DELIMITER, KEY_EMPTY_OK),
    K_STR("quarantine_dir", CFG_OFF(deliver.quarantine_dir), CFG_SIZE(deliver.quarantine_dir),
          STR_PATH, 0),
    K_END,
};

static const struct key_def report_keys[] = {
    K_STR("dir", CFG_OFF(report.dir), CFG_SIZE(report.dir), STR_PATH, KEY_EMPTY_OK),
    K_END,
};

static const struct key_def notify_keys[] = {
    K_FN("method", config_parse_address_key, CFG_OFF(notify.method), KEY_EMPTY_OK),
    K_STR("from", CFG_OFF(notify.from), CFG_SIZE(notify.from), STR_TEXT, 0),
    K_STR("admin", CFG_OFF(notify.admin), CFG_SIZE(notify.admin), STR_TEXT, KEY_EMPTY_OK),
    K_FN("admin_on", config_parse_verdicts_key, CFG_OFF(notify.admin_on), KEY_EMPTY_OK),
    K_FN("recipient_on", config_parse_verdicts_key, CFG_OFF(notify.recipient_on), KEY_EMPTY_OK),
    K_STR("queue_dir", CFG_OFF(notify.queue_dir), CFG_SIZE(notify.queue_dir), STR_PATH, 0),
    K_END,
};

static const struct key_def web_keys[] = {
    K_FN("listen", config_parse_address_key, CFG_OFF(web.listen), 0),
    K_STR("admin_password_hash", CFG_OFF(web.admin_password_hash),
          CFG_SIZE(web.admin_password_hash), STR_TEXT, KEY_EMPTY_OK),
    K_STR("url", CFG_OFF(web.url), CFG_SIZE(web.url), STR_TEXT, 0),
    K_STR("secret_file", CFG_OFF(web.secret_file), CFG_SIZE(web.secret_file), STR_PATH, 0),
    K_TIME("link_lifetime", CFG_OFF(web.link_lifetime), 60, 365 * DAY),
    K_END,
};

static const struct key_def policy_keys[] = {
    K_BOOL("virus_scan", POL_OFF(virus_scan)),
    K_BOOL("spam_scan", POL_OFF(spam_scan)),
    K_STR("spamd_user", POL_OFF(spamd_user), POL_SIZE(spamd_user), STR_SPAMD_USER, KEY_EMPTY_OK),
    K_ENUM("spam_engine", POL_OFF(spam_engine), POL_SIZE(spam_engine), spam_engine_choices),
    K_FN("spam_header_level", config_parse_level_key, POL_OFF(spam_header_level), 0),
    K_FN("spam_mark_level", config_parse_mark_level_key, 0, 0),
    K_FN("spam_block_level", config_parse_level_key, POL_OFF(spam_block_level), 0),
    K_ENUM("spam_action", POL_OFF(spam_action), POL_SIZE(spam_action), spam_action_choices),
    K_ENUM("spam_block_action", POL_OFF(spam_block_action), POL_SIZE(spam_block_action),
           block_action_choices),
    K_ENUM("virus_action", POL_OFF(virus_action), POL_SIZE(virus_action), block_action_choices),
    K_STR("junk_folder", POL_OFF(junk_folder), POL_SIZE(junk_folder), STR_FOLDER, 0),
    K_STR("subject_tag", POL_OFF(subject_tag), POL_SIZE(subject_tag), STR_TEXT, KEY_EMPTY_OK),
    K_ENUM("scan_error_action", POL_OFF(scan_error_action), POL_SIZE(scan_error_action),
           error_action_choices),
    K_ENUM("unchecked_action", POL_OFF(unchecked_action), POL_SIZE(unchecked_action),
           unchecked_action_choices),
    K_FN("banned_names", config_parse_banned_names_key, 0, KEY_EMPTY_OK),
    K_FN("banned_types", config_parse_banned_types_key, 0, KEY_EMPTY_OK),
    K_BOOL("banned_double_extension", POL_OFF(banned_double_extension)),
    K_ENUM("banned_action", POL_OFF(banned_action), POL_SIZE(banned_action), block_action_choices),
    K_ENUM("encrypted_action", POL_OFF(encrypted_action), POL_SIZE(encrypted_action),
           encrypted_action_choices),
    K_END,
};

#define FITS(table) (sizeof(table) / sizeof(table[0]) <= KEYS_MAX + 1)
_Static_assert(FITS(server_keys) && FITS(clamav_keys) && FITS(spamd_keys) && FITS(rspamd_keys) &&
                   FITS(scan_keys) && FITS(deliver_keys) && FITS(report_keys) &&
                   FITS(notify_keys) && FITS(web_keys) && FITS(policy_keys),
               "a section has more than KEYS_MAX keys");

const struct key_def *const config_section_keys[SEC_COUNT] = {
    [SEC_SERVER] = server_keys, [SEC_CLAMAV] = clamav_keys, [SEC_SPAMD] = spamd_keys,
    [SEC_RSPAMD] = rspamd_keys, [SEC_SCAN] = scan_keys,     [SEC_DELIVER] = deliver_keys,
    [SEC_REPORT] = report_keys, [SEC_NOTIFY] = notify_keys, [SEC_WEB] = web_keys,
    [SEC_POLICY] = policy_keys,
};

const char *const config_section_names[SEC_COUNT] = {
    [SEC_SERVER] = "server",         [SEC_CLAMAV] = "clamav", [SEC_SPAMD] = "spamd",
    [SEC_RSPAMD] = "rspamd",         [SEC_SCAN] = "scan",     [SEC_DELIVER] = "deliver",
    [SEC_REPORT] = "report",         [SEC_NOTIFY] = "notify", [SEC_WEB] = "web",
    [SEC_RECIPIENTS] = "recipients",
};

int config_key_index(enum section_id sec, const char *key)
{
    const struct key_def *keys = config_section_keys[sec];
    for (int i = 0; keys != NULL && keys[i].name != NULL; i++)
        if (strcasecmp(keys[i].name, key) == 0)
            return i;
    return -1;
}
