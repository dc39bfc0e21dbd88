/*
 * log: the daemon's log sink (see log.h). Lines longer than the line buffer
 * are truncated, never split.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

static enum log_target log_target = LOG_TO_STDERR;
static const char *log_ident = "lmtpscan";
static int log_debug_on;

void log_open(const char *ident, enum log_target target)
{
    log_ident = ident;
    log_target = target;
    if (target == LOG_TO_SYSLOG)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_debug(int on)
{
    log_debug_on = on;
}

static void log_line(int priority, const char *fmt, va_list ap)
{
    char line[4096];
    vsnprintf(line, sizeof(line), fmt, ap);
    if (log_target == LOG_TO_SYSLOG) {
        syslog(priority, "%s", line);
        return;
    }
    static const char *names[] = {
        [LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_INFO] = "info", [LOG_DEBUG] = "debug"};
    fprintf(stderr, "%s: %s: %s\n", log_ident, names[priority], line);
}

#define LOG_FN(name, prio)                                                                         \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_line(prio, fmt, ap);                                                                   \
        va_end(ap);                                                                                \
    }

LOG_FN(log_info, LOG_INFO)
LOG_FN(log_warn, LOG_WARNING)
LOG_FN(log_error, LOG_ERR)

void log_debug(const char *fmt, ...)
{
    if (!log_debug_on)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(LOG_DEBUG, fmt, ap);
    va_end(ap);
}

/* Length of the well-formed UTF-8 sequence at s (NUL-terminated), or 0. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0; /* the NUL terminator stops here too */
    return n;
}

/* log_value() and log_quoted(): keep_space keeps ' ' as it is. */
static const char *escape(const char *value, char *buf, size_t size, bool keep_space)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)(value != NULL ? value : "");
    size_t o = 0, room = size - 4; /* keep room for "..." and the NUL */

    while (*s != '\0') {
        char piece[4];
        size_t n = 0, take = 1;
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            piece[n++] = '\\';
            piece[n++] = (char)c;
        } else if ((c > 0x20 || (keep_space && c == 0x20)) && c < 0x7f) {
            piece[n++] = (char)c;
        } else if (c >= 0x80 && (take = utf8_len(s)) > 0) {
            memcpy(piece, s, take);
            n = take;
        } else {
            take = 1;
            piece[n++] = '\\';
            piece[n++] = 'x';
            piece[n++] = hex[c >> 4];
            piece[n++] = hex[c & 0x0f];
        }
        if (o + n > room) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(buf + o, piece, n);
        o += n;
        s += take;
    }
    buf[o] = '\0';
    return buf;
}

const char *log_value(const char *value, char *buf, size_t size)
{
    return escape(value, buf, size, false);
}

const char *log_quoted(const char *value, char *buf, size_t size)
{
    return escape(value, buf, size, true);
}
