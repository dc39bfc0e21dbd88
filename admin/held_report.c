/*
 * held_report: the stored report of a held message (see held_report.h).
 */
#include "admin/held_report.h"

#include "common/xalloc.h"

#include <libxml/parser.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

time_t held_time(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return end != NULL && *end == '\0' ? timegm(&tm) : (time_t)-1;
}

xmlDoc *held_report_read(const struct config *cfg, const char *mail_id, time_t received)
{
    if (cfg->report.dir[0] == '\0')
        return NULL;
    char day[16], path[PATH_MAX + 64];
    struct tm tm;
    gmtime_r(&received, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    snprintf(path, sizeof(path), "%s/%s/%s.xml", cfg->report.dir, day, mail_id);
    if (access(path, R_OK) != 0)
        return NULL;
    return xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

char *held_attr(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (v == NULL)
        return NULL;
    char *s = xstrdup((const char *)v);
    xmlFree(v);
    return s;
}

bool held_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}
