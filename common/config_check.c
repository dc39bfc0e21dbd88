/*
 * config_check: the checks that involve more than one key or line, run
 * once the whole file is read (see config.h for the list): [recipients]
 * rules name existing policies and no address twice; at least one
 * listener and none twice; what each delivery mode, relay SASL, spamd,
 * ClamAV, spam_scan and the banned-content keys need. An error is reported at the line of the
 * first of the keys involved that the file set.
 */
#include "common/config_loader.h"

#include "common/content_rules.h"
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int seen_line(const struct loader *ld, enum section_id sec, const char *key)
{
    int k = config_key_index(sec, key);
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

void config_check_recipients(struct loader *ld)
{
    struct config *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->n_recipients && !ld->failed; i++) {
        if (config_policy_index(cfg, cfg->recipients[i].policy) == SIZE_MAX)
            config_fail(ld, ld->recipient_lines[i], "recipients", cfg->recipients[i].key,
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
        config_fail(ld, ld->recipient_lines[dup], "recipients", cfg->recipients[dup].key,
                    "duplicate address (already listed at line %d)", ld->recipient_lines[first]);
    free(order);
}

static void check_listeners(struct loader *ld)
{
    const struct config *cfg = ld->cfg;
    if (cfg->server.n_listen + cfg->server.n_smtp_listen == 0) {
        config_fail(ld, either_line(ld, SEC_SERVER, "listen", "smtp_listen"), "server", "listen",
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
                config_fail(ld, seen_line(ld, SEC_SERVER, key), "server", key, "%s is listed twice",
                            a);
                return;
            }
        }
    }
}

/* Banned-content and encrypted checks run in the libclamav pass: a policy
 * that sets them without ClamAV scanning its mail would check nothing. */
static void check_banned(struct loader *ld)
{
    static const char *const keys[] = {"banned_names", "banned_types", "banned_double_extension",
                                       "encrypted_action"};
    const struct config *cfg = ld->cfg;
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const struct policy *p = &cfg->policies[i];
        if (!content_policy_checks(p) && p->encrypted_action == ACTION_DELIVER)
            continue;
        if (cfg->clamav.enabled && p->virus_scan)
            continue;
        int line = 0;
        const char *key = keys[0];
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && line == 0; k++) {
            int idx = config_key_index(SEC_POLICY, keys[k]);
            if (idx >= 0 && ld->policy_seen[i][idx] != 0) {
                line = ld->policy_seen[i][idx];
                key = keys[k];
            }
        }
        char label[80];
        snprintf(label, sizeof(label), "policy %s", p->name);
        config_fail(ld, line, label, key,
                    "banned and encrypted checks run while ClamAV scans: they need [clamav] "
                    "enabled = yes and virus_scan = yes");
        return;
    }
}

void config_check_cross_keys(struct loader *ld)
{
    const struct config *cfg = ld->cfg;
    check_listeners(ld);
    if (ld->failed)
        return;
    if (cfg->deliver.mode == DELIVER_RELAY && !net_address_is_set(&cfg->deliver.relay)) {
        config_fail(ld, either_line(ld, SEC_DELIVER, "relay", "mode"), "deliver", "relay",
                    "mode = relay needs a relay address");
        return;
    }
    if (cfg->deliver.mode == DELIVER_MAILDIR && cfg->deliver.maildir[0] == '\0') {
        config_fail(ld, either_line(ld, SEC_DELIVER, "maildir", "mode"), "deliver", "maildir",
                    "mode = maildir needs a maildir template");
        return;
    }
    if ((cfg->deliver.relay_sasl_username[0] == '\0') !=
        (cfg->deliver.relay_sasl_password[0] == '\0')) {
        config_fail(ld, either_line(ld, SEC_DELIVER, "relay_sasl_username", "relay_sasl_password"),
                    "deliver",
                    cfg->deliver.relay_sasl_username[0] ? "relay_sasl_password"
                                                        : "relay_sasl_username",
                    "relay_sasl_username and relay_sasl_password must be set together");
        return;
    }
    if (cfg->spamd.enabled && !net_address_is_set(&cfg->spamd.address)) {
        config_fail(ld, either_line(ld, SEC_SPAMD, "address", "enabled"), "spamd", "address",
                    "enabled = yes needs an address");
        return;
    }
    if (cfg->rspamd.enabled && !net_address_is_set(&cfg->rspamd.address)) {
        config_fail(ld, either_line(ld, SEC_RSPAMD, "address", "enabled"), "rspamd", "address",
                    "enabled = yes needs an address");
        return;
    }
    if (cfg->clamav.enabled && cfg->clamav.database[0] == '\0') {
        config_fail(ld, either_line(ld, SEC_CLAMAV, "database", "enabled"), "clamav", "database",
                    "enabled = yes needs a database directory");
        return;
    }
    if (config_notify_enabled(cfg) && !net_address_is_set(&cfg->notify.method) &&
        !net_address_is_set(&cfg->deliver.relay)) {
        config_fail(ld, either_line(ld, SEC_NOTIFY, "method", "recipient_on"), "notify", "method",
                    "notices need a method or a [deliver] relay to send them through");
        return;
    }
    if (cfg->web.listen.kind != NET_INET) {
        config_fail(ld, either_line(ld, SEC_WEB, "listen", "listen"), "web", "listen",
                    "expected inet:HOST:PORT");
        return;
    }
    const char *url = cfg->web.url;
    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strpbrk(url, " \t\"'<>\\?#") != NULL) {
        config_fail(ld, either_line(ld, SEC_WEB, "url", "url"), "web", "url",
                    "\"%s\" is not an http:// or https:// base URL", url);
        return;
    }
    const char *bad_addr[] = {cfg->notify.from, cfg->notify.admin};
    const char *bad_key[] = {"from", "admin"};
    for (size_t i = 0; i < 2; i++) {
        if (strpbrk(bad_addr[i], " \t<>()[],;:\\\"") != NULL) {
            config_fail(ld, either_line(ld, SEC_NOTIFY, bad_key[i], bad_key[i]), "notify",
                        bad_key[i], "\"%s\" is not a plain address", bad_addr[i]);
            return;
        }
    }
    int k_user = config_key_index(SEC_POLICY, "spamd_user");
    int k_scan = config_key_index(SEC_POLICY, "spam_scan");
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const struct policy *p = &cfg->policies[i];
        if (p->spam_scan && p->spamd_user[0] == '\0') {
            int line = ld->policy_seen[i][k_user] ? ld->policy_seen[i][k_user]
                                                  : ld->policy_seen[i][k_scan];
            char label[80];
            snprintf(label, sizeof(label), "policy %s", p->name);
            config_fail(ld, line, label, "spamd_user", "spam_scan = yes needs a spamd_user");
            return;
        }
    }
    check_banned(ld);
}
