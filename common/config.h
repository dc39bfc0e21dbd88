/*
 * config: the INI configuration of SPEC section 3, loaded with libinih.
 * Every key is validated; unknown sections/keys and bad values are errors
 * reported as "FILE:LINE: [section] key: reason". Sizes take K/M/G (powers
 * of 1024), times s/m/h/d (a bare number is seconds). A value may be put in
 * double quotes to keep leading/trailing blanks (subject_tag = "[SPAM] ").
 * A loaded config is immutable and may be shared read-only between threads;
 * reload builds a new one. config_load*() are thread-safe.
 *
 * File format details (where SPEC section 3 is silent):
 * - Comments: a '#' at the start of a line or after a blank, outside
 *   double quotes, runs to the end of the line; ';' starts a comment only
 *   at the start of a line. Lines are at most 8192 bytes; CRLF is fine.
 * - Section and key names are case-insensitive; a section may appear more
 *   than once, but a key may be set only once per section (per policy).
 * - Quoted values: "..." with \" and \\ as the only escapes.
 * - Booleans: yes/no, true/false, on/off, 1/0. Lists: comma-separated.
 * - Named policies: each [policy NAME] starts from the SPEC defaults, not
 *   from [policy default]'s values, so a policy reads the same wherever
 *   it sits in the file. Without [policy default] a built-in default with
 *   the SPEC defaults exists; policies[0] is always "default". Names are
 *   [A-Za-z0-9._-], case-sensitive.
 * - [recipients]: "user@domain" or "@domain" = POLICY; keys are stored
 *   lower-cased; a duplicate (ignoring case) or an unknown policy is an
 *   error.
 * - spam_mark_level = spamd sets spam_mark_from_spamd (spam_mark_level is
 *   then 5.0 and unused).
 * - An address value may be empty where its feature is off: an empty
 *   deliver.relay (allowed in maildir mode), spamd.address or
 *   rspamd.address (allowed with enabled = no) is the zeroed struct, see
 *   net_address_is_set().
 * - Checks across keys: at least one listener in listen/smtp_listen and
 *   none twice; mode = relay needs relay; mode = maildir needs maildir;
 *   relay_sasl_username and _password together; spamd or rspamd enabled
 *   needs address; clamav enabled needs database; spam_scan = yes needs
 *   spamd_user. Port 0 is refused. Templates accept only their escapes
 *   (maildir: %u %n %d %e %%; spamd_user: %u %n %d %%).
 * - hostname empty: gethostname() at load time.
 * - [clamav] tmp_dir empty: lmtpscand takes RUNTIME_DIRECTORY/clamav
 *   (config_default_tmp_dir(); loading itself never reads the
 *   environment).
 * - unchecked_action takes deliver | quarantine | reject (the other
 *   actions say "pass" for deliver; this key follows the SPEC's words).
 *
 * The loader is split by job: config.c (load, free, find), config_values.c
 * (value parsers), config_keys.c (key tables), config_defaults.c
 * (defaults), config_reader.c (lines, libinih), config_check.c (checks
 * across keys); config_loader.h is their shared, private header.
 */
#ifndef LMTPSCAN_CONFIG_H
#define LMTPSCAN_CONFIG_H

#include "common/log.h"
#include "common/net_address.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LISTEN       16
#define CONFIG_MAX_CIDR         64
#define POLICY_BANNED_NAMES_MAX 2048 /* bytes of a policy's banned_names globs */
#define POLICY_BANNED_TYPES_MAX 64

/* Per-recipient action (the result of policy) and the configured choices. */
enum action {
    ACTION_DELIVER, /* "pass" in spam_action, deliver normally */
    ACTION_JUNK,    /* Maildir junk folder; relay mode: pass with headers */
    ACTION_QUARANTINE,
    ACTION_DISCARD,
    ACTION_REJECT,
    ACTION_TEMPFAIL,
};

enum deliver_mode { DELIVER_RELAY, DELIVER_MAILDIR };
/* Which spam engine a policy asks (SPEC section 11). */
enum spam_engine { SPAM_ENGINE_SPAMD, SPAM_ENGINE_RSPAMD };
enum clamav_reload { RELOAD_CONCURRENT, RELOAD_BLOCKING };

struct policy {
    char name[64];
    bool virus_scan;
    bool spam_scan;
    char spamd_user[256]; /* template: %u %n %d; the per-user identity of either engine */
    enum spam_engine spam_engine;
    double spam_header_level;
    double spam_mark_level;
    bool spam_mark_from_spamd; /* spam_mark_level = spamd */
    double spam_block_level;
    enum action spam_action;       /* DELIVER(pass) JUNK QUARANTINE DISCARD REJECT */
    enum action spam_block_action; /* QUARANTINE DISCARD REJECT */
    enum action virus_action;      /* QUARANTINE DISCARD REJECT */
    char junk_folder[256];
    char subject_tag[256];
    enum action scan_error_action; /* TEMPFAIL or DELIVER (pass) */
    enum action unchecked_action;  /* DELIVER QUARANTINE REJECT: mail a scan limit left
                                      unchecked (SPEC section 5) */
    /* banned content and encrypted archives (SPEC section 10) */
    char banned_names[POLICY_BANNED_NAMES_MAX];    /* globs, each NUL-terminated, the list
                                                      ended by an empty one */
    int16_t banned_types[POLICY_BANNED_TYPES_MAX]; /* clamav_types indices */
    unsigned n_banned_types;
    bool banned_double_extension;
    enum action banned_action;    /* QUARANTINE DISCARD REJECT */
    enum action encrypted_action; /* DELIVER QUARANTINE DISCARD REJECT */
};

struct recipient_rule {
    char key[512];   /* lower-cased: "user@dom" or "@dom" */
    char policy[64]; /* a [policy NAME] that exists */
};

struct config {
    char path[PATH_MAX];
    struct {
        struct net_address listen[CONFIG_MAX_LISTEN];
        size_t n_listen;
        struct net_address smtp_listen[CONFIG_MAX_LISTEN];
        size_t n_smtp_listen;
        char hostname[256];
        unsigned max_sessions;
        uint64_t max_message_size;
        unsigned max_recipients;
        unsigned timeout;                  /* seconds */
        unsigned scan_timeout;             /* seconds */
        unsigned session_timeout;          /* seconds: one whole session, from connect */
        unsigned max_errors;               /* 4xx/5xx replies to commands per session */
        unsigned max_auth_failures;        /* failed AUTH per session */
        unsigned max_commands_before_auth; /* when the client must AUTH */
        unsigned trusted_sessions;         /* slots untrusted clients may not take */
        struct cidr allow_from[CONFIG_MAX_CIDR];
        size_t n_allow_from;
        struct net_address metrics_listen; /* GET /metrics; unset: off */
        bool auth;
        char sasl_service[64];
        char user[64];
        char spool_dir[PATH_MAX];
        enum log_target log;
    } server;
    struct clamav_config {
        bool enabled;
        char database[PATH_MAX];
        char tmp_dir[PATH_MAX]; /* libclamav's temporary files; empty: $TMPDIR or /tmp */
        unsigned reload_check;  /* seconds, 0 = never */
        enum clamav_reload reload;
        uint64_t max_scan_size;
        uint64_t max_file_size;
        unsigned max_recursion;
        unsigned max_files;
        uint64_t scan_memory;
        unsigned scan_threads; /* scans at once; 0: the online CPUs (at least 2) */
    } clamav;
    struct {
        bool enabled;
        struct net_address address;
        unsigned timeout; /* seconds */
        uint64_t max_size;
        unsigned connections;
    } spamd;
    struct {
        bool enabled;
        struct net_address address; /* rspamd's normal worker (HTTP) */
        unsigned timeout;           /* seconds */
        uint64_t max_size;
        unsigned connections;
    } rspamd;
    struct {
        unsigned verdict_reuse; /* seconds; 0 = off */
    } scan;
    struct {
        enum deliver_mode mode;
        struct net_address relay;
        char relay_sasl_username[256];
        char relay_sasl_password[256];
        char maildir[PATH_MAX];
        bool maildir_create;
        char recipient_delimiter[16]; /* any of these characters separates detail */
        char quarantine_dir[PATH_MAX];
    } deliver;
    struct {
        char dir[PATH_MAX]; /* empty: no reports */
    } report;
    struct {
        struct net_address method; /* unset: deliver.relay */
        char from[256];            /* no '@': "@hostname" is added */
        char admin[321];           /* "" : no admin notices */
        unsigned admin_on;         /* NOTIFY_ON_* bits */
        unsigned recipient_on;     /* NOTIFY_ON_* bits */
        char queue_dir[PATH_MAX];
    } notify;
    struct {
        struct net_address listen;     /* lmtpscan web (inet only) */
        char admin_password_hash[256]; /* crypt(3); empty: no admin login */
        char url[1024];                /* base of digest links, no final '/' */
        char secret_file[PATH_MAX];    /* HMAC key of the release links */
        unsigned link_lifetime;        /* seconds */
    } web;
    struct policy *policies; /* always holds "default" (built-in if absent) */
    size_t n_policies;
    struct recipient_rule *recipients;
    size_t n_recipients;
};

/* The verdict words of [notify] admin_on/recipient_on, as bits: every
 * verdict_name() the pipeline may give, so a new verdict needs no change
 * here once its word is listed. */
#define NOTIFY_ON_CLEAN     0x01u
#define NOTIFY_ON_SPAM      0x02u
#define NOTIFY_ON_VIRUS     0x04u
#define NOTIFY_ON_UNCHECKED 0x08u
#define NOTIFY_ON_BANNED    0x10u
#define NOTIFY_ON_ENCRYPTED 0x20u
/* The bit of a verdict word, 0 for an unknown word. */
unsigned config_notify_bit(const char *verdict);
/* True when some notice is configured (admin with admin_on, or
 * recipient_on): queue_dir is then used. */
bool config_notify_enabled(const struct config *cfg);

/* Loads and validates a file. 0 on success (*out set), -1 with err. */
int config_load(const char *path, struct config **out, char *err, size_t errlen);
/* Same from a string; name is used in messages in place of a file name. */
int config_load_string(const char *text, const char *name, struct config **out, char *err,
                       size_t errlen);
void config_free(struct config *cfg);

const struct policy *config_find_policy(const struct config *cfg, const char *name);
/* The policy of the SPEC defaults, named "default": what every [policy
 * NAME] starts from, and what a configuration without policies means. */
const struct policy *config_default_policy(void);
/* The daemon's [clamav] tmp_dir when the file leaves it empty: the first
 * path of RUNTIME_DIRECTORY (systemd's RuntimeDirectory=, a tmpfs) plus
 * "/clamav", when that path is absolute; otherwise it stays empty
 * (libclamav's own choice, $TMPDIR or /tmp). */
void config_default_tmp_dir(struct config *cfg);
/* Where temporary files go when nothing is configured: $TMPDIR when set
 * and not empty, else /tmp (libclamav's choice too). */
const char *config_system_tmp_dir(void);

/* Value parsers shared with other modules; 0 on success, -1 on error. */
int config_parse_size(const char *text, uint64_t *out);
int config_parse_time(const char *text, unsigned *seconds);
int config_parse_bool(const char *text, bool *out);

#endif
