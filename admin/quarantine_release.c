/*
 * quarantine_release: `lmtpscan quarantine release MAIL_ID [--rcpt
 * ADDR]...` delivers the quarantined message, unscanned, through the
 * configured delivery to the original recipients (from MAIL_ID.env) or the
 * given ones: maildir mode into each recipient's inbox (Maildir from the
 * deliver.maildir template), relay mode in one SMTP transaction to
 * deliver.relay with the original sender and DSN parameters. The copy is
 * the message as received with a Received field for the release
 * prepended and incoming verdict fields removed, as for any delivery.
 * Each recipient's outcome is printed ("ADDR: REPLY") and recorded as a
 * <release> in the message's XML report. The quarantine files are kept.
 *
 * quarantine_release_to() is the same for other callers (the web page):
 * who released it and where the outcome lines go are parameters.
 *
 * Exit status: 0 every recipient delivered, 1 some delivery failed, 2 bad
 * input (MAIL_ID, address, usage) or an unknown MAIL_ID; nothing is
 * delivered when the input is bad.
 */
#include "admin/admin_commands.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/message_header.h"
#include "common/spool.h"
#include "common/strbuf.h"
#include "common/text.h"
#include "common/xalloc.h"
#include "deliver/dispatch.h"
#include "deliver/maildir.h"
#include "deliver/quarantine_env.h"
#include "deliver/relay.h"
#include "deliver/report.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct target {
    char address[ADDRESS_MAX + 1];
    const struct quarantine_rcpt *original; /* DSN parameters, or NULL */
    char maildir[PATH_MAX];
};

/* A --rcpt value: <ADDR> or ADDR, printable, with a local part and a
 * domain. 0, or -1 with a message printed. */
static int check_address(const char *arg, char *out, size_t out_len)
{
    size_t len = strlen(arg);
    if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
        arg++;
        len -= 2;
    }
    const char *at = len > 0 ? memrchr(arg, '@', len) : NULL;
    bool ok = len > 0 && len <= ADDRESS_MAX && len < out_len && at != NULL && at != arg &&
              at != arg + len - 1;
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)arg[i] > 0x20 && arg[i] != 0x7F && arg[i] != '<' && arg[i] != '>';
    if (!ok) {
        char shown[ADDRESS_MAX + 1];
        fprintf(stderr, "lmtpscan: bad recipient address \"%s\"\n",
                admin_printable(arg, shown, sizeof(shown)));
        return -1;
    }
    memcpy(out, arg, len);
    out[len] = '\0';
    return 0;
}

static struct spool *spool_from_eml(const char *path, const char *spool_dir)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        fprintf(stderr, "lmtpscan: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct spool *sp = spool_new(spool_dir);
    if (spool_write_fd(sp, fd) < 0 || spool_finish(sp) < 0) {
        fprintf(stderr, "lmtpscan: %s: %s\n", path, strerror(errno));
        close(fd);
        spool_free(sp);
        return NULL;
    }
    close(fd);
    return sp;
}

static const char *release_user(void)
{
    const char *sudo = getenv("SUDO_USER");
    if (sudo != NULL && sudo[0] != '\0')
        return sudo;
    struct passwd *pw = getpwuid(getuid());
    return pw != NULL ? pw->pw_name : NULL;
}

/* The release as a transaction: the original sender and DSN parameters,
 * the targets as recipients, each one to be delivered (no policy: the
 * copy goes to the inbox unscanned), no client (no XFORWARD). */
static void release_envelope(const struct quarantine_env *q, const struct target *t, size_t n,
                             struct envelope *env)
{
    envelope_init(env);
    env->protocol = PROTO_LMTP;
    env->has_mail = true;
    snprintf(env->mail_from, sizeof(env->mail_from), "%s", q->sender);
    snprintf(env->envid, sizeof(env->envid), "%s", q->envid);
    snprintf(env->mail_id, sizeof(env->mail_id), "%s", q->mail_id);
    env->ret = q->ret;
    env->smtputf8 = text_has_8bit(q->sender, strlen(q->sender));
    for (size_t i = 0; i < n; i++) {
        struct recipient *r = envelope_add_rcpt(env);
        snprintf(r->address, sizeof(r->address), "%s", t[i].address);
        if (t[i].original != NULL) {
            snprintf(r->orcpt, sizeof(r->orcpt), "%s", t[i].original->orcpt);
            r->notify = t[i].original->notify;
        }
        r->maildir = t[i].maildir[0] != '\0' ? xstrdup(t[i].maildir) : NULL;
        r->verdict = VERDICT_UNCHECKED;
        r->action = ACTION_DELIVER;
        env->smtputf8 |= text_has_8bit(r->address, strlen(r->address));
    }
    clock_gettime(CLOCK_REALTIME, &env->received);
}

/* ---- the command ---- */

/* Parses "MAIL_ID [--rcpt ADDR]..." into targets (the original
 * recipients when none is given). ADMIN_OK or the exit status. */
static int collect_targets(const struct config *cfg, const struct quarantine_env *q, int argc,
                           char **argv, struct target **out, size_t *n_out)
{
    struct target *t = NULL;
    size_t n = 0, cap = 0;
    for (int i = 1; i < argc; i++) {
        const char *value;
        if (strcmp(argv[i], "--rcpt") == 0 && i + 1 < argc)
            value = argv[++i];
        else if (strncmp(argv[i], "--rcpt=", 7) == 0)
            value = argv[i] + 7;
        else
            goto bad_usage;
        t = xgrow(t, &cap, n + 1, sizeof(*t));
        memset(&t[n], 0, sizeof(t[n]));
        if (check_address(value, t[n].address, sizeof(t[n].address)) < 0)
            goto bad_input;
        for (size_t k = 0; k < q->n_rcpts; k++)
            if (strcasecmp(q->rcpts[k].address, t[n].address) == 0)
                t[n].original = &q->rcpts[k];
        n++;
    }
    if (n == 0) {
        for (size_t k = 0; k < q->n_rcpts; k++) {
            t = xgrow(t, &cap, n + 1, sizeof(*t));
            memset(&t[n], 0, sizeof(t[n]));
            snprintf(t[n].address, sizeof(t[n].address), "%s", q->rcpts[k].address);
            t[n].original = &q->rcpts[k];
            n++;
        }
    }
    if (n == 0) {
        fprintf(stderr, "lmtpscan: %s has no recipients; give --rcpt ADDR\n", q->mail_id);
        goto bad_input;
    }
    if (cfg->deliver.mode == DELIVER_MAILDIR) {
        for (size_t i = 0; i < n; i++) {
            struct address a;
            if (address_parse(&a, t[i].address, strlen(t[i].address),
                              cfg->deliver.recipient_delimiter,
                              cfg->server.hostname) != ADDRESS_OK ||
                maildir_path_expand(cfg->deliver.maildir, &a, t[i].maildir, sizeof(t[i].maildir)) !=
                    MAILDIR_PATH_OK) {
                char shown[ADDRESS_MAX + 1];
                fprintf(stderr, "lmtpscan: no safe Maildir for \"%s\"\n",
                        admin_printable(t[i].address, shown, sizeof(shown)));
                goto bad_input;
            }
        }
    }
    *out = t;
    *n_out = n;
    return ADMIN_OK;

bad_usage:
    fprintf(stderr, "usage: lmtpscan [-c FILE] quarantine release MAIL_ID [--rcpt ADDR]...\n");
bad_input:
    free(t);
    return ADMIN_BAD_INPUT;
}

static void record_releases(const struct config *cfg, const struct envelope *env, const char *by)
{
    if (cfg->report.dir[0] == '\0')
        return;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        char reply[OUTCOME_LINE_MAX];
        outcome_format(&r->outcome, r->address, env->mail_id, reply, sizeof(reply));
        struct report_release rel = {
            .at = time(NULL),
            .by = by,
            .rcpt = r->address,
            .reply = reply,
            .destination = r->destination,
        };
        char err[512];
        if (report_add_release(cfg, env->mail_id, &rel, err, sizeof(err)) < 0) {
            fprintf(stderr, "lmtpscan: warning: release not recorded: %s\n", err);
            return;
        }
    }
}

int quarantine_release(const struct config *cfg, int argc, char **argv)
{
    return quarantine_release_to(cfg, argc, argv, release_user(), stdout);
}

int quarantine_release_to(const struct config *cfg, int argc, char **argv, const char *by,
                          FILE *out)
{
    if (!admin_check_mail_id(argv[0]))
        return ADMIN_BAD_INPUT;
    struct quarantine_env q;
    char err[512];
    if (quarantine_env_load(cfg->deliver.quarantine_dir, argv[0], &q, err, sizeof(err)) < 0) {
        if (errno == ENOENT) {
            fprintf(stderr, "lmtpscan: no quarantined message %s in %s\n", argv[0],
                    cfg->deliver.quarantine_dir);
            return ADMIN_BAD_INPUT;
        }
        fprintf(stderr, "lmtpscan: %s\n", err);
        return ADMIN_FAILED;
    }
    struct target *t = NULL;
    size_t n = 0;
    int rc = collect_targets(cfg, &q, argc, argv, &t, &n);
    if (rc != ADMIN_OK)
        goto free_env;

    /* the daemon's spool directory may not be writable for the admin */
    const char *spool_dir = cfg->server.spool_dir;
    if (access(spool_dir, W_OK | X_OK) < 0)
        spool_dir = config_system_tmp_dir();
    char eml[PATH_MAX];
    snprintf(eml, sizeof(eml), "%s/%s.eml", cfg->deliver.quarantine_dir, q.mail_id);
    if (access(eml, F_OK) < 0 && errno == ENOENT) {
        fprintf(stderr, "lmtpscan: no quarantined message %s in %s (%s.eml is missing)\n",
                q.mail_id, cfg->deliver.quarantine_dir, q.mail_id);
        rc = ADMIN_BAD_INPUT;
        goto free_targets;
    }
    struct spool *sp = spool_from_eml(eml, spool_dir);
    if (sp == NULL) {
        rc = ADMIN_FAILED;
        goto free_targets;
    }
    struct message_header mh;
    memset(&mh, 0, sizeof(mh));
    if (message_header_read(sp, &mh) < 0) {
        fprintf(stderr, "lmtpscan: %s: %s\n", eml, strerror(errno));
        rc = ADMIN_FAILED;
        goto free_spool;
    }

    char date[64], received[512];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    snprintf(received, sizeof(received),
             "Received: by %s (lmtpscan) with quarantine release id %s;\r\n\t%s\r\n",
             cfg->server.hostname, q.mail_id, date);
    size_t received_len = strlen(received);
    struct dispatch_copy *copies = xcalloc(n, sizeof(*copies));
    for (size_t i = 0; i < n; i++)
        copies[i] = (struct dispatch_copy){.block = received, .block_len = received_len};
    struct envelope env;
    release_envelope(&q, t, n, &env);
    struct dispatch d = {
        .cfg = cfg,
        .env = &env,
        .msg = sp,
        .header = &mh,
        .copies = copies,
    };
    dispatch_run(&d);
    relay_pool_close_all();

    rc = ADMIN_OK;
    for (size_t i = 0; i < env.n_rcpts; i++) {
        const struct recipient *r = &env.rcpts[i];
        char reply[OUTCOME_LINE_MAX];
        outcome_format(&r->outcome, r->address, env.mail_id, reply, sizeof(reply));
        fprintf(out, "%s: %s\n", r->address, reply);
        if (outcome_class(&r->outcome) != 2) {
            rc = ADMIN_FAILED;
            if (r->outcome.detail[0] != '\0') {
                char shown[OUTCOME_DETAIL_MAX];
                fprintf(stderr, "lmtpscan: %s: %s\n", r->address,
                        admin_printable(r->outcome.detail, shown, sizeof(shown)));
            }
        }
    }
    if (fflush(out) != 0)
        rc = ADMIN_FAILED;
    record_releases(cfg, &env, by);
    envelope_free(&env);
    free(copies);
    message_header_free(&mh);
free_spool:
    spool_free(sp);
free_targets:
    free(t);
free_env:
    quarantine_env_free(&q);
    return rc;
}
