/*
 * config: loads and validates the INI configuration (see config.h for the
 * file format and the choices made where SPEC section 3 is silent).
 *
 * Public: config_load(), config_load_string(), config_free(),
 * config_find_policy(), config_parse_size(), config_parse_time(),
 * config_parse_bool().
 *
 * How it works: libinih does the key/value splitting, fed by our own line
 * reader. The reader counts physical lines (so every message has the right
 * line number), refuses over-long lines and NUL bytes, removes `#`
 * comments outside double quotes, checks section headers itself (so an
 * empty unknown section is still an error) and refuses lines that are not
 * "key = value". The handler then looks the key up in a per-section table
 * and parses the value into the struct. Checks that involve several keys
 * run once the whole file is read.
 *
 * libinih keeps its options in process-wide variables; they are set (and
 * restored) under a mutex, so loads from several threads are safe.
 *
 * Failure modes: the first error only, as "FILE:LINE: [section] key:
 * reason" ("FILE: reason" for open/read errors); the result is then NULL.
 * Out of memory is fatal (xalloc).
 */
#include "common/config.h"
#include "common/text.h"

#include "common/strbuf.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONFIG_LINE_MAX 8192        /* bytes of one line, without its end */
#define CONFIG_TEXT_MAX (16u << 20) /* bytes of a whole file */
#define KEYS_MAX        24          /* keys in one section's table */

#define FIELD_SIZE(type, member) sizeof(((type *)0)->member)

/* ---- value parsers (public) ---- */

/* Decimal digits only, no sign; 0 on success. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int config_parse_size(const char *text, uint64_t *out)
{
    size_t n = strlen(text);
    uint64_t mult = 1;
    if (n > 0) {
        switch (text[n - 1]) {
        case 'k':
        case 'K':
            mult = 1024;
            break;
        case 'm':
        case 'M':
            mult = 1024 * 1024;
            break;
        case 'g':
        case 'G':
            mult = 1024 * 1024 * 1024;
            break;
        default:
            break;
        }
        if (mult != 1)
            n--;
    }
    uint64_t v;
    if (parse_u64(text, n, &v) != 0 || v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

int config_parse_time(const char *text, unsigned *seconds)
{
    size_t n = strlen(text);
    uint64_t mult = 1;
    if (n > 0) {
        switch (text[n - 1]) {
        case 's':
        case 'S':
            n--;
            break;
        case 'm':
        case 'M':
            mult = 60;
            n--;
            break;
        case 'h':
        case 'H':
            mult = 3600;
            n--;
            break;
        default:
            break;
        }
    }
    uint64_t v;
    if (parse_u64(text, n, &v) != 0 || v > UINT_MAX / mult)
        return -1;
    *seconds = (unsigned)(v * mult);
    return 0;
}

int config_parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* ---- loader state ---- */

enum section_id {
    SEC_NONE,
    SEC_SERVER,
    SEC_CLAMAV,
    SEC_SPAMD,
    SEC_DELIVER,
    SEC_REPORT,
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

static void fail(struct loader *ld, int line, const char *section, const char *key, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));

/* Records the first error as "NAME:LINE: [section] key: reason" (parts
 * that do not apply are left out). */
static void fail(struct loader *ld, int line, const char *section, const char *key, const char *fmt,
                 ...)
{
    if (ld->failed)
        return;
    ld->failed = true;
    if (ld->err == NULL || ld->errlen == 0)
        return;
    char reason[1024], at[32] = "", where[700] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(at, sizeof(at), "%d:", line);
    if (section != NULL && key != NULL)
        snprintf(where, sizeof(where), "[%s] %.600s: ", section, key);
    else if (section != NULL)
        snprintf(where, sizeof(where), "[%s]: ", section);
    snprintf(ld->err, ld->errlen, "%s:%s %s%s", ld->name, at, where, reason);
}

/* ---- small validators ---- */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* Policy names: [A-Za-z0-9._-], 1..63 bytes. */
static bool valid_policy_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= FIELD_SIZE(struct policy, name))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

/* Template: only the escapes in allowed (plus %%). */
static bool valid_template(const char *s, const char *allowed, char *why, size_t whylen)
{
    for (const char *p = s; *p; p++) {
        if (*p != '%')
            continue;
        if (p[1] == '%') {
            p++;
            continue;
        }
        if (p[1] == '\0' || strchr(allowed, p[1]) == NULL) {
            snprintf(why, whylen, "unknown escape \"%%%.1s\" (known: %%%%", p + 1);
            size_t used = strlen(why);
            for (const char *a = allowed; *a && used + 4 < whylen; a++) {
                snprintf(why + used, whylen - used, " %%%c", *a);
                used = strlen(why);
            }
            snprintf(why + used, whylen - used, ")");
            return false;
        }
        p++;
    }
    return true;
}

/* ---- key tables ---- */

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
    size_t size;   /* strings: buffer size */
    uint64_t min, max;
    const struct choice *choices;
    enum str_check check;
    unsigned flags;
};

static void *field(const struct key_def *kd, void *base)
{
    return (char *)base + kd->offset;
}

static int parse_bool_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    if (config_parse_bool(value, (bool *)field(kd, base)) != 0) {
        snprintf(why, whylen, "\"%s\" is not a boolean (expected yes or no)", value);
        return -1;
    }
    return 0;
}

static int check_range(const struct key_def *kd, uint64_t v, const char *value, char *why,
                       size_t whylen)
{
    if (v < kd->min || v > kd->max) {
        snprintf(why, whylen, "%s is out of range (%llu to %llu)", value,
                 (unsigned long long)kd->min, (unsigned long long)kd->max);
        return -1;
    }
    return 0;
}

static int parse_uint_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    uint64_t v;
    if (parse_u64(value, strlen(value), &v) != 0) {
        snprintf(why, whylen, "\"%s\" is not a number", value);
        return -1;
    }
    if (check_range(kd, v, value, why, whylen) != 0)
        return -1;
    *(unsigned *)field(kd, base) = (unsigned)v;
    return 0;
}

static int parse_size_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    uint64_t v;
    if (config_parse_size(value, &v) != 0) {
        snprintf(why, whylen, "\"%s\" is not a size (a number with optional K, M or G)", value);
        return -1;
    }
    if (check_range(kd, v, value, why, whylen) != 0)
        return -1;
    *(uint64_t *)field(kd, base) = v;
    return 0;
}

static int parse_time_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    unsigned v;
    if (config_parse_time(value, &v) != 0) {
        snprintf(why, whylen, "\"%s\" is not a time (a number with optional s, m or h)", value);
        return -1;
    }
    if (check_range(kd, v, value, why, whylen) != 0)
        return -1;
    *(unsigned *)field(kd, base) = v;
    return 0;
}

/* A spam score: [+-]digits[.digits], |x| <= 1e6. */
static int parse_score(const char *value, double *out)
{
    const char *p = value;
    if (*p == '+' || *p == '-')
        p++;
    size_t digits = 0, frac = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            frac++;
        }
    }
    if (*p != '\0' || digits == 0 || digits > 7 || frac > 9)
        return -1;
    errno = 0;
    double v = strtod(value, NULL);
    if (errno != 0 || !isfinite(v) || fabs(v) > 1e6)
        return -1;
    *out = v;
    return 0;
}

static int parse_level_key(const struct key_def *kd, void *base, const char *value, char *why,
                           size_t whylen)
{
    if (parse_score(value, (double *)field(kd, base)) != 0) {
        snprintf(why, whylen, "\"%s\" is not a score (a decimal number)", value);
        return -1;
    }
    return 0;
}

static int parse_mark_level_key(const struct key_def *kd, void *base, const char *value, char *why,
                                size_t whylen)
{
    struct policy *p = base;
    (void)kd;
    if (strcasecmp(value, "spamd") == 0) {
        p->spam_mark_from_spamd = true;
        p->spam_mark_level = 5.0; /* spamd's usual required_score; unused */
        return 0;
    }
    if (parse_score(value, &p->spam_mark_level) != 0) {
        snprintf(why, whylen, "\"%s\" is not a score (a decimal number or \"spamd\")", value);
        return -1;
    }
    p->spam_mark_from_spamd = false;
    return 0;
}

static int find_choice(const struct key_def *kd, const char *value, int *out, char *why,
                       size_t whylen)
{
    for (const struct choice *c = kd->choices; c->text != NULL; c++) {
        if (strcasecmp(value, c->text) == 0) {
            *out = c->value;
            return 0;
        }
    }
    size_t used = (size_t)snprintf(why, whylen, "\"%s\" is not allowed (expected", value);
    for (const struct choice *c = kd->choices; c->text != NULL && used < whylen; c++) {
        snprintf(why + used, whylen - used, "%s %s", c == kd->choices ? "" : " |", c->text);
        used = strlen(why);
    }
    if (used < whylen)
        snprintf(why + used, whylen - used, ")");
    return -1;
}

static int parse_action_key(const struct key_def *kd, void *base, const char *value, char *why,
                            size_t whylen)
{
    int v;
    if (find_choice(kd, value, &v, why, whylen) != 0)
        return -1;
    *(enum action *)field(kd, base) = (enum action)v;
    return 0;
}

static int parse_mode_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    int v;
    if (find_choice(kd, value, &v, why, whylen) != 0)
        return -1;
    *(enum deliver_mode *)field(kd, base) = (enum deliver_mode)v;
    return 0;
}

static int parse_reload_key(const struct key_def *kd, void *base, const char *value, char *why,
                            size_t whylen)
{
    int v;
    if (find_choice(kd, value, &v, why, whylen) != 0)
        return -1;
    *(enum clamav_reload *)field(kd, base) = (enum clamav_reload)v;
    return 0;
}

static int parse_log_key(const struct key_def *kd, void *base, const char *value, char *why,
                         size_t whylen)
{
    int v;
    if (find_choice(kd, value, &v, why, whylen) != 0)
        return -1;
    *(enum log_target *)field(kd, base) = (enum log_target)v;
    return 0;
}

static int parse_address_key(const struct key_def *kd, void *base, const char *value, char *why,
                             size_t whylen)
{
    struct net_address *a = field(kd, base);
    if (value[0] == '\0' && (kd->flags & KEY_EMPTY_OK)) {
        memset(a, 0, sizeof(*a));
        return 0;
    }
    struct net_address tmp;
    if (net_address_parse(value, &tmp, why, whylen) != 0)
        return -1;
    if (tmp.kind == NET_INET && strcmp(tmp.port, "0") == 0) {
        snprintf(why, whylen, "%s: port 0 is not allowed", value);
        return -1;
    }
    *a = tmp;
    return 0;
}

/* Calls item() for each comma-separated, blank-trimmed item; an empty
 * value is an empty list, an empty item is an error. */
static int for_each_item(const char *value,
                         int (*item)(const char *text, void *arg, char *why, size_t whylen),
                         void *arg, char *why, size_t whylen)
{
    const char *p = value;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *s = p;
        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0) {
            snprintf(why, whylen, "empty item in the comma-separated list");
            return -1;
        }
        char *copy = xstrndup(s, n);
        int rc = item(copy, arg, why, whylen);
        free(copy);
        if (rc != 0)
            return -1;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

struct address_list {
    struct net_address *list;
    size_t *n;
    size_t max;
};

static int address_item(const char *text, void *arg, char *why, size_t whylen)
{
    struct address_list *al = arg;
    if (*al->n >= al->max) {
        snprintf(why, whylen, "too many addresses (at most %zu)", al->max);
        return -1;
    }
    struct net_address a;
    if (net_address_parse(text, &a, why, whylen) != 0)
        return -1;
    if (a.kind == NET_INET && strcmp(a.port, "0") == 0) {
        snprintf(why, whylen, "%s: port 0 is not allowed", text);
        return -1;
    }
    al->list[(*al->n)++] = a;
    return 0;
}

static int parse_listen_key(const struct key_def *kd, void *base, const char *value, char *why,
                            size_t whylen)
{
    struct config *cfg = base;
    bool smtp = strcmp(kd->name, "smtp_listen") == 0;
    struct address_list al = {
        .list = smtp ? cfg->server.smtp_listen : cfg->server.listen,
        .n = smtp ? &cfg->server.n_smtp_listen : &cfg->server.n_listen,
        .max = CONFIG_MAX_LISTEN,
    };
    *al.n = 0;
    if (for_each_item(value, address_item, &al, why, whylen) != 0) {
        *al.n = 0;
        return -1;
    }
    return 0;
}

static int cidr_item(const char *text, void *arg, char *why, size_t whylen)
{
    struct config *cfg = arg;
    if (cfg->server.n_allow_from >= CONFIG_MAX_CIDR) {
        snprintf(why, whylen, "too many ranges (at most %d)", CONFIG_MAX_CIDR);
        return -1;
    }
    if (cidr_parse(text, &cfg->server.allow_from[cfg->server.n_allow_from]) != 0) {
        snprintf(why, whylen, "\"%s\" is not an address or ADDRESS/PREFIX range", text);
        return -1;
    }
    cfg->server.n_allow_from++;
    return 0;
}

static int parse_cidr_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    struct config *cfg = base;
    (void)kd;
    cfg->server.n_allow_from = 0;
    if (for_each_item(value, cidr_item, cfg, why, whylen) != 0) {
        cfg->server.n_allow_from = 0;
        return -1;
    }
    return 0;
}

static int check_string(const struct key_def *kd, const char *v, char *why, size_t whylen)
{
    size_t n = strlen(v);
    if (text_has_control(v)) {
        snprintf(why, whylen, "control characters are not allowed");
        return -1;
    }
    switch (kd->check) {
    case STR_TEXT:
        return 0;
    case STR_PATH:
        if (v[0] != '/') {
            snprintf(why, whylen, "\"%s\" is not an absolute path", v);
            return -1;
        }
        return 0;
    case STR_HOSTNAME:
    case STR_NAME:
        for (size_t i = 0; i < n; i++) {
            if (!is_name_char(v[i])) {
                snprintf(why, whylen, "\"%s\": only letters, digits, '.', '-' and '_' allowed", v);
                return -1;
            }
        }
        if (kd->check == STR_NAME && v[0] == '-') {
            snprintf(why, whylen, "\"%s\" must not start with '-'", v);
            return -1;
        }
        if (kd->check == STR_HOSTNAME && (v[0] == '.' || v[0] == '-' || strstr(v, "..") != NULL)) {
            snprintf(why, whylen, "\"%s\" is not a host name", v);
            return -1;
        }
        return 0;
    case STR_FOLDER:
        if (v[0] == '.' || strchr(v, '/') != NULL || strstr(v, "..") != NULL || v[n - 1] == '.') {
            snprintf(why, whylen,
                     "\"%s\": a folder name must not contain '/' or \"..\" nor start or end "
                     "with '.'",
                     v);
            return -1;
        }
        return 0;
    case STR_MAILDIR:
        if (v[0] != '/') {
            snprintf(why, whylen, "\"%s\" is not an absolute path", v);
            return -1;
        }
        return valid_template(v, "unde", why, whylen) ? 0 : -1;
    case STR_SPAMD_USER:
        if (strpbrk(v, " \t") != NULL) {
            snprintf(why, whylen, "blanks are not allowed");
            return -1;
        }
        return valid_template(v, "und", why, whylen) ? 0 : -1;
    case STR_DELIMITER:
        for (size_t i = 0; i < n; i++) {
            if (v[i] == ' ' || v[i] == '\t' || v[i] == '@' || v[i] == '"' || v[i] == '\\' ||
                (unsigned char)v[i] >= 0x80) {
                snprintf(why, whylen, "'%c' cannot be a delimiter", v[i]);
                return -1;
            }
        }
        return 0;
    }
    return 0;
}

static int parse_string_key(const struct key_def *kd, void *base, const char *value, char *why,
                            size_t whylen)
{
    size_t n = strlen(value);
    if (n == 0 && !(kd->flags & KEY_EMPTY_OK)) {
        snprintf(why, whylen, "a value is required");
        return -1;
    }
    if (n >= kd->size) {
        snprintf(why, whylen, "too long (at most %zu bytes)", kd->size - 1);
        return -1;
    }
    if (n > 0 && check_string(kd, value, why, whylen) != 0)
        return -1;
    memcpy(field(kd, base), value, n + 1);
    return 0;
}

#define CFG_OFF(member)  offsetof(struct config, member)
#define CFG_SIZE(member) FIELD_SIZE(struct config, member)
#define POL_OFF(member)  offsetof(struct policy, member)
#define POL_SIZE(member) FIELD_SIZE(struct policy, member)

#define K_BOOL(name, off)                                                                          \
    {                                                                                              \
        name, parse_bool_key, off, 0, 0, 0, NULL, STR_TEXT, 0                                      \
    }
#define K_UINT(name, off, lo, hi)                                                                  \
    {                                                                                              \
        name, parse_uint_key, off, 0, lo, hi, NULL, STR_TEXT, 0                                    \
    }
#define K_SIZE(name, off, lo, hi)                                                                  \
    {                                                                                              \
        name, parse_size_key, off, 0, lo, hi, NULL, STR_TEXT, 0                                    \
    }
#define K_TIME(name, off, lo, hi)                                                                  \
    {                                                                                              \
        name, parse_time_key, off, 0, lo, hi, NULL, STR_TEXT, 0                                    \
    }
#define K_STR(name, off, sz, chk, f)                                                               \
    {                                                                                              \
        name, parse_string_key, off, sz, 0, 0, NULL, chk, f                                        \
    }
#define K_CHOICE(name, fn, off, ch)                                                                \
    {                                                                                              \
        name, fn, off, 0, 0, 0, ch, STR_TEXT, 0                                                    \
    }
#define K_FN(name, fn, off, f)                                                                     \
    {                                                                                              \
        name, fn, off, 0, 0, 0, NULL, STR_TEXT, f                                                  \
    }
#define K_END                                                                                      \
    {                                                                                              \
        NULL, NULL, 0, 0, 0, 0, NULL, STR_TEXT, 0                                                  \
    }

#define DAY (24u * 3600u)
#define KiB 1024ull
#define MiB (1024ull * 1024)
#define GiB (1024ull * 1024 * 1024)

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
static const struct choice error_action_choices[] = {
    {"tempfail", ACTION_TEMPFAIL}, {"pass", ACTION_DELIVER}, {NULL, 0}};

static const struct key_def server_keys[] = {
    K_FN("listen", parse_listen_key, 0, KEY_EMPTY_OK),
    K_FN("smtp_listen", parse_listen_key, 0, KEY_EMPTY_OK),
    K_STR("hostname", CFG_OFF(server.hostname), CFG_SIZE(server.hostname), STR_HOSTNAME,
          KEY_EMPTY_OK),
    K_UINT("max_sessions", CFG_OFF(server.max_sessions), 1, 100000),
    K_SIZE("max_message_size", CFG_OFF(server.max_message_size), 1, 64 * GiB),
    K_UINT("max_recipients", CFG_OFF(server.max_recipients), 1, 100000),
    K_TIME("timeout", CFG_OFF(server.timeout), 1, DAY),
    K_TIME("scan_timeout", CFG_OFF(server.scan_timeout), 1, DAY),
    K_TIME("session_timeout", CFG_OFF(server.session_timeout), 1, DAY),
    K_UINT("max_errors", CFG_OFF(server.max_errors), 1, 100000),
    K_UINT("max_auth_failures", CFG_OFF(server.max_auth_failures), 1, 100000),
    K_UINT("max_commands_before_auth", CFG_OFF(server.max_commands_before_auth), 1, 100000),
    K_UINT("trusted_sessions", CFG_OFF(server.trusted_sessions), 0, 100000),
    K_FN("allow_from", parse_cidr_key, 0, KEY_EMPTY_OK),
    K_BOOL("auth", CFG_OFF(server.auth)),
    K_STR("sasl_service", CFG_OFF(server.sasl_service), CFG_SIZE(server.sasl_service), STR_NAME, 0),
    K_STR("user", CFG_OFF(server.user), CFG_SIZE(server.user), STR_NAME, KEY_EMPTY_OK),
    K_STR("spool_dir", CFG_OFF(server.spool_dir), CFG_SIZE(server.spool_dir), STR_PATH, 0),
    K_CHOICE("log", parse_log_key, CFG_OFF(server.log), log_choices),
    K_END,
};

static const struct key_def clamav_keys[] = {
    K_BOOL("enabled", CFG_OFF(clamav.enabled)),
    K_STR("database", CFG_OFF(clamav.database), CFG_SIZE(clamav.database), STR_PATH, KEY_EMPTY_OK),
    K_STR("tmp_dir", CFG_OFF(clamav.tmp_dir), CFG_SIZE(clamav.tmp_dir), STR_PATH, KEY_EMPTY_OK),
    K_TIME("reload_check", CFG_OFF(clamav.reload_check), 0, DAY),
    K_CHOICE("reload", parse_reload_key, CFG_OFF(clamav.reload), reload_choices),
    K_SIZE("max_scan_size", CFG_OFF(clamav.max_scan_size), 0, 4 * GiB),
    K_SIZE("max_file_size", CFG_OFF(clamav.max_file_size), 0, 4 * GiB),
    K_UINT("max_recursion", CFG_OFF(clamav.max_recursion), 1, 1000),
    K_UINT("max_files", CFG_OFF(clamav.max_files), 0, UINT32_MAX),
    K_SIZE("scan_memory", CFG_OFF(clamav.scan_memory), 1 * MiB, 1024 * GiB),
    K_END,
};

static const struct key_def spamd_keys[] = {
    K_BOOL("enabled", CFG_OFF(spamd.enabled)),
    K_FN("address", parse_address_key, CFG_OFF(spamd.address), KEY_EMPTY_OK),
    K_TIME("timeout", CFG_OFF(spamd.timeout), 1, DAY),
    K_SIZE("max_size", CFG_OFF(spamd.max_size), 1, 1 * GiB),
    K_UINT("connections", CFG_OFF(spamd.connections), 1, 1024),
    K_END,
};

static const struct key_def deliver_keys[] = {
    K_CHOICE("mode", parse_mode_key, CFG_OFF(deliver.mode), mode_choices),
    K_FN("relay", parse_address_key, CFG_OFF(deliver.relay), KEY_EMPTY_OK),
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

static const struct key_def policy_keys[] = {
    K_BOOL("virus_scan", POL_OFF(virus_scan)),
    K_BOOL("spam_scan", POL_OFF(spam_scan)),
    K_STR("spamd_user", POL_OFF(spamd_user), POL_SIZE(spamd_user), STR_SPAMD_USER, KEY_EMPTY_OK),
    K_FN("spam_header_level", parse_level_key, POL_OFF(spam_header_level), 0),
    K_FN("spam_mark_level", parse_mark_level_key, 0, 0),
    K_FN("spam_block_level", parse_level_key, POL_OFF(spam_block_level), 0),
    K_CHOICE("spam_action", parse_action_key, POL_OFF(spam_action), spam_action_choices),
    K_CHOICE("spam_block_action", parse_action_key, POL_OFF(spam_block_action),
             block_action_choices),
    K_CHOICE("virus_action", parse_action_key, POL_OFF(virus_action), block_action_choices),
    K_STR("junk_folder", POL_OFF(junk_folder), POL_SIZE(junk_folder), STR_FOLDER, 0),
    K_STR("subject_tag", POL_OFF(subject_tag), POL_SIZE(subject_tag), STR_TEXT, KEY_EMPTY_OK),
    K_CHOICE("scan_error_action", parse_action_key, POL_OFF(scan_error_action),
             error_action_choices),
    K_END,
};

static const struct key_def *const section_keys[SEC_COUNT] = {
    [SEC_SERVER] = server_keys,   [SEC_CLAMAV] = clamav_keys, [SEC_SPAMD] = spamd_keys,
    [SEC_DELIVER] = deliver_keys, [SEC_REPORT] = report_keys, [SEC_POLICY] = policy_keys,
};

static const char *const section_names[SEC_COUNT] = {
    [SEC_SERVER] = "server",   [SEC_CLAMAV] = "clamav", [SEC_SPAMD] = "spamd",
    [SEC_DELIVER] = "deliver", [SEC_REPORT] = "report", [SEC_RECIPIENTS] = "recipients",
};

/* Index of key in the section's table, or -1. */
static int key_index(enum section_id sec, const char *key)
{
    const struct key_def *keys = section_keys[sec];
    for (int i = 0; keys != NULL && keys[i].name != NULL; i++)
        if (strcasecmp(keys[i].name, key) == 0)
            return i;
    return -1;
}

/* ---- defaults ---- */

static void policy_defaults(struct policy *p, const char *name)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->virus_scan = true;
    p->spam_scan = true;
    snprintf(p->spamd_user, sizeof(p->spamd_user), "%%u");
    p->spam_header_level = -999.0;
    p->spam_mark_level = 5.0;
    p->spam_mark_from_spamd = false;
    p->spam_block_level = 15.0;
    p->spam_action = ACTION_JUNK;
    p->spam_block_action = ACTION_QUARANTINE;
    p->virus_action = ACTION_QUARANTINE;
    snprintf(p->junk_folder, sizeof(p->junk_folder), "Junk");
    p->subject_tag[0] = '\0';
    p->scan_error_action = ACTION_TEMPFAIL;
}

static void config_defaults(struct config *cfg)
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
    cfg->server.session_timeout = 30 * 60;
    cfg->server.max_errors = 20;
    cfg->server.max_auth_failures = 3;
    cfg->server.max_commands_before_auth = 20;
    cfg->server.trusted_sessions = 8;
    if (cidr_parse("127.0.0.0/8", &cfg->server.allow_from[0]) == 0 &&
        cidr_parse("::1", &cfg->server.allow_from[1]) == 0)
        cfg->server.n_allow_from = 2;
    cfg->server.auth = false;
    snprintf(cfg->server.sasl_service, sizeof(cfg->server.sasl_service), "lmtpscan");
    cfg->server.user[0] = '\0';
    snprintf(cfg->server.spool_dir, sizeof(cfg->server.spool_dir), "/var/spool/lmtpscan");
    cfg->server.log = LOG_TO_SYSLOG;

    cfg->clamav.enabled = true;
    snprintf(cfg->clamav.database, sizeof(cfg->clamav.database), "/var/lib/clamav");
    cfg->clamav.reload_check = 300;
    cfg->clamav.reload = RELOAD_CONCURRENT;
    cfg->clamav.max_scan_size = 100 * MiB;
    cfg->clamav.max_file_size = 25 * MiB;
    cfg->clamav.max_recursion = 16;
    cfg->clamav.max_files = 10000;
    cfg->clamav.scan_memory = 1 * GiB;

    cfg->spamd.enabled = true;
    if (net_address_parse("inet:127.0.0.1:783", &cfg->spamd.address, why, sizeof(why)) != 0)
        memset(&cfg->spamd.address, 0, sizeof(cfg->spamd.address));
    cfg->spamd.timeout = 30;
    cfg->spamd.max_size = 500 * KiB;
    cfg->spamd.connections = 8;

    cfg->deliver.mode = DELIVER_RELAY;
    if (net_address_parse("inet:127.0.0.1:10025", &cfg->deliver.relay, why, sizeof(why)) != 0)
        memset(&cfg->deliver.relay, 0, sizeof(cfg->deliver.relay));
    snprintf(cfg->deliver.maildir, sizeof(cfg->deliver.maildir), "/var/vmail/%%d/%%n/Maildir");
    cfg->deliver.maildir_create = true;
    snprintf(cfg->deliver.recipient_delimiter, sizeof(cfg->deliver.recipient_delimiter), "+");
    snprintf(cfg->deliver.quarantine_dir, sizeof(cfg->deliver.quarantine_dir),
             "/var/spool/lmtpscan/quarantine");

    snprintf(cfg->report.dir, sizeof(cfg->report.dir), "/var/spool/lmtpscan/reports");
}

/* ---- policies and recipients ---- */

static size_t policy_index(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_policies; i++)
        if (strcmp(cfg->policies[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

static size_t add_policy(struct loader *ld, const char *name)
{
    struct config *cfg = ld->cfg;
    size_t i = policy_index(cfg, name);
    if (i != SIZE_MAX)
        return i;
    cfg->policies =
        xgrow(cfg->policies, &ld->policies_cap, cfg->n_policies + 1, sizeof(*cfg->policies));
    ld->policy_seen =
        xgrow(ld->policy_seen, &ld->policy_seen_cap, cfg->n_policies + 1, sizeof(*ld->policy_seen));
    i = cfg->n_policies++;
    policy_defaults(&cfg->policies[i], name);
    memset(ld->policy_seen[i], 0, sizeof(ld->policy_seen[i]));
    return i;
}

/* "user@domain" or "@domain": printable, no blanks, a non-empty domain. */
static bool valid_recipient_key(const char *k, char *why, size_t whylen)
{
    size_t n = strlen(k);
    const char *at = strrchr(k, '@');
    if (n >= FIELD_SIZE(struct recipient_rule, key)) {
        snprintf(why, whylen, "address too long (at most %zu bytes)",
                 FIELD_SIZE(struct recipient_rule, key) - 1);
        return false;
    }
    if (at == NULL || at[1] == '\0') {
        snprintf(why, whylen, "expected user@domain or @domain");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c <= 0x20 || c == 0x7f) {
            snprintf(why, whylen, "blanks and control characters are not allowed");
            return false;
        }
    }
    for (const char *d = at + 1; *d; d++) {
        if (*d == '[' || *d == ']' || *d == '"' || *d == '\\' || *d == '/') {
            snprintf(why, whylen, "bad character '%c' in the domain", *d);
            return false;
        }
    }
    return true;
}

static void handle_recipient(struct loader *ld, const char *name, const char *value)
{
    struct config *cfg = ld->cfg;
    char key[FIELD_SIZE(struct recipient_rule, key)];
    char why[512];
    size_t n = strlen(name);
    if (!valid_recipient_key(name, why, sizeof(why))) {
        fail(ld, ld->lineno, "recipients", name, "%s", why);
        return;
    }
    for (size_t i = 0; i <= n; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    if (!valid_policy_name(value)) {
        fail(ld, ld->lineno, "recipients", name,
             "\"%s\" is not a policy name ([A-Za-z0-9._-], at most %zu bytes)", value,
             FIELD_SIZE(struct policy, name) - 1);
        return;
    }
    cfg->recipients = xgrow(cfg->recipients, &ld->recipients_cap, cfg->n_recipients + 1,
                            sizeof(*cfg->recipients));
    ld->recipient_lines = xgrow(ld->recipient_lines, &ld->recipient_lines_cap,
                                cfg->n_recipients + 1, sizeof(*ld->recipient_lines));
    struct recipient_rule *r = &cfg->recipients[cfg->n_recipients];
    memset(r, 0, sizeof(*r));
    memcpy(r->key, key, n + 1);
    snprintf(r->policy, sizeof(r->policy), "%s", value);
    ld->recipient_lines[cfg->n_recipients] = ld->lineno;
    cfg->n_recipients++;
}

/* ---- the line reader fed to libinih ---- */

static int source_getc(struct loader *ld)
{
    if (ld->fp != NULL)
        return getc(ld->fp);
    if (ld->text[ld->text_pos] == '\0')
        return EOF;
    return (unsigned char)ld->text[ld->text_pos++];
}

/* Reads one physical line (without its end) into ld->line; false at the
 * end of input or on error (ld->failed). */
static bool read_physical_line(struct loader *ld)
{
    strbuf_reset(&ld->line);
    if (ld->eof)
        return false;
    int c;
    bool any = false, too_long = false;
    while ((c = source_getc(ld)) != EOF) {
        any = true;
        if (++ld->bytes > CONFIG_TEXT_MAX) {
            fail(ld, 0, NULL, NULL, "file too large (more than %u bytes)", CONFIG_TEXT_MAX);
            return false;
        }
        if (c == '\n')
            break;
        char ch = (char)c;
        if (!too_long && strbuf_append(&ld->line, &ch, 1) != 0)
            too_long = true;
    }
    if (c == EOF) {
        ld->eof = true;
        if (ld->fp != NULL && ferror(ld->fp)) {
            fail(ld, 0, NULL, NULL, "read error: %s", strerror(errno));
            return false;
        }
        if (!any)
            return false;
    }
    ld->lineno++;
    if (too_long) {
        fail(ld, ld->lineno, NULL, NULL, "line too long (at most %d bytes)", CONFIG_LINE_MAX);
        return false;
    }
    if (ld->line.len > 0 && memchr(ld->line.data, '\0', ld->line.len) != NULL) {
        fail(ld, ld->lineno, NULL, NULL, "NUL byte in line");
        return false;
    }
    return true;
}

/* Cuts a '#' comment that starts the line or follows a blank, outside
 * double quotes (a backslash escapes the next byte inside quotes). */
static void strip_comment(char *s)
{
    bool quoted = false;
    for (char *p = s; *p; p++) {
        if (quoted) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            else if (*p == '"')
                quoted = false;
        } else if (*p == '"') {
            quoted = true;
        } else if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            return;
        }
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* "[name]" already trimmed; sets the current section. */
static bool enter_section(struct loader *ld, char *line)
{
    char *close = strchr(line, ']');
    if (close == NULL) {
        fail(ld, ld->lineno, NULL, NULL, "syntax error: missing ']' in section header");
        return false;
    }
    if (*trim(close + 1) != '\0') {
        fail(ld, ld->lineno, NULL, NULL, "syntax error: text after ']' in section header");
        return false;
    }
    *close = '\0';
    char *name = trim(line + 1);

    for (int s = 0; s < SEC_COUNT; s++) {
        if (section_names[s] != NULL && strcasecmp(name, section_names[s]) == 0) {
            ld->section = (enum section_id)s;
            snprintf(ld->label, sizeof(ld->label), "%s", section_names[s]);
            return true;
        }
    }
    if (strncasecmp(name, "policy", 6) == 0 && (name[6] == ' ' || name[6] == '\t')) {
        char *pname = trim(name + 6);
        if (!valid_policy_name(pname)) {
            fail(ld, ld->lineno, NULL, NULL,
                 "[policy %.80s]: bad policy name ([A-Za-z0-9._-], at most %zu bytes)", pname,
                 FIELD_SIZE(struct policy, name) - 1);
            return false;
        }
        ld->section = SEC_POLICY;
        ld->policy = add_policy(ld, pname);
        snprintf(ld->label, sizeof(ld->label), "policy %s", pname);
        return true;
    }
    if (strcasecmp(name, "policy") == 0) {
        fail(ld, ld->lineno, NULL, NULL, "[policy]: a policy needs a name: [policy NAME]");
        return false;
    }
    fail(ld, ld->lineno, NULL, NULL,
         "[%.80s]: unknown section (known: server, clamav, spamd, deliver, report, "
         "policy NAME, recipients)",
         name);
    return false;
}

/* libinih's reader: hands over one cleaned line per physical line, so
 * libinih's own line numbers match ours. */
static char *loader_read(char *str, int num, void *stream)
{
    struct loader *ld = stream;
    if (ld->failed || !read_physical_line(ld))
        return NULL;
    static char empty[1];
    char *line = ld->line.data != NULL ? ld->line.data : empty;
    if (ld->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3;
    strip_comment(line);
    line = trim(line);

    const char *out = line;
    if (line[0] == '\0' || line[0] == ';') {
        out = "";
    } else if (line[0] == '[') {
        if (!enter_section(ld, line))
            return NULL;
        /* libinih keeps its own idea of the section; ours is ld->section. */
        out = "[s]";
    } else {
        char *eq = strchr(line, '=');
        char *colon = strchr(line, ':');
        if (eq == NULL || (colon != NULL && colon < eq)) {
            fail(ld, ld->lineno, NULL, NULL, "syntax error: expected \"key = value\"");
            return NULL;
        }
        if (eq == line) {
            fail(ld, ld->lineno, NULL, NULL, "syntax error: missing key before '='");
            return NULL;
        }
        if (ld->section == SEC_NONE) {
            int keylen = (int)(eq - line);
            while (keylen > 0 && (line[keylen - 1] == ' ' || line[keylen - 1] == '\t'))
                keylen--;
            fail(ld, ld->lineno, NULL, NULL, "\"%.*s\" is outside of any [section]", keylen, line);
            return NULL;
        }
    }
    size_t n = strlen(out);
    if (num < 2 || n + 2 > (size_t)num) {
        fail(ld, ld->lineno, NULL, NULL, "line too long (at most %d bytes)", CONFIG_LINE_MAX);
        return NULL;
    }
    memcpy(str, out, n);
    str[n] = '\n';
    str[n + 1] = '\0';
    return str;
}

/* Removes one level of double quotes ("..." with \" and \\) into out. */
static int unquote(const char *in, struct strbuf *out, char *why, size_t whylen)
{
    strbuf_reset(out);
    if (in[0] != '"')
        return strbuf_puts(out, in) == 0 ? 0 : -1;
    const char *p = in + 1;
    for (;;) {
        if (*p == '\0') {
            snprintf(why, whylen, "missing closing '\"'");
            return -1;
        }
        if (*p == '"')
            break;
        if (*p == '\\') {
            if (p[1] != '"' && p[1] != '\\') {
                snprintf(why, whylen, "only \\\" and \\\\ may follow a backslash in quotes");
                return -1;
            }
            p++;
        }
        if (strbuf_append(out, p, 1) != 0) {
            snprintf(why, whylen, "value too long");
            return -1;
        }
        p++;
    }
    if (p[1] != '\0') {
        snprintf(why, whylen, "text after the closing '\"'");
        return -1;
    }
    return 0;
}

static int loader_handle(void *user, const char *section, const char *name, const char *value)
{
    struct loader *ld = user;
    (void)section;
    if (ld->failed)
        return 0;
    char why[512] = "";
    struct strbuf v;
    strbuf_init(&v, CONFIG_LINE_MAX);
    if (unquote(value, &v, why, sizeof(why)) != 0) {
        fail(ld, ld->lineno, ld->label, name, "%s", why);
        goto out;
    }
    const char *val = v.data != NULL ? v.data : "";

    if (ld->section == SEC_RECIPIENTS) {
        handle_recipient(ld, name, val);
        goto out;
    }
    int k = key_index(ld->section, name);
    if (k < 0) {
        fail(ld, ld->lineno, ld->label, name, "unknown key");
        goto out;
    }
    int *seen =
        ld->section == SEC_POLICY ? &ld->policy_seen[ld->policy][k] : &ld->seen[ld->section][k];
    if (*seen != 0) {
        fail(ld, ld->lineno, ld->label, name, "duplicate key (already set at line %d)", *seen);
        goto out;
    }
    *seen = ld->lineno;
    void *base =
        ld->section == SEC_POLICY ? (void *)&ld->cfg->policies[ld->policy] : (void *)ld->cfg;
    const struct key_def *kd = &section_keys[ld->section][k];
    if (kd->parse(kd, base, val, why, sizeof(why)) != 0)
        fail(ld, ld->lineno, ld->label, name, "%s", why);
out:
    strbuf_free(&v);
    return ld->failed ? 0 : 1;
}

/* ---- checks across keys ---- */

static int seen_line(const struct loader *ld, enum section_id sec, const char *key)
{
    int k = key_index(sec, key);
    return k < 0 ? 0 : ld->seen[sec][k];
}

/* The line of the first of two keys that was set (an error involving two
 * keys is reported where the file made it). */
static int either_line(const struct loader *ld, enum section_id sec, const char *a, const char *b)
{
    int la = seen_line(ld, sec, a);
    return la != 0 ? la : seen_line(ld, sec, b);
}

static int cmp_recipient_index(const void *a, const void *b, void *arg)
{
    const struct config *cfg = arg;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    int c = strcmp(cfg->recipients[ia].key, cfg->recipients[ib].key);
    if (c != 0)
        return c;
    return ia < ib ? -1 : ia > ib;
}

static void check_recipients(struct loader *ld)
{
    struct config *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->n_recipients && !ld->failed; i++) {
        if (policy_index(cfg, cfg->recipients[i].policy) == SIZE_MAX)
            fail(ld, ld->recipient_lines[i], "recipients", cfg->recipients[i].key,
                 "there is no [policy %s] section", cfg->recipients[i].policy);
    }
    if (ld->failed || cfg->n_recipients < 2)
        return;
    /* Duplicates (addresses compare case-insensitively: keys are lower-cased). */
    size_t *order = xcalloc(cfg->n_recipients, sizeof(*order));
    for (size_t i = 0; i < cfg->n_recipients; i++)
        order[i] = i;
    qsort_r(order, cfg->n_recipients, sizeof(*order), cmp_recipient_index, cfg);
    size_t dup = SIZE_MAX, first = 0;
    for (size_t i = 1; i < cfg->n_recipients; i++) {
        if (strcmp(cfg->recipients[order[i]].key, cfg->recipients[order[i - 1]].key) == 0 &&
            (dup == SIZE_MAX || order[i] < dup)) {
            dup = order[i];
            first = order[i - 1];
        }
    }
    if (dup != SIZE_MAX)
        fail(ld, ld->recipient_lines[dup], "recipients", cfg->recipients[dup].key,
             "duplicate address (already listed at line %d)", ld->recipient_lines[first]);
    free(order);
}

static void check_listeners(struct loader *ld)
{
    const struct config *cfg = ld->cfg;
    if (cfg->server.n_listen + cfg->server.n_smtp_listen == 0) {
        fail(ld, either_line(ld, SEC_SERVER, "listen", "smtp_listen"), "server", "listen",
             "no listener: listen and smtp_listen are both empty");
        return;
    }
    const struct net_address *all[2 * CONFIG_MAX_LISTEN];
    size_t n = 0;
    for (size_t i = 0; i < cfg->server.n_listen; i++)
        all[n++] = &cfg->server.listen[i];
    for (size_t i = 0; i < cfg->server.n_smtp_listen; i++)
        all[n++] = &cfg->server.smtp_listen[i];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            char a[400], b[400];
            net_address_format(all[i], a, sizeof(a));
            net_address_format(all[j], b, sizeof(b));
            if (strcmp(a, b) == 0) {
                const char *key = j < cfg->server.n_listen ? "listen" : "smtp_listen";
                fail(ld, seen_line(ld, SEC_SERVER, key), "server", key, "%s is listed twice", a);
                return;
            }
        }
    }
}

static void check_cross_keys(struct loader *ld)
{
    const struct config *cfg = ld->cfg;
    check_listeners(ld);
    if (ld->failed)
        return;
    if (cfg->deliver.mode == DELIVER_RELAY && !net_address_is_set(&cfg->deliver.relay)) {
        fail(ld, either_line(ld, SEC_DELIVER, "relay", "mode"), "deliver", "relay",
             "mode = relay needs a relay address");
        return;
    }
    if (cfg->deliver.mode == DELIVER_MAILDIR && cfg->deliver.maildir[0] == '\0') {
        fail(ld, either_line(ld, SEC_DELIVER, "maildir", "mode"), "deliver", "maildir",
             "mode = maildir needs a maildir template");
        return;
    }
    if ((cfg->deliver.relay_sasl_username[0] == '\0') !=
        (cfg->deliver.relay_sasl_password[0] == '\0')) {
        fail(ld, either_line(ld, SEC_DELIVER, "relay_sasl_username", "relay_sasl_password"),
             "deliver",
             cfg->deliver.relay_sasl_username[0] ? "relay_sasl_password" : "relay_sasl_username",
             "relay_sasl_username and relay_sasl_password must be set together");
        return;
    }
    if (cfg->spamd.enabled && !net_address_is_set(&cfg->spamd.address)) {
        fail(ld, either_line(ld, SEC_SPAMD, "address", "enabled"), "spamd", "address",
             "enabled = yes needs an address");
        return;
    }
    if (cfg->clamav.enabled && cfg->clamav.database[0] == '\0') {
        fail(ld, either_line(ld, SEC_CLAMAV, "database", "enabled"), "clamav", "database",
             "enabled = yes needs a database directory");
        return;
    }
    int k_user = key_index(SEC_POLICY, "spamd_user");
    int k_scan = key_index(SEC_POLICY, "spam_scan");
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const struct policy *p = &cfg->policies[i];
        if (p->spam_scan && p->spamd_user[0] == '\0') {
            int line = ld->policy_seen[i][k_user] ? ld->policy_seen[i][k_user]
                                                  : ld->policy_seen[i][k_scan];
            char label[80];
            snprintf(label, sizeof(label), "policy %s", p->name);
            fail(ld, line, label, "spamd_user", "spam_scan = yes needs a spamd_user");
            return;
        }
    }
}

static void default_hostname(struct loader *ld)
{
    struct config *cfg = ld->cfg;
    if (cfg->server.hostname[0] != '\0')
        return;
    char host[256];
    if (gethostname(host, sizeof(host)) != 0) {
        fail(ld, 0, "server", "hostname", "gethostname: %s (set hostname)", strerror(errno));
        return;
    }
    host[sizeof(host) - 1] = '\0';
    snprintf(cfg->server.hostname, sizeof(cfg->server.hostname), "%s",
             host[0] != '\0' ? host : "localhost");
}

/* ---- entry points ---- */

static pthread_mutex_t ini_lock = PTHREAD_MUTEX_INITIALIZER;

static void run_parser(struct loader *ld)
{
    pthread_mutex_lock(&ini_lock);
    bool multiline = ini_allow_multiline;
    bool inline_comments = ini_allow_inline_comments;
    bool use_stack = ini_use_stack;
    int max_line = ini_max_line;
    bool stop_first = ini_stop_on_first_error;
    bool no_value = ini_allow_no_value;

    ini_allow_multiline = false;       /* an indented line is a line of its own */
    ini_allow_inline_comments = false; /* the reader strips '#' comments */
    ini_use_stack = true;              /* the line buffer honours ini_max_line */
    ini_max_line = CONFIG_LINE_MAX + 3;
    ini_stop_on_first_error = true;
    ini_allow_no_value = false;

    int rc = ini_parse_stream(loader_read, ld, loader_handle, ld);

    ini_allow_multiline = multiline;
    ini_allow_inline_comments = inline_comments;
    ini_use_stack = use_stack;
    ini_max_line = max_line;
    ini_stop_on_first_error = stop_first;
    ini_allow_no_value = no_value;
    pthread_mutex_unlock(&ini_lock);

    if (rc != 0 && !ld->failed)
        fail(ld, rc > 0 ? rc : 0, NULL, NULL,
             rc > 0 ? "syntax error" : "the INI parser failed (out of memory?)");
}

static int load(struct loader *ld, struct config **out)
{
    struct config *cfg = xmalloc(sizeof(*cfg));
    config_defaults(cfg);
    snprintf(cfg->path, sizeof(cfg->path), "%s", ld->name);
    ld->cfg = cfg;
    ld->section = SEC_NONE;
    strbuf_init(&ld->line, CONFIG_LINE_MAX);
    add_policy(ld, "default");

    run_parser(ld);
    if (!ld->failed)
        check_recipients(ld);
    if (!ld->failed)
        check_cross_keys(ld);
    if (!ld->failed)
        default_hostname(ld);

    strbuf_free(&ld->line);
    free(ld->policy_seen);
    free(ld->recipient_lines);
    if (ld->failed) {
        config_free(cfg);
        *out = NULL;
        return -1;
    }
    *out = cfg;
    return 0;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
    struct loader ld;
    memset(&ld, 0, sizeof(ld));
    ld.name = path;
    ld.err = err;
    ld.errlen = errlen;
    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    if (strlen(path) >= PATH_MAX) {
        snprintf(err, errlen, "%.200s...: path too long", path);
        return -1;
    }
    ld.fp = fopen(path, "re");
    if (ld.fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int rc = load(&ld, out);
    fclose(ld.fp);
    return rc;
}

int config_load_string(const char *text, const char *name, struct config **out, char *err,
                       size_t errlen)
{
    struct loader ld;
    memset(&ld, 0, sizeof(ld));
    ld.name = name != NULL ? name : "(string)";
    ld.text = text != NULL ? text : "";
    ld.err = err;
    ld.errlen = errlen;
    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    return load(&ld, out);
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->policies);
    free(cfg->recipients);
    free(cfg);
}

const struct policy *config_find_policy(const struct config *cfg, const char *name)
{
    if (cfg == NULL || name == NULL)
        return NULL;
    size_t i = policy_index(cfg, name);
    return i == SIZE_MAX ? NULL : &cfg->policies[i];
}
