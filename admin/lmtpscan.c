/*
 * lmtpscan: the administration tool. `lmtpscan [-c FILE] SUBCOMMAND ...`
 * with the subcommands in a table: scan (here), quarantine list, show,
 * release and delete (cmd_quarantine.c, quarantine_release.c), report
 * (cmd_report.c), report replay (cmd_replay.c), stats (cmd_stats.c),
 * digest (cmd_digest.c) and web (web.c).
 *
 * scan FILE...: runs the daemon's scanning pipeline (same configuration,
 * same ClamAV engine and spamd requests) on message files, as if each were
 * received for one pseudo recipient with the "default" policy, and prints
 * one line per file:
 *   FILE: clamav=clean|infected(NAME)|limits|error(REASON)|not-run
 *         spamd=ham|spam|skipped|error(REASON)|not-run score=S/R
 * then one line per file inside that the default policy bans or that is
 * encrypted (SPEC section 10):
 *   FILE: banned PATH type=TYPE rule=RULE [encrypted]
 *   FILE: encrypted PATH type=TYPE
 * Exit status: 0 all clean, 1 something found (virus, spam or a banned
 * file), 2 an error
 * (bad usage, configuration, unreadable file, scanner failure).
 */
#include "admin/admin_commands.h"
#include "common/clamav_types.h"
#include "common/config.h"
#include "common/content_rules.h"
#include "common/envelope.h"
#include "common/log.h"
#include "common/spool.h"
#include "scan/policy.h"
#include "scan/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/lmtpscan/lmtpscan.conf"
#define PSEUDO_RCPT    "postmaster@localhost"

enum { EXIT_CLEAN = 0, EXIT_FOUND = 1, EXIT_ERROR = 2 };

struct subcommand {
    const char *name;
    const char *usage;
    int (*run)(const struct config *cfg, int argc, char **argv);
};

/* ---- scan ------------------------------------------------------------- */

/* Reads path into a new spool; NULL with a message on stderr. */
static struct spool *spool_from_file(const char *path, const char *spool_dir)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "lmtpscan: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct spool *sp = spool_new(spool_dir);
    if (spool_write_fd(sp, fd) < 0 || spool_finish(sp) < 0) {
        fprintf(stderr, "lmtpscan: %s: spooling into %s: %s\n", path, spool_dir, strerror(errno));
        close(fd);
        spool_free(sp);
        return NULL;
    }
    close(fd);
    return sp;
}

/* Prints the result line; returns the file's exit status. */
static int print_result(const struct config *cfg, const char *path, const struct scan_result *res)
{
    const struct clamav_result *cr = &res->clamav;
    int status = EXIT_CLEAN;

    printf("%s: clamav=", path);
    switch (cr->status) {
    case CLAMAV_NOT_RUN:
        printf("not-run");
        break;
    case CLAMAV_CLEAN:
        printf("clean");
        break;
    case CLAMAV_INFECTED:
        printf("infected(%s)", cr->virus);
        status = EXIT_FOUND;
        break;
    case CLAMAV_LIMITS:
        printf("limits");
        break;
    case CLAMAV_ERROR:
        printf("error(%s)", cr->reason);
        break;
    }

    const struct spamd_result *sr =
        res->n_spamd > 0 && res->rcpt_spamd[0] != SIZE_MAX ? &res->spamd[res->rcpt_spamd[0]] : NULL;
    printf(" spamd=");
    if (sr == NULL || sr->status == SPAMD_NOT_RUN) {
        printf("not-run");
    } else if (sr->status == SPAMD_HAM || sr->status == SPAMD_SPAM) {
        printf("%s score=%.1f/%.1f", sr->status == SPAMD_SPAM ? "spam" : "ham", sr->score,
               sr->required);
        if (sr->status == SPAMD_SPAM)
            status = EXIT_FOUND;
    } else if (sr->status == SPAMD_SKIPPED) {
        printf("skipped");
    } else {
        printf("error(%s)", sr->error);
    }
    printf("\n");

    /* the banned (under the default policy) and encrypted files */
    const struct policy *p = config_find_policy(cfg, "default");
    if (p == NULL)
        p = config_default_policy();
    for (size_t f = 0; f < cr->inventory.n; f++) {
        const char *rule = p->virus_scan ? content_banned_rule(p, &cr->inventory, f) : NULL;
        bool encrypted = (cr->inventory.files[f].flags & FILE_ENCRYPTED) != 0;
        if (rule == NULL && !encrypted)
            continue;
        char fpath[INVENTORY_PATH_MAX + 1];
        content_path_ascii(file_inventory_path(&cr->inventory, f), fpath, sizeof(fpath));
        const char *type = clamav_type_name(cr->inventory.files[f].type);
        if (rule != NULL) {
            printf("%s: banned %s type=%s rule=%s%s\n", path, fpath, type[0] ? type : "-", rule,
                   encrypted ? " encrypted" : "");
            status = EXIT_FOUND;
        } else {
            printf("%s: encrypted %s type=%s\n", path, fpath, type[0] ? type : "-");
        }
    }

    if (cr->status == CLAMAV_ERROR || (sr != NULL && sr->status == SPAMD_ERROR))
        return EXIT_ERROR;
    return status;
}

static int cmd_scan(const struct config *cfg, int argc, char **argv)
{
    char err[512];
    struct scan_engine *se;
    const char *spool_dir = cfg->server.spool_dir;
    int worst = EXIT_CLEAN;

    if (argc < 1) {
        fprintf(stderr, "usage: lmtpscan [-c FILE] scan FILE...\n");
        return EXIT_ERROR;
    }
    /* the daemon's spool directory may not be writable for the admin */
    if (access(spool_dir, W_OK | X_OK) < 0)
        spool_dir = config_system_tmp_dir();
    se = scan_engine_new(cfg, err, sizeof(err));
    if (se == NULL) {
        fprintf(stderr, "lmtpscan: %s\n", err);
        return EXIT_ERROR;
    }

    for (int i = 0; i < argc; i++) {
        struct envelope env;
        struct scan_result res;
        struct spool *sp = spool_from_file(argv[i], spool_dir);
        int rc;

        if (sp == NULL) {
            worst = EXIT_ERROR;
            continue;
        }
        envelope_init(&env);
        struct recipient *r = envelope_add_rcpt(&env);
        snprintf(r->address, sizeof(r->address), "%s", PSEUDO_RCPT);
        if (address_parse(&r->addr, PSEUDO_RCPT, strlen(PSEUDO_RCPT),
                          cfg->deliver.recipient_delimiter, NULL) != ADDRESS_OK)
            abort(); /* a fixed, valid address */
        r->policy = config_find_policy(cfg, "default");
        if (r->policy == NULL)
            r->policy = policy_lookup(cfg, &r->addr);
        scan_message(se, cfg, &env, sp, &res);
        rc = print_result(cfg, argv[i], &res);
        if (rc > worst)
            worst = rc;
        scan_result_free(&res);
        envelope_free(&env);
        spool_free(sp);
    }
    fflush(stdout);
    scan_engine_free(se);
    return worst;
}

/* ---- main ------------------------------------------------------------- */

static const struct subcommand subcommands[] = {
    {"scan", "scan FILE...", cmd_scan},
    {"quarantine", "quarantine list [--json] | show|release|delete MAIL_ID", cmd_quarantine},
    {"report", "report MAIL_ID | report replay [-c NEW.conf] [--since AGE] [--dir DIR] [--json]",
     cmd_report},
    {"stats", "stats [--since AGE] [--dir DIR]", cmd_stats},
    {"digest", "digest [--since TIME] [--dry-run]", cmd_digest},
    {"web", "web", cmd_web},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: lmtpscan [-c FILE] SUBCOMMAND ...\nsubcommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(out, "  %s\n", subcommands[i].usage);
}

int main(int argc, char **argv)
{
    const char *path = DEFAULT_CONFIG;
    struct config *cfg = NULL;
    char err[1024];
    int opt, rc;

    while ((opt = getopt(argc, argv, "+c:h")) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_CLEAN;
        default:
            usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_ERROR;
    }

    const struct subcommand *cmd = NULL;
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(subcommands[i].name, argv[optind]) == 0)
            cmd = &subcommands[i];
    if (cmd == NULL) {
        fprintf(stderr, "lmtpscan: unknown subcommand \"%s\"\n", argv[optind]);
        usage(stderr);
        return EXIT_ERROR;
    }

    log_open("lmtpscan", LOG_TO_STDERR);
    if (config_load(path, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "lmtpscan: %s\n", err);
        return EXIT_ERROR;
    }
    rc = cmd->run(cfg, argc - optind - 1, argv + optind + 1);
    config_free(cfg);
    return rc;
}
