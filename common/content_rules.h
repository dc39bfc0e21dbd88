/*
 * content_rules: whether a file of the inventory is banned under a
 * policy (SPEC section 10), and by which rule: banned_names globs
 * (fnmatch(3), case-insensitive, on the last path component, trailing
 * dots and blanks ignored as Windows ignores them), a name that could not
 * be decoded (when banned_names is set), banned_double_extension and
 * banned_types. Shared by the decision (scan/policy.c), the report and the
 * admin tool, so they all name the same rule.
 *
 * Public: content_glob_match(), content_double_extension(),
 * content_policy_checks(), content_banned_rule(). Pure, thread-safe.
 */
#ifndef LMTPSCAN_CONTENT_RULES_H
#define LMTPSCAN_CONTENT_RULES_H

#include "common/config.h"
#include "common/file_inventory.h"

#include <stdbool.h>
#include <stddef.h>

/* The rule names of the checks that are not a glob or a type. */
#define RULE_DOUBLE_EXTENSION "double-extension"
#define RULE_UNDECODABLE      "undecodable-name"

/* glob (fnmatch syntax) against a file name, case-insensitive; trailing
 * dots and blanks of name are ignored. */
bool content_glob_match(const char *glob, const char *name);
/* A name with two extensions, the last an executable or script one (exe,
 * scr, js, ...): "invoice.pdf.exe". */
bool content_double_extension(const char *name);

/* Whether p bans anything (any banned_* key set). */
bool content_policy_checks(const struct policy *p);

/* The rule by which p bans file i of inv (a glob of p, a type name,
 * RULE_DOUBLE_EXTENSION, RULE_UNDECODABLE), or NULL. */
const char *content_banned_rule(const struct policy *p, const struct file_inventory *inv, size_t i);

/* The first file of inv that p bans, its rule in *rule; -1 when none. */
long content_first_banned(const struct policy *p, const struct file_inventory *inv,
                          const char **rule);
/* The first encrypted file of inv, or -1. */
long content_first_encrypted(const struct file_inventory *inv);

/* A path made safe for a reply line, a header or a log field: bytes
 * outside printable ASCII become '?'; cut to out_len. */
void content_path_ascii(const char *path, char *out, size_t out_len);

#endif
