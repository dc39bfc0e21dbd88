/*
 * rfc2047: decodes the encoded words (=?charset?B|Q?text?=) of an
 * unstructured header value, for display in reports. Decoded charsets:
 * UTF-8, US-ASCII, ISO-8859-1 and Windows-1252 (with common aliases; an
 * RFC 2231 language suffix "*lang" is ignored), converted to UTF-8. An
 * encoded word in another charset, or one that is malformed (bad base64,
 * bad =XX escape, whitespace inside), is kept as it is; linear whitespace
 * between two decoded words is removed (RFC 2047 section 6.2). Bytes
 * outside encoded words are copied unchanged, so the result may still be
 * ill-formed UTF-8: pass it through xml_text before use.
 *
 * Linear in the input length, pure (no I/O), thread-safe.
 */
#ifndef LMTPSCAN_RFC2047_H
#define LMTPSCAN_RFC2047_H

#include "common/strbuf.h"

#include <stddef.h>

/* Appends the decoded form of in[0..len) to out. 0, or -1 when out's
 * limit was reached (out then holds a prefix of the result). */
int rfc2047_decode(const char *in, size_t len, struct strbuf *out);

#endif
