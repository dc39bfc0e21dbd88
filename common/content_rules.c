/*
 * content_rules: banned-content matching (see content_rules.h). Names are
 * compared as bytes (UTF-8); case folding is fnmatch's, which covers the
 * ASCII letters that extensions are made of.
 */
/* FNM_CASEFOLD: _GNU_SOURCE comes from the build */
#include "common/content_rules.h"

#include "common/clamav_types.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

/* Executable and script extensions: Debian amavisd-new's default banned
 * list (exe vbs pif scr bat cmd com cpl dll) and the script hosts of
 * Windows. */
static const char *const exec_ext[] = {"exe", "vbs", "pif", "scr", "bat", "cmd", "com",
                                       "cpl", "dll", "js",  "jse", "vbe", "wsf", "wsh",
                                       "hta", "msi", "lnk", "ps1", "reg", "jar", NULL};

/* name without trailing dots and blanks, into buf. */
static const char *trimmed(const char *name, char *buf, size_t buflen)
{
    size_t n = strlen(name);
    while (n > 0 && (name[n - 1] == '.' || name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    if (n >= buflen) {
        /* keep the end: the extension decides */
        name += n - (buflen - 1);
        n = buflen - 1;
    }
    memcpy(buf, name, n);
    buf[n] = '\0';
    return buf;
}

bool content_glob_match(const char *glob, const char *name)
{
    char buf[INVENTORY_PATH_MAX + 1];
    return fnmatch(glob, trimmed(name, buf, sizeof(buf)), FNM_CASEFOLD) == 0;
}

bool content_double_extension(const char *name)
{
    char buf[INVENTORY_PATH_MAX + 1];
    const char *n = trimmed(name, buf, sizeof(buf));
    const char *last = strrchr(n, '.');
    if (last == NULL || last == n)
        return false;
    bool exec = false;
    for (size_t i = 0; exec_ext[i] != NULL; i++)
        exec |= strcasecmp(last + 1, exec_ext[i]) == 0;
    if (!exec)
        return false;
    /* a dot before it that starts a non-empty extension, not the leading
     * dot of a hidden file name */
    const char *prev = last;
    while (prev > n && prev[-1] != '.')
        prev--;
    return prev > n + 1 && prev < last;
}

bool content_policy_checks(const struct policy *p)
{
    return p->banned_names[0] != '\0' || p->n_banned_types > 0 || p->banned_double_extension;
}

const char *content_banned_rule(const struct policy *p, const struct file_inventory *inv, size_t i)
{
    const struct scanned_file *f = &inv->files[i];
    const char *name = file_inventory_name(inv, i);

    if (p->banned_names[0] != '\0') {
        if (f->flags & FILE_UNDECODABLE)
            return RULE_UNDECODABLE;
        if (name[0] != '\0')
            for (const char *g = p->banned_names; *g != '\0'; g += strlen(g) + 1)
                if (content_glob_match(g, name))
                    return g;
    }
    if (p->banned_double_extension && name[0] != '\0' && content_double_extension(name))
        return RULE_DOUBLE_EXTENSION;
    for (unsigned k = 0; k < p->n_banned_types; k++)
        if (f->type == p->banned_types[k])
            return clamav_type_name(f->type);
    return NULL;
}

long content_first_banned(const struct policy *p, const struct file_inventory *inv,
                          const char **rule)
{
    if (!content_policy_checks(p))
        return -1;
    for (size_t i = 0; i < inv->n; i++) {
        const char *r = content_banned_rule(p, inv, i);
        if (r != NULL) {
            *rule = r;
            return (long)i;
        }
    }
    return -1;
}

long content_first_encrypted(const struct file_inventory *inv)
{
    for (size_t i = 0; i < inv->n; i++)
        if (inv->files[i].flags & FILE_ENCRYPTED)
            return (long)i;
    return -1;
}

void content_path_ascii(const char *path, char *out, size_t out_len)
{
    size_t o = 0;
    if (out_len == 0)
        return;
    for (const unsigned char *p = (const unsigned char *)path; *p != '\0' && o + 1 < out_len; p++)
        out[o++] = *p < 0x20 || *p >= 0x7f ? '?' : (char)*p;
    out[o] = '\0';
}
