/*
 * log: one logging sink for the whole daemon, syslog (facility mail) or
 * stderr. Thread-safe: each call writes one whole line.
 */
#ifndef LMTPSCAN_LOG_H
#define LMTPSCAN_LOG_H

enum log_target { LOG_TO_SYSLOG, LOG_TO_STDERR };

void log_open(const char *ident, enum log_target target);
void log_set_debug(int on);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
