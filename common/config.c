/*
 * config: loads and validates the INI configuration (see config.h for the
 * file format and the choices made where SPEC section 3 is silent).
 *
 * Public: config_load(), config_load_string(), config_free(),
 * config_find_policy(); the value parsers are in config_values.c and the
 * defaults (config_default_policy()) in config_defaults.c.
 *
 * This file owns the loading itself: the defaults first, then the reader
 * (config_reader.c) feeds every line to its key's parser (the tables of
 * config_keys.c, the parsers of config_values.c), then the checks across
 * keys (config_check.c) and the host name default. The error recorder
 * and the policy slots the [policy NAME] sections fill are the loader's
 * state (config_loader.c).
 *
 * Failure modes: the first error only, as "FILE:LINE: [section] key:
 * reason" ("FILE: reason" for open/read errors); the result is then NULL.
 * Out of memory is fatal (xalloc).
 */
#include "common/config_loader.h"

#include "common/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* [server] hostname empty: gethostname() at load time. */
static void default_hostname(struct loader *ld)
{
    struct config *cfg = ld->cfg;
    if (cfg->server.hostname[0] != '\0')
        return;
    char host[256];
    if (gethostname(host, sizeof(host)) != 0) {
        config_fail(ld, 0, "server", "hostname", "gethostname: %s (set hostname)", strerror(errno));
        return;
    }
    host[sizeof(host) - 1] = '\0';
    snprintf(cfg->server.hostname, sizeof(cfg->server.hostname), "%s",
             host[0] != '\0' ? host : "localhost");
}

static int load(struct loader *ld, struct config **out)
{
    struct config *cfg = xmalloc(sizeof(*cfg));
    config_defaults(cfg);
    snprintf(cfg->path, sizeof(cfg->path), "%s", ld->name);
    ld->cfg = cfg;
    ld->section = SEC_NONE;
    strbuf_init(&ld->line, CONFIG_LINE_MAX);
    config_add_policy(ld, "default");

    config_read(ld);
    if (!ld->failed)
        config_check_recipients(ld);
    if (!ld->failed)
        config_check_cross_keys(ld);
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
    size_t i = config_policy_index(cfg, name);
    return i == SIZE_MAX ? NULL : &cfg->policies[i];
}
