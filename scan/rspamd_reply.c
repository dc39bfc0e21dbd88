/*
 * rspamd_reply: parser of rspamd's /checkv2 HTTP reply (see
 * rspamd_reply.h). The HTTP part works on (pointer, length) slices, so NUL
 * bytes and missing terminators are harmless; the JSON body goes to
 * json-c's tokener with a depth limit and an explicit length, and every
 * value is type-checked before use. The rules are sorted by name, as for
 * spamd, so the header, the report and the log do not depend on the order
 * of rspamd's JSON object.
 */
#include "scan/rspamd_reply.h"

#include "common/xalloc.h"
#include "scan/reply_lines.h"

#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct slice header_value(struct slice line, size_t name_len)
{
    struct slice v = {line.p + name_len, line.n - name_len};
    while (v.n > 0 && (v.p[0] == ' ' || v.p[0] == '\t'))
        v.p++, v.n--;
    while (v.n > 0 && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
        v.n--;
    return v;
}

/* Printable ASCII copy of s into out (others become '?'). */
static void printable(struct slice s, char *out, size_t out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < s.n && o + 1 < out_len; i++)
        out[o++] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '?';
    if (out_len > 0)
        out[o] = '\0';
}

struct http_head {
    int status;
    struct slice reason;
    bool has_length;
    uint64_t length;
    bool chunked;
    struct slice server;
    size_t body; /* offset of the body */
};

/* Parses the status line and the header; 0 when the whole header is
 * there, 1 when more is needed, -1 when malformed (err set). */
static int parse_head(struct slice all, struct http_head *h, char *err, size_t errlen)
{
    struct slice line;
    size_t pos = 0;

    memset(h, 0, sizeof(*h));
    if (!reply_next_line(all, &pos, &line) || !reply_line_ended(all, pos))
        return 1;
    if (line.n < 12 || !reply_starts_with_ci(line, "HTTP/1.") || line.p[8] != ' ' ||
        line.p[9] < '1' || line.p[9] > '5' || line.p[10] < '0' || line.p[10] > '9' ||
        line.p[11] < '0' || line.p[11] > '9' || (line.n > 12 && line.p[12] != ' ')) {
        snprintf(err, errlen, "malformed rspamd status line");
        return -1;
    }
    h->status = (line.p[9] - '0') * 100 + (line.p[10] - '0') * 10 + (line.p[11] - '0');
    h->reason = line.n > 13 ? (struct slice){line.p + 13, line.n - 13} : (struct slice){"", 0};
    for (;;) {
        if (!reply_next_line(all, &pos, &line) || !reply_line_ended(all, pos))
            return 1;
        if (line.n == 0)
            break;
        if (reply_starts_with_ci(line, "Content-Length:")) {
            struct slice v = header_value(line, 15);
            uint64_t n = 0;
            size_t i = 0;
            while (i < v.n && i < 12 && v.p[i] >= '0' && v.p[i] <= '9')
                n = n * 10 + (uint64_t)(v.p[i++] - '0');
            if (h->has_length || i == 0 || i != v.n) {
                snprintf(err, errlen, "rspamd reply: malformed Content-Length");
                return -1;
            }
            h->has_length = true;
            h->length = n;
        } else if (reply_starts_with_ci(line, "Transfer-Encoding:")) {
            h->chunked = true;
        } else if (reply_starts_with_ci(line, "Server:")) {
            h->server = header_value(line, 7);
        } else if (memchr(line.p, ':', line.n) == NULL) {
            snprintf(err, errlen, "rspamd reply: malformed header line");
            return -1;
        }
    }
    h->body = pos;
    return 0;
}

int rspamd_reply_complete(const char *data, size_t len)
{
    struct http_head h;
    char err[8];
    if (len > RSPAMD_REPLY_MAX)
        return 1; /* enough: the parser refuses it */
    int rc = parse_head((struct slice){data, len}, &h, err, sizeof(err));
    if (rc != 0)
        return rc < 0 ? 1 : 0; /* malformed: more bytes would not help */
    return h.has_length && len - h.body >= h.length;
}

/* A JSON number within the bounds; -1 otherwise. */
static int get_score(struct json_object *o, double *out)
{
    enum json_type t = json_object_get_type(o);
    if (t != json_type_double && t != json_type_int)
        return -1;
    double v = json_object_get_double(o);
    if (!isfinite(v) || v > RSPAMD_SCORE_MAX || v < -RSPAMD_SCORE_MAX)
        return -1;
    *out = v;
    return 0;
}

static bool is_spam_action(const char *a)
{
    static const char *const spam[] = {"reject", "add header", "rewrite subject", "discard",
                                       "quarantine"};
    for (size_t i = 0; i < sizeof(spam) / sizeof(spam[0]); i++)
        if (strcmp(a, spam[i]) == 0)
            return true;
    return false;
}

/* A rule name: [A-Za-z0-9_.-], at least one byte, fits a rule's name. */
static bool valid_name(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (n + 1 >= max || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return n > 0;
}

static int parse_symbols(struct json_object *symbols, struct rspamd_reply *out, char *err,
                         size_t errlen)
{
    if (!json_object_is_type(symbols, json_type_object)) {
        snprintf(err, errlen, "rspamd reply: symbols is not an object");
        return -1;
    }
    size_t n = (size_t)json_object_object_length(symbols);
    if (n > SPAMD_MAX_RULES) {
        snprintf(err, errlen, "rspamd reply: more than %d symbols", SPAMD_MAX_RULES);
        return -1;
    }
    if (n == 0)
        return 0;
    out->rules = xcalloc(n, sizeof(*out->rules));
    json_object_object_foreach(symbols, name, sym)
    {
        struct spamd_rule *r = &out->rules[out->n_rules];
        struct json_object *score;
        if (out->n_rules >= n || !valid_name(name, sizeof(r->name)) ||
            !json_object_is_type(sym, json_type_object)) {
            snprintf(err, errlen, "rspamd reply: malformed symbol");
            return -1;
        }
        snprintf(r->name, sizeof(r->name), "%s", name);
        if (json_object_object_get_ex(sym, "score", &score)) {
            if (get_score(score, &r->score) < 0) {
                snprintf(err, errlen, "rspamd reply: malformed symbol score");
                return -1;
            }
            r->has_score = true;
        }
        out->n_rules++;
    }
    spamd_rules_sort(out->rules, out->n_rules);
    return 0;
}

static int parse_json(const char *body, size_t len, struct rspamd_reply *out, char *err,
                      size_t errlen)
{
    struct json_tokener *tok = json_tokener_new_ex(RSPAMD_JSON_DEPTH);
    struct json_object *root, *v;
    int rc = -1;

    if (tok == NULL) {
        snprintf(err, errlen, "rspamd reply: out of memory");
        return -1;
    }
    root = json_tokener_parse_ex(tok, body, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        snprintf(err, errlen, "rspamd reply: bad JSON (%s)",
                 json_tokener_error_desc(json_tokener_get_error(tok)));
        goto out;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n') {
            snprintf(err, errlen, "rspamd reply: bytes after the JSON value");
            goto out;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "rspamd reply: not a JSON object");
        goto out;
    }
    if (!json_object_object_get_ex(root, "score", &v) || get_score(v, &out->score) < 0 ||
        !json_object_object_get_ex(root, "required_score", &v) ||
        get_score(v, &out->required) < 0) {
        snprintf(err, errlen, "rspamd reply without a valid score and required_score");
        goto out;
    }
    if (!json_object_object_get_ex(root, "action", &v) ||
        !json_object_is_type(v, json_type_string) ||
        (size_t)json_object_get_string_len(v) >= sizeof(out->action) ||
        json_object_get_string_len(v) == 0) {
        snprintf(err, errlen, "rspamd reply without a valid action");
        goto out;
    }
    struct slice a = {json_object_get_string(v), (size_t)json_object_get_string_len(v)};
    printable(a, out->action, sizeof(out->action));
    out->is_spam = is_spam_action(out->action);
    if (json_object_object_get_ex(root, "symbols", &v) && parse_symbols(v, out, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    if (root != NULL)
        json_object_put(root);
    json_tokener_free(tok);
    return rc;
}

int rspamd_reply_parse(const char *data, size_t len, struct rspamd_reply *out, char *err,
                       size_t errlen)
{
    struct http_head h;
    char text[128];
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > RSPAMD_REPLY_MAX) {
        snprintf(err, errlen, "rspamd reply too large");
        return -1;
    }
    rc = parse_head((struct slice){data, len}, &h, err, errlen);
    if (rc > 0)
        snprintf(err, errlen, "rspamd reply truncated in the header");
    if (rc != 0)
        return -1;
    if (h.chunked) {
        snprintf(err, errlen, "rspamd reply: Transfer-Encoding is not supported");
        return -1;
    }
    size_t body_len = len - h.body;
    if (h.has_length && h.length != body_len) {
        snprintf(err, errlen, "rspamd reply body is %zu bytes, Content-Length %llu", body_len,
                 (unsigned long long)h.length);
        return -1;
    }
    if (h.status != 200) {
        struct slice body = {data + h.body, body_len > 100 ? 100 : body_len};
        char reason[64];
        printable(h.reason, reason, sizeof(reason));
        printable(body, text, sizeof(text));
        snprintf(err, errlen, "rspamd error: %d %s %s", h.status, reason, text);
        return -1;
    }
    printable(h.server, out->version, sizeof(out->version));
    if (parse_json(data + h.body, body_len, out, err, errlen) < 0) {
        rspamd_reply_free(out);
        return -1;
    }
    return 0;
}

void rspamd_reply_free(struct rspamd_reply *r)
{
    free(r->rules);
    r->rules = NULL;
    r->n_rules = 0;
}
