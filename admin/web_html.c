/*
 * web_html: the HTML both sides of `lmtpscan web` write (see
 * web_html.h): every value escaped at output (valid UTF-8 first, markup
 * characters as entities), the page frame, an error page, the form field
 * lookup and the stylesheet.
 */
#include "admin/web_html.h"
#include "common/xalloc.h"
#include "deliver/xml_text.h"

#include <stdlib.h>
#include <string.h>

const char *web_form_get(const struct web_form *f, const char *name)
{
    for (size_t i = 0; f != NULL && i < f->n; i++)
        if (strcmp(f->key[i], name) == 0)
            return f->value[i];
    return NULL;
}

void web_put_n(struct strbuf *sb, const char *s, size_t len)
{
    char *clean = xml_text_dup(s, len, WEB_PAGE_MAX, NULL);
    for (const char *p = clean; *p; p++) {
        switch (*p) {
        case '&':
            (void)strbuf_puts(sb, "&amp;");
            break;
        case '<':
            (void)strbuf_puts(sb, "&lt;");
            break;
        case '>':
            (void)strbuf_puts(sb, "&gt;");
            break;
        case '"':
            (void)strbuf_puts(sb, "&quot;");
            break;
        case '\'':
            (void)strbuf_puts(sb, "&#39;");
            break;
        default:
            (void)strbuf_append(sb, p, 1);
        }
    }
    free(clean);
}

void web_put_lines(struct strbuf *sb, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && s[end - 1] == '\r')
            end--;
        web_put_n(sb, s + start, end - start);
        if (i < len)
            (void)strbuf_puts(sb, "\n");
        start = i + 1;
    }
}

void web_put(struct strbuf *sb, const char *s)
{
    web_put_n(sb, s ? s : "", s ? strlen(s) : 0);
}

void web_page_start(struct strbuf *sb, const char *title, const struct web_request *rq)
{
    (void)strbuf_puts(sb, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                          "<meta name=\"viewport\" content=\"width=device-width, "
                          "initial-scale=1\"><title>");
    web_put(sb, title);
    (void)strbuf_puts(sb, " - lmtpscan</title><link rel=\"stylesheet\" href=\"/style.css\">"
                          "</head><body><header><span class=\"brand\">lmtpscan quarantine</span>");
    if (rq->admin) {
        (void)strbuf_puts(sb, "<a href=\"/list\">List</a><form method=\"post\" action=\"/logout\" "
                              "class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"");
        web_put(sb, rq->csrf);
        (void)strbuf_puts(sb, "\"><button type=\"submit\">Log out</button></form>");
    }
    (void)strbuf_puts(sb, "</header><main><h1>");
    web_put(sb, title);
    (void)strbuf_puts(sb, "</h1>\n");
}

void web_page_end(struct strbuf *sb)
{
    (void)strbuf_puts(sb, "</main></body></html>\n");
}

void web_page_error(const struct web_request *rq, struct web_response *resp, int status,
                    const char *title, const char *text)
{
    resp->status = status;
    web_page_start(&resp->body, title, rq);
    (void)strbuf_puts(&resp->body, "<p class=\"error\">");
    web_put(&resp->body, text);
    (void)strbuf_puts(&resp->body, "</p>");
    web_page_end(&resp->body);
}

const char web_stylesheet[] =
    "*{box-sizing:border-box}body{margin:0;font:16px/1.4 system-ui,sans-serif;color:#222;"
    "background:#f6f6f4}header{background:#234;color:#fff;padding:.5em 1em;display:flex;"
    "flex-wrap:wrap;gap:1em;align-items:center}header a{color:#fff}.brand{font-weight:bold;"
    "flex:1}main{padding:1em;max-width:70em;margin:auto}h1{font-size:1.3em}h2{font-size:1.1em}"
    "table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid "
    "#ddd;padding:.4em;text-align:left;vertical-align:top;overflow-wrap:anywhere}"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #ddd;"
    "padding:.6em;max-height:30em;overflow:auto;font-size:.9em}"
    "form.filters{display:flex;flex-wrap:wrap;gap:.5em;margin-bottom:1em}"
    "form.filters label{display:flex;flex-direction:column;font-size:.85em}"
    "input,select,button{font:inherit;padding:.3em .5em}button{cursor:pointer}"
    ".inline{display:inline}.error{color:#a00;font-weight:bold}.ok{color:#070}"
    ".verdict{font-weight:bold}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em "
    "1em;background:#fff;padding:.6em}dt{font-weight:bold}dd{margin:0;overflow-wrap:anywhere}"
    ".actions{display:flex;flex-wrap:wrap;gap:1em;margin:1em 0}.pager{margin:1em 0;display:flex;"
    "gap:1em}.login{display:flex;flex-direction:column;gap:.6em;max-width:20em}"
    "@media(max-width:40em){thead{display:none}tr{display:block;border-bottom:2px solid #ccc}"
    "td{display:block;border:0;padding:.15em .4em}}\n";
