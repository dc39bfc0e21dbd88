/*
 * spamd_reply: parser of spamd's REPORT reply (see spamd_reply.h). Works
 * on (pointer, length) slices only, so NUL bytes and missing terminators
 * in the input are harmless; numbers are parsed by hand, independent of
 * the locale. The rules come out sorted by name (byte order), as
 * SpamAssassin's own X-Spam-Status lists them: spamd's table order changes
 * from one spamd process to the next, and the header, the report and the
 * log line must not.
 */
#include "scan/spamd_reply.h"

#include "common/xalloc.h"
#include "scan/reply_lines.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void skip_blanks(struct slice *s)
{
    while (s->n > 0 && (s->p[0] == ' ' || s->p[0] == '\t')) {
        s->p++;
        s->n--;
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* [+-]?digits(.digits)? at the start of s; advances s. */
static int parse_number(struct slice *s, double *out)
{
    size_t i = 0;
    double sign = 1, v = 0, scale = 1;
    int digits = 0;

    if (i < s->n && (s->p[i] == '-' || s->p[i] == '+')) {
        sign = s->p[i] == '-' ? -1 : 1;
        i++;
    }
    while (i < s->n && is_digit(s->p[i])) {
        if (++digits > 12)
            return -1;
        v = v * 10 + (s->p[i] - '0');
        i++;
    }
    if (digits == 0)
        return -1;
    if (i < s->n && s->p[i] == '.') {
        int frac = 0;
        i++;
        while (i < s->n && is_digit(s->p[i])) {
            if (++frac > 6)
                return -1;
            scale /= 10;
            v += (s->p[i] - '0') * scale;
            i++;
        }
        if (frac == 0)
            return -1;
    }
    *out = sign * v;
    s->p += i;
    s->n -= i;
    return 0;
}

static bool starts_with(struct slice s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

/* "SPAMD/1.1 0 EX_OK" */
static int parse_status(struct slice line, char *err, size_t errlen)
{
    struct slice s = line;
    double version, code;

    if (!starts_with(s, "SPAMD/"))
        goto bad;
    s.p += 6;
    s.n -= 6;
    if (parse_number(&s, &version) < 0 || s.n == 0 || s.p[0] != ' ')
        goto bad;
    skip_blanks(&s);
    struct slice code_s = s;
    if (parse_number(&s, &code) < 0 || (s.n > 0 && s.p[0] != ' '))
        goto bad;
    if (code != 0) {
        char text[128];
        size_t n = 0;
        for (size_t i = 0; i < code_s.n && n + 1 < sizeof(text); i++)
            text[n++] = code_s.p[i] >= 0x20 && code_s.p[i] < 0x7f ? code_s.p[i] : '?';
        text[n] = '\0';
        snprintf(err, errlen, "spamd error: %s", text);
        return -1;
    }
    skip_blanks(&s);
    if (!(s.n == 5 && memcmp(s.p, "EX_OK", 5) == 0))
        goto bad;
    return 0;
bad:
    snprintf(err, errlen, "malformed spamd status line");
    return -1;
}

/* "Spam: True ; 15.0 / 5.0" (after the "Spam:" name) */
static int parse_spam_header(struct slice s, struct spamd_reply *out)
{
    skip_blanks(&s);
    if (reply_starts_with_ci(s, "True")) {
        out->is_spam = true;
        s.p += 4, s.n -= 4;
    } else if (reply_starts_with_ci(s, "Yes")) {
        out->is_spam = true;
        s.p += 3, s.n -= 3;
    } else if (reply_starts_with_ci(s, "False")) {
        out->is_spam = false;
        s.p += 5, s.n -= 5;
    } else if (reply_starts_with_ci(s, "No")) {
        out->is_spam = false;
        s.p += 2, s.n -= 2;
    } else {
        return -1;
    }
    skip_blanks(&s);
    if (s.n == 0 || s.p[0] != ';')
        return -1;
    s.p++, s.n--;
    skip_blanks(&s);
    if (parse_number(&s, &out->score) < 0)
        return -1;
    skip_blanks(&s);
    if (s.n == 0 || s.p[0] != '/')
        return -1;
    s.p++, s.n--;
    skip_blanks(&s);
    if (parse_number(&s, &out->required) < 0)
        return -1;
    skip_blanks(&s);
    return s.n == 0 ? 0 : -1;
}

static bool is_rule_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_';
}

/* "---- ------..." : the line under the table's column titles */
static bool is_table_rule(struct slice line)
{
    if (!starts_with(line, "---- -"))
        return false;
    for (size_t i = 0; i < line.n; i++)
        if (line.p[i] != '-' && line.p[i] != ' ')
            return false;
    return true;
}

/* One row: "1000 GTUBE   BODY: Generic Test..." */
static int parse_row(struct slice s, struct spamd_rule *rule)
{
    size_t n = 0;

    if (parse_number(&s, &rule->score) < 0)
        return -1;
    rule->has_score = true;
    if (s.n == 0 || (s.p[0] != ' ' && s.p[0] != '\t'))
        return -1;
    skip_blanks(&s);
    while (n < s.n && is_rule_char(s.p[n]))
        n++;
    if (n == 0 || n >= sizeof(rule->name))
        return -1;
    if (n < s.n && s.p[n] != ' ' && s.p[n] != '\t')
        return -1;
    memcpy(rule->name, s.p, n);
    rule->name[n] = '\0';
    return 0;
}

static int parse_body(struct slice body, struct spamd_reply *out, char *err, size_t errlen)
{
    size_t pos = 0, cap = 0;
    struct slice line;
    bool in_table = false;

    while (reply_next_line(body, &pos, &line)) {
        if (!in_table) {
            in_table = is_table_rule(line);
            continue;
        }
        if (line.n == 0)
            break; /* end of the table */
        /* rows right-align the points in 4 columns (" 2.5 RULE"); a
         * description continued on the next line is indented far more */
        size_t indent = 0;
        while (indent < line.n && line.p[indent] == ' ')
            indent++;
        if (indent > 3 || (indent < line.n && line.p[indent] == '\t'))
            continue;
        line.p += indent;
        line.n -= indent;
        if (out->n_rules >= SPAMD_MAX_RULES) {
            snprintf(err, errlen, "spamd reply: more than %d rules", SPAMD_MAX_RULES);
            return -1;
        }
        out->rules = xgrow(out->rules, &cap, out->n_rules + 1, sizeof(*out->rules));
        memset(&out->rules[out->n_rules], 0, sizeof(*out->rules));
        if (parse_row(line, &out->rules[out->n_rules]) < 0) {
            snprintf(err, errlen, "spamd reply: malformed rule line");
            return -1;
        }
        out->n_rules++;
    }
    spamd_rules_sort(out->rules, out->n_rules);
    return 0;
}

int spamd_reply_parse(const char *data, size_t len, struct spamd_reply *out, char *err,
                      size_t errlen)
{
    struct slice all = {data, len}, line;
    size_t pos = 0;
    bool have_spam = false, have_length = false;
    uint64_t content_length = 0;

    memset(out, 0, sizeof(*out));
    if (len > SPAMD_REPLY_MAX) {
        snprintf(err, errlen, "spamd reply too large");
        return -1;
    }
    if (!reply_next_line(all, &pos, &line) || !reply_line_ended(all, pos)) {
        snprintf(err, errlen, "spamd reply truncated");
        return -1;
    }
    if (parse_status(line, err, errlen) < 0)
        return -1;

    for (;;) {
        if (!reply_next_line(all, &pos, &line) || !reply_line_ended(all, pos)) {
            snprintf(err, errlen, "spamd reply truncated in the headers");
            return -1;
        }
        if (line.n == 0)
            break;
        if (reply_starts_with_ci(line, "Spam:")) {
            struct slice v = {line.p + 5, line.n - 5};
            if (have_spam || parse_spam_header(v, out) < 0) {
                snprintf(err, errlen, "spamd reply: malformed Spam header");
                return -1;
            }
            have_spam = true;
        } else if (reply_starts_with_ci(line, "Content-length:")) {
            struct slice v = {line.p + 15, line.n - 15};
            skip_blanks(&v);
            size_t i = 0;
            content_length = 0;
            while (i < v.n && is_digit(v.p[i]) && i < 10)
                content_length = content_length * 10 + (uint64_t)(v.p[i++] - '0');
            if (have_length || i == 0 || i != v.n) {
                snprintf(err, errlen, "spamd reply: malformed Content-length");
                return -1;
            }
            have_length = true;
        } else if (memchr(line.p, ':', line.n) == NULL) {
            snprintf(err, errlen, "spamd reply: malformed header line");
            return -1;
        }
    }
    if (!have_spam) {
        snprintf(err, errlen, "spamd reply without a Spam header");
        return -1;
    }

    struct slice body = {data + pos, len - pos};
    if (have_length && content_length != body.n) {
        snprintf(err, errlen, "spamd reply body is %zu bytes, Content-length %llu", body.n,
                 (unsigned long long)content_length);
        return -1;
    }
    if (parse_body(body, out, err, errlen) < 0) {
        spamd_reply_free(out);
        return -1;
    }
    return 0;
}

void spamd_reply_free(struct spamd_reply *r)
{
    free(r->rules);
    r->rules = NULL;
    r->n_rules = 0;
}
