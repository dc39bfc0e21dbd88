/*
 * web_html: what both sides of `lmtpscan web` share: the request and
 * response of a page, the form, the escaping HTML writers, the page frame
 * and the stylesheet (web_html.c). web.c owns the HTTP server
 * (libmicrohttpd), sessions, login, CSRF tokens and the routing;
 * web_pages.c renders the pages and runs the actions. Pure, no state.
 */
#ifndef LMTPSCAN_WEB_HTML_H
#define LMTPSCAN_WEB_HTML_H

#include "common/config.h"
#include "common/release_token.h"
#include "common/strbuf.h"

#include <stdbool.h>
#include <stddef.h>

#define WEB_FORM_MAX  64   /* form fields kept per request */
#define WEB_VALUE_MAX 1024 /* bytes of one form value */
#define WEB_PAGE_MAX  (2 * 1024 * 1024)
#define WEB_TOKEN_LEN 43 /* base64url of 32 random bytes */

struct web_form {
    char *key[WEB_FORM_MAX];
    char *value[WEB_FORM_MAX];
    size_t n;
};

/* What a page needs of its request. */
struct web_request {
    const struct config *cfg;
    const unsigned char *key; /* the release-link key */
    size_t key_len;
    const char *csrf;   /* this session's CSRF token ("" if none) */
    bool admin;         /* logged in */
    const char *client; /* numeric address, for the log */
    /* lookups into the query string */
    const char *(*arg)(void *conn, const char *name);
    void *conn;
    const struct web_form *form; /* POST fields, NULL for GET */
};

struct web_response {
    int status;
    struct strbuf body; /* HTML (or CSS) */
    const char *content_type;
    char location[512]; /* a redirect when set (status 303) */
};

/* The first value of name in the form, or NULL. */
const char *web_form_get(const struct web_form *f, const char *name);

/* HTML-escapes the valid-UTF-8 form of s[0..len) (control bytes shown as
 * U+FFFD) into sb. */
void web_put(struct strbuf *sb, const char *s);
void web_put_n(struct strbuf *sb, const char *s, size_t len);
/* The same for text with line breaks (a <pre>): each line escaped, CR LF
 * and LF kept as line breaks. */
void web_put_lines(struct strbuf *sb, const char *s, size_t len);

/* Page beginning and end (title escaped). */
void web_page_start(struct strbuf *sb, const char *title, const struct web_request *rq);
void web_page_end(struct strbuf *sb);

/* A short page with a message (escaped). */
void web_page_error(const struct web_request *rq, struct web_response *resp, int status,
                    const char *title, const char *text);

extern const char web_stylesheet[];

#endif
