/*
 * strbuf: a growable byte buffer with a hard size limit, for text whose
 * size depends on the input (header blocks, reports, replies). Every
 * append checks the limit. Fixed-size fields elsewhere are filled only
 * with snprintf() into their own size.
 * The data is always NUL-terminated (the NUL is not counted in len).
 * Not thread-safe: one owner at a time.
 */
#ifndef LMTPSCAN_STRBUF_H
#define LMTPSCAN_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* appends that would pass this fail with -1 */
};

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_free(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
/* 0 on success, -1 when the result would exceed sb->max (sb unchanged). */
int strbuf_append(struct strbuf *sb, const void *data, size_t len);
int strbuf_puts(struct strbuf *sb, const char *s);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
/* Removes the first n bytes. */
void strbuf_consume(struct strbuf *sb, size_t n);

#endif
