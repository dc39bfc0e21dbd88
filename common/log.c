/*
 * log: the daemon's log sink (see log.h). Lines longer than the line buffer
 * are truncated, never split.
 */
#include "common/log.h"

#include <stdarg.h>
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
    static const char *names[] = {[LOG_ERR] = "error", [LOG_WARNING] = "warning",
                                  [LOG_INFO] = "info", [LOG_DEBUG] = "debug"};
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
