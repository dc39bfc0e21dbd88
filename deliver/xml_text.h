/*
 * xml_text: turns arbitrary bytes (header values from a mail, scanner
 * output, replies) into text that is always valid XML 1.0 character data
 * in UTF-8, so a report is well-formed whatever the mail held.
 *
 * Rules, applied in one pass: well-formed UTF-8 is kept; every ill-formed
 * sequence (overlong forms, surrogates, code points past U+10FFFF,
 * truncated or stray bytes) becomes one U+FFFD per maximal subpart
 * (Unicode 15, section 3.9); NUL is dropped; the other C0 controls except
 * TAB, DEL, the C1 controls U+0080..U+009F, and the noncharacters U+FFFE
 * and U+FFFF become U+FFFD. Markup characters (<, &, ]]>) are left to the
 * XML writer, which escapes them. The output is cut at a byte bound, never
 * inside a character.
 *
 * Pure (no I/O), thread-safe.
 */
#ifndef LMTPSCAN_XML_TEXT_H
#define LMTPSCAN_XML_TEXT_H

#include "common/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XML_TEXT_REPLACEMENT 0xFFFDu

/*
 * Decodes one UTF-8 sequence at p (len > 0 bytes available). Returns the
 * bytes consumed (1..4) and sets *cp; an ill-formed sequence consumes its
 * maximal subpart and sets *cp to UINT32_MAX.
 */
size_t xml_text_utf8_next(const unsigned char *p, size_t len, uint32_t *cp);

/* True when the code point may appear in a report unchanged. */
bool xml_text_char_allowed(uint32_t cp);

/*
 * Appends the sanitised form of in[0..len) to out, at most max bytes of
 * it. Returns 1 when the input did not fit in max (the output is cut at a
 * character boundary), 0 when it all went in, -1 when out's own limit was
 * reached first (out then holds a shorter, still valid, prefix).
 */
int xml_text_append(struct strbuf *out, const char *in, size_t len, size_t max);

/*
 * The same into a new NUL-terminated string (xmalloc'ed; it never holds a
 * NUL itself). *truncated (may be NULL) tells whether max cut it.
 */
char *xml_text_dup(const char *in, size_t len, size_t max, bool *truncated);

#endif
