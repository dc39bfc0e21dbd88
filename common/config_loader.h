/*
 * config_loader: what the parts of the configuration loader share and
 * nobody else sees: the loader state, the key table types, the error
 * recorder and the functions each part offers the others.
 *
 * The parts, by job:
 *   config.c          load/free/find, the host name default
 *   config_loader.c   the error recorder, the policy slots
 *   config_values.c   text -> value: numbers, sizes, times, booleans,
 *                     scores, enum words, addresses, strings
 *   config_lists.c    comma-separated lists: listeners, networks,
 *                     banned names and types, verdict words
 *   config_keys.c     the key table of each section, section names
 *   config_defaults.c the defaults (the SPEC's), incl. the default policy
 *   config_reader.c   the line reader fed to libinih and its handler
 *   config_check.c    checks across keys, once the whole file is read
 */
#ifndef LMTPSCAN_CONFIG_LOADER_H
#define LMTPSCAN_CONFIG_LOADER_H

#include "common/config.h"
#include "common/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_LINE_MAX 8192        /* bytes of one line, without its end */
#define CONFIG_TEXT_MAX (16u << 20) /* bytes of a whole file */
#define KEYS_MAX        24          /* keys in one section's table */

#define FIELD_SIZE(type, member) sizeof(((type *)0)->member)

#define DAY (24u * 3600u)
#define KiB 1024ull
#define MiB (1024ull * 1024)
#define GiB (1024ull * 1024 * 1024)

/* ---- loader state ---- */

enum section_id {
    SEC_NONE,
    SEC_SERVER,
    SEC_CLAMAV,
    SEC_SPAMD,
    SEC_RSPAMD,
    SEC_SCAN,
    SEC_DELIVER,
    SEC_REPORT,
    SEC_NOTIFY,
    SEC_WEB,
    SEC_POLICY,
    SEC_RECIPIENTS,
    SEC_COUNT,
};

struct loader {
    struct config *cfg;
    const char *name; /* file name used in messages */

    /* input: a FILE or a string */
    FILE *fp;
    const char *text;
    size_t text_pos;
    uint64_t bytes;
    int lineno;
    bool eof;
    struct strbuf line;

    /* where we are */
    enum section_id section;
    size_t policy;  /* SEC_POLICY: index into cfg->policies */
    char label[80]; /* "server", "policy strict": for messages */

    /* line of each key set so far (0: not set) */
    int seen[SEC_COUNT][KEYS_MAX];
    int (*policy_seen)[KEYS_MAX]; /* parallel to cfg->policies */
    size_t policies_cap, policy_seen_cap;
    size_t recipients_cap;
    int *recipient_lines; /* parallel to cfg->recipients */
    size_t recipient_lines_cap;

    bool failed;
    char *err;
    size_t errlen;
};

/* Records the first error as "NAME:LINE: [section] key: reason" (parts
 * that do not apply are left out: line 0, section or key NULL). */
void config_fail(struct loader *ld, int line, const char *section, const char *key, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));

/* Index of the policy called name in cfg->policies, or SIZE_MAX. */
size_t config_policy_index(const struct config *cfg, const char *name);
/* The index of policy name, added with the defaults if it is new. */
size_t config_add_policy(struct loader *ld, const char *name);

/* ---- key tables (config_keys.c) ---- */

enum str_check {
    STR_TEXT,       /* any bytes but control bytes */
    STR_PATH,       /* absolute path */
    STR_HOSTNAME,   /* [A-Za-z0-9.-_] */
    STR_NAME,       /* [A-Za-z0-9.-_], not starting with '-' */
    STR_FOLDER,     /* Maildir++ folder name */
    STR_MAILDIR,    /* absolute path template: %u %n %d %e %% */
    STR_SPAMD_USER, /* template %u %n %d %%, no blanks */
    STR_DELIMITER,  /* recipient_delimiter */
};

#define KEY_EMPTY_OK 0x1

/* One word an enum key accepts and the value it stands for; a key's list
 * (ended by text NULL) is its allowed subset, in the order messages show. */
struct choice {
    const char *text;
    int value;
};

struct key_def;
typedef int (*key_parser)(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen);

struct key_def {
    const char *name;
    key_parser parse;
    size_t offset; /* into struct config, or struct policy for [policy] keys */
    size_t size;   /* strings: buffer size; enums: the field's size */
    uint64_t min, max;
    const struct choice *choices;
    enum str_check check;
    unsigned flags;
};

/* The key table of each section (NULL for [recipients]) and the names of
 * the fixed sections (NULL for [policy NAME]). */
extern const struct key_def *const config_section_keys[SEC_COUNT];
extern const char *const config_section_names[SEC_COUNT];

/* Index of key in the section's table, or -1. */
int config_key_index(enum section_id sec, const char *key);

/* ---- value parsers (config_values.c) ---- */

/* Decimal digits only, no sign, n bytes of s; 0 on success. */
int config_parse_u64(const char *s, size_t n, uint64_t *out);

/* Policy names: [A-Za-z0-9._-], 1..63 bytes. */
bool config_valid_policy_name(const char *s);
/* [recipients] keys: "user@domain" or "@domain"; why says what is wrong. */
bool config_valid_recipient_key(const char *k, char *why, size_t whylen);

/* The key parsers the tables use: each parses value into the field of
 * base that kd names, or says why not. */
int config_parse_bool_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen);
int config_parse_uint_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen);
int config_parse_size_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen);
int config_parse_time_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen);
int config_parse_level_key(const struct key_def *kd, void *base, const char *value, char *why,
                           size_t whylen);
int config_parse_mark_level_key(const struct key_def *kd, void *base, const char *value, char *why,
                                size_t whylen);
int config_parse_enum_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen);
int config_parse_address_key(const struct key_def *kd, void *base, const char *value, char *why,
                             size_t whylen);
int config_parse_listen_key(const struct key_def *kd, void *base, const char *value, char *why,
                            size_t whylen);
int config_parse_cidr_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen);
/* [policy] banned_names: comma-separated globs (fnmatch syntax);
 * banned_types: comma-separated libclamav type names (clamav_types.h). */
int config_parse_banned_names_key(const struct key_def *kd, void *base, const char *value,
                                  char *why, size_t whylen);
int config_parse_banned_types_key(const struct key_def *kd, void *base, const char *value,
                                  char *why, size_t whylen);
int config_parse_verdicts_key(const struct key_def *kd, void *base, const char *value, char *why,
                              size_t whylen);
int config_parse_string_key(const struct key_def *kd, void *base, const char *value, char *why,
                            size_t whylen);

/* ---- defaults (config_defaults.c) ---- */

/* *p = the SPEC defaults, named name. */
void config_policy_defaults(struct policy *p, const char *name);
/* *cfg = the SPEC defaults, without policies. */
void config_defaults(struct config *cfg);

/* ---- the reader (config_reader.c) ---- */

/* Reads the whole input through libinih into ld->cfg. */
void config_read(struct loader *ld);

/* ---- checks across keys (config_check.c) ---- */

/* [recipients]: every policy named exists, no address twice. */
void config_check_recipients(struct loader *ld);
/* The checks across keys of config.h, first failure only. */
void config_check_cross_keys(struct loader *ld);

/* The field a key stores into, in the struct at base. */
static inline void *config_field(const struct key_def *kd, void *base)
{
    return (char *)base + kd->offset;
}

/* "inet:HOST:PORT" or "unix:PATH" (port 0 refused). */
int config_parse_address(const char *text, struct net_address *out, char *why, size_t whylen);

#endif
