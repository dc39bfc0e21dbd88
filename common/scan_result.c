/*
 * scan_result: freeing a scan's results, and the order of spam rules
 * (see scan_result.h).
 */
#include "common/scan_result.h"

#include <stdlib.h>
#include <string.h>

static int rule_cmp(const void *a, const void *b)
{
    const struct spamd_rule *x = a, *y = b;
    int c = strncmp(x->name, y->name, sizeof(x->name));
    if (c != 0)
        return c;
    return (x->score > y->score) - (x->score < y->score);
}

void spamd_rules_sort(struct spamd_rule *rules, size_t n)
{
    if (n > 1)
        qsort(rules, n, sizeof(*rules), rule_cmp);
}

void scan_result_free(struct scan_result *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->n_spamd; i++)
        free(res->spamd[i].rules);
    free(res->spamd);
    free(res->rcpt_spamd);
    res->spamd = NULL;
    res->rcpt_spamd = NULL;
    res->n_spamd = 0;
    file_inventory_free(&res->clamav.inventory);
}

const char *spam_engine_name(enum spam_engine e)
{
    return e == SPAM_ENGINE_RSPAMD ? "rspamd" : "spamd";
}
