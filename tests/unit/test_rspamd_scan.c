/*
 * test_rspamd_scan: scan_message with rspamd policies against a fake
 * rspamd (an HTTP listener in this process that holds each request a
 * moment and answers ham): one request per distinct user, each with the
 * Rcpt of its recipients and the user as Deliver-To; one message has at
 * most half of [rspamd] connections in flight, all messages together at
 * most connections; verdict reuse answers an identical message without a
 * request, marked with the first mail's id, until a configuration
 * reload.
 */
#include "common/address.h"
#include "common/clock.h"
#include "scan/scan.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define HANDLERS_MAX 256
#define HOLD_MS      150

struct fake {
    int lfd;
    int port;
    pthread_t acceptor;
    pthread_t handlers[HANDLERS_MAX];
    size_t n_handlers;
    pthread_mutex_t lock;
    bool stopping;
    unsigned now, most, requests;
    bool mismatch; /* a request whose Rcpt is not its Deliver-To */
};

struct conn {
    struct fake *f;
    int fd;
};

static const char *field(const char *head, const char *name, char *out, size_t len)
{
    char key[64];
    snprintf(key, sizeof(key), "\r\n%s: ", name);
    const char *p = strstr(head, key);
    out[0] = '\0';
    if (p == NULL)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, "\r");
    snprintf(out, len, "%.*s", (int)n, p);
    return out;
}

static void *handler(void *arg)
{
    struct conn *c = arg;
    struct fake *f = c->f;
    char buf[65536];
    size_t got = 0;
    ssize_t n;
    char *end = NULL;

    while (got + 1 < sizeof(buf) && (n = read(c->fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            char len[32];
            field(buf, "Content-Length", len, sizeof(len));
            if (got >= (size_t)(end + 4 - buf) + strtoul(len, NULL, 10))
                break;
        }
    }
    char user[256], rcpt[256];
    field(buf, "Deliver-To", user, sizeof(user));
    field(buf, "Rcpt", rcpt, sizeof(rcpt));
    pthread_mutex_lock(&f->lock);
    f->requests++;
    f->mismatch |= strcmp(user, rcpt) != 0 || user[0] == '\0';
    if (++f->now > f->most)
        f->most = f->now;
    pthread_mutex_unlock(&f->lock);
    usleep(HOLD_MS * 1000);
    pthread_mutex_lock(&f->lock);
    f->now--;
    pthread_mutex_unlock(&f->lock);
    static const char body[] =
        "{\"score\":1.5,\"required_score\":15,\"action\":\"no action\","
        "\"symbols\":{\"B_RULE\":{\"score\":1.0},\"A_RULE\":{\"score\":0.5}}}";
    char reply[512];
    int len = snprintf(reply, sizeof(reply),
                       "HTTP/1.1 200 OK\r\nConnection: close\r\nServer: rspamd/9.9\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       sizeof(body) - 1, body);
    if (write(c->fd, reply, (size_t)len) < 0)
        perror("fake rspamd write");
    close(c->fd);
    free(c);
    return NULL;
}

static void *acceptor(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        pthread_mutex_lock(&f->lock);
        bool stop = f->stopping;
        pthread_mutex_unlock(&f->lock);
        if (stop)
            return NULL;
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct conn *c = malloc(sizeof(*c));
        if (c == NULL || f->n_handlers == HANDLERS_MAX) {
            free(c);
            close(fd);
            continue;
        }
        c->f = f;
        c->fd = fd;
        if (pthread_create(&f->handlers[f->n_handlers], NULL, handler, c) != 0) {
            free(c);
            close(fd);
            continue;
        }
        f->n_handlers++;
    }
}

static void fake_start(struct fake *f)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(f->lfd, 64), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&f->acceptor, NULL, acceptor, f), 0);
}

static void fake_stop(struct fake *f)
{
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->acceptor, NULL);
    for (size_t i = 0; i < f->n_handlers; i++)
        pthread_join(f->handlers[i], NULL);
    close(f->lfd);
    pthread_mutex_destroy(&f->lock);
}

static struct config *rspamd_config(struct policy *pol, int port, unsigned connections)
{
    struct config *cfg = calloc(1, sizeof(*cfg));
    assert_non_null(cfg);
    cfg->server.scan_timeout = 60;
    cfg->rspamd.enabled = true;
    cfg->rspamd.address.kind = NET_INET;
    snprintf(cfg->rspamd.address.host, sizeof(cfg->rspamd.address.host), "127.0.0.1");
    snprintf(cfg->rspamd.address.port, sizeof(cfg->rspamd.address.port), "%d", port);
    cfg->rspamd.timeout = 30;
    cfg->rspamd.max_size = 1024 * 1024;
    cfg->rspamd.connections = connections;
    snprintf(cfg->deliver.recipient_delimiter, sizeof(cfg->deliver.recipient_delimiter), "+");
    memset(pol, 0, sizeof(*pol));
    snprintf(pol->name, sizeof(pol->name), "default");
    pol->spam_scan = true;
    pol->spam_engine = SPAM_ENGINE_RSPAMD;
    snprintf(pol->spamd_user, sizeof(pol->spamd_user), "%%u");
    cfg->policies = pol;
    cfg->n_policies = 1;
    return cfg;
}

static void make_envelope(struct envelope *env, const struct policy *pol, const char *prefix, int n)
{
    envelope_init(env);
    snprintf(env->mail_id, sizeof(env->mail_id), "aaaaaaaaaaaa");
    for (int i = 0; i < n; i++) {
        struct recipient *r = envelope_add_rcpt(env);
        snprintf(r->address, sizeof(r->address), "%s%d@example.com", prefix, i);
        assert_int_equal(address_parse(&r->addr, r->address, strlen(r->address), "+", NULL),
                         ADDRESS_OK);
        r->policy = pol;
    }
}

static struct spool *message(const char *text)
{
    struct spool *sp = spool_new("/tmp");
    assert_non_null(sp);
    assert_int_equal(spool_write(sp, text, strlen(text)), 0);
    assert_int_equal(spool_finish(sp), 0);
    return sp;
}

static void check_ham(const struct scan_result *res, size_t n)
{
    assert_int_equal(res->n_spamd, n);
    for (size_t i = 0; i < n; i++) {
        const struct spamd_result *sr = &res->spamd[i];
        if (sr->status != SPAMD_HAM)
            fail_msg("%s: status %d (%s)", sr->user, sr->status, sr->error);
        assert_int_equal(sr->engine, SPAM_ENGINE_RSPAMD);
        assert_string_equal(sr->version, "rspamd/9.9");
        assert_int_equal(sr->n_rules, 2);
        assert_string_equal(sr->rules[0].name, "A_RULE");
    }
}

/* One message with 8 users and connections = 4: every user asked once,
 * with its own Rcpt, at most 2 requests in flight. */
static void test_one_message_share(void **state)
{
    (void)state;
    struct fake f;
    struct policy pol;
    struct envelope env;
    struct scan_result res;
    char err[256];
    fake_start(&f);
    struct config *cfg = rspamd_config(&pol, f.port, 4);
    struct scan_engine *se = scan_engine_new(cfg, err, sizeof(err));
    assert_non_null(se);
    struct spool *sp = message("Subject: x\r\n\r\nhello\r\n");
    make_envelope(&env, &pol, "u", 8);

    struct timespec start = mono_now();
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    unsigned took = elapsed_ms(start);
    check_ham(&res, 8);
    for (size_t i = 0; i < env.n_rcpts; i++)
        assert_int_equal(res.rcpt_spamd[i], i);
    fake_stop(&f);
    assert_int_equal(f.requests, 8);
    assert_false(f.mismatch);
    if (f.most != 2)
        fail_msg("one message had %u requests in flight, want 2 (half of 4)", f.most);
    /* 8 requests, 2 at a time, HOLD_MS each */
    assert_true(took >= 4 * HOLD_MS);
    scan_result_free(&res);
    spool_free(sp);
    envelope_free(&env);
    scan_engine_free(se);
    free(cfg);
}

struct job {
    struct scan_engine *se;
    const struct config *cfg;
    struct envelope env;
    const struct spool *msg;
    struct scan_result res;
};

static void *scan_thread(void *arg)
{
    struct job *j = arg;
    scan_message(j->se, j->cfg, &j->env, j->msg, &j->res);
    return NULL;
}

/* Four messages at once, connections = 3: never more than 3 requests in
 * flight over all of them, and every one answered. */
static void test_connection_limit(void **state)
{
    (void)state;
    struct fake f;
    struct policy pol;
    struct job jobs[4];
    pthread_t t[4];
    char err[256];
    fake_start(&f);
    struct config *cfg = rspamd_config(&pol, f.port, 3);
    struct scan_engine *se = scan_engine_new(cfg, err, sizeof(err));
    assert_non_null(se);
    struct spool *sp = message("Subject: y\r\n\r\nhello\r\n");
    for (int i = 0; i < 4; i++) {
        char prefix[8];
        snprintf(prefix, sizeof(prefix), "m%d-", i);
        jobs[i] = (struct job){.se = se, .cfg = cfg, .msg = sp};
        make_envelope(&jobs[i].env, &pol, prefix, 4);
        assert_int_equal(pthread_create(&t[i], NULL, scan_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    fake_stop(&f);
    for (int i = 0; i < 4; i++) {
        check_ham(&jobs[i].res, 4);
        scan_result_free(&jobs[i].res);
        envelope_free(&jobs[i].env);
    }
    assert_int_equal(f.requests, 16);
    if (f.most > 3)
        fail_msg("%u requests in flight, connections = 3", f.most);
    spool_free(sp);
    scan_engine_free(se);
    free(cfg);
}

/* verdict_reuse: the same bytes to the same users again are answered
 * from the cache, marked with the first mail's id; off, they are not. */
static void test_reuse(void **state)
{
    (void)state;
    struct fake f;
    struct policy pol;
    struct envelope env;
    struct scan_result res;
    char err[256];
    fake_start(&f);
    struct config *cfg = rspamd_config(&pol, f.port, 4);
    cfg->scan.verdict_reuse = 600;
    struct scan_engine *se = scan_engine_new(cfg, err, sizeof(err));
    assert_non_null(se);
    struct spool *sp = message("Subject: z\r\n\r\nhello\r\n");
    make_envelope(&env, &pol, "r", 2);

    snprintf(env.mail_id, sizeof(env.mail_id), "firstmail001");
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    check_ham(&res, 2);
    assert_string_equal(res.spamd[0].reused_from, "");
    scan_result_free(&res);

    snprintf(env.mail_id, sizeof(env.mail_id), "secondmail02");
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    check_ham(&res, 2);
    assert_string_equal(res.spamd[0].reused_from, "firstmail001");
    assert_string_equal(res.spamd[1].reused_from, "firstmail001");
    scan_result_free(&res);

    /* a configuration reload forgets every verdict */
    assert_int_equal(scan_engine_reload(se, cfg, err, sizeof(err)), 0);
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    check_ham(&res, 2);
    assert_string_equal(res.spamd[0].reused_from, "");
    scan_result_free(&res);

    cfg->scan.verdict_reuse = 0;
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    check_ham(&res, 2);
    assert_string_equal(res.spamd[0].reused_from, "");
    scan_result_free(&res);

    fake_stop(&f);
    assert_int_equal(f.requests, 6); /* 2 + 0 + 2 + 2 */
    spool_free(sp);
    envelope_free(&env);
    scan_engine_free(se);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_message_share),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
