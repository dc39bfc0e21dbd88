/*
 * web_pages: the pages and actions of `lmtpscan web` (web_pages.c), each
 * filling a web_response from a web_request (web_html.h): the quarantine
 * list, one message, release, delete, and the page of a digest link.
 */
#ifndef LMTPSCAN_WEB_PAGES_H
#define LMTPSCAN_WEB_PAGES_H

#include "admin/web_html.h"

/* The pages (web_pages.c); each fills resp. */
void web_page_list(const struct web_request *rq, struct web_response *resp);
void web_page_message(const struct web_request *rq, struct web_response *resp);
void web_action_release(const struct web_request *rq, struct web_response *resp);
void web_action_delete(const struct web_request *rq, struct web_response *resp);
void web_page_token(const struct web_request *rq, struct web_response *resp);
void web_action_token_release(const struct web_request *rq, struct web_response *resp);

#endif
