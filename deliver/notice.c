/*
 * notice: the text of a notice about a held message (see notice.h):
 * sanitising of the original values, the RFC 2047 encoder of the
 * notice's Subject, and the message itself.
 */
#include "deliver/notice.h"

#include "common/rfc2047.h"
#include "deliver/xml_text.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ENCODED_CHUNK 45 /* input bytes per encoded word: 60 base64 chars */
#define FOLD_AT       76 /* header line length we keep to */

int notice_sanitise(const char *raw, size_t len, struct strbuf *out)
{
    struct strbuf unfolded, decoded;
    strbuf_init(&unfolded, 4 * NOTICE_VALUE_MAX + 64);
    strbuf_init(&decoded, 4 * NOTICE_VALUE_MAX + 64);
    /* Only a bounded prefix matters: what is shown is cut anyway. */
    size_t take = len < 4 * NOTICE_VALUE_MAX ? len : 4 * NOTICE_VALUE_MAX;
    int rc = 0;
    for (size_t i = 0; i < take && rc == 0; i++) {
        char c = raw[i];
        if (c == '\r' || c == '\n')
            continue;
        if (c == '\t')
            c = ' ';
        rc = strbuf_append(&unfolded, &c, 1);
    }
    /* A full buffer only cuts the value: shown shorter, never unsafe. */
    (void)rfc2047_decode(unfolded.data ? unfolded.data : "", unfolded.len, &decoded);
    struct strbuf clean;
    strbuf_init(&clean, 4 * NOTICE_VALUE_MAX + 64);
    (void)xml_text_append(&clean, decoded.data ? decoded.data : "", decoded.len, NOTICE_VALUE_MAX);
    /* xml_text keeps TAB and turns other controls into U+FFFD; decoded
     * words may hold TAB, CR or LF again: no control byte goes out. */
    const char *s = clean.data ? clean.data : "";
    size_t n = clean.len;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        char o = c < 32 || c == 127 ? ' ' : (char)c;
        rc = strbuf_append(out, &o, 1);
    }
    strbuf_free(&unfolded);
    strbuf_free(&decoded);
    strbuf_free(&clean);
    return rc;
}

/* Printable ASCII, no "=?", no word too long to fold within 78. */
static bool plain_ascii(const char *s)
{
    size_t run = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 32 || *p >= 127)
            return false;
        run = *p == ' ' ? 0 : run + 1;
        if (run > FOLD_AT - 16)
            return false;
    }
    return strstr(s, "=?") == NULL;
}

/* Plain text folded before a blank so lines stay within FOLD_AT. */
static int append_folded(const char *value, struct strbuf *out)
{
    size_t col = 9; /* after "Subject: " */
    const char *p = value;
    while (*p) {
        const char *sp = strchr(p + 1, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if (col + n > FOLD_AT && p != value && *p == ' ') {
            if (strbuf_puts(out, "\r\n") < 0)
                return -1;
            col = 0;
        }
        if (strbuf_append(out, p, n) < 0)
            return -1;
        col += n;
        p += n;
    }
    return 0;
}

int notice_header_encode(const char *value, struct strbuf *out)
{
    if (plain_ascii(value))
        return append_folded(value, out);
    const unsigned char *p = (const unsigned char *)value;
    size_t len = strlen(value);
    bool first = true;
    while (len > 0) {
        /* the longest prefix of whole characters that fits one word */
        /* the first line also holds "Subject: " */
        size_t chunk = first ? ENCODED_CHUNK - 6 : ENCODED_CHUNK;
        size_t take = 0;
        while (take < len) {
            uint32_t cp;
            size_t n = xml_text_utf8_next(p + take, len - take, &cp);
            if (take + n > chunk)
                break;
            take += n;
        }
        if (take == 0)
            take = len < chunk ? len : chunk;
        unsigned char b64[4 * ((ENCODED_CHUNK + 2) / 3) + 1];
        int n = EVP_EncodeBlock(b64, p, (int)take);
        if (n < 0)
            return -1;
        if (strbuf_printf(out, "%s=?UTF-8?B?%.*s?=", first ? "" : "\r\n ", n, (const char *)b64) <
            0)
            return -1;
        first = false;
        p += take;
        len -= take;
    }
    return 0;
}

static void rfc5322_date(time_t t, char *out, size_t outlen)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* One "  Label: value" line of an original value, "(none)" if absent. */
static int original_line(struct strbuf *out, const char *label, const char *raw)
{
    int rc = strbuf_printf(out, "  %-11s ", label);
    if (raw == NULL)
        return rc | strbuf_puts(out, "(none)\r\n");
    rc |= notice_sanitise(raw, strlen(raw), out);
    return rc | strbuf_puts(out, "\r\n");
}

/* A value of ours that may hold anything (an address, a virus name):
 * sanitised the same way. */
static int safe(struct strbuf *out, const char *s)
{
    return notice_sanitise(s ? s : "", s ? strlen(s) : 0, out);
}

int notice_build(const struct notice *n, struct strbuf *out)
{
    char date[64], received[64];
    rfc5322_date(n->now, date, sizeof(date));
    rfc5322_date(n->received, received, sizeof(received));

    struct strbuf subject;
    strbuf_init(&subject, 4 * NOTICE_VALUE_MAX + 256);
    int rc = strbuf_printf(&subject,
                           "%s (%s): ", n->admin ? "Blocked message" : "A message to you was held",
                           n->verdict);
    if (n->orig_subject != NULL)
        rc |= notice_sanitise(n->orig_subject, strlen(n->orig_subject), &subject);
    else
        rc |= strbuf_puts(&subject, "(no subject)");

    rc |= strbuf_printf(out, "From: Mail filter <%s>\r\n", n->from);
    rc |= strbuf_puts(out, "To: <");
    rc |= safe(out, n->to);
    rc |= strbuf_printf(out, ">\r\nSubject: ");
    rc |= notice_header_encode(subject.data ? subject.data : "", out);
    strbuf_free(&subject);
    rc |= strbuf_printf(out,
                        "\r\nDate: %s\r\n"
                        "Message-ID: <%s.notice%u@%s>\r\n"
                        "Auto-Submitted: auto-generated\r\n"
                        "X-Lmtpscan-Mail-ID: %s\r\n"
                        "MIME-Version: 1.0\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n"
                        "\r\n",
                        date, n->mail_id, n->seq, n->hostname, n->mail_id);

    if (n->admin)
        rc |= strbuf_printf(out, "The mail filter on %s blocked a message.\r\n\r\n", n->hostname);
    else
        rc |= strbuf_printf(out,
                            "The mail filter on %s held a message addressed to you.\r\n"
                            "It has not been delivered to your mailbox.\r\n\r\n",
                            n->hostname);
    rc |= strbuf_printf(out,
                        "  Mail ID:    %s\r\n"
                        "  Verdict:    %s\r\n"
                        "  Action:     %s\r\n"
                        "  Reason:     ",
                        n->mail_id, n->verdict, n->action);
    rc |= safe(out, n->reason && n->reason[0] ? n->reason : n->verdict);
    rc |= strbuf_printf(out, "\r\n  Received:   %s\r\n\r\nThe original message:\r\n", received);
    rc |= original_line(out, "From:", n->orig_from);
    for (size_t i = 0; i < n->n_rcpts; i++) {
        rc |= strbuf_printf(out, "  %-11s <", i == 0 ? "To:" : "");
        rc |= safe(out, n->rcpts[i]);
        rc |= strbuf_puts(out, ">\r\n");
    }
    rc |= original_line(out, "Subject:", n->orig_subject);
    rc |= original_line(out, "Date:", n->orig_date);
    rc |= original_line(out, "Message-ID:", n->orig_message_id);
    rc |= strbuf_puts(out, "\r\n");

    if (!n->releasable)
        rc |= strbuf_puts(out, "The message was not kept: it cannot be released.\r\n");
    else if (n->admin)
        rc |= strbuf_printf(out,
                            "It is kept in the quarantine. To release it:\r\n"
                            "  lmtpscan quarantine release %s\r\n"
                            "(or --rcpt ADDRESS for some recipients only); to delete it:\r\n"
                            "  lmtpscan quarantine delete %s\r\n",
                            n->mail_id, n->mail_id);
    else if (strcmp(n->verdict, "virus") == 0)
        rc |= strbuf_printf(out,
                            "It is kept in the quarantine. A message with a virus is released\r\n"
                            "only by the administrator (postmaster@%s), quoting the Mail ID.\r\n",
                            n->hostname);
    else
        rc |= strbuf_printf(out,
                            "It is kept in the quarantine. If you want it, ask the\r\n"
                            "administrator (postmaster@%s) to release it, quoting the\r\n"
                            "Mail ID above.\r\n",
                            n->hostname);
    rc |= strbuf_puts(out, "\r\nThe message itself is not attached to this notice.\r\n");
    return rc != 0 ? -1 : 0;
}
