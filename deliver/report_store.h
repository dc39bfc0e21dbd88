/*
 * report_store: the storage of reports, shared by the writer (report.c)
 * and the release records (report_release.c): libxml2's one-time set-up,
 * the day directory and the durable write. report_find() is public in
 * report.h. Thread-safe.
 */
#ifndef LMTPSCAN_REPORT_STORE_H
#define LMTPSCAN_REPORT_STORE_H

#include "common/config.h"

#include <libxml/xmlstring.h>
#include <stddef.h>
#include <time.h>

/* A C string as libxml2's string type. */
static inline const xmlChar *X(const char *s)
{
    return (const xmlChar *)s;
}

/* xmlInitParser() once per process. */
void report_xml_init(void);

/* report.dir/YYYY-MM-DD into out (day gets YYYY-MM-DD), created (and
 * report.dir synced) when missing. -1 with errno. */
int report_day_dir(const struct config *cfg, time_t when, char *day, size_t day_len, char *out,
                   size_t out_len);

/* Stores data as base/day/name durably (no link followed below base),
 * mode 0640; path gets the final path when not NULL. -1 with errno. */
int report_store(const char *base, const char *day, const char *name, const char *data, size_t len,
                 char *path, size_t path_len);

/* ISO 8601 UTC with milliseconds: "2024-02-29T18:59:59.250Z". */
void report_format_time(const struct timespec *ts, char *out, size_t out_len);

#endif
