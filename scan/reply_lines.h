/*
 * reply_lines: what the spamd and rspamd reply parsers share to walk a
 * reply held in memory: a slice of it, its lines one at a time (LF or
 * CRLF), and a case-insensitive prefix test. Nothing is copied.
 */
#ifndef LMTPSCAN_REPLY_LINES_H
#define LMTPSCAN_REPLY_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct slice {
    const char *p;
    size_t n;
};

/* The line of s at *pos without its LF or CRLF (the last one may have
 * neither: see reply_line_ended()); *pos moves past it. 0 at the end. */
int reply_next_line(struct slice s, size_t *pos, struct slice *line);
/* The line reply_next_line() just gave ended with LF. */
bool reply_line_ended(struct slice s, size_t pos);
bool reply_starts_with_ci(struct slice s, const char *prefix);

#endif
