/*
 * scan_result: freeing a scan's results (see scan_result.h).
 */
#include "common/scan_result.h"

#include <stdlib.h>

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
