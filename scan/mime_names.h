/*
 * mime_names: the file names of a message's MIME parts as the sender
 * meant them, read from the Content-Type (name) and Content-Disposition
 * (filename) fields: RFC 2231 continuations (name*0*=, name*1*=, ...)
 * joined in order, RFC 2231 percent-encoding and charset decoded to UTF-8
 * (iconv), RFC 2047 encoded words decoded. libclamav's own MIME parser
 * neither joins continuations nor reads Content-Type's name when a
 * Content-Disposition is present, so the inventory takes names from here
 * too. A name whose pieces are missing or whose charset or encoding
 * cannot be decoded is reported as undecodable (with its raw bytes).
 *
 * One linear pass over the lines; fields of interest are considered
 * wherever a line starts with them (in any part's header). Each field is
 * read up to MIME_FIELD_MAX bytes. Pure (no I/O), thread-safe.
 */
#ifndef LMTPSCAN_MIME_NAMES_H
#define LMTPSCAN_MIME_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_FIELD_MAX 8192
#define MIME_NAME_MAX  1024

typedef void (*mime_name_fn)(void *arg, const char *name, size_t len, bool undecodable);

/* Calls found() for each name or filename parameter in buf[0..len). */
void mime_names_scan(const char *buf, size_t len, mime_name_fn found, void *arg);

/* Decodes the parameters of one field value (after the colon, unfolded)
 * and calls found() for its name/filename; exposed for the tests. */
void mime_names_field(const char *value, size_t len, mime_name_fn found, void *arg);

#endif
