/*
 * report_store: where reports live (see report_store.h): report.dir/
 * YYYY-MM-DD/MAIL_ID.xml written through durable_file (temporary name,
 * fsync, rename, fsync of the directory; no link followed below
 * report.dir), and found again by MAIL_ID (report_find()).
 */
#include "deliver/report_store.h"
#include "common/fd_io.h"
#include "common/mail_id.h"
#include "deliver/durable_file.h"

#include <dirent.h>
#include <errno.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REPORT_MODE  0640
#define DAY_DIR_MODE 0750

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

void report_xml_init(void)
{
    (void)pthread_once(&xml_once, xml_init);
}

/* The day directory made (or found) last: every report of a day goes
 * there, so the mkdir is tried once a day, not once a message. Should it
 * vanish, report_store() makes it again. */
static pthread_mutex_t day_lock = PTHREAD_MUTEX_INITIALIZER;
static char day_made[PATH_MAX];

/* mkdir of base/day (path) with base fsync'ed when it was made; an
 * existing directory is fine. */
static int make_day_dir(const char *base, const char *path)
{
    pthread_mutex_lock(&day_lock);
    bool known = strcmp(day_made, path) == 0;
    pthread_mutex_unlock(&day_lock);
    if (known)
        return 0;
    if (mkdir(path, DAY_DIR_MODE) == 0) {
        if (fsync_dir(base) < 0)
            return -1;
    } else if (errno != EEXIST) {
        return -1;
    }
    pthread_mutex_lock(&day_lock);
    snprintf(day_made, sizeof(day_made), "%s", path);
    pthread_mutex_unlock(&day_lock);
    return 0;
}

static void forget_day_dir(void)
{
    pthread_mutex_lock(&day_lock);
    day_made[0] = '\0';
    pthread_mutex_unlock(&day_lock);
}

/* Stores data as base/day/name through durable_file (no link followed
 * below report.dir), mode REPORT_MODE. */
int report_store(const char *base, const char *day, const char *name, const char *data, size_t len,
                 char *path, size_t path_len)
{
    struct durable_file df;
    if (durable_file_open(&df, base, day, name) < 0) {
        if (errno != ENOENT)
            return -1;
        char dir[PATH_MAX];
        int n = snprintf(dir, sizeof(dir), "%s/%s", base, day);
        if (n < 0 || (size_t)n >= sizeof(dir))
            return -1;
        /* the day directory went away since it was made: once more */
        forget_day_dir();
        if (make_day_dir(base, dir) < 0 || durable_file_open(&df, base, day, name) < 0)
            return -1;
    }
    if (fchmod(df.fd, REPORT_MODE) < 0 || write_all(df.fd, data, len) < 0) {
        int saved = errno;
        durable_file_abort(&df);
        errno = saved;
        return -1;
    }
    if (durable_file_commit(&df) < 0)
        return -1;
    if (path != NULL)
        snprintf(path, path_len, "%s", df.final_path);
    return 0;
}

/* report.dir/YYYY-MM-DD into out (day gets YYYY-MM-DD), created (and
 * report.dir synced) when missing. mkdir makes no directory through a link
 * there (EEXIST): store() then refuses the link. */
int report_day_dir(const struct config *cfg, time_t when, char *day, size_t day_len, char *out,
                   size_t out_len)
{
    struct tm tm;
    gmtime_r(&when, &tm);
    if (strftime(day, day_len, "%Y-%m-%d", &tm) == 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int n = snprintf(out, out_len, "%s/%s", cfg->report.dir, day);
    if (n < 0 || (size_t)n >= out_len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return make_day_dir(cfg->report.dir, out);
}

static bool is_day_name(const char *s)
{
    /* YYYY-MM-DD */
    if (strlen(s) != 10)
        return false;
    for (size_t i = 0; i < 10; i++) {
        bool dash = i == 4 || i == 7;
        if (dash ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return false;
    }
    return true;
}

int report_find(const struct config *cfg, const char *mail_id, char *path, size_t path_len)
{
    if (!mail_id_valid(mail_id)) {
        errno = EINVAL;
        return -1;
    }
    if (cfg->report.dir[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    DIR *d = opendir(cfg->report.dir);
    if (d == NULL)
        return -1;
    char best[16] = "";
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_day_name(de->d_name))
            continue;
        char candidate[PATH_MAX];
        struct stat st;
        snprintf(candidate, sizeof(candidate), "%s/%s/%s.xml", cfg->report.dir, de->d_name,
                 mail_id);
        /* The latest day wins should the id ever repeat. */
        if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    }
    closedir(d);
    if (best[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    int n = snprintf(path, path_len, "%s/%s/%s.xml", cfg->report.dir, best, mail_id);
    if (n < 0 || (size_t)n >= path_len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

void report_format_time(const struct timespec *ts, char *out, size_t out_len)
{
    struct tm tm;
    char base[32];
    gmtime_r(&ts->tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, out_len, "%s.%03ldZ", base, (long)(ts->tv_nsec / 1000000));
}
