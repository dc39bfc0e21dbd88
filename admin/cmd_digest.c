/*
 * cmd_digest: `lmtpscan digest [--since TIME] [--dry-run]` (SPEC section
 * 13). Each recipient with messages held in the quarantine since the last
 * run (or TIME ago; 24 h on the first run) gets one mail listing them:
 * received date, From, Subject, and why (spam score or reason), each
 * releasable one with a link [web] url/release?t=TOKEN signed with the
 * key of [web] secret_file (common/release_token.h; the file is made,
 * 0600, when missing), valid for [web] link_lifetime. Virus mail is listed
 * without a link. The mails go from the null sender through [notify]
 * method (deliver.relay when empty), like the notices.
 *
 * What a message is: quarantine_dir/MAIL_ID.env (envelope, reason) and
 * its report (report.dir/DATE/MAIL_ID.xml: From, Subject, per-recipient
 * verdict and spamd score) when there is one.
 *
 * The time of the last run is kept in quarantine_dir/.digest-last,
 * written only when every digest went out; a message received in the
 * same second as a run is listed again by the next one (times have whole
 * seconds: a duplicate rather than a loss). --dry-run prints the mails on
 * stdout (LF line ends) and sends nothing. Exit status as in admin_commands.h: 1 when a
 * digest could not be sent.
 */
#include "admin/admin_commands.h"
#include "admin/held_report.h"
#include "common/fd_io.h"
#include "common/mail_id.h"
#include "common/release_token.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "deliver/durable_file.h"
#include "deliver/notice.h"
#include "deliver/notice_queue.h"
#include "deliver/quarantine_env.h"

#include <dirent.h>
#include <errno.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DIGEST_MESSAGES_MAX 100000 /* quarantined messages looked at */
#define DIGEST_ITEMS_MAX    200    /* listed in one recipient's digest */
#define DIGEST_MAIL_MAX     (1024 * 1024)
#define REPORT_FILE_MAX     (16 * 1024 * 1024)
#define STAMP_NAME          ".digest-last"

struct item {
    char rcpt[ADDRESS_MAX + 1];
    char mail_id[MAIL_ID_LEN + 1];
    time_t received;
    char *from;    /* as the report has it (UTF-8), or NULL */
    char *subject; /* idem */
    char why[512];
    bool releasable;
};

struct items {
    struct item *v;
    size_t n, cap;
};

static int usage(void)
{
    fputs("usage: lmtpscan [-c FILE] digest [--since TIME] [--dry-run]\n", stderr);
    return ADMIN_BAD_INPUT;
}

/* What the report says of the message and of each quarantined
 * recipient (verdict, spamd score). */
static void from_report(const struct config *cfg, const struct quarantine_env *q, time_t received,
                        struct item *first, size_t n)
{
    xmlDoc *doc = held_report_read(cfg, q->mail_id, received);
    if (doc == NULL)
        return;
    xmlNode *root = xmlDocGetRootElement(doc);
    char *from = NULL, *subject = NULL;
    for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
        if (held_is(c, "message") && from == NULL) {
            from = held_attr(c, "from");
            subject = held_attr(c, "subject");
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct item *it = &first[i];
        it->from = from ? xstrdup(from) : NULL;
        it->subject = subject ? xstrdup(subject) : NULL;
        for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
            if (!held_is(c, "recipient"))
                continue;
            char *addr = held_attr(c, "address");
            bool match = addr && strcasecmp(addr, it->rcpt) == 0;
            free(addr);
            if (!match)
                continue;
            char *verdict = held_attr(c, "verdict");
            char *user = held_attr(c, "spamd-user");
            if (verdict && strcmp(verdict, "virus") == 0)
                it->releasable = false;
            for (xmlNode *s = root->children; s && user && verdict && strcmp(verdict, "spam") == 0;
                 s = s->next) {
                char *engine = held_is(s, "scan") ? held_attr(s, "engine") : NULL;
                char *su = engine && strcmp(engine, "spamd") == 0 ? held_attr(s, "user") : NULL;
                if (su && strcmp(su, user) == 0) {
                    char *score = held_attr(s, "score"), *req = held_attr(s, "required");
                    if (score)
                        snprintf(it->why, sizeof(it->why), "spam, score %s%s%s%s", score,
                                 req ? " (required " : "", req ? req : "", req ? ")" : "");
                    free(score);
                    free(req);
                }
                free(engine);
                free(su);
            }
            free(verdict);
            free(user);
            break;
        }
    }
    free(from);
    free(subject);
    xmlFreeDoc(doc);
}

static void add_message(const struct config *cfg, const struct quarantine_env *q, time_t since,
                        struct items *items)
{
    time_t received = held_time(q->received);
    if (received == (time_t)-1 || received < since)
        return;
    size_t start = items->n;
    for (size_t k = 0; k < q->n_rcpts; k++) {
        if (items->n == items->cap) {
            items->cap = items->cap ? 2 * items->cap : 64;
            items->v = xrealloc(items->v, items->cap * sizeof(*items->v));
        }
        struct item *it = &items->v[items->n++];
        memset(it, 0, sizeof(*it));
        snprintf(it->rcpt, sizeof(it->rcpt), "%s", q->rcpts[k].address);
        memcpy(it->mail_id, q->mail_id, sizeof(it->mail_id));
        it->received = received;
        snprintf(it->why, sizeof(it->why), "%s", q->reason);
        it->releasable = strncmp(q->reason, "virus", 5) != 0;
    }
    from_report(cfg, q, received, items->v + start, items->n - start);
}

static int compare_items(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcasecmp(x->rcpt, y->rcpt);
    if (c != 0)
        return c;
    if (x->received != y->received)
        return x->received < y->received ? -1 : 1;
    return strcmp(x->mail_id, y->mail_id);
}

/* Every quarantined message received at or after since. */
static int collect(const struct config *cfg, time_t since, struct items *items)
{
    DIR *d = opendir(cfg->deliver.quarantine_dir);
    if (d == NULL) {
        fprintf(stderr, "lmtpscan: %s: %s\n", cfg->deliver.quarantine_dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    size_t seen = 0;
    while ((de = readdir(d)) != NULL && seen < DIGEST_MESSAGES_MAX) {
        size_t len = strlen(de->d_name);
        if (len != MAIL_ID_LEN + 4 || strcmp(de->d_name + MAIL_ID_LEN, ".env") != 0)
            continue;
        char id[MAIL_ID_LEN + 1];
        memcpy(id, de->d_name, MAIL_ID_LEN);
        id[MAIL_ID_LEN] = '\0';
        if (!mail_id_valid(id))
            continue;
        seen++;
        struct quarantine_env q;
        char err[256];
        if (quarantine_env_load(cfg->deliver.quarantine_dir, id, &q, err, sizeof(err)) < 0) {
            fprintf(stderr, "lmtpscan: %s: skipped: %s\n", id, err);
            quarantine_env_free(&q);
            continue;
        }
        add_message(cfg, &q, since, items);
        quarantine_env_free(&q);
    }
    closedir(d);
    if (items->n > 0)
        qsort(items->v, items->n, sizeof(*items->v), compare_items);
    return 0;
}

static void rfc5322_date(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* A value shown in the digest: one line of valid UTF-8 (notice_sanitise). */
static int shown(struct strbuf *sb, const char *label, const char *v)
{
    int rc = strbuf_printf(sb, "   %-9s", label);
    if (v == NULL || v[0] == '\0')
        rc |= strbuf_puts(sb, "(none)");
    else
        rc |= notice_sanitise(v, strlen(v), sb);
    return rc | strbuf_puts(sb, "\r\n");
}

/* The digest of items[0..n) (one recipient's). */
static int build_digest(const struct config *cfg, const unsigned char *key, size_t key_len,
                        const struct item *items, size_t n, time_t since, time_t now,
                        struct strbuf *sb)
{
    char from[512], date[64], since_s[64], until_s[64];
    if (strchr(cfg->notify.from, '@'))
        snprintf(from, sizeof(from), "%s", cfg->notify.from);
    else
        snprintf(from, sizeof(from), "%s@%s", cfg->notify.from, cfg->server.hostname);
    rfc5322_date(now, date, sizeof(date));
    rfc5322_date(since, since_s, sizeof(since_s));
    time_t expiry = now + (time_t)cfg->web.link_lifetime;
    rfc5322_date(expiry, until_s, sizeof(until_s));
    char mid[MAIL_ID_LEN + 1];
    if (mail_id_new(mid) < 0)
        snprintf(mid, sizeof(mid), "000000000000");
    int rc =
        strbuf_printf(sb,
                      "From: Mail filter <%s>\r\n"
                      "To: <%s>\r\n"
                      "Subject: Quarantine digest: %zu held message%s\r\n"
                      "Date: %s\r\n"
                      "Message-ID: <%s.digest@%s>\r\n"
                      "Auto-Submitted: auto-generated\r\n"
                      "MIME-Version: 1.0\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n"
                      "\r\n"
                      "The mail filter on %s held %zu message%s to you since\r\n"
                      "%s. They have not been delivered to your mailbox.\r\n"
                      "Open a link to see the message and release it; the links work\r\n"
                      "until %s.\r\n\r\n",
                      from, items[0].rcpt, n, n == 1 ? "" : "s", date, mid, cfg->server.hostname,
                      cfg->server.hostname, n, n == 1 ? "" : "s", since_s, until_s);
    int url_len = (int)strlen(cfg->web.url);
    while (url_len > 0 && cfg->web.url[url_len - 1] == '/')
        url_len--; /* "https://host/" + "/release" */
    size_t shown_n = n < DIGEST_ITEMS_MAX ? n : DIGEST_ITEMS_MAX;
    for (size_t i = 0; i < shown_n && rc == 0; i++) {
        const struct item *it = &items[i];
        char when[64];
        struct tm tm;
        gmtime_r(&it->received, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
        rc |= strbuf_printf(sb, "%zu. %s  (Mail ID %s)\r\n", i + 1, when, it->mail_id);
        rc |= shown(sb, "From:", it->from);
        rc |= shown(sb, "Subject:", it->subject);
        rc |= shown(sb, "Why:", it->why);
        if (it->releasable) {
            char token[RELEASE_TOKEN_MAX];
            if (release_token_make(key, key_len, it->mail_id, it->rcpt, (int64_t)expiry, token,
                                   sizeof(token)) == 0)
                rc |= strbuf_printf(sb, "   Release: %.*s/release?t=%s\r\n", url_len, cfg->web.url,
                                    token);
            else
                rc |= strbuf_puts(sb, "   Release: ask the administrator\r\n");
        } else {
            rc |= strbuf_puts(sb, "   Release: not by link (a virus); ask the administrator,\r\n"
                                  "            quoting the Mail ID\r\n");
        }
        rc |= strbuf_puts(sb, "\r\n");
    }
    if (n > shown_n)
        rc |= strbuf_printf(sb, "... and %zu more; ask the administrator.\r\n", n - shown_n);
    return rc;
}

static time_t last_run(const struct config *cfg, time_t now)
{
    char path[PATH_MAX + 32], buf[32];
    snprintf(path, sizeof(path), "%s/%s", cfg->deliver.quarantine_dir, STAMP_NAME);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return now - 24 * 3600;
    char *line = fgets(buf, sizeof(buf), f);
    fclose(f);
    char *end;
    long long v = line ? strtoll(line, &end, 10) : -1;
    if (line == NULL || v <= 0 || v > (long long)now)
        return now - 24 * 3600;
    return (time_t)v;
}

static int save_run(const struct config *cfg, time_t now)
{
    struct durable_file df;
    char text[32];
    int n = snprintf(text, sizeof(text), "%lld\n", (long long)now);
    if (durable_file_open(&df, cfg->deliver.quarantine_dir, NULL, STAMP_NAME) < 0)
        return -1;
    if (write_all(df.fd, text, (size_t)n) < 0) {
        durable_file_abort(&df);
        return -1;
    }
    return durable_file_commit(&df);
}

int cmd_digest(const struct config *cfg, int argc, char **argv)
{
    bool dry_run = false, since_given = false;
    unsigned since_s = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0) {
            dry_run = true;
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            if (config_parse_time(argv[++i], &since_s) < 0) {
                char b[64];
                fprintf(stderr, "lmtpscan: --since %s: not a time (e.g. 24h, 7d)\n",
                        admin_printable(argv[i], b, sizeof(b)));
                return ADMIN_BAD_INPUT;
            }
            since_given = true;
        } else {
            return usage();
        }
    }
    if (!dry_run && !net_address_is_set(&cfg->notify.method) &&
        !net_address_is_set(&cfg->deliver.relay)) {
        fprintf(stderr,
                "lmtpscan: digest: no [notify] method or [deliver] relay to send through\n");
        return ADMIN_BAD_INPUT;
    }
    unsigned char key[RELEASE_KEY_MAX];
    size_t key_len = 0;
    char err[512];
    if (release_key_load(cfg->web.secret_file, true, key, &key_len, err, sizeof(err)) < 0) {
        fprintf(stderr, "lmtpscan: [web] secret_file: %s\n", err);
        return ADMIN_FAILED;
    }
    time_t now = time(NULL);
    time_t since = since_given ? now - (time_t)since_s : last_run(cfg, now);

    struct items items = {0};
    if (collect(cfg, since, &items) < 0)
        return ADMIN_FAILED;
    int status = ADMIN_OK;
    size_t sent = 0;
    for (size_t i = 0; i < items.n;) {
        size_t j = i;
        while (j < items.n && strcasecmp(items.v[j].rcpt, items.v[i].rcpt) == 0)
            j++;
        struct strbuf sb;
        strbuf_init(&sb, DIGEST_MAIL_MAX);
        if (build_digest(cfg, key, key_len, items.v + i, j - i, since, now, &sb) != 0) {
            fprintf(stderr, "lmtpscan: digest for <%s>: too large\n", items.v[i].rcpt);
            status = ADMIN_FAILED;
        } else if (dry_run) {
            printf("----- digest to <%s> -----\n", items.v[i].rcpt);
            for (size_t k = 0; k < sb.len; k++) /* LF line ends on a terminal */
                if (!(sb.data[k] == '\r' && k + 1 < sb.len && sb.data[k + 1] == '\n'))
                    putchar(sb.data[k]);
        } else {
            struct notice_send_status st;
            char log_id[400];
            snprintf(log_id, sizeof(log_id), "digest <%s>", items.v[i].rcpt);
            notice_send(cfg, log_id, items.v[i].rcpt, sb.data, sb.len, &st);
            if (st.result == NOTICE_SENT) {
                sent++;
                printf("digest to <%s>: %zu message(s): sent: %s\n", items.v[i].rcpt, j - i,
                       st.text);
            } else {
                fprintf(stderr, "lmtpscan: digest to <%s> not sent: %s\n", items.v[i].rcpt,
                        st.text);
                /* 5xx is final for this run; anything else: try again next run */
                if (st.result != NOTICE_DROPPED)
                    status = ADMIN_FAILED;
            }
        }
        strbuf_free(&sb);
        i = j;
    }
    for (size_t i = 0; i < items.n; i++) {
        free(items.v[i].from);
        free(items.v[i].subject);
    }
    free(items.v);
    OPENSSL_cleanse(key, sizeof(key));
    if (!dry_run && status == ADMIN_OK && save_run(cfg, now) < 0) {
        fprintf(stderr, "lmtpscan: %s/%s: %s\n", cfg->deliver.quarantine_dir, STAMP_NAME,
                strerror(errno));
        status = ADMIN_FAILED;
    }
    if (!dry_run)
        printf("%zu digest(s) sent\n", sent);
    return status;
}
