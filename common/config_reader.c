/*
 * config_reader: reads the configuration text line by line and hands
 * each "key = value" to the parser of that key.
 *
 * libinih does the key/value splitting, fed by our own line reader. The
 * reader counts physical lines (so every message has the right line
 * number), refuses over-long lines and NUL bytes, removes `#` comments
 * outside double quotes, checks section headers itself (so an empty
 * unknown section is still an error) and refuses lines that are not
 * "key = value". The handler removes the quotes of a value, refuses
 * unknown and duplicate keys, and calls the key's parser from the
 * section's table ([recipients] lines are rules, not keys).
 *
 * libinih keeps its options in process-wide variables; they are set (and
 * restored) under a mutex, so loads from several threads are safe.
 */
#include "common/config_loader.h"

#include "common/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
            config_fail(ld, 0, NULL, NULL, "file too large (more than %u bytes)", CONFIG_TEXT_MAX);
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
            config_fail(ld, 0, NULL, NULL, "read error: %s", strerror(errno));
            return false;
        }
        if (!any)
            return false;
    }
    ld->lineno++;
    if (too_long) {
        config_fail(ld, ld->lineno, NULL, NULL, "line too long (at most %d bytes)",
                    CONFIG_LINE_MAX);
        return false;
    }
    if (ld->line.len > 0 && memchr(ld->line.data, '\0', ld->line.len) != NULL) {
        config_fail(ld, ld->lineno, NULL, NULL, "NUL byte in line");
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
        config_fail(ld, ld->lineno, NULL, NULL, "syntax error: missing ']' in section header");
        return false;
    }
    if (*trim(close + 1) != '\0') {
        config_fail(ld, ld->lineno, NULL, NULL, "syntax error: text after ']' in section header");
        return false;
    }
    *close = '\0';
    char *name = trim(line + 1);

    for (int s = 0; s < SEC_COUNT; s++) {
        if (config_section_names[s] != NULL && strcasecmp(name, config_section_names[s]) == 0) {
            ld->section = (enum section_id)s;
            snprintf(ld->label, sizeof(ld->label), "%s", config_section_names[s]);
            return true;
        }
    }
    if (strncasecmp(name, "policy", 6) == 0 && (name[6] == ' ' || name[6] == '\t')) {
        char *pname = trim(name + 6);
        if (!config_valid_policy_name(pname)) {
            config_fail(ld, ld->lineno, NULL, NULL,
                        "[policy %.80s]: bad policy name ([A-Za-z0-9._-], at most %zu bytes)",
                        pname, FIELD_SIZE(struct policy, name) - 1);
            return false;
        }
        ld->section = SEC_POLICY;
        ld->policy = config_add_policy(ld, pname);
        snprintf(ld->label, sizeof(ld->label), "policy %s", pname);
        return true;
    }
    if (strcasecmp(name, "policy") == 0) {
        config_fail(ld, ld->lineno, NULL, NULL, "[policy]: a policy needs a name: [policy NAME]");
        return false;
    }
    config_fail(ld, ld->lineno, NULL, NULL,
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
            config_fail(ld, ld->lineno, NULL, NULL, "syntax error: expected \"key = value\"");
            return NULL;
        }
        if (eq == line) {
            config_fail(ld, ld->lineno, NULL, NULL, "syntax error: missing key before '='");
            return NULL;
        }
        if (ld->section == SEC_NONE) {
            int keylen = (int)(eq - line);
            while (keylen > 0 && (line[keylen - 1] == ' ' || line[keylen - 1] == '\t'))
                keylen--;
            config_fail(ld, ld->lineno, NULL, NULL, "\"%.*s\" is outside of any [section]", keylen,
                        line);
            return NULL;
        }
    }
    size_t n = strlen(out);
    if (num < 2 || n + 2 > (size_t)num) {
        config_fail(ld, ld->lineno, NULL, NULL, "line too long (at most %d bytes)",
                    CONFIG_LINE_MAX);
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

/* A [recipients] line: ADDRESS or @DOMAIN = POLICY. */
static void handle_recipient(struct loader *ld, const char *name, const char *value)
{
    struct config *cfg = ld->cfg;
    char key[FIELD_SIZE(struct recipient_rule, key)];
    char why[512];
    size_t n = strlen(name);
    if (!config_valid_recipient_key(name, why, sizeof(why))) {
        config_fail(ld, ld->lineno, "recipients", name, "%s", why);
        return;
    }
    for (size_t i = 0; i <= n; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    if (!config_valid_policy_name(value)) {
        config_fail(ld, ld->lineno, "recipients", name,
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
        config_fail(ld, ld->lineno, ld->label, name, "%s", why);
        goto out;
    }
    const char *val = v.data != NULL ? v.data : "";

    if (ld->section == SEC_RECIPIENTS) {
        handle_recipient(ld, name, val);
        goto out;
    }
    int k = config_key_index(ld->section, name);
    if (k < 0) {
        config_fail(ld, ld->lineno, ld->label, name, "unknown key");
        goto out;
    }
    int *seen =
        ld->section == SEC_POLICY ? &ld->policy_seen[ld->policy][k] : &ld->seen[ld->section][k];
    if (*seen != 0) {
        config_fail(ld, ld->lineno, ld->label, name, "duplicate key (already set at line %d)",
                    *seen);
        goto out;
    }
    *seen = ld->lineno;
    void *base =
        ld->section == SEC_POLICY ? (void *)&ld->cfg->policies[ld->policy] : (void *)ld->cfg;
    const struct key_def *kd = &config_section_keys[ld->section][k];
    if (kd->parse(kd, base, val, why, sizeof(why)) != 0)
        config_fail(ld, ld->lineno, ld->label, name, "%s", why);
out:
    strbuf_free(&v);
    return ld->failed ? 0 : 1;
}

static pthread_mutex_t ini_lock = PTHREAD_MUTEX_INITIALIZER;

void config_read(struct loader *ld)
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
        config_fail(ld, rc > 0 ? rc : 0, NULL, NULL,
                    rc > 0 ? "syntax error" : "the INI parser failed (out of memory?)");
}
