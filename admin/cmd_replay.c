/*
 * cmd_replay: `lmtpscan report replay [-c NEW.conf] [--since AGE]
 * [--dir DIR] [--json]` (SPEC section 12). Streams the stored reports
 * (admin/report_reader.h, one report in memory at a time), and for each
 * message whose data arrived whole re-decides every recipient with the
 * new configuration's recipient map and policies by the daemon's own
 * code: policy_lookup(), policy_decide() and policy_smtp_defer() of
 * scan/policy.c on the scan result rebuilt from the report (stored
 * ClamAV result and virus names, stored spamd scores for the spamd user
 * the recipient had; nothing is rescanned). A recipient whose new policy
 * wants a scan the report does not hold is decided without it.
 *
 * Output: each changed recipient as it is found (MAIL_ID, address, old
 * and new action and verdict), then the table of action changes
 * (from -> to: count) and the totals; --json prints one JSON object with
 * the same data. Exit 0; 2 for bad usage, a bad NEW.conf, an unreadable
 * report directory or unreadable reports (after printing what was read).
 */
#include "admin/admin_commands.h"
#include "admin/report_reader.h"
#include "common/address.h"
#include "common/envelope.h"
#include "scan/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_ACTIONS (ACTION_TEMPFAIL + 1)

struct replay {
    const struct config *cfg; /* the new configuration */
    bool json;
    unsigned long reports, skipped, recipients, changed;
    unsigned long changes[N_ACTIONS][N_ACTIONS];
};

/* s as a JSON string body (quotes, backslashes, control bytes escaped). */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_change(struct replay *rp, const struct stored_report *r, size_t i,
                         const struct recipient *now)
{
    const struct stored_rcpt *was = &r->rcpts[i];
    if (rp->json) {
        printf("%s\n    {\"mail_id\": ", rp->changed > 1 ? "," : "");
        json_string(r->mail_id);
        printf(", \"rcpt\": ");
        json_string(was->address);
        printf(", \"from\": \"%s\", \"to\": \"%s\", \"verdict_from\": \"%s\", "
               "\"verdict_to\": \"%s\", \"policy\": ",
               action_name(was->action), action_name(now->action), verdict_name(was->verdict),
               verdict_name(now->verdict));
        json_string(now->policy->name);
        printf("}");
        return;
    }
    char shown[ADDRESS_MAX + 1];
    printf("%s <%s> %s -> %s (verdict %s -> %s, policy %s)\n", r->mail_id,
           admin_printable(was->address, shown, sizeof(shown)), action_name(was->action),
           action_name(now->action), verdict_name(was->verdict), verdict_name(now->verdict),
           now->policy->name);
}

/* The recipient's policy under cfg, from its canonical address made as
 * at RCPT (the default policy for one that no longer parses). */
static const struct policy *policy_of(const struct config *cfg, struct recipient *rc)
{
    bool maildir_mode = cfg->deliver.mode == DELIVER_MAILDIR;
    if (address_parse(&rc->addr, rc->address, strlen(rc->address), cfg->deliver.recipient_delimiter,
                      maildir_mode ? cfg->server.hostname : NULL) == ADDRESS_OK)
        return policy_lookup(cfg, &rc->addr);
    const struct policy *p = config_find_policy(cfg, "default");
    return p != NULL ? p : config_default_policy();
}

static int replay_one(const struct stored_report *r, void *arg)
{
    struct replay *rp = arg;
    rp->reports++;
    if (!r->whole) {
        rp->skipped++; /* too big or a spool error: no decision was made */
        return 0;
    }
    struct envelope env;
    envelope_init(&env);
    env.protocol = r->protocol;
    for (size_t i = 0; i < r->n_rcpts; i++) {
        struct recipient *rc = envelope_add_rcpt(&env);
        snprintf(rc->address, sizeof(rc->address), "%s", r->rcpts[i].address);
        rc->policy = policy_of(rp->cfg, rc);
    }
    policy_decide(&env, &r->res);
    policy_smtp_defer(&env);
    for (size_t i = 0; i < r->n_rcpts; i++) {
        const struct recipient *now = &env.rcpts[i];
        rp->recipients++;
        rp->changes[r->rcpts[i].action][now->action]++;
        if (now->action != r->rcpts[i].action) {
            rp->changed++;
            print_change(rp, r, i, now);
        }
    }
    envelope_free(&env);
    return 0;
}

static void print_summary(const struct replay *rp)
{
    if (rp->json) {
        printf("%s\n  ],\n  \"changes\": [", rp->changed ? "" : "");
        bool first = true;
        for (int f = 0; f < N_ACTIONS; f++)
            for (int t = 0; t < N_ACTIONS; t++)
                if (f != t && rp->changes[f][t] > 0) {
                    printf("%s\n    {\"from\": \"%s\", \"to\": \"%s\", \"count\": %lu}",
                           first ? "" : ",", action_name((enum action)f),
                           action_name((enum action)t), rp->changes[f][t]);
                    first = false;
                }
        printf("\n  ],\n  \"reports\": %lu,\n  \"skipped\": %lu,\n  \"recipients\": %lu,\n"
               "  \"changed\": %lu\n}\n",
               rp->reports, rp->skipped, rp->recipients, rp->changed);
        return;
    }
    printf("%sactions (from -> to: recipients)\n", rp->changed ? "\n" : "");
    for (int f = 0; f < N_ACTIONS; f++)
        for (int t = 0; t < N_ACTIONS; t++)
            if (f != t && rp->changes[f][t] > 0)
                printf("  %-10s -> %-10s %lu\n", action_name((enum action)f),
                       action_name((enum action)t), rp->changes[f][t]);
    printf("%lu reports (%lu not decided: data not received whole), %lu recipients, "
           "%lu would change\n",
           rp->reports, rp->skipped, rp->recipients, rp->changed);
}

static void usage(void)
{
    fprintf(stderr, "usage: lmtpscan [-c FILE] report replay [-c NEW.conf] [--since AGE] "
                    "[--dir DIR] [--json]\n");
}

int cmd_report_replay(const struct config *cfg, int argc, char **argv)
{
    const char *new_path = NULL, *dir = cfg->report.dir;
    time_t since = 0;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
            new_path = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--dir") == 0) {
            dir = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--since") == 0) {
            if (report_parse_since(argv[++i], time(NULL), &since) < 0) {
                fprintf(stderr, "lmtpscan: --since wants a number and s, m, h or d (e.g. 7d)\n");
                return ADMIN_BAD_INPUT;
            }
        } else {
            usage();
            return ADMIN_BAD_INPUT;
        }
    }
    if (dir[0] == '\0') {
        fprintf(stderr, "lmtpscan: reports are off ([report] dir is empty); use --dir DIR\n");
        return ADMIN_BAD_INPUT;
    }
    struct config *loaded = NULL;
    char err[1024];
    if (new_path != NULL && config_load(new_path, &loaded, err, sizeof(err)) < 0) {
        fprintf(stderr, "lmtpscan: %s\n", err);
        return ADMIN_BAD_INPUT;
    }
    struct replay rp = {.cfg = loaded != NULL ? loaded : cfg, .json = json};
    if (json)
        printf("{\n  \"changed_recipients\": [");
    long unreadable = report_walk(dir, since, replay_one, &rp, err, sizeof(err));
    if (unreadable < 0) {
        if (json)
            printf("]}\n");
        fprintf(stderr, "lmtpscan: %s\n", err);
        config_free(loaded);
        return ADMIN_BAD_INPUT;
    }
    print_summary(&rp);
    fflush(stdout);
    config_free(loaded);
    if (unreadable > 0) {
        fprintf(stderr, "lmtpscan: %ld unreadable report(s)\n", unreadable);
        return ADMIN_BAD_INPUT;
    }
    return ADMIN_OK;
}
