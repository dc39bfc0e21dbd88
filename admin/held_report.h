/*
 * held_report: what the admin tool's views of the quarantine (the digest
 * and the web page) read of a held message besides its envelope: the time
 * the envelope records, and the stored report of that day
 * (report.dir/YYYY-MM-DD/MAIL_ID.xml) as a small DOM, read without the
 * network, with its attributes as strings.
 *
 * Public: held_time(), held_report_read(), held_attr(), held_is().
 * Failure modes: no report directory, no report, or one libxml2 cannot
 * read is NULL (the views show the envelope alone).
 */
#ifndef LMTPSCAN_HELD_REPORT_H
#define LMTPSCAN_HELD_REPORT_H

#include "common/config.h"

#include <libxml/tree.h>
#include <stdbool.h>
#include <time.h>

/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) as time_t, or (time_t)-1. */
time_t held_time(const char *iso);
/* The report of mail_id received at received; free with xmlFreeDoc. */
xmlDoc *held_report_read(const struct config *cfg, const char *mail_id, time_t received);
/* Attribute name of n, malloc'ed; NULL when absent. */
char *held_attr(xmlNode *n, const char *name);
/* n is an element called name. */
bool held_is(const xmlNode *n, const char *name);

#endif
