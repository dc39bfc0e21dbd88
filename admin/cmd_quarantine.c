/*
 * cmd_quarantine: `lmtpscan quarantine list [--json] | show MAIL_ID |
 * release MAIL_ID [--rcpt ADDR]... | delete MAIL_ID` over
 * deliver.quarantine_dir (MAIL_ID.eml + MAIL_ID.env, see
 * deliver/quarantine.h). release is in quarantine_release.c.
 *
 * list: one line per quarantined message, tab-separated: MAIL_ID,
 * received (UTC), <sender>, recipients (comma-separated), reason; oldest
 * first. --json: one array of objects {mail_id, received, sender,
 * recipients, reason, size}. show: the envelope, then the header section
 * of the message (control bytes shown as '?'). delete: removes both files.
 *
 * Exit status as in admin_commands.h; an unknown MAIL_ID is bad input (2).
 */
#include "admin/admin_commands.h"
#include "common/mail_id.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "deliver/durable_file.h"
#include "deliver/quarantine_env.h"
#include "deliver/xml_text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHOW_HEADER_MAX (1024 * 1024) /* bytes of header section shown */

static const char usage_text[] = "usage: lmtpscan [-c FILE] quarantine list [--json]\n"
                                 "       lmtpscan [-c FILE] quarantine show MAIL_ID\n"
                                 "       lmtpscan [-c FILE] quarantine release MAIL_ID "
                                 "[--rcpt ADDR]...\n"
                                 "       lmtpscan [-c FILE] quarantine delete MAIL_ID\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return ADMIN_BAD_INPUT;
}

/* ---- list ---- */

struct entry {
    struct quarantine_env env;
    long long size; /* of the .eml, -1 when missing */
};

static int compare_entries(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->env.received, y->env.received);
    return c != 0 ? c : strcmp(x->env.mail_id, y->env.mail_id);
}

/* A JSON string: valid UTF-8 first (xml_text), then escaped. */
static void json_string(const char *s)
{
    char *clean = xml_text_dup(s, strlen(s), 64 * 1024, NULL);
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)clean; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
    free(clean);
}

static void print_json(const struct entry *e, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++) {
        const struct quarantine_env *q = &e[i].env;
        printf("%s\n  {\"mail_id\": ", i ? "," : "");
        json_string(q->mail_id);
        printf(", \"received\": ");
        json_string(q->received);
        printf(", \"sender\": ");
        json_string(q->sender);
        printf(", \"recipients\": [");
        for (size_t k = 0; k < q->n_rcpts; k++) {
            printf("%s", k ? ", " : "");
            json_string(q->rcpts[k].address);
        }
        printf("], \"reason\": ");
        json_string(q->reason);
        printf(", \"size\": %lld}", e[i].size);
    }
    printf("%s]\n", n ? "\n" : "");
}

static void print_lines(const struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct quarantine_env *q = &e[i].env;
        printf("%s\t%s\t<%s>\t", q->mail_id, q->received, q->sender);
        for (size_t k = 0; k < q->n_rcpts; k++)
            printf("%s<%s>", k ? "," : "", q->rcpts[k].address);
        printf("\t%s\n", q->reason);
    }
}

static int quarantine_list(const struct config *cfg, int argc, char **argv)
{
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else
            return usage();
    }
    const char *dir = cfg->deliver.quarantine_dir;
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "lmtpscan: %s: %s\n", dir, strerror(errno));
        return ADMIN_FAILED;
    }
    struct entry *entries = NULL;
    size_t n = 0, cap = 0;
    int rc = ADMIN_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char id[MAIL_ID_LEN + 1];
        if (strlen(de->d_name) != MAIL_ID_LEN + 4 || strcmp(de->d_name + MAIL_ID_LEN, ".env") != 0)
            continue;
        memcpy(id, de->d_name, MAIL_ID_LEN);
        id[MAIL_ID_LEN] = '\0';
        if (!mail_id_valid(id))
            continue;
        entries = xgrow(entries, &cap, n + 1, sizeof(*entries));
        char err[512];
        if (quarantine_env_load(dir, id, &entries[n].env, err, sizeof(err)) < 0) {
            if (errno == ENOENT)
                continue; /* deleted meanwhile */
            fprintf(stderr, "lmtpscan: skipped: %s\n", err);
            rc = ADMIN_FAILED;
            continue;
        }
        char eml[PATH_MAX];
        struct stat st;
        snprintf(eml, sizeof(eml), "%s/%s.eml", dir, id);
        entries[n].size = stat(eml, &st) == 0 ? (long long)st.st_size : -1;
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(entries, n, sizeof(*entries), compare_entries);
    if (json)
        print_json(entries, n);
    else
        print_lines(entries, n);
    for (size_t i = 0; i < n; i++)
        quarantine_env_free(&entries[i].env);
    free(entries);
    if (fflush(stdout) != 0)
        rc = ADMIN_FAILED;
    return rc;
}

/* ---- show ---- */

/* Loads the envelope of a quarantined MAIL_ID, with the messages an
 * unknown or damaged one deserves. Returns ADMIN_OK or the exit status. */
static int load_entry(const struct config *cfg, const char *id, struct quarantine_env *q)
{
    if (!admin_check_mail_id(id))
        return ADMIN_BAD_INPUT;
    char err[512];
    if (quarantine_env_load(cfg->deliver.quarantine_dir, id, q, err, sizeof(err)) < 0) {
        if (errno == ENOENT) {
            fprintf(stderr, "lmtpscan: no quarantined message %s in %s\n", id,
                    cfg->deliver.quarantine_dir);
            return ADMIN_BAD_INPUT;
        }
        fprintf(stderr, "lmtpscan: %s\n", err);
        return ADMIN_FAILED;
    }
    return ADMIN_OK;
}

/* Prints the header section of the .eml: lines up to the first empty
 * one, CRLF as LF, control bytes but TAB as '?'. */
static int show_header(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "lmtpscan: %s: %s\n", path, strerror(errno));
        return ADMIN_FAILED;
    }
    size_t total = 0, line_len = 0;
    int c, prev = '\n';
    while ((c = getc(f)) != EOF && total < SHOW_HEADER_MAX) {
        total++;
        if (c == '\r')
            continue;
        if (c == '\n') {
            if (line_len == 0 && prev == '\n')
                break; /* the blank line ends the header */
            putchar('\n');
            line_len = 0;
            prev = '\n';
            continue;
        }
        putchar((c < 0x20 && c != '\t') || c == 0x7F ? '?' : c);
        line_len++;
        prev = c;
    }
    if (line_len > 0)
        putchar('\n');
    int rc = ferror(f) ? ADMIN_FAILED : ADMIN_OK;
    fclose(f);
    return rc;
}

static int quarantine_show(const struct config *cfg, int argc, char **argv)
{
    if (argc != 1)
        return usage();
    struct quarantine_env q;
    int rc = load_entry(cfg, argv[0], &q);
    if (rc != ADMIN_OK)
        return rc;
    char eml[PATH_MAX];
    struct stat st;
    snprintf(eml, sizeof(eml), "%s/%s.eml", cfg->deliver.quarantine_dir, q.mail_id);
    printf("Mail-ID: %s\nReceived: %s\nSender: <%s>\nRecipients:", q.mail_id, q.received, q.sender);
    for (size_t k = 0; k < q.n_rcpts; k++)
        printf("%s <%s>", k ? "," : "", q.rcpts[k].address);
    printf("\nReason: %s\n", q.reason);
    if (q.envid[0])
        printf("Envid: %s\n", q.envid);
    if (q.ret != DSN_RET_UNSPECIFIED)
        printf("Ret: %s\n", q.ret == DSN_RET_FULL ? "FULL" : "HDRS");
    if (stat(eml, &st) == 0)
        printf("Size: %lld\nFile: %s\n\n", (long long)st.st_size, eml);
    rc = show_header(eml);
    quarantine_env_free(&q);
    if (fflush(stdout) != 0)
        rc = ADMIN_FAILED;
    return rc;
}

/* ---- delete ---- */

static int quarantine_delete(const struct config *cfg, int argc, char **argv)
{
    if (argc != 1)
        return usage();
    const char *id = argv[0];
    if (!admin_check_mail_id(id))
        return ADMIN_BAD_INPUT;
    const char *dir = cfg->deliver.quarantine_dir;
    char env_path[PATH_MAX], eml_path[PATH_MAX];
    snprintf(env_path, sizeof(env_path), "%s/%s.env", dir, id);
    snprintf(eml_path, sizeof(eml_path), "%s/%s.eml", dir, id);
    /* the .env first: a message without it is no longer listed */
    bool had_env = unlink(env_path) == 0;
    int env_errno = errno;
    bool had_eml = unlink(eml_path) == 0;
    int eml_errno = errno;
    if (!had_env && !had_eml && env_errno == ENOENT && eml_errno == ENOENT) {
        fprintf(stderr, "lmtpscan: no quarantined message %s in %s\n", id, dir);
        return ADMIN_BAD_INPUT;
    }
    int rc = ADMIN_OK;
    if (!had_env && env_errno != ENOENT) {
        fprintf(stderr, "lmtpscan: %s: %s\n", env_path, strerror(env_errno));
        rc = ADMIN_FAILED;
    }
    if (!had_eml && eml_errno != ENOENT) {
        fprintf(stderr, "lmtpscan: %s: %s\n", eml_path, strerror(eml_errno));
        rc = ADMIN_FAILED;
    }
    if (fsync_dir(dir) < 0) {
        fprintf(stderr, "lmtpscan: %s: %s\n", dir, strerror(errno));
        rc = ADMIN_FAILED;
    }
    if (rc == ADMIN_OK)
        printf("%s: deleted\n", id);
    return rc;
}

int cmd_quarantine(const struct config *cfg, int argc, char **argv)
{
    if (argc < 1)
        return usage();
    const char *sub = argv[0];
    if (strcmp(sub, "list") == 0)
        return quarantine_list(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0)
        return quarantine_show(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "delete") == 0)
        return quarantine_delete(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "release") == 0) {
        if (argc < 2)
            return usage();
        return quarantine_release(cfg, argc - 1, argv + 1);
    }
    char shown[64];
    fprintf(stderr, "lmtpscan: unknown quarantine command \"%s\"\n",
            admin_printable(sub, shown, sizeof(shown)));
    return usage();
}
