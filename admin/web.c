/*
 * web: `lmtpscan web`, the quarantine web page's HTTP side (SPEC section
 * 14; pages in web_pages.c). HTTP comes from libmicrohttpd: one internal
 * polling thread (requests are served one at a time, so the session table
 * needs no lock), at most WEB_CONNECTIONS connections (WEB_PER_IP from one
 * address), WEB_TIMEOUT seconds idle, WEB_CONN_MEMORY bytes per
 * connection (bounds the request line and headers) and POST bodies of at
 * most WEB_BODY_MAX bytes (larger: 413).
 *
 * Sessions: a random 256-bit id in a cookie (HttpOnly, SameSite=Strict,
 * Secure when [web] url is https), WEB_SESSIONS at most (the oldest
 * anonymous one goes first),
 * WEB_SESSION_IDLE seconds idle. Every session has its CSRF token; every
 * POST must carry it (field "csrf") or is refused 403 and logged. A
 * browser without a session gets an anonymous one on its first page (the
 * login form and the digest-link page need a token too); login turns it
 * into an admin session under a new id. The password is checked with
 * crypt(3) against [web] admin_password_hash; a failed login waits
 * WEB_LOGIN_DELAY seconds and is logged with the client's address.
 *
 * Every response carries a strict Content-Security-Policy (nothing but
 * the page's own stylesheet; no script, no image, no frame), nosniff,
 * no-referrer and no-store.
 */
#include "admin/admin_commands.h"
#include "admin/web_html.h"
#include "admin/web_pages.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define WEB_CONNECTIONS  64
#define WEB_PER_IP       16
#define WEB_TIMEOUT      30
#define WEB_CONN_MEMORY  (64 * 1024)
#define WEB_BODY_MAX     (16 * 1024)
#define WEB_SESSIONS     256
#define WEB_SESSION_IDLE 3600
#define WEB_LOGIN_DELAY  2
#define COOKIE           "lmtpscan_session"

static const char CSP[] = "default-src 'none'; style-src 'self'; img-src 'none'; "
                          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

struct session {
    char id[WEB_TOKEN_LEN + 1]; /* "" : free */
    char csrf[WEB_TOKEN_LEN + 1];
    bool admin;
    time_t used;
};

struct server {
    const struct config *cfg;
    unsigned char key[RELEASE_KEY_MAX];
    size_t key_len;
    bool secure_cookie;
    struct session sessions[WEB_SESSIONS];
};

/* One request in flight (POST bodies arrive in pieces). */
struct request {
    struct MHD_PostProcessor *pp;
    struct web_form form;
    size_t body_len;
    bool too_big;
};

static void random_token(char out[WEB_TOKEN_LEN + 1])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[32];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        log_error("web: getrandom: %s", strerror(errno));
        abort(); /* no session without a secure random source */
    }
    size_t o = 0;
    for (size_t i = 0; i < 30; i += 3) {
        uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = b64[v >> 6 & 63];
        out[o++] = b64[v & 63];
    }
    uint32_t v = (uint32_t)r[30] << 8 | r[31];
    out[o++] = b64[v >> 10 & 63];
    out[o++] = b64[v >> 4 & 63];
    out[o++] = b64[(v << 2) & 63];
    out[o] = '\0';
}

static bool token_equal(const char *a, const char *b)
{
    return a != NULL && b != NULL && strlen(a) == WEB_TOKEN_LEN && strlen(b) == WEB_TOKEN_LEN &&
           CRYPTO_memcmp(a, b, WEB_TOKEN_LEN) == 0;
}

static struct session *session_find(struct server *sv, const char *id, time_t now)
{
    if (id == NULL || strlen(id) != WEB_TOKEN_LEN)
        return NULL;
    for (size_t i = 0; i < WEB_SESSIONS; i++) {
        struct session *s = &sv->sessions[i];
        if (s->id[0] == '\0')
            continue;
        if (now - s->used > WEB_SESSION_IDLE) {
            memset(s, 0, sizeof(*s));
            continue;
        }
        if (token_equal(s->id, id)) {
            s->used = now;
            return s;
        }
    }
    return NULL;
}

/* A free or expired slot, else the oldest anonymous session's, else the
 * oldest one's: a flood of new browsers cannot log the admin out. */
static struct session *session_new(struct server *sv, time_t now)
{
    struct session *slot = NULL;
    for (size_t i = 0; i < WEB_SESSIONS; i++) {
        struct session *s = &sv->sessions[i];
        if (s->id[0] == '\0' || now - s->used > WEB_SESSION_IDLE) {
            slot = s;
            break;
        }
        if (slot == NULL || (slot->admin && !s->admin) ||
            (slot->admin == s->admin && s->used < slot->used))
            slot = s;
    }
    memset(slot, 0, sizeof(*slot));
    random_token(slot->id);
    random_token(slot->csrf);
    slot->used = now;
    return slot;
}

/* ---- login ---- */

static void page_login(const struct web_request *rq, struct web_response *resp, const char *note)
{
    resp->status = note ? MHD_HTTP_FORBIDDEN : MHD_HTTP_OK;
    web_page_start(&resp->body, "Log in", rq);
    if (note) {
        (void)strbuf_puts(&resp->body, "<p class=\"error\">");
        web_put(&resp->body, note);
        (void)strbuf_puts(&resp->body, "</p>");
    }
    (void)strbuf_puts(&resp->body, "<form method=\"post\" action=\"/login\" class=\"login\">"
                                   "<input type=\"hidden\" name=\"csrf\" value=\"");
    web_put(&resp->body, rq->csrf);
    (void)strbuf_puts(&resp->body, "\"><label>Password <input type=\"password\" name=\"password\" "
                                   "autocomplete=\"current-password\" required autofocus></label>"
                                   "<button type=\"submit\">Log in</button></form>");
    web_page_end(&resp->body);
}

static bool password_ok(const struct config *cfg, const char *password)
{
    const char *hash = cfg->web.admin_password_hash;
    if (hash[0] == '\0' || password == NULL || strlen(password) > 512)
        return false;
    struct crypt_data *cd = xcalloc(1, sizeof(*cd));
    const char *got = crypt_r(password, hash, cd);
    bool ok = got != NULL && got[0] != '*' && strlen(got) == strlen(hash) &&
              CRYPTO_memcmp(got, hash, strlen(hash)) == 0;
    OPENSSL_cleanse(cd, sizeof(*cd));
    free(cd);
    return ok;
}

/* ---- the request handler ---- */

static const char *conn_arg(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static void client_address(struct MHD_Connection *c, char *out, size_t len)
{
    snprintf(out, len, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return;
    socklen_t sl = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                          : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, sl, out, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(out, len, "?");
}

static enum MHD_Result post_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *filename, const char *content_type,
                                  const char *encoding, const char *data, uint64_t off, size_t size)
{
    (void)kind, (void)filename, (void)content_type, (void)encoding;
    struct request *rq = cls;
    struct web_form *f = &rq->form;
    /* a value in pieces: append to the last field of that name */
    if (off > 0 && f->n > 0 && strcmp(f->key[f->n - 1], key) == 0) {
        size_t have = strlen(f->value[f->n - 1]);
        if (have + size > WEB_VALUE_MAX)
            return MHD_NO;
        f->value[f->n - 1] = xrealloc(f->value[f->n - 1], have + size + 1);
        memcpy(f->value[f->n - 1] + have, data, size);
        f->value[f->n - 1][have + size] = '\0';
        return MHD_YES;
    }
    if (f->n >= WEB_FORM_MAX || size > WEB_VALUE_MAX || strlen(key) > 64)
        return MHD_NO;
    f->key[f->n] = xstrdup(key);
    f->value[f->n] = xstrndup(data ? data : "", size);
    f->n++;
    return MHD_YES;
}

static enum MHD_Result send_response(struct server *sv, struct MHD_Connection *c,
                                     struct web_response *resp, const struct session *s,
                                     bool set_cookie)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        resp->body.len, resp->body.data ? resp->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    (void)MHD_add_response_header(
        r, "Content-Type", resp->content_type ? resp->content_type : "text/html; charset=utf-8");
    (void)MHD_add_response_header(r, "Content-Security-Policy", CSP);
    (void)MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    (void)MHD_add_response_header(r, "X-Frame-Options", "DENY");
    (void)MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    (void)MHD_add_response_header(r, "Cache-Control", "no-store");
    if (set_cookie && s != NULL) {
        char cookie[256];
        snprintf(cookie, sizeof(cookie), COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s", s->id,
                 sv->secure_cookie ? "; Secure" : "");
        (void)MHD_add_response_header(r, "Set-Cookie", cookie);
    }
    if (resp->location[0] != '\0') {
        (void)MHD_add_response_header(r, "Location", resp->location);
        resp->status = MHD_HTTP_SEE_OTHER;
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct server *sv = cls;
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (*con_cls == NULL) {
        struct request *rq = xcalloc(1, sizeof(*rq));
        *con_cls = rq;
        if (post) {
            rq->pp = MHD_create_post_processor(c, 4096, post_field, rq);
            if (rq->pp == NULL)
                rq->too_big = true; /* not a form: refused below */
        }
        return MHD_YES;
    }
    struct request *rq = *con_cls;
    if (post && *upload_data_size > 0) {
        rq->body_len += *upload_data_size;
        if (rq->body_len > WEB_BODY_MAX ||
            (!rq->too_big && MHD_post_process(rq->pp, upload_data, *upload_data_size) != MHD_YES))
            rq->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }

    time_t now = time(NULL);
    char client[NI_MAXHOST];
    client_address(c, client, sizeof(client));
    bool set_cookie = false;
    struct session *s =
        session_find(sv, MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE), now);
    if (s == NULL) {
        s = session_new(sv, now);
        set_cookie = true;
    }
    struct web_request wr = {
        .cfg = sv->cfg,
        .key = sv->key,
        .key_len = sv->key_len,
        .csrf = s->csrf,
        .admin = s->admin,
        .client = client,
        .arg = conn_arg,
        .conn = c,
        .form = post ? &rq->form : NULL,
    };
    struct web_response resp = {.status = MHD_HTTP_OK};
    strbuf_init(&resp.body, WEB_PAGE_MAX);

    if (!post && strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        web_page_error(&wr, &resp, MHD_HTTP_METHOD_NOT_ALLOWED, "Not allowed",
                       "Only GET and POST are served.");
    } else if (post && rq->too_big) {
        web_page_error(&wr, &resp, 413, "Too large", "The form was too large or not a form.");
    } else if (post && !token_equal(web_form_get(&rq->form, "csrf"), s->csrf)) {
        log_info("web: client=%s POST %s refused: missing or wrong CSRF token", client, url);
        web_page_error(&wr, &resp, MHD_HTTP_FORBIDDEN, "Refused",
                       "The form is out of date or did not come from this page; reload it.");
    } else if (strcmp(url, "/style.css") == 0) {
        (void)strbuf_puts(&resp.body, web_stylesheet);
        resp.content_type = "text/css; charset=utf-8";
    } else if (strcmp(url, "/release") == 0 && !post) {
        web_page_token(&wr, &resp);
    } else if (strcmp(url, "/release-link") == 0 && post) {
        web_action_token_release(&wr, &resp);
    } else if (strcmp(url, "/login") == 0 && post) {
        if (password_ok(sv->cfg, web_form_get(&rq->form, "password"))) {
            log_info("web: client=%s logged in", client);
            memset(s, 0, sizeof(*s));
            s = session_new(sv, now); /* a new id once logged in */
            s->admin = true;
            set_cookie = true;
            snprintf(resp.location, sizeof(resp.location), "/list");
        } else {
            log_info("web: client=%s login failed", client);
            sleep(WEB_LOGIN_DELAY);
            page_login(&wr, &resp, "Wrong password.");
        }
    } else if (!s->admin) {
        /* everything else needs the admin: the login form (403 for a POST) */
        page_login(&wr, &resp, NULL);
        if (post) {
            log_info("web: client=%s POST %s refused: not logged in", client, url);
            resp.status = MHD_HTTP_FORBIDDEN;
        }
    } else if (strcmp(url, "/logout") == 0 && post) {
        memset(s, 0, sizeof(*s));
        s = NULL;
        snprintf(resp.location, sizeof(resp.location), "/login");
    } else if ((strcmp(url, "/") == 0 || strcmp(url, "/login") == 0) && !post) {
        snprintf(resp.location, sizeof(resp.location), "/list");
    } else if (strcmp(url, "/list") == 0 && !post) {
        web_page_list(&wr, &resp);
    } else if (strcmp(url, "/message") == 0 && !post) {
        web_page_message(&wr, &resp);
    } else if (strcmp(url, "/release") == 0 && post) {
        web_action_release(&wr, &resp);
    } else if (strcmp(url, "/delete") == 0 && post) {
        web_action_delete(&wr, &resp);
    } else {
        web_page_error(&wr, &resp, MHD_HTTP_NOT_FOUND, "Not found", "No such page.");
    }
    enum MHD_Result ret = send_response(sv, c, &resp, s, set_cookie && s != NULL);
    strbuf_free(&resp.body);
    return ret;
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct request *rq = *con_cls;
    if (rq == NULL)
        return;
    if (rq->pp != NULL)
        MHD_destroy_post_processor(rq->pp);
    for (size_t i = 0; i < rq->form.n; i++) {
        free(rq->form.key[i]);
        free(rq->form.value[i]);
    }
    free(rq);
    *con_cls = NULL;
}

int cmd_web(const struct config *cfg, int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        fputs("usage: lmtpscan [-c FILE] web\n", stderr);
        return ADMIN_BAD_INPUT;
    }
    if (cfg->web.listen.kind != NET_INET) {
        fputs("lmtpscan: [web] listen must be inet:HOST:PORT\n", stderr);
        return ADMIN_BAD_INPUT;
    }
    struct server *sv = xcalloc(1, sizeof(*sv));
    sv->cfg = cfg;
    sv->secure_cookie = strncmp(cfg->web.url, "https://", 8) == 0;
    char err[512];
    if (release_key_load(cfg->web.secret_file, true, sv->key, &sv->key_len, err, sizeof(err)) < 0) {
        fprintf(stderr, "lmtpscan: [web] secret_file: %s\n", err);
        free(sv);
        return ADMIN_FAILED;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(cfg->web.listen.host, cfg->web.listen.port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "lmtpscan: [web] listen %s: %s\n", cfg->web.listen.host, gai_strerror(gai));
        free(sv);
        return ADMIN_BAD_INPUT;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, sv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)WEB_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_TIMEOUT,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
        request_done, NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (d == NULL) {
        fprintf(stderr, "lmtpscan: web: cannot listen on %s:%s: %s\n", cfg->web.listen.host,
                cfg->web.listen.port, strerror(errno));
        free(sv);
        return ADMIN_FAILED;
    }
    log_info("web: listening on %s:%s", cfg->web.listen.host, cfg->web.listen.port);
    int sig = 0;
    while (sig != SIGTERM && sig != SIGINT)
        if (sigwait(&mask, &sig) != 0)
            break;
    MHD_stop_daemon(d);
    OPENSSL_cleanse(sv->key, sizeof(sv->key));
    free(sv);
    log_info("web: stopped");
    return ADMIN_OK;
}
