/*
 * test_spamd: the spamd client against a REAL spamd started once for this
 * binary on a free loopback port (temp home, killed by PID at the end):
 * GTUBE is spam with the GTUBE rule, a ham message is ham, a large
 * on-disk message is streamed, spamd down gives "connection refused", a
 * silent peer times out, max_size skips, and scan_message runs one
 * request per distinct spamd_user (the template itself: test_address), and,
 * against a slow fake spamd (a real one cannot be made to hold a request
 * for a chosen time), that one message with many spamd users leaves
 * connections for another message.
 */
#include "common/clock.h"
#include "scan/policy.h"
#include "scan/scan.h"
#include "scan/spamd_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define SAMPLES         "/usr/share/doc/spamassassin/examples"
#define STARTUP_SECONDS 90

static char home[] = "/tmp/lmtpscan-test-spamd-XXXXXX";
static pid_t spamd_pid = -1;
static char spamd_port[8];

/* A port that was free a moment ago (bound to port 0, then released). */
static int free_port(char out[8], int keep_listening)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    snprintf(out, 8, "%u", ntohs(sa.sin_port));
    if (keep_listening) {
        if (listen(fd, 4) < 0)
            return -1;
        return fd;
    }
    close(fd);
    return 0;
}

static struct net_address inet_address(const char *port)
{
    struct net_address a;
    memset(&a, 0, sizeof(a));
    a.kind = NET_INET;
    snprintf(a.host, sizeof(a.host), "127.0.0.1");
    snprintf(a.port, sizeof(a.port), "%s", port);
    return a;
}

/* True when spamd answers PING. */
static bool spamd_pong(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char buf[128];
    ssize_t n;
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = false;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)atoi(spamd_port));
    if (fd < 0)
        return false;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        write(fd, "PING SPAMC/1.5\r\n\r\n", 18) == 18) {
        while (got + 1 < sizeof(buf) && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
            got += (size_t)n;
        buf[got] = '\0';
        ok = strstr(buf, "PONG") != NULL;
    }
    close(fd);
    return ok;
}

static int group_setup(void **state)
{
    (void)state;
    char listen_arg[64], pidfile[256], logfile[256];

    if (mkdtemp(home) == NULL || free_port(spamd_port, 0) < 0)
        return -1;
    snprintf(listen_arg, sizeof(listen_arg), "--listen=127.0.0.1:%s", spamd_port);
    snprintf(pidfile, sizeof(pidfile), "%s/spamd.pid", home);
    snprintf(logfile, sizeof(logfile), "%s/spamd.log", home);

    spamd_pid = fork();
    if (spamd_pid < 0)
        return -1;
    if (spamd_pid == 0) {
        int fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("HOME", home, 1);
        execlp("spamd", "spamd", "-L", listen_arg, "-m", "1", "--pidfile", pidfile,
               "--syslog=stderr", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < STARTUP_SECONDS * 4; i++) {
        if (spamd_pong())
            return 0;
        if (waitpid(spamd_pid, NULL, WNOHANG) == spamd_pid) {
            spamd_pid = -1;
            fprintf(stderr, "spamd exited at start-up, see %s\n", logfile);
            return -1;
        }
        usleep(250 * 1000);
    }
    fprintf(stderr, "spamd did not answer within %d s\n", STARTUP_SECONDS);
    return -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[512];

    if (spamd_pid > 0) {
        kill(spamd_pid, SIGTERM);
        for (int i = 0; i < 100; i++) {
            if (waitpid(spamd_pid, NULL, WNOHANG) == spamd_pid) {
                spamd_pid = -1;
                break;
            }
            usleep(100 * 1000);
        }
        if (spamd_pid > 0) {
            kill(spamd_pid, SIGKILL);
            waitpid(spamd_pid, NULL, 0);
        }
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    return system(cmd) == 0 ? 0 : -1;
}

static struct spool *spool_file(const char *path, size_t pad_to)
{
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n, total = 0;
    struct spool *sp = spool_new(home);

    assert_non_null(f);
    assert_non_null(sp);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        assert_int_equal(spool_write(sp, buf, n), 0);
        total += n;
    }
    fclose(f);
    while (total < pad_to) {
        static const char line[] = "padding line padding line padding line padding line\n";
        assert_int_equal(spool_write(sp, line, sizeof(line) - 1), 0);
        total += sizeof(line) - 1;
    }
    assert_int_equal(spool_finish(sp), 0);
    return sp;
}

static void check(const struct net_address *a, const char *user, struct spool *sp,
                  uint64_t max_size, unsigned timeout, struct spamd_result *out)
{
    struct spamd_request req = {
        .address = a,
        .user = user,
        .msg = sp,
        .max_size = max_size,
        .timeout = timeout,
        .deadline = deadline_after_ms(60 * 1000),
        .limit = NULL,
    };
    memset(out, 0, sizeof(*out));
    spamd_check(&req, out);
}

static bool has_rule(const struct spamd_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_rules; i++)
        if (strcmp(r->rules[i].name, name) == 0)
            return true;
    return false;
}

static void test_gtube_is_spam(void **state)
{
    (void)state;
    struct net_address a = inet_address(spamd_port);
    struct spool *sp = spool_file(SAMPLES "/sample-spam.txt", 0);
    struct spamd_result r;

    check(&a, "someone@example.com", sp, 500 * 1024, 30, &r);
    if (r.status != SPAMD_SPAM)
        fail_msg("status %d: %s", r.status, r.error);
    assert_true(r.score >= 1000.0);
    assert_true(r.required == 5.0);
    assert_true(has_rule(&r, "GTUBE"));
    free(r.rules);
    spool_free(sp);
}

static void test_ham(void **state)
{
    (void)state;
    struct net_address a = inet_address(spamd_port);
    struct spool *sp = spool_file(SAMPLES "/sample-nonspam.txt", 0);
    struct spamd_result r;

    check(&a, "", sp, 500 * 1024, 30, &r);
    if (r.status != SPAMD_HAM)
        fail_msg("status %d: %s", r.status, r.error);
    assert_true(r.score < 5.0);
    assert_false(has_rule(&r, "GTUBE"));
    free(r.rules);
    spool_free(sp);
}

static void test_large_on_disk(void **state)
{
    (void)state;
    struct net_address a = inet_address(spamd_port);
    struct spool *sp = spool_file(SAMPLES "/sample-spam.txt", 300 * 1024);
    struct spamd_result r;

    assert_true(spool_fd(sp) >= 0);
    check(&a, "someone@example.com", sp, 1024 * 1024, 60, &r);
    if (r.status != SPAMD_SPAM)
        fail_msg("status %d: %s", r.status, r.error);
    assert_true(has_rule(&r, "GTUBE"));
    free(r.rules);

    /* over max_size: skipped, nothing sent */
    struct net_address dead = inet_address("1");
    check(&dead, "", sp, 100 * 1024, 30, &r);
    assert_int_equal(r.status, SPAMD_SKIPPED);
    spool_free(sp);
}

static void test_spamd_down(void **state)
{
    (void)state;
    char port[8];
    struct spool *sp = spool_file(SAMPLES "/sample-spam.txt", 0);
    struct spamd_result r;

    assert_int_equal(free_port(port, 0), 0);
    struct net_address a = inet_address(port);
    check(&a, "x@example.com", sp, 0, 5, &r);
    assert_int_equal(r.status, SPAMD_ERROR);
    if (strcasestr(r.error, "refused") == NULL)
        fail_msg("error: %s", r.error);
    spool_free(sp);
}

static void test_silent_peer_times_out(void **state)
{
    (void)state;
    char port[8];
    int lfd = free_port(port, 1); /* listens, never accepts or answers */
    struct spool *sp = spool_file(SAMPLES "/sample-spam.txt", 0);
    struct spamd_result r;
    struct timespec start;

    assert_true(lfd >= 0);
    struct net_address a = inet_address(port);
    clock_gettime(CLOCK_MONOTONIC, &start);
    check(&a, "x@example.com", sp, 0, 1, &r);
    assert_int_equal(r.status, SPAMD_ERROR);
    assert_non_null(strstr(r.error, "timeout"));
    assert_true(elapsed_ms(start) < 5000);
    close(lfd);
    spool_free(sp);
}

/* A configuration with spamd only, at port, and two policies: pols[0]
 * "default" with spamd_user %u, pols[1] "domain" with %d. */
static struct config *spamd_config(struct policy pols[2], const char *port)
{
    struct config *cfg = calloc(1, sizeof(*cfg));

    assert_non_null(cfg);
    cfg->server.scan_timeout = 60;
    cfg->clamav.enabled = false;
    cfg->spamd.enabled = true;
    cfg->spamd.address = inet_address(port);
    cfg->spamd.timeout = 30;
    cfg->spamd.max_size = 500 * 1024;
    cfg->spamd.connections = 2;
    snprintf(cfg->deliver.recipient_delimiter, sizeof(cfg->deliver.recipient_delimiter), "+");
    memset(pols, 0, 2 * sizeof(*pols));
    snprintf(pols[0].name, sizeof(pols[0].name), "default");
    pols[0].spam_scan = true;
    pols[0].virus_scan = true;
    snprintf(pols[0].spamd_user, sizeof(pols[0].spamd_user), "%%u");
    pols[0].spam_mark_level = 5;
    pols[0].spam_block_level = 15;
    pols[0].spam_header_level = -999;
    pols[0].spam_action = ACTION_JUNK;
    pols[0].spam_block_action = ACTION_REJECT;
    pols[1] = pols[0];
    snprintf(pols[1].name, sizeof(pols[1].name), "domain");
    snprintf(pols[1].spamd_user, sizeof(pols[1].spamd_user), "%%d");
    cfg->policies = pols;
    cfg->n_policies = 2;
    return cfg;
}

static void test_scan_message_users(void **state)
{
    (void)state;
    struct policy pols[2];
    struct config *cfg = spamd_config(pols, spamd_port);
    struct envelope env;
    struct scan_result res;
    char err[256];
    static const char *addrs[] = {"A@example.com", "\"a\"@Example.com", "b+x@example.org",
                                  "c@example.org", "d@example.net"};

    struct scan_engine *se = scan_engine_new(cfg, err, sizeof(err));
    assert_non_null(se);
    envelope_init(&env);
    for (size_t i = 0; i < 5; i++) {
        struct recipient *r = envelope_add_rcpt(&env);
        snprintf(r->address, sizeof(r->address), "%s", addrs[i]);
        assert_int_equal(address_parse(&r->addr, addrs[i], strlen(addrs[i]), "+", NULL),
                         ADDRESS_OK);
        r->policy = i >= 2 && i <= 3 ? &pols[1] : &pols[0];
    }
    struct spool *sp = spool_file(SAMPLES "/sample-spam.txt", 0);
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);

    /* users: a@example.com (twice: quoted or not, one mailbox), example.org
     * (twice), d@example.net */
    assert_int_equal(res.n_spamd, 3);
    assert_int_equal(res.rcpt_spamd[0], res.rcpt_spamd[1]);
    assert_int_equal(res.rcpt_spamd[2], res.rcpt_spamd[3]);
    assert_string_equal(res.spamd[res.rcpt_spamd[0]].user, "a@example.com");
    assert_string_equal(res.spamd[res.rcpt_spamd[2]].user, "example.org");
    assert_string_equal(res.spamd[res.rcpt_spamd[4]].user, "d@example.net");
    for (size_t i = 0; i < res.n_spamd; i++) {
        if (res.spamd[i].status != SPAMD_SPAM)
            fail_msg("%s: status %d %s", res.spamd[i].user, res.spamd[i].status,
                     res.spamd[i].error);
    }
    assert_int_equal(res.clamav.status, CLAMAV_NOT_RUN);
    policy_decide(&env, &res);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(env.rcpts[i].verdict, VERDICT_SPAM);
        assert_int_equal(env.rcpts[i].action, ACTION_REJECT);
    }
    scan_result_free(&res);

    /* spamd down: every recipient tempfails, nothing clean */
    char port[8];
    assert_int_equal(free_port(port, 0), 0);
    cfg->spamd.address = inet_address(port);
    pols[0].scan_error_action = ACTION_TEMPFAIL;
    pols[1].scan_error_action = ACTION_TEMPFAIL;
    assert_int_equal(scan_message(se, cfg, &env, sp, &res), 0);
    policy_decide(&env, &res);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(res.spamd[res.rcpt_spamd[i]].status, SPAMD_ERROR);
        assert_int_equal(env.rcpts[i].verdict, VERDICT_UNCHECKED);
        assert_int_equal(env.rcpts[i].action, ACTION_TEMPFAIL);
    }
    scan_result_free(&res);

    spool_free(sp);
    envelope_free(&env);
    scan_engine_free(se);
    free(cfg);
}

/* ---- a slow fake spamd ------------------------------------------------ */

#define SLOW_HANDLERS_MAX 64

/* Answers every request as ham; a request whose User starts with "slow"
 * is held until the test releases it (at most 30 s). */
struct slow_spamd {
    int lfd;
    char port[8];
    pthread_t acceptor;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool released;
    bool stopping;
    unsigned slow_now; /* slow requests held right now */
    unsigned slow_max; /* the most held at once */
    pthread_t handlers[SLOW_HANDLERS_MAX];
    size_t n_handlers;
};

struct slow_conn {
    struct slow_spamd *srv;
    int fd;
};

static void *slow_handler(void *arg)
{
    struct slow_conn *c = arg;
    struct slow_spamd *srv = c->srv;
    char head[4096], buf[4096];
    size_t got = 0;
    ssize_t n;
    struct timeval tv = {.tv_sec = 30};

    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    /* the request, through the client's shutdown of its side */
    while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
        size_t keep = got + (size_t)n < sizeof(head) - 1 ? (size_t)n : sizeof(head) - 1 - got;
        memcpy(head + got, buf, keep);
        got += keep;
    }
    head[got] = '\0';
    const char *user = strstr(head, "\r\nUser: ");
    if (user != NULL && strncmp(user + 8, "slow", 4) == 0) {
        struct timespec until = deadline_after_ms(30 * 1000);
        pthread_mutex_lock(&srv->lock);
        srv->slow_now++;
        if (srv->slow_now > srv->slow_max)
            srv->slow_max = srv->slow_now;
        pthread_cond_broadcast(&srv->changed);
        while (!srv->released &&
               pthread_cond_timedwait(&srv->changed, &srv->lock, &until) != ETIMEDOUT)
            ;
        srv->slow_now--;
        pthread_mutex_unlock(&srv->lock);
    }
    static const char reply[] = "SPAMD/1.1 0 EX_OK\r\nSpam: False ; 1.0 / 5.0\r\n\r\n";
    if (write(c->fd, reply, sizeof(reply) - 1) < 0)
        perror("slow spamd write");
    close(c->fd);
    free(c);
    return NULL;
}

static void *slow_acceptor(void *arg)
{
    struct slow_spamd *srv = arg;

    for (;;) {
        struct pollfd p = {.fd = srv->lfd, .events = POLLIN};
        pthread_mutex_lock(&srv->lock);
        bool stop = srv->stopping;
        pthread_mutex_unlock(&srv->lock);
        if (stop)
            return NULL;
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(srv->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct slow_conn *c = malloc(sizeof(*c));
        if (c != NULL) {
            c->srv = srv;
            c->fd = fd;
        }
        if (c == NULL || srv->n_handlers == SLOW_HANDLERS_MAX ||
            pthread_create(&srv->handlers[srv->n_handlers], NULL, slow_handler, c) != 0) {
            free(c);
            close(fd);
            continue;
        }
        srv->n_handlers++;
    }
}

static void slow_spamd_start(struct slow_spamd *srv)
{
    memset(srv, 0, sizeof(*srv));
    pthread_mutex_init(&srv->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->changed, &attr);
    pthread_condattr_destroy(&attr);
    srv->lfd = free_port(srv->port, 1);
    assert_true(srv->lfd >= 0);
    assert_int_equal(pthread_create(&srv->acceptor, NULL, slow_acceptor, srv), 0);
}

/* Lets the held requests answer. */
static void slow_spamd_release(struct slow_spamd *srv)
{
    pthread_mutex_lock(&srv->lock);
    srv->released = true;
    pthread_cond_broadcast(&srv->changed);
    pthread_mutex_unlock(&srv->lock);
}

static void slow_spamd_stop(struct slow_spamd *srv)
{
    slow_spamd_release(srv);
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    pthread_mutex_unlock(&srv->lock);
    pthread_join(srv->acceptor, NULL);
    for (size_t i = 0; i < srv->n_handlers; i++)
        pthread_join(srv->handlers[i], NULL);
    close(srv->lfd);
    pthread_cond_destroy(&srv->changed);
    pthread_mutex_destroy(&srv->lock);
}

struct scan_job {
    struct scan_engine *se;
    const struct config *cfg;
    const struct envelope *env;
    const struct spool *msg;
    struct scan_result res;
};

static void *scan_thread(void *arg)
{
    struct scan_job *j = arg;
    scan_message(j->se, j->cfg, j->env, j->msg, &j->res);
    return NULL;
}

/*
 * One message with eight spamd users whose requests spamd holds must not
 * take every [spamd] connection: it gets at most half of them, and a
 * message from another session is answered at once meanwhile, not only
 * once the first message's requests give up at its scan_timeout (or with
 * "timeout waiting for a free spamd connection" at its own).
 */
static void test_one_message_leaves_spamd_connections(void **state)
{
    (void)state;
    struct slow_spamd srv;
    struct policy pols[2];
    struct envelope big, small;
    struct scan_job job;
    struct scan_result res;
    pthread_t t;
    char err[256];

    slow_spamd_start(&srv);
    struct config *cfg = spamd_config(pols, srv.port);
    cfg->spamd.connections = 4;
    cfg->server.scan_timeout = 10;
    struct scan_engine *se = scan_engine_new(cfg, err, sizeof(err));
    assert_non_null(se);
    struct spool *sp = spool_file(SAMPLES "/sample-nonspam.txt", 0);

    envelope_init(&big);
    for (int i = 0; i < 8; i++) {
        struct recipient *r = envelope_add_rcpt(&big);
        snprintf(r->address, sizeof(r->address), "slow%d@example.com", i);
        assert_int_equal(address_parse(&r->addr, r->address, strlen(r->address), "+", NULL),
                         ADDRESS_OK);
        r->policy = &pols[0];
    }
    envelope_init(&small);
    struct recipient *r = envelope_add_rcpt(&small);
    snprintf(r->address, sizeof(r->address), "fast@example.com");
    assert_int_equal(address_parse(&r->addr, r->address, strlen(r->address), "+", NULL),
                     ADDRESS_OK);
    r->policy = &pols[0];

    job = (struct scan_job){.se = se, .cfg = cfg, .env = &big, .msg = sp};
    assert_int_equal(pthread_create(&t, NULL, scan_thread, &job), 0);
    /* the big message's requests are held; give it time to take more */
    struct timespec until = deadline_after_ms(10 * 1000);
    pthread_mutex_lock(&srv.lock);
    while (srv.slow_now < 2 && pthread_cond_timedwait(&srv.changed, &srv.lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&srv.lock);
    usleep(300 * 1000);

    struct timespec start = mono_now();
    assert_int_equal(scan_message(se, cfg, &small, sp, &res), 0);
    unsigned took = elapsed_ms(start);
    slow_spamd_release(&srv);
    pthread_join(t, NULL);

    assert_int_equal(res.n_spamd, 1);
    if (res.spamd[0].status != SPAMD_HAM || took >= 5000)
        fail_msg("second message: status %d after %u ms (%s)", res.spamd[0].status, took,
                 res.spamd[0].error);
    pthread_mutex_lock(&srv.lock);
    unsigned most = srv.slow_max;
    pthread_mutex_unlock(&srv.lock);
    if (most > 2)
        fail_msg("one message held %u of 4 spamd connections", most);
    /* the big message still gets all its answers, two at a time */
    assert_int_equal(job.res.n_spamd, 8);
    for (size_t i = 0; i < job.res.n_spamd; i++)
        if (job.res.spamd[i].status != SPAMD_HAM)
            fail_msg("%s: status %d %s", job.res.spamd[i].user, job.res.spamd[i].status,
                     job.res.spamd[i].error);

    scan_result_free(&res);
    scan_result_free(&job.res);
    spool_free(sp);
    envelope_free(&big);
    envelope_free(&small);
    scan_engine_free(se);
    free(cfg);
    slow_spamd_stop(&srv);
}

static void test_connection_limit(void **state)
{
    (void)state;
    struct spamd_limit l;
    struct timespec dl;

    spamd_limit_init(&l, 2);
    dl = deadline_after_ms(50);
    assert_int_equal(spamd_limit_acquire(&l, &dl), 0);
    assert_int_equal(spamd_limit_acquire(&l, &dl), 0);
    dl = deadline_after_ms(50);
    assert_int_equal(spamd_limit_acquire(&l, &dl), -1); /* full: waits, times out */
    spamd_limit_release(&l);
    dl = deadline_after_ms(50);
    assert_int_equal(spamd_limit_acquire(&l, &dl), 0);
    spamd_limit_set_max(&l, 3);
    assert_int_equal(spamd_limit_acquire(&l, &dl), 0);
    for (int i = 0; i < 3; i++)
        spamd_limit_release(&l);
    spamd_limit_destroy(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_gtube_is_spam),
        cmocka_unit_test(test_ham),
        cmocka_unit_test(test_large_on_disk),
        cmocka_unit_test(test_spamd_down),
        cmocka_unit_test(test_silent_peer_times_out),
        cmocka_unit_test(test_scan_message_users),
        cmocka_unit_test(test_one_message_leaves_spamd_connections),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
