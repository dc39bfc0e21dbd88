/*
 * cmd_report: `lmtpscan report MAIL_ID` prints the message's XML report
 * (report.dir/YYYY-MM-DD/MAIL_ID.xml) as stored. Exit 0; 2 for a bad or
 * unknown MAIL_ID or reports turned off; 1 when the file cannot be read.
 * `lmtpscan report replay ...` is cmd_replay.c's.
 */
#include "admin/admin_commands.h"
#include "common/mail_id.h"
#include "deliver/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int copy_to_stdout(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "lmtpscan: %s: %s\n", path, strerror(errno));
        return ADMIN_FAILED;
    }
    char buf[65536];
    int rc = ADMIN_OK;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "lmtpscan: %s: %s\n", path, strerror(errno));
            rc = ADMIN_FAILED;
        }
        if (n <= 0)
            break;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
            rc = ADMIN_FAILED;
            break;
        }
    }
    close(fd);
    if (fflush(stdout) != 0)
        rc = ADMIN_FAILED;
    return rc;
}

int cmd_report(const struct config *cfg, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "replay") == 0)
        return cmd_report_replay(cfg, argc - 1, argv + 1);
    if (argc != 1) {
        fprintf(stderr, "usage: lmtpscan [-c FILE] report MAIL_ID\n");
        return ADMIN_BAD_INPUT;
    }
    if (!admin_check_mail_id(argv[0]))
        return ADMIN_BAD_INPUT;
    if (cfg->report.dir[0] == '\0') {
        fprintf(stderr, "lmtpscan: reports are off ([report] dir is empty in %s)\n", cfg->path);
        return ADMIN_BAD_INPUT;
    }
    char path[PATH_MAX];
    if (report_find(cfg, argv[0], path, sizeof(path)) < 0) {
        if (errno == ENOENT) {
            fprintf(stderr, "lmtpscan: no report for %s in %s\n", argv[0], cfg->report.dir);
            return ADMIN_BAD_INPUT;
        }
        fprintf(stderr, "lmtpscan: %s: %s\n", cfg->report.dir, strerror(errno));
        return ADMIN_FAILED;
    }
    return copy_to_stdout(path);
}
