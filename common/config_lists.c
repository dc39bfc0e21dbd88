/*
 * config_lists: the keys whose value is a comma-separated list: listen
 * addresses, allow_from networks, banned_names globs, banned_types
 * (libclamav's type names), and the verdict words of [notify]. One item
 * walker splits and trims them; each item parser says why an item is
 * refused.
 */
#include "common/config_loader.h"

#include "common/clamav_types.h"
#include "common/text.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    if (config_parse_address(text, &al->list[*al->n], why, whylen) != 0)
        return -1;
    (*al->n)++;
    return 0;
}

int config_parse_listen_key(const struct key_def *kd, void *base, const char *value, char *why,
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

int config_parse_cidr_key(const struct key_def *kd, void *base, const char *value, char *why,
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

struct names_list {
    char *buf;
    size_t len; /* bytes used, without the final empty item */
};

static int banned_name_item(const char *text, void *arg, char *why, size_t whylen)
{
    struct names_list *nl = arg;
    size_t n = strlen(text);
    if (strchr(text, '/') != NULL) {
        snprintf(why, whylen, "\"%s\": a glob matches the last path component, without '/'", text);
        return -1;
    }
    if (nl->len + n + 2 > POLICY_BANNED_NAMES_MAX) {
        snprintf(why, whylen, "the list is longer than %d bytes", POLICY_BANNED_NAMES_MAX - 2);
        return -1;
    }
    memcpy(nl->buf + nl->len, text, n + 1);
    nl->len += n + 1;
    nl->buf[nl->len] = '\0';
    return 0;
}

int config_parse_banned_names_key(const struct key_def *kd, void *base, const char *value,
                                  char *why, size_t whylen)
{
    struct policy *p = base;
    struct names_list nl = {p->banned_names, 0};
    (void)kd;
    memset(p->banned_names, 0, sizeof(p->banned_names));
    if (text_has_control(value)) {
        snprintf(why, whylen, "control characters are not allowed");
        return -1;
    }
    if (for_each_item(value, banned_name_item, &nl, why, whylen) != 0) {
        memset(p->banned_names, 0, sizeof(p->banned_names));
        return -1;
    }
    return 0;
}

static int banned_type_item(const char *text, void *arg, char *why, size_t whylen)
{
    struct policy *p = arg;
    int t = clamav_type_index(text);
    if (t == CLAMAV_TYPE_UNKNOWN) {
        snprintf(why, whylen,
                 "\"%s\" is not a file type libclamav reports (e.g. CL_TYPE_MSEXE, CL_TYPE_ELF)",
                 text);
        return -1;
    }
    if (p->n_banned_types >= POLICY_BANNED_TYPES_MAX) {
        snprintf(why, whylen, "too many types (at most %d)", POLICY_BANNED_TYPES_MAX);
        return -1;
    }
    p->banned_types[p->n_banned_types++] = (int16_t)t;
    return 0;
}

int config_parse_banned_types_key(const struct key_def *kd, void *base, const char *value,
                                  char *why, size_t whylen)
{
    struct policy *p = base;
    (void)kd;
    p->n_banned_types = 0;
    if (for_each_item(value, banned_type_item, p, why, whylen) != 0) {
        p->n_banned_types = 0;
        return -1;
    }
    return 0;
}

static const struct {
    const char *word;
    unsigned bit;
} notify_words[] = {
    {"clean", NOTIFY_ON_CLEAN},   {"spam", NOTIFY_ON_SPAM},
    {"virus", NOTIFY_ON_VIRUS},   {"unchecked", NOTIFY_ON_UNCHECKED},
    {"banned", NOTIFY_ON_BANNED}, {"encrypted", NOTIFY_ON_ENCRYPTED},
};

unsigned config_notify_bit(const char *verdict)
{
    for (size_t i = 0; i < sizeof(notify_words) / sizeof(notify_words[0]); i++)
        if (strcasecmp(notify_words[i].word, verdict) == 0)
            return notify_words[i].bit;
    return 0;
}

bool config_notify_enabled(const struct config *cfg)
{
    return (cfg->notify.admin[0] != '\0' && cfg->notify.admin_on != 0) ||
           cfg->notify.recipient_on != 0;
}

static int verdict_item(const char *text, void *arg, char *why, size_t whylen)
{
    unsigned *bits = arg;
    unsigned bit = config_notify_bit(text);
    if (bit == 0) {
        snprintf(why, whylen,
                 "\"%s\" is not a verdict (clean, spam, virus, unchecked, banned, encrypted)",
                 text);
        return -1;
    }
    *bits |= bit;
    return 0;
}

int config_parse_verdicts_key(const struct key_def *kd, void *base, const char *value, char *why,
                              size_t whylen)
{
    unsigned *bits = config_field(kd, base);
    unsigned parsed = 0;
    if (for_each_item(value, verdict_item, &parsed, why, whylen) != 0)
        return -1;
    *bits = parsed;
    return 0;
}
