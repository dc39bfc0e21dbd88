/*
 * config_loader: the state every step of loading shares (struct loader,
 * config_loader.h): the first-error recorder and the policy slots that
 * [policy NAME] sections fill, each starting from the SPEC defaults.
 * Used by config.c, config_reader.c and config_check.c; it calls only
 * config_defaults.c, so the loading files form no circle.
 */
#include "common/config_loader.h"

#include "common/xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Records the first error as "NAME:LINE: [section] key: reason" (parts
 * that do not apply are left out). */
void config_fail(struct loader *ld, int line, const char *section, const char *key, const char *fmt,
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

size_t config_policy_index(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_policies; i++)
        if (strcmp(cfg->policies[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

size_t config_add_policy(struct loader *ld, const char *name)
{
    struct config *cfg = ld->cfg;
    size_t i = config_policy_index(cfg, name);
    if (i != SIZE_MAX)
        return i;
    cfg->policies =
        xgrow(cfg->policies, &ld->policies_cap, cfg->n_policies + 1, sizeof(*cfg->policies));
    ld->policy_seen =
        xgrow(ld->policy_seen, &ld->policy_seen_cap, cfg->n_policies + 1, sizeof(*ld->policy_seen));
    i = cfg->n_policies++;
    config_policy_defaults(&cfg->policies[i], name);
    memset(ld->policy_seen[i], 0, sizeof(ld->policy_seen[i]));
    return i;
}
