/*
 * xalloc: allocation that never returns NULL. Out of memory is fatal: the
 * daemon logs and exits, the service manager restarts it, and Postfix
 * retries whatever was in flight (nothing got a 250 that was not stored).
 * Thread-safe.
 */
#ifndef LMTPSCAN_XALLOC_H
#define LMTPSCAN_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows an array of *cap elements of elem_size to hold at least need. */
void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem_size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
