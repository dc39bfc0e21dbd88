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
 * Exit status: 0 every recipient delivered, 1 some delivery failed, 2 bad
 * input (MAIL_ID, address, usage) or an unknown MAIL_ID; nothing is
 * delivered when the input is bad.
 */
#include "admin/admin_commands.h"
#include "common/envelope.h"
#include "common/message_header.h"
#include "common/spool.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "deliver/maildir.h"
#include "deliver/message_copy.h"
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
    char reply[REPLY_MAX];
    char destination[PATH_MAX];
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

/* ---- maildir mode ---- */

static int copy_writer(int fd, void *arg)
{
    return message_copy_write(arg, copy_sink_fd, &fd);
}

static void release_maildir(const struct config *cfg, const char *mail_id, struct target *t,
                            const struct message_copy *mc)
{
    char err[256] = "", root[PATH_MAX];
    struct message_copy copy = *mc;
    maildir_root(cfg->deliver.maildir, root, sizeof(root));
    enum maildir_result res =
        maildir_deliver(root, t->maildir, NULL, cfg->deliver.maildir_create, copy_writer, &copy,
                        t->destination, sizeof(t->destination), err, sizeof(err));
    switch (res) {
    case MAILDIR_OK:
        snprintf(t->reply, sizeof(t->reply), "250 2.0.0 <%s> %s delivered", t->address, mail_id);
        return;
    case MAILDIR_MISSING:
        snprintf(t->reply, sizeof(t->reply), "550 5.1.1 <%s> User unknown (no mailbox)",
                 t->address);
        break;
    case MAILDIR_DISK_FULL:
        snprintf(t->reply, sizeof(t->reply), "452 4.3.1 <%s> insufficient system storage",
                 t->address);
        break;
    case MAILDIR_IO_ERROR:
        snprintf(t->reply, sizeof(t->reply), "451 4.3.0 <%s> local error (%s)", t->address, err);
        break;
    }
    t->destination[0] = '\0';
}

/* ---- relay mode ---- */

struct body_arg {
    const struct message_copy *mc;
};

static int write_body(void *arg, copy_sink_fn sink, void *sink_arg)
{
    const struct body_arg *b = arg;
    return message_copy_write(b->mc, sink, sink_arg);
}

static bool has_8bit(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

static void release_relay(const struct config *cfg, const struct quarantine_env *q,
                          struct target *t, size_t n, const struct spool *sp,
                          const struct message_copy *mc)
{
    struct relay_rcpt *rr = xcalloc(n, sizeof(*rr));
    bool utf8 = has_8bit(q->sender);
    for (size_t i = 0; i < n; i++) {
        rr[i].address = t[i].address;
        rr[i].orcpt = t[i].original != NULL ? t[i].original->orcpt : NULL;
        rr[i].notify = t[i].original != NULL ? t[i].original->notify : 0;
        utf8 |= has_8bit(t[i].address);
    }
    struct body_arg body = {.mc = mc};
    struct relay_job job = {
        .log_id = q->mail_id,
        .mail_from = q->sender,
        .size = spool_size(sp),
        .eight_bit = relay_spool_is_8bit(sp),
        .smtputf8 = utf8,
        .ret = q->ret,
        .envid = q->envid,
        .xforward = NULL,
        .rcpts = rr,
        .n_rcpts = n,
        .write_body = write_body,
        .body_arg = &body,
    };
    relay_send(cfg, &job);
    for (size_t i = 0; i < n; i++) {
        const struct relay_rcpt *r = &rr[i];
        switch (r->status) {
        case RELAY_ACCEPTED:
            snprintf(t[i].reply, sizeof(t[i].reply), "250 2.0.0 <%s> %s relayed (%s)", t[i].address,
                     q->mail_id, r->text);
            snprintf(t[i].destination, sizeof(t[i].destination), "%d %s %s", r->code, r->enhanced,
                     r->text);
            break;
        case RELAY_REFUSED:
            snprintf(t[i].reply, sizeof(t[i].reply), "%d %s <%s> relay refused (%s)", r->code,
                     r->enhanced, t[i].address, r->text);
            break;
        case RELAY_PENDING:
        case RELAY_UNAVAILABLE:
            snprintf(t[i].reply, sizeof(t[i].reply), "451 4.4.1 <%s> relay unavailable (%s)",
                     t[i].address, job.error);
            break;
        }
    }
    free(rr);
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

static void record_releases(const struct config *cfg, const char *mail_id, const struct target *t,
                            size_t n)
{
    if (cfg->report.dir[0] == '\0')
        return;
    const char *by = release_user();
    for (size_t i = 0; i < n; i++) {
        struct report_release rel = {
            .at = time(NULL),
            .by = by,
            .rcpt = t[i].address,
            .reply = t[i].reply,
            .destination = t[i].destination,
        };
        char err[512];
        if (report_add_release(cfg, mail_id, &rel, err, sizeof(err)) < 0) {
            fprintf(stderr, "lmtpscan: warning: release not recorded: %s\n", err);
            return;
        }
    }
}

int quarantine_release(const struct config *cfg, int argc, char **argv)
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
    if (access(spool_dir, W_OK | X_OK) < 0) {
        const char *tmp = getenv("TMPDIR");
        spool_dir = tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
    }
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
    struct message_copy mc = {
        .msg = sp,
        .header = &mh,
        .prepend = received,
        .prepend_len = strlen(received),
        .drop_subject = false,
        .line_ends = cfg->deliver.mode == DELIVER_MAILDIR ? LINE_ENDS_LF : LINE_ENDS_CRLF,
    };
    if (cfg->deliver.mode == DELIVER_MAILDIR) {
        for (size_t i = 0; i < n; i++)
            release_maildir(cfg, q.mail_id, &t[i], &mc);
    } else {
        release_relay(cfg, &q, t, n, sp, &mc);
        relay_pool_close_all();
    }

    rc = ADMIN_OK;
    for (size_t i = 0; i < n; i++) {
        printf("%s: %s\n", t[i].address, t[i].reply);
        if (t[i].reply[0] != '2')
            rc = ADMIN_FAILED;
    }
    if (fflush(stdout) != 0)
        rc = ADMIN_FAILED;
    record_releases(cfg, q.mail_id, t, n);
    message_header_free(&mh);
free_spool:
    spool_free(sp);
free_targets:
    free(t);
free_env:
    quarantine_env_free(&q);
    return rc;
}
