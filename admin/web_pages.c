/*
 * web_pages: the pages of `lmtpscan web` (see web_pages.h): the quarantine list
 * (newest first, WEB_PAGE_ROWS a page, filtered by recipient, sender or
 * From, Subject, verdict and day), one message (envelope, the report's
 * From/Subject/Date and per-recipient verdicts, the header section and a
 * text preview of the body: everything escaped, the mail's HTML never
 * rendered, nothing loaded from elsewhere), release to all or chosen
 * recipients and delete (the same code as `lmtpscan quarantine release`
 * and `delete`), and the page of a digest link (one message for one
 * recipient, released with a button; never a virus).
 *
 * Bounds: WEB_LIST_MAX quarantined messages looked at, WEB_HEADER_MAX
 * header bytes and WEB_PREVIEW_MAX body bytes shown.
 */
#include "admin/admin_commands.h"
#include "admin/held_report.h"
#include "admin/web_pages.h"
#include "common/log.h"
#include "common/mail_id.h"
#include "common/xalloc.h"
#include "deliver/quarantine_env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define WEB_LIST_MAX    10000
#define WEB_PAGE_ROWS   25
#define WEB_HEADER_MAX  (64 * 1024)
#define WEB_PREVIEW_MAX (16 * 1024)
#define RCPT_VERDICTS   64

struct held {
    struct quarantine_env q;
    time_t received;
    char *from, *subject, *date;       /* from the report, NULL when none */
    char verdict[32];                  /* the reason's first word */
    char *rcpt_verdict[RCPT_VERDICTS]; /* "verdict/action" per report recipient */
    char *rcpt_addr[RCPT_VERDICTS];
    size_t n_rcpt_verdict;
};

static void held_free(struct held *h)
{
    quarantine_env_free(&h->q);
    free(h->from);
    free(h->subject);
    free(h->date);
    for (size_t i = 0; i < h->n_rcpt_verdict; i++) {
        free(h->rcpt_verdict[i]);
        free(h->rcpt_addr[i]);
    }
}

static void read_report(const struct config *cfg, struct held *h, bool details)
{
    xmlDoc *doc = held_report_read(cfg, h->q.mail_id, h->received);
    if (doc == NULL)
        return;
    xmlNode *root = xmlDocGetRootElement(doc);
    for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
        if (held_is(c, "message") && h->from == NULL) {
            h->from = held_attr(c, "from");
            h->subject = held_attr(c, "subject");
            h->date = held_attr(c, "date");
        } else if (details && held_is(c, "recipient") && h->n_rcpt_verdict < RCPT_VERDICTS) {
            char *v = held_attr(c, "verdict"), *a = held_attr(c, "action");
            char both[128];
            snprintf(both, sizeof(both), "%s / %s", v ? v : "?", a ? a : "?");
            free(v);
            free(a);
            h->rcpt_addr[h->n_rcpt_verdict] = held_attr(c, "address");
            h->rcpt_verdict[h->n_rcpt_verdict++] = xstrdup(both);
        }
    }
    xmlFreeDoc(doc);
}

/* Loads MAIL_ID's envelope (and its report). 0, or -1 (errno ENOENT:
 * not in the quarantine). */
static int held_load(const struct config *cfg, const char *id, struct held *h, bool details)
{
    memset(h, 0, sizeof(*h));
    char err[256];
    if (!mail_id_valid(id)) {
        errno = ENOENT;
        return -1;
    }
    if (quarantine_env_load(cfg->deliver.quarantine_dir, id, &h->q, err, sizeof(err)) < 0) {
        int e = errno;
        quarantine_env_free(&h->q);
        errno = e;
        return -1;
    }
    h->received = held_time(h->q.received);
    size_t n = strcspn(h->q.reason, " :");
    snprintf(h->verdict, sizeof(h->verdict), "%.*s", (int)(n < 31 ? n : 31), h->q.reason);
    read_report(cfg, h, details);
    return 0;
}

static bool is_virus(const struct held *h)
{
    return strcmp(h->verdict, "virus") == 0;
}

static void put_time(struct strbuf *sb, time_t t)
{
    char when[64];
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    web_put(sb, when);
}

static void put_url_value(struct strbuf *sb, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            (void)strbuf_append(sb, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            (void)strbuf_append(sb, e, 3);
        }
    }
}

static bool contains(const char *hay, const char *needle)
{
    if (needle == NULL || needle[0] == '\0')
        return true;
    return hay != NULL && strcasestr(hay, needle) != NULL;
}

/* ---- the list ---- */

static int newest_first(const void *a, const void *b)
{
    const struct held *x = a, *y = b;
    if (x->received != y->received)
        return x->received > y->received ? -1 : 1;
    return strcmp(x->q.mail_id, y->q.mail_id);
}

static bool matches(const struct held *h, const char *rcpt, const char *sender, const char *subject,
                    const char *verdict, time_t day)
{
    bool r = rcpt == NULL || rcpt[0] == '\0';
    for (size_t k = 0; !r && k < h->q.n_rcpts; k++)
        r = contains(h->q.rcpts[k].address, rcpt);
    return r && (contains(h->q.sender, sender) || contains(h->from, sender)) &&
           contains(h->subject, subject) &&
           (verdict == NULL || verdict[0] == '\0' || strcasecmp(h->verdict, verdict) == 0) &&
           (day == (time_t)-1 || (h->received >= day && h->received < day + 86400));
}

static const char *arg(const struct web_request *rq, const char *name)
{
    const char *v = rq->arg(rq->conn, name);
    return v != NULL && strlen(v) <= WEB_VALUE_MAX ? v : NULL;
}

static void filter_input(struct strbuf *sb, const char *label, const char *name, const char *v)
{
    (void)strbuf_printf(sb, "<label>%s <input name=\"%s\" value=\"", label, name);
    web_put(sb, v ? v : "");
    (void)strbuf_puts(sb, "\"></label>");
}

void web_page_list(const struct web_request *rq, struct web_response *resp)
{
    const char *f_rcpt = arg(rq, "rcpt"), *f_sender = arg(rq, "sender");
    const char *f_subject = arg(rq, "subject"), *f_verdict = arg(rq, "verdict");
    const char *f_day = arg(rq, "day"), *f_page = arg(rq, "page");
    time_t day = (time_t)-1;
    if (f_day != NULL && f_day[0] != '\0') {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(f_day, "%Y-%m-%d", &tm);
        if (end != NULL && *end == '\0')
            day = timegm(&tm);
    }
    long page = f_page ? strtol(f_page, NULL, 10) : 1;
    if (page < 1 || page > 100000)
        page = 1;

    struct held *all = NULL;
    size_t n = 0, cap = 0, looked = 0;
    DIR *d = opendir(rq->cfg->deliver.quarantine_dir);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL && looked < WEB_LIST_MAX) {
        size_t len = strlen(de->d_name);
        if (len != MAIL_ID_LEN + 4 || strcmp(de->d_name + MAIL_ID_LEN, ".env") != 0)
            continue;
        char id[MAIL_ID_LEN + 1];
        memcpy(id, de->d_name, MAIL_ID_LEN);
        id[MAIL_ID_LEN] = '\0';
        looked++;
        all = xgrow(all, &cap, n + 1, sizeof(*all));
        if (held_load(rq->cfg, id, &all[n], false) < 0)
            continue;
        if (!matches(&all[n], f_rcpt, f_sender, f_subject, f_verdict, day)) {
            held_free(&all[n]);
            continue;
        }
        n++;
    }
    if (d != NULL)
        closedir(d);
    if (n > 0)
        qsort(all, n, sizeof(*all), newest_first);

    struct strbuf *sb = &resp->body;
    web_page_start(sb, "Quarantine", rq);
    (void)strbuf_puts(sb, "<form method=\"get\" action=\"/list\" class=\"filters\">");
    filter_input(sb, "Recipient", "rcpt", f_rcpt);
    filter_input(sb, "Sender or From", "sender", f_sender);
    filter_input(sb, "Subject", "subject", f_subject);
    (void)strbuf_puts(sb, "<label>Verdict <select name=\"verdict\">");
    static const char *const verdicts[] = {"", "virus", "spam", "unchecked", "banned", "encrypted"};
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        (void)strbuf_printf(sb, "<option value=\"%s\"%s>%s</option>", verdicts[i],
                            f_verdict && strcmp(f_verdict, verdicts[i]) == 0 ? " selected" : "",
                            verdicts[i][0] ? verdicts[i] : "any");
    }
    (void)strbuf_puts(sb, "</select></label>");
    (void)strbuf_puts(sb, "<label>Day <input type=\"date\" name=\"day\" value=\"");
    web_put(sb, day != (time_t)-1 ? f_day : "");
    (void)strbuf_puts(sb, "\"></label><button type=\"submit\">Filter</button></form>");

    size_t first = (size_t)(page - 1) * WEB_PAGE_ROWS;
    (void)strbuf_printf(sb, "<p>%zu message%s held%s.</p>", n, n == 1 ? "" : "s",
                        looked >= WEB_LIST_MAX ? " (the first ones only)" : "");
    (void)strbuf_puts(sb, "<table><thead><tr><th>Received</th><th>From</th><th>Subject</th>"
                          "<th>Recipients</th><th>Verdict</th></tr></thead><tbody>");
    for (size_t i = first; i < n && i < first + WEB_PAGE_ROWS; i++) {
        const struct held *h = &all[i];
        (void)strbuf_puts(sb, "<tr><td>");
        put_time(sb, h->received);
        (void)strbuf_puts(sb, "</td><td>");
        web_put(sb, h->from ? h->from : h->q.sender);
        (void)strbuf_printf(sb, "</td><td><a href=\"/message?id=%s\">", h->q.mail_id);
        web_put(sb, h->subject && h->subject[0] ? h->subject : "(no subject)");
        (void)strbuf_puts(sb, "</a></td><td>");
        for (size_t k = 0; k < h->q.n_rcpts; k++) {
            if (k > 0)
                (void)strbuf_puts(sb, ", ");
            web_put(sb, h->q.rcpts[k].address);
        }
        (void)strbuf_puts(sb, "</td><td class=\"verdict\">");
        web_put(sb, h->verdict);
        (void)strbuf_puts(sb, "</td></tr>\n");
    }
    (void)strbuf_puts(sb, "</tbody></table><nav class=\"pager\">");
    for (int dir = -1; dir <= 1; dir += 2) {
        long to = page + dir;
        if (to < 1 || (dir > 0 && (size_t)page * WEB_PAGE_ROWS >= n))
            continue;
        (void)strbuf_printf(sb, "<a href=\"/list?page=%ld", to);
        const char *names[] = {"rcpt", "sender", "subject", "verdict", "day"};
        const char *vals[] = {f_rcpt, f_sender, f_subject, f_verdict, f_day};
        for (size_t k = 0; k < 5; k++) {
            if (vals[k] == NULL || vals[k][0] == '\0')
                continue;
            (void)strbuf_printf(sb, "&amp;%s=", names[k]);
            struct strbuf enc;
            strbuf_init(&enc, 4 * WEB_VALUE_MAX);
            put_url_value(&enc, vals[k]);
            web_put(sb, enc.data ? enc.data : "");
            strbuf_free(&enc);
        }
        (void)strbuf_printf(sb, "\">%s</a>", dir < 0 ? "&larr; newer" : "older &rarr;");
    }
    (void)strbuf_puts(sb, "</nav>");
    web_page_end(sb);
    for (size_t i = 0; i < n; i++)
        held_free(&all[i]);
    free(all);
}

/* ---- one message ---- */

/* The header section and the start of the body of MAIL_ID.eml. */
static void read_eml(const struct config *cfg, const char *id, struct strbuf *head,
                     struct strbuf *body)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s.eml", cfg->deliver.quarantine_dir, id);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    size_t max = WEB_HEADER_MAX + WEB_PREVIEW_MAX;
    char *buf = xmalloc(max);
    size_t got = 0;
    while (got < max) {
        ssize_t r = read(fd, buf + got, max - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    size_t split = got, skip = 0;
    for (size_t i = 0; i + 1 < got && i < WEB_HEADER_MAX; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n') {
            split = i + 1, skip = 1;
            break;
        }
        if (buf[i] == '\n' && buf[i + 1] == '\r' && i + 2 < got && buf[i + 2] == '\n') {
            split = i + 1, skip = 2;
            break;
        }
    }
    if (split > WEB_HEADER_MAX)
        split = WEB_HEADER_MAX;
    (void)strbuf_append(head, buf, split);
    size_t start = split + skip;
    if (start < got)
        (void)strbuf_append(body, buf + start,
                            got - start < WEB_PREVIEW_MAX ? got - start : WEB_PREVIEW_MAX);
    free(buf);
}

static void dl_row(struct strbuf *sb, const char *label, const char *value)
{
    (void)strbuf_printf(sb, "<dt>%s</dt><dd>", label);
    web_put(sb, value && value[0] ? value : "(none)");
    (void)strbuf_puts(sb, "</dd>");
}

void web_page_message(const struct web_request *rq, struct web_response *resp)
{
    const char *id = arg(rq, "id");
    struct held h;
    if (id == NULL || held_load(rq->cfg, id, &h, true) < 0) {
        web_page_error(rq, resp, 404, "Not found", "No such message in the quarantine.");
        return;
    }
    struct strbuf *sb = &resp->body;
    web_page_start(sb, h.subject && h.subject[0] ? h.subject : "(no subject)", rq);
    (void)strbuf_puts(sb, "<dl>");
    dl_row(sb, "Mail ID", h.q.mail_id);
    dl_row(sb, "Received", h.q.received);
    dl_row(sb, "Sender", h.q.sender[0] ? h.q.sender : "<>");
    dl_row(sb, "From", h.from);
    dl_row(sb, "Subject", h.subject);
    dl_row(sb, "Date", h.date);
    dl_row(sb, "Reason", h.q.reason);
    for (size_t i = 0; i < h.n_rcpt_verdict; i++) {
        (void)strbuf_puts(sb, "<dt>Recipient</dt><dd>");
        web_put(sb, h.rcpt_addr[i]);
        (void)strbuf_puts(sb, ": ");
        web_put(sb, h.rcpt_verdict[i]);
        (void)strbuf_puts(sb, "</dd>");
    }
    (void)strbuf_puts(sb, "</dl>");

    (void)strbuf_puts(sb, "<div class=\"actions\"><form method=\"post\" action=\"/release\">"
                          "<input type=\"hidden\" name=\"csrf\" value=\"");
    web_put(sb, rq->csrf);
    (void)strbuf_printf(sb, "\"><input type=\"hidden\" name=\"id\" value=\"%s\">", h.q.mail_id);
    for (size_t k = 0; k < h.q.n_rcpts; k++) {
        (void)strbuf_puts(sb, "<label><input type=\"checkbox\" name=\"rcpt\" checked value=\"");
        web_put(sb, h.q.rcpts[k].address);
        (void)strbuf_puts(sb, "\"> ");
        web_put(sb, h.q.rcpts[k].address);
        (void)strbuf_puts(sb, "</label><br>");
    }
    (void)strbuf_puts(sb, "<button type=\"submit\" name=\"do\" value=\"release\">Release</button>"
                          "</form><form method=\"post\" action=\"/delete\">"
                          "<input type=\"hidden\" name=\"csrf\" value=\"");
    web_put(sb, rq->csrf);
    (void)strbuf_printf(sb,
                        "\"><input type=\"hidden\" name=\"id\" value=\"%s\">"
                        "<button type=\"submit\" name=\"do\" value=\"delete\">Delete</button>"
                        "</form></div>",
                        h.q.mail_id);

    struct strbuf head, body;
    strbuf_init(&head, WEB_HEADER_MAX + 1);
    strbuf_init(&body, WEB_PREVIEW_MAX + 1);
    read_eml(rq->cfg, h.q.mail_id, &head, &body);
    (void)strbuf_puts(sb, "<h2>Header</h2><pre class=\"header\">");
    web_put_lines(sb, head.data ? head.data : "", head.len);
    (void)strbuf_puts(sb, "</pre><h2>Text preview</h2><pre class=\"preview\">");
    web_put_lines(sb, body.data ? body.data : "", body.len);
    (void)strbuf_puts(sb, "</pre>");
    strbuf_free(&head);
    strbuf_free(&body);
    web_page_end(sb);
    held_free(&h);
}

/* ---- actions ---- */

/* Releases id to rcpts through quarantine_release_to(); the outcome
 * lines into sb. true when every recipient got it. */
static bool release(const struct web_request *rq, const char *id, const char *const *rcpts,
                    size_t n, const char *by, struct strbuf *sb)
{
    char **argv = xcalloc(2 * n + 2, sizeof(*argv));
    int argc = 0;
    argv[argc++] = (char *)id;
    for (size_t i = 0; i < n; i++) {
        argv[argc++] = (char *)"--rcpt";
        argv[argc++] = (char *)rcpts[i];
    }
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    int rc = out ? quarantine_release_to(rq->cfg, argc, argv, by, out) : ADMIN_FAILED;
    if (out)
        fclose(out);
    free(argv);
    log_info("web: client=%s release %s by %s: %s", rq->client, id, by,
             rc == ADMIN_OK ? "delivered" : "failed");
    (void)strbuf_printf(sb, "<p class=\"%s\">%s</p><pre>", rc == ADMIN_OK ? "ok" : "error",
                        rc == ADMIN_OK ? "Released." : "The release failed (for some recipients).");
    web_put_lines(sb, text ? text : "", text_len);
    (void)strbuf_puts(sb, "</pre>");
    free(text);
    return rc == ADMIN_OK;
}

void web_action_release(const struct web_request *rq, struct web_response *resp)
{
    const char *id = web_form_get(rq->form, "id");
    struct held h;
    if (id == NULL || held_load(rq->cfg, id, &h, false) < 0) {
        web_page_error(rq, resp, 404, "Not found", "No such message in the quarantine.");
        return;
    }
    const char *rcpts[WEB_FORM_MAX];
    size_t n = 0;
    for (size_t i = 0; i < rq->form->n; i++)
        if (strcmp(rq->form->key[i], "rcpt") == 0)
            rcpts[n++] = rq->form->value[i];
    if (n == 0) {
        held_free(&h);
        web_page_error(rq, resp, 400, "Nothing to do", "Choose at least one recipient.");
        return;
    }
    struct strbuf *sb = &resp->body;
    web_page_start(sb, "Release", rq);
    if (!release(rq, h.q.mail_id, rcpts, n, "web admin", sb))
        resp->status = 502;
    (void)strbuf_printf(sb,
                        "<p><a href=\"/message?id=%s\">Back to the message</a> &middot; "
                        "<a href=\"/list\">the list</a></p>",
                        h.q.mail_id);
    web_page_end(sb);
    held_free(&h);
}

void web_action_delete(const struct web_request *rq, struct web_response *resp)
{
    const char *id = web_form_get(rq->form, "id");
    if (id == NULL || !mail_id_valid(id)) {
        web_page_error(rq, resp, 404, "Not found", "No such message in the quarantine.");
        return;
    }
    char *argv[] = {(char *)"delete", (char *)id};
    int rc = cmd_quarantine(rq->cfg, 2, argv);
    log_info("web: client=%s delete %s: %s", rq->client, id, rc == ADMIN_OK ? "done" : "failed");
    if (rc != ADMIN_OK) {
        web_page_error(rq, resp, rc == ADMIN_BAD_INPUT ? 404 : 500, "Not deleted",
                       "The message could not be deleted (see the log).");
        return;
    }
    snprintf(resp->location, sizeof(resp->location), "/list");
}

/* ---- digest links ---- */

/* The token's message and recipient, still held for that recipient; or
 * an error page (logged). */
static bool token_target(const struct web_request *rq, struct web_response *resp, const char *token,
                         struct held *h, char *rcpt)
{
    char id[MAIL_ID_LEN + 1];
    int64_t expiry;
    enum release_token_status st = release_token_verify(rq->key, rq->key_len, token ? token : "",
                                                        (int64_t)time(NULL), id, rcpt, &expiry);
    if (st != RELEASE_TOKEN_OK) {
        const char *why = st == RELEASE_TOKEN_EXPIRED ? "expired" : "invalid";
        log_info("web: client=%s release link refused: %s", rq->client,
                 st == RELEASE_TOKEN_EXPIRED  ? "expired"
                 : st == RELEASE_TOKEN_FORGED ? "forged"
                                              : "malformed");
        char text[128];
        snprintf(text, sizeof(text), "This release link is %s.", why);
        web_page_error(rq, resp, 403, "Link refused", text);
        return false;
    }
    bool held = held_load(rq->cfg, id, h, false) == 0;
    for (size_t k = 0; held && k < h->q.n_rcpts; k++)
        if (strcasecmp(h->q.rcpts[k].address, rcpt) == 0)
            goto found;
    if (held)
        held_free(h);
    web_page_error(rq, resp, 404, "Not found", "This message is no longer in the quarantine.");
    return false;
found:
    if (is_virus(h)) {
        log_info("web: client=%s release link for %s refused: a virus", rq->client, id);
        held_free(h);
        web_page_error(rq, resp, 403, "Not by link",
                       "A message with a virus cannot be released by a link; ask the "
                       "administrator.");
        return false;
    }
    return true;
}

void web_page_token(const struct web_request *rq, struct web_response *resp)
{
    const char *token = arg(rq, "t");
    struct held h;
    char rcpt[ADDRESS_MAX + 1];
    if (!token_target(rq, resp, token, &h, rcpt))
        return;
    struct strbuf *sb = &resp->body;
    web_page_start(sb, "Held message", rq);
    (void)strbuf_puts(sb, "<dl>");
    dl_row(sb, "For", rcpt);
    dl_row(sb, "Received", h.q.received);
    dl_row(sb, "From", h.from ? h.from : h.q.sender);
    dl_row(sb, "Subject", h.subject);
    dl_row(sb, "Date", h.date);
    dl_row(sb, "Why", h.q.reason);
    (void)strbuf_puts(sb, "</dl><form method=\"post\" action=\"/release-link\">"
                          "<input type=\"hidden\" name=\"csrf\" value=\"");
    web_put(sb, rq->csrf);
    (void)strbuf_puts(sb, "\"><input type=\"hidden\" name=\"t\" value=\"");
    web_put(sb, token);
    (void)strbuf_puts(sb, "\"><button type=\"submit\">Release to my mailbox</button></form>");
    web_page_end(sb);
    held_free(&h);
}

void web_action_token_release(const struct web_request *rq, struct web_response *resp)
{
    struct held h;
    char rcpt[ADDRESS_MAX + 1];
    if (!token_target(rq, resp, web_form_get(rq->form, "t"), &h, rcpt))
        return;
    struct strbuf *sb = &resp->body;
    web_page_start(sb, "Release", rq);
    const char *one[1] = {rcpt};
    char by[ADDRESS_MAX + 16];
    snprintf(by, sizeof(by), "link <%s>", rcpt);
    if (!release(rq, h.q.mail_id, one, 1, by, sb))
        resp->status = 502;
    web_page_end(sb);
    held_free(&h);
}
