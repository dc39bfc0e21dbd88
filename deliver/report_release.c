/*
 * report_release: `lmtpscan quarantine release` records each delivery as
 * a <release> element of the message's existing report (see report.h):
 * parse, add, rewrite atomically, with the day directory locked so
 * concurrent releases of one message do not lose each other's records.
 */
#include "deliver/report.h"
#include "common/xalloc.h"
#include "deliver/report_store.h"
#include "deliver/xml_text.h"

#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define ATTR_MAX 4096 /* bound of an attribute value */

/* Sets a sanitised attribute on a tree node; false when libxml2 fails. */
static bool set_prop(xmlNodePtr node, const char *name, const char *value)
{
    char *clean = xml_text_dup(value, strlen(value), ATTR_MAX, NULL);
    bool ok = xmlNewProp(node, X(name), X(clean)) != NULL;
    free(clean);
    return ok;
}

/* path: report_dir/DAY/NAME as report_find() gave it. */
static int add_release_locked(const char *report_dir, const char *path,
                              const struct report_release *rel, char *err, size_t err_len)
{
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (doc == NULL) {
        snprintf(err, err_len, "%s: not a readable XML report", path);
        return -1;
    }
    int rc = -1;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root == NULL || root->ns == NULL || xmlStrcmp(root->name, X("report")) != 0 ||
        xmlStrcmp(root->ns->href, X(REPORT_NAMESPACE)) != 0) {
        snprintf(err, err_len, "%s: not an lmtpscan report", path);
        goto free_doc;
    }
    xmlNodePtr node = xmlNewChild(root, root->ns, X("release"), NULL);
    char when[64];
    struct timespec ts = {.tv_sec = rel->at, .tv_nsec = 0};
    report_format_time(&ts, when, sizeof(when));
    bool ok = node != NULL && set_prop(node, "at", when);
    if (ok && rel->by != NULL && rel->by[0] != '\0')
        ok = set_prop(node, "by", rel->by);
    ok = ok && set_prop(node, "rcpt", rel->rcpt) && set_prop(node, "reply", rel->reply);
    if (ok && rel->destination != NULL && rel->destination[0] != '\0')
        ok = set_prop(node, "destination", rel->destination);
    if (!ok) {
        snprintf(err, err_len, "libxml2: cannot add the release");
        goto free_doc;
    }
    xmlChar *mem = NULL;
    int len = 0;
    xmlDocDumpFormatMemoryEnc(doc, &mem, &len, "UTF-8", 1);
    if (mem == NULL || len <= 0) {
        xmlFree(mem);
        snprintf(err, err_len, "libxml2: cannot serialise the report");
        goto free_doc;
    }
    /* DAY and NAME back out of the path, the day walked without links */
    size_t n = strlen(report_dir);
    char day[PATH_MAX] = "";
    if (strncmp(path, report_dir, n) == 0 && path[n] == '/')
        snprintf(day, sizeof(day), "%s", path + n + 1);
    char *slash = strrchr(day, '/');
    if (slash == NULL) {
        xmlFree(mem);
        snprintf(err, err_len, "%s: not a report path below %s", path, report_dir);
        goto free_doc;
    }
    *slash = '\0';
    if (report_store(report_dir, day, slash + 1, (const char *)mem, (size_t)len, NULL, 0) < 0)
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
    else
        rc = 0;
    xmlFree(mem);
free_doc:
    xmlFreeDoc(doc);
    return rc;
}

int report_add_release(const struct config *cfg, const char *mail_id,
                       const struct report_release *rel, char *err, size_t err_len)
{
    report_xml_init();
    char path[PATH_MAX];
    if (report_find(cfg, mail_id, path, sizeof(path)) < 0) {
        snprintf(err, err_len, "no report for %s: %s", mail_id,
                 cfg->report.dir[0] == '\0' ? "reports are off" : strerror(errno));
        return -1;
    }
    /* Serialise concurrent releases of one message: lock its day dir. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || flock(dfd, LOCK_EX) < 0) {
        snprintf(err, err_len, "%s: %s", dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    int rc = add_release_locked(cfg->report.dir, path, rel, err, err_len);
    close(dfd); /* releases the lock */
    return rc;
}
