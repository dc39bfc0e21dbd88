/*
 * config_values: turns the text of one value into what a key stores.
 * Owns the public value parsers (config_parse_size/time/bool), the
 * number, score, enum-word, address and string parsers the key tables
 * point at, and the validators of names, templates and [recipients] keys
 * (the comma-separated lists are config_lists.c's). Each parser says why a value is refused; the
 * loader puts FILE:LINE and the key in front.
 */
#include "common/config_loader.h"

#include "common/text.h"
#include "common/xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- numbers, sizes, times, booleans (public) ---- */

/* Decimal digits only, no sign; 0 on success. */
int config_parse_u64(const char *s, size_t n, uint64_t *out)
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
    if (config_parse_u64(text, n, &v) != 0 || v > UINT64_MAX / mult)
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
        case 'd':
        case 'D':
            mult = 86400;
            n--;
            break;
        default:
            break;
        }
    }
    uint64_t v;
    if (config_parse_u64(text, n, &v) != 0 || v > UINT_MAX / mult)
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

/* ---- validators ---- */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* Policy names: [A-Za-z0-9._-], 1..63 bytes. */
bool config_valid_policy_name(const char *s)
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

/* ---- key parsers ---- */

int config_parse_bool_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    if (config_parse_bool(value, (bool *)config_field(kd, base)) != 0) {
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

int config_parse_uint_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    uint64_t v;
    if (config_parse_u64(value, strlen(value), &v) != 0) {
        snprintf(why, whylen, "\"%s\" is not a number", value);
        return -1;
    }
    if (check_range(kd, v, value, why, whylen) != 0)
        return -1;
    *(unsigned *)config_field(kd, base) = (unsigned)v;
    return 0;
}

int config_parse_size_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    uint64_t v;
    if (config_parse_size(value, &v) != 0) {
        snprintf(why, whylen, "\"%s\" is not a size (a number with optional K, M or G)", value);
        return -1;
    }
    if (check_range(kd, v, value, why, whylen) != 0)
        return -1;
    *(uint64_t *)config_field(kd, base) = v;
    return 0;
}

int config_parse_time_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    unsigned v;
    if (config_parse_time(value, &v) != 0) {
        snprintf(why, whylen, "\"%s\" is not a time (a number with optional s, m, h or d)", value);
        return -1;
    }
    if (check_range(kd, v, value, why, whylen) != 0)
        return -1;
    *(unsigned *)config_field(kd, base) = v;
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

int config_parse_level_key(const struct key_def *kd, void *base, const char *value, char *why,
                           size_t whylen)
{
    if (parse_score(value, (double *)config_field(kd, base)) != 0) {
        snprintf(why, whylen, "\"%s\" is not a score (a decimal number)", value);
        return -1;
    }
    return 0;
}

int config_parse_mark_level_key(const struct key_def *kd, void *base, const char *value, char *why,
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
/* Every enum key: the value must be one of the key's words (case does not
 * matter); the field gets that word's value. The tables keep every enum
 * field int-sized (checked where they are defined). */
int config_parse_enum_key(const struct key_def *kd, void *base, const char *value, char *why,
                          size_t whylen)
{
    for (const struct choice *c = kd->choices; c->text != NULL; c++) {
        if (strcasecmp(value, c->text) == 0) {
            if (kd->size != sizeof(c->value)) {
                snprintf(why, whylen, "internal error: enum field of %zu bytes", kd->size);
                return -1;
            }
            memcpy(config_field(kd, base), &c->value, sizeof(c->value));
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

/* One unix:/PATH or inet:HOST:PORT address; port 0 is refused. */
int config_parse_address(const char *text, struct net_address *out, char *why, size_t whylen)
{
    struct net_address a;
    if (net_address_parse(text, &a, why, whylen) != 0)
        return -1;
    if (a.kind == NET_INET && strcmp(a.port, "0") == 0) {
        snprintf(why, whylen, "%s: port 0 is not allowed", text);
        return -1;
    }
    *out = a;
    return 0;
}

int config_parse_address_key(const struct key_def *kd, void *base, const char *value, char *why,
                             size_t whylen)
{
    struct net_address *a = config_field(kd, base);
    if (value[0] == '\0' && (kd->flags & KEY_EMPTY_OK)) {
        memset(a, 0, sizeof(*a));
        return 0;
    }
    return config_parse_address(value, a, why, whylen);
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

int config_parse_string_key(const struct key_def *kd, void *base, const char *value, char *why,
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
    memcpy(config_field(kd, base), value, n + 1);
    return 0;
}

/* "user@domain" or "@domain": printable, no blanks, a non-empty domain. */
bool config_valid_recipient_key(const char *k, char *why, size_t whylen)
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
