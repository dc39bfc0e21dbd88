/*
 * report_reader: the streaming report reader (see report_reader.h).
 */
#include "admin/report_reader.h"

#include "common/clamav_types.h"
#include "common/file_inventory.h"
#include "common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <libxml/xmlreader.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_NS "urn:lmtpscan:report:1"
#define MAX_RCPTS 100000 /* more than max_recipients allows */
#define MAX_SPAMD 100000

static bool name_is(const xmlChar *a, const char *b)
{
    return a != NULL && strcmp((const char *)a, b) == 0;
}

/* The attribute's value copied into out (empty when absent). */
static bool attr(xmlTextReaderPtr rd, const char *name, char *out, size_t out_len)
{
    xmlChar *v = xmlTextReaderGetAttribute(rd, (const xmlChar *)name);
    if (v == NULL) {
        if (out_len > 0)
            out[0] = '\0';
        return false;
    }
    snprintf(out, out_len, "%s", (const char *)v);
    xmlFree(v);
    return true;
}

static uint64_t attr_u64(xmlTextReaderPtr rd, const char *name)
{
    char v[32];
    if (!attr(rd, name, v, sizeof(v)))
        return 0;
    return strtoull(v, NULL, 10);
}

/* "2026-12-05T21:51:07.123Z" -> seconds since the epoch; -1 if malformed. */
static time_t parse_utc(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return (time_t)-1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static bool parse_verdict(const char *s, enum verdict *out)
{
    for (int v = VERDICT_CLEAN; v < VERDICT_COUNT; v++)
        if (strcmp(s, verdict_name((enum verdict)v)) == 0) {
            *out = (enum verdict)v;
            return true;
        }
    return false;
}

static bool parse_action(const char *s, enum action *out)
{
    for (int a = ACTION_DELIVER; a <= ACTION_TEMPFAIL; a++)
        if (strcmp(s, action_name((enum action)a)) == 0) {
            *out = (enum action)a;
            return true;
        }
    return false;
}

struct parse_state {
    struct stored_report *r;
    size_t rcpt_cap;
    size_t spamd_cap;
    enum { IN_NONE, IN_CLAMAV, IN_SPAMD } scan;
};

static void read_clamav(xmlTextReaderPtr rd, struct scan_result *res)
{
    char result[32];
    struct clamav_result *cr = &res->clamav;
    (void)attr(rd, "result", result, sizeof(result));
    (void)attr(rd, "reason", cr->reason, sizeof(cr->reason));
    cr->duration_ms = (unsigned)attr_u64(rd, "duration-ms");
    cr->status = strcmp(result, "clean") == 0       ? CLAMAV_CLEAN
                 : strcmp(result, "infected") == 0  ? CLAMAV_INFECTED
                 : strcmp(result, "unchecked") == 0 ? CLAMAV_LIMITS
                                                    : CLAMAV_ERROR;
    cr->engine_loading = cr->status == CLAMAV_ERROR && strcmp(cr->reason, "engine loading") == 0;
    file_inventory_init(&cr->inventory, 0);
}

/* A <file> of the ClamAV scan (a banned or encrypted one) back into the
 * inventory, so the decision sees what it saw then. */
static void read_file(xmlTextReaderPtr rd, struct clamav_result *cr)
{
    char path[INVENTORY_PATH_MAX], type[64], encrypted[8];
    if (!attr(rd, "path", path, sizeof(path)))
        return;
    int t = attr(rd, "type", type, sizeof(type)) ? clamav_type_index(type) : CLAMAV_TYPE_UNKNOWN;
    (void)attr(rd, "encrypted", encrypted, sizeof(encrypted));
    const char *slash = strrchr(path, '/');
    size_t prefix_len = slash != NULL ? (size_t)(slash - path) : 0;
    const char *name = slash != NULL ? slash + 1 : path;
    unsigned level = 1;
    for (const char *p = path; *p; p++)
        level += *p == '/';
    (void)file_inventory_add(&cr->inventory, path, prefix_len, name, strlen(name), t,
                             strcmp(encrypted, "true") == 0 ? FILE_ENCRYPTED : 0, level);
}

static int read_spamd(xmlTextReaderPtr rd, struct parse_state *ps)
{
    struct scan_result *res = &ps->r->res;
    if (res->n_spamd >= MAX_SPAMD)
        return -1;
    res->spamd = xgrow(res->spamd, &ps->spamd_cap, res->n_spamd + 1, sizeof(*res->spamd));
    struct spamd_result *sr = &res->spamd[res->n_spamd++];
    memset(sr, 0, sizeof(*sr));
    char result[32], num[64];
    (void)attr(rd, "user", sr->user, sizeof(sr->user));
    (void)attr(rd, "engine", result, sizeof(result));
    sr->engine = strcmp(result, "rspamd") == 0 ? SPAM_ENGINE_RSPAMD : SPAM_ENGINE_SPAMD;
    (void)attr(rd, "action", sr->action, sizeof(sr->action));
    (void)attr(rd, "result", result, sizeof(result));
    (void)attr(rd, "reason", sr->error, sizeof(sr->error));
    sr->status = strcmp(result, "ham") == 0       ? SPAMD_HAM
                 : strcmp(result, "spam") == 0    ? SPAMD_SPAM
                 : strcmp(result, "skipped") == 0 ? SPAMD_SKIPPED
                                                  : SPAMD_ERROR;
    if (attr(rd, "score", num, sizeof(num)))
        sr->score = strtod(num, NULL);
    if (attr(rd, "required", num, sizeof(num)))
        sr->required = strtod(num, NULL);
    sr->duration_ms = (unsigned)attr_u64(rd, "duration-ms");
    return 0;
}

static int read_recipient(xmlTextReaderPtr rd, struct parse_state *ps)
{
    struct stored_report *r = ps->r;
    if (r->n_rcpts >= MAX_RCPTS)
        return -1;
    r->rcpts = xgrow(r->rcpts, &ps->rcpt_cap, r->n_rcpts + 1, sizeof(*r->rcpts));
    struct stored_rcpt *sr = &r->rcpts[r->n_rcpts++];
    memset(sr, 0, sizeof(*sr));
    char v[32];
    (void)attr(rd, "address", sr->address, sizeof(sr->address));
    (void)attr(rd, "policy", sr->policy, sizeof(sr->policy));
    (void)attr(rd, "spamd-user", sr->spamd_user, sizeof(sr->spamd_user));
    (void)attr(rd, "verdict", v, sizeof(v));
    if (!parse_verdict(v, &sr->verdict))
        return -1;
    (void)attr(rd, "action", v, sizeof(v));
    return parse_action(v, &sr->action) ? 0 : -1;
}

static void read_timings(xmlTextReaderPtr rd, struct stored_report *r)
{
    struct timings *t = &r->timings;
    r->has_timings = true;
    t->total_us = attr_u64(rd, "total-us");
    t->receive_us = attr_u64(rd, "receive-us");
    t->scan_us = attr_u64(rd, "scan-us");
    t->clamav_us = attr_u64(rd, "clamav-us");
    t->spam_wait_us = attr_u64(rd, "spam-wait-us");
    t->spam_us = attr_u64(rd, "spam-us");
    t->delivery_us = attr_u64(rd, "delivery-us");
    t->relay_us = attr_u64(rd, "relay-us");
}

/* One start tag of the report. */
static int read_element(xmlTextReaderPtr rd, struct parse_state *ps, int depth)
{
    const xmlChar *name = xmlTextReaderConstLocalName(rd);
    struct stored_report *r = ps->r;
    char v[64];
    if (depth == 0) {
        if (!name_is(name, "report") || !name_is(xmlTextReaderConstNamespaceUri(rd), REPORT_NS))
            return -1;
        (void)attr(rd, "mail-id", r->mail_id, sizeof(r->mail_id));
        return 0;
    }
    if (depth == 1)
        ps->scan = IN_NONE;
    if (depth == 1 && name_is(name, "received")) {
        (void)attr(rd, "at", v, sizeof(v));
        r->at = parse_utc(v);
        (void)attr(rd, "protocol", v, sizeof(v));
        r->protocol = strcmp(v, "SMTP") == 0 ? PROTO_SMTP : PROTO_LMTP;
        return r->at == (time_t)-1 ? -1 : 0;
    }
    if (depth == 1 && name_is(name, "message")) {
        r->whole = attr(rd, "size", v, sizeof(v));
        return 0;
    }
    if (depth == 1 && name_is(name, "timings")) {
        read_timings(rd, r);
        return 0;
    }
    if (depth == 1 && name_is(name, "scan")) {
        (void)attr(rd, "engine", v, sizeof(v));
        if (strcmp(v, "clamav") == 0) {
            ps->scan = IN_CLAMAV;
            read_clamav(rd, &r->res);
            return 0;
        }
        ps->scan = IN_SPAMD;
        return read_spamd(rd, ps);
    }
    if (depth == 1 && name_is(name, "recipient"))
        return read_recipient(rd, ps);
    if (depth == 2 && ps->scan == IN_CLAMAV && name_is(name, "file")) {
        read_file(rd, &r->res.clamav);
        return 0;
    }
    if (depth == 2 && ps->scan == IN_CLAMAV && name_is(name, "virus")) {
        xmlChar *text = xmlTextReaderReadString(rd);
        struct clamav_result *cr = &r->res.clamav;
        size_t used = strlen(cr->virus);
        if (text != NULL && used + 2 < sizeof(cr->virus))
            snprintf(cr->virus + used, sizeof(cr->virus) - used, "%s%s", used ? "," : "",
                     (const char *)text);
        xmlFree(text);
    }
    return 0;
}

/* Each recipient's spamd result: the one of its stored spamd-user. */
static void link_spamd(struct stored_report *r)
{
    struct scan_result *res = &r->res;
    res->rcpt_spamd = xcalloc(r->n_rcpts ? r->n_rcpts : 1, sizeof(*res->rcpt_spamd));
    for (size_t i = 0; i < r->n_rcpts; i++) {
        res->rcpt_spamd[i] = SIZE_MAX;
        if (r->rcpts[i].spamd_user[0] == '\0')
            continue;
        for (size_t k = 0; k < res->n_spamd; k++)
            if (strcmp(res->spamd[k].user, r->rcpts[i].spamd_user) == 0) {
                res->rcpt_spamd[i] = k;
                break;
            }
    }
}

static void stored_report_free(struct stored_report *r)
{
    scan_result_free(&r->res);
    free(r->rcpts);
    memset(r, 0, sizeof(*r));
}

/* Reads one file into r; 0, or -1 (r freed). */
static int read_report(const char *path, struct stored_report *r)
{
    memset(r, 0, sizeof(*r));
    r->res.clamav.status = CLAMAV_NOT_RUN;
    r->at = (time_t)-1;
    xmlTextReaderPtr rd = xmlReaderForFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (rd == NULL)
        return -1;
    struct parse_state ps = {.r = r};
    int rc = -1, bad = 0;
    while (!bad && (rc = xmlTextReaderRead(rd)) == 1) {
        int type = xmlTextReaderNodeType(rd);
        if (type == XML_READER_TYPE_DOCUMENT_TYPE)
            bad = 1; /* reports have no DTD: no entities to expand */
        else if (type == XML_READER_TYPE_ELEMENT)
            bad = read_element(rd, &ps, xmlTextReaderDepth(rd)) < 0;
    }
    xmlFreeTextReader(rd);
    if (bad || rc != 0 || r->mail_id[0] == '\0' || r->at == (time_t)-1) {
        stored_report_free(r);
        return -1;
    }
    link_spamd(r);
    return 0;
}

static bool is_day(const char *n)
{
    int y, m, d;
    char rest;
    return strlen(n) == 10 && sscanf(n, "%4d-%2d-%2d%c", &y, &m, &d, &rest) == 3;
}

static bool is_report_name(const char *n)
{
    size_t len = strlen(n);
    if (len != MAIL_ID_LEN + 4 || strcmp(n + MAIL_ID_LEN, ".xml") != 0)
        return false;
    for (size_t i = 0; i < MAIL_ID_LEN; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9')))
            return false;
    return true;
}

static int day_filter(const struct dirent *e)
{
    return is_day(e->d_name);
}

/* Walks one day directory (readdir: no list of names held). */
static long walk_day(const char *path, time_t since, report_visit visit, void *arg, bool *stop)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "lmtpscan: %s: %s\n", path, strerror(errno));
        return 1;
    }
    long unreadable = 0;
    struct dirent *e;
    while (!*stop && (e = readdir(d)) != NULL) {
        if (!is_report_name(e->d_name))
            continue;
        char file[PATH_MAX];
        if (snprintf(file, sizeof(file), "%s/%s", path, e->d_name) >= (int)sizeof(file))
            continue;
        struct stored_report r;
        if (read_report(file, &r) < 0) {
            fprintf(stderr, "lmtpscan: %s: unreadable or malformed report\n", file);
            unreadable++;
            continue;
        }
        if (r.at >= since && visit(&r, arg) != 0)
            *stop = true;
        stored_report_free(&r);
    }
    closedir(d);
    return unreadable;
}

long report_walk(const char *dir, time_t since, report_visit visit, void *arg, char *err,
                 size_t err_len)
{
    struct dirent **days = NULL;
    int n = scandir(dir, &days, day_filter, alphasort);
    if (n < 0) {
        snprintf(err, err_len, "report directory %s: %s", dir, strerror(errno));
        return -1;
    }
    char since_day[16] = "";
    if (since > 0) {
        struct tm tm;
        gmtime_r(&since, &tm);
        strftime(since_day, sizeof(since_day), "%Y-%m-%d", &tm);
    }
    long unreadable = 0;
    bool stop = false;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (!stop && strcmp(days[i]->d_name, since_day) >= 0 &&
            snprintf(path, sizeof(path), "%s/%s", dir, days[i]->d_name) < (int)sizeof(path))
            unreadable += walk_day(path, since, visit, arg, &stop);
        free(days[i]);
    }
    free(days);
    return unreadable;
}

int report_parse_since(const char *text, time_t now, time_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || errno != 0 || end[0] == '\0' || end[1] != '\0' || text[0] == '-')
        return -1;
    unsigned long long mult = end[0] == 's'   ? 1
                              : end[0] == 'm' ? 60
                              : end[0] == 'h' ? 3600
                              : end[0] == 'd' ? 86400
                                              : 0;
    if (mult == 0 || n > (unsigned long long)now / mult)
        return -1;
    *out = now - (time_t)(n * mult);
    return 0;
}
