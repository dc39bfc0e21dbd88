/*
 * log: one logging sink for the whole daemon, syslog (facility mail) or
 * stderr. Thread-safe: each call writes one whole line.
 *
 * Every value a client or a peer supplied (addresses, HELO and XFORWARD
 * values, AUTH mechanism and user names, texts of remote replies) goes
 * into a line through log_value(), so it can neither forge a key=value
 * field nor put control bytes on a terminal.
 */
#ifndef LMTPSCAN_LOG_H
#define LMTPSCAN_LOG_H

#include <stddef.h>

enum log_target { LOG_TO_SYSLOG, LOG_TO_STDERR };

void log_open(const char *ident, enum log_target target);
void log_set_debug(int on);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Room log_value() needs for a value of n bytes (every byte escaped). */
#define LOG_VALUE_SIZE(n) (4 * (size_t)(n) + 4)

/*
 * Escapes value into buf[size] (size >= 4) as one blank-free token and
 * returns buf: '"' and '\\' get a backslash; blanks, bytes below 0x20,
 * 0x7F and bytes that are not well-formed UTF-8 become \xHH; printable
 * ASCII and well-formed UTF-8 are kept. A value that does not fit ends
 * in "..." (never in half an escape). value NULL gives "". Thread-safe.
 */
const char *log_value(const char *value, char *buf, size_t size);
/* The same for a value written inside double quotes (reply="..."): spaces
 * are kept, everything else is escaped as by log_value(). */
const char *log_quoted(const char *value, char *buf, size_t size);

#endif
