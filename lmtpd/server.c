/*
 * server: listeners, accept loop, session threads, signals (see server.h).
 * Failure modes: a failed accept is logged and the loop goes on; a session
 * thread that cannot be created gets the connection closed with 421; a
 * reload thread that cannot be created is logged (nothing reloaded).
 */
#include "lmtpd/server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/net_address.h"
#include "common/xalloc.h"
#include "lmtpd/runtime.h"
#include "lmtpd/session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS      (2 * CONFIG_MAX_LISTEN)
#define STOP_GRACE_SECONDS 30

struct listener {
    int fd;
    enum protocol protocol;
};

static struct listener listeners[MAX_LISTENERS];
static size_t n_listeners;

/* Readable once the daemon stops (a byte is written, never read). */
static int stop_pipe[2] = {-1, -1};

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sessions_done = PTHREAD_COND_INITIALIZER;
static unsigned active_sessions;
static unsigned active_untrusted; /* of those, clients neither on a unix socket nor in allow_from */

static int add_listener(const struct net_address *a, enum protocol protocol, char *err,
                        size_t err_len)
{
    int fd = net_listen(a, 128, err, err_len);
    if (fd < 0)
        return -1;
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        snprintf(err, err_len, "fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    listeners[n_listeners].fd = fd;
    listeners[n_listeners].protocol = protocol;
    n_listeners++;
    return 0;
}

/* Sockets passed by systemd (lmtpscand.socket). A socket named "smtp"
 * (FileDescriptorName=smtp) speaks SMTP, every other one LMTP. Returns the
 * number taken over, or -1 with err. */
static int listen_activated(char *err, size_t err_len)
{
    char **names = NULL;
    int n = sd_listen_fds_with_names(1, &names);
    if (n < 0) {
        snprintf(err, err_len, "sd_listen_fds: %s", strerror(-n));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        if (n_listeners < MAX_LISTENERS && fcntl(fd, F_SETFL, O_NONBLOCK) == 0) {
            listeners[n_listeners].fd = fd;
            listeners[n_listeners].protocol =
                names && names[i] && strcmp(names[i], "smtp") == 0 ? PROTO_SMTP : PROTO_LMTP;
            n_listeners++;
        } else {
            close(fd);
        }
        if (names)
            free(names[i]);
    }
    free(names);
    return n;
}

int server_listen(const struct config *cfg, char *err, size_t err_len)
{
    int activated = listen_activated(err, err_len);
    if (activated < 0)
        return -1;
    if (activated > 0) {
        log_info("using %d socket(s) from the service manager; listen/smtp_listen ignored",
                 activated);
        return 0;
    }
    for (size_t i = 0; i < cfg->server.n_listen; i++)
        if (add_listener(&cfg->server.listen[i], PROTO_LMTP, err, err_len) < 0)
            return -1;
    for (size_t i = 0; i < cfg->server.n_smtp_listen; i++)
        if (add_listener(&cfg->server.smtp_listen[i], PROTO_SMTP, err, err_len) < 0)
            return -1;
    return 0;
}

struct session_start {
    int fd;
    bool trusted;
    enum protocol protocol;
    struct sockaddr_storage peer;
    socklen_t peer_len;
};

static void session_ended(bool trusted)
{
    metrics_sessions_add(-1);
    pthread_mutex_lock(&sessions_lock);
    active_sessions--;
    if (!trusted)
        active_untrusted--;
    pthread_cond_broadcast(&sessions_done);
    pthread_mutex_unlock(&sessions_lock);
}

static void *session_thread(void *arg)
{
    struct session_start *ss = arg;
    bool trusted = ss->trusted;
    int fd = ss->fd;
    session_run(fd, ss->protocol, (struct sockaddr *)&ss->peer, ss->peer_len, stop_pipe[0]);
    free(ss);
    /* The slot is free before the client sees the end: a client that
     * reconnects once it read EOF is never refused for its own old
     * session. */
    session_ended(trusted);
    close(fd);
    return NULL;
}

/* Refuses a connection without a session: one line, best effort. */
static void refuse(int fd, const char *reply)
{
    (void)!send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

static void accept_one(const struct listener *l)
{
    struct session_start *ss = xcalloc(1, sizeof(*ss));
    ss->peer_len = sizeof(ss->peer);
    int fd =
        accept4(l->fd, (struct sockaddr *)&ss->peer, &ss->peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            log_warn("accept: %s", strerror(errno));
        free(ss);
        return;
    }
    ss->fd = fd;
    ss->protocol = l->protocol;
    if (ss->peer.ss_family != AF_UNIX)
        net_set_nodelay(fd);

    struct runtime *rt = runtime_acquire();
    const struct config *cfg = rt->cfg;
    unsigned max = cfg->server.max_sessions;
    /* Slots kept for trusted clients (unix socket, allow_from). */
    unsigned reserved =
        cfg->server.trusted_sessions < max / 2 ? cfg->server.trusted_sessions : max / 2;
    ss->trusted = ss->peer.ss_family == AF_UNIX ||
                  cidr_list_match(cfg->server.allow_from, cfg->server.n_allow_from,
                                  (const struct sockaddr *)&ss->peer);
    char busy[300];
    snprintf(busy, sizeof(busy), "421 4.3.2 %s Too many sessions, try again later\r\n",
             cfg->server.hostname);
    runtime_release(rt);

    pthread_mutex_lock(&sessions_lock);
    bool full = active_sessions >= max || (!ss->trusted && active_untrusted >= max - reserved);
    if (!full) {
        active_sessions++;
        if (!ss->trusted)
            active_untrusted++;
    }
    pthread_mutex_unlock(&sessions_lock);
    if (!full)
        metrics_sessions_add(1);
    if (full) {
        if (ss->trusted)
            log_warn("max_sessions (%u) reached: connection refused", max);
        else
            log_warn("slots for untrusted clients (%u of max_sessions %u) taken: connection "
                     "refused",
                     max - reserved, max);
        refuse(fd, busy);
        free(ss);
        return;
    }

    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&tid, &attr, session_thread, ss);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        log_error("pthread_create: %s", strerror(rc));
        bool trusted = ss->trusted;
        refuse(fd, busy);
        free(ss);
        session_ended(trusted);
    }
}

/*
 * Reloads run in a thread of their own, so the accept loop goes on greeting
 * clients while signatures load. A SIGHUP during a reload asks for one more
 * pass when it ends (the files may have changed again).
 */
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static bool reload_running, reload_again, reload_joinable;
static pthread_t reload_thread;

static void reload_once(const char *config_path)
{
    char err[1024];
    struct config *cfg;
    if (config_load(config_path, &cfg, err, sizeof(err)) < 0) {
        log_error("reload refused, keeping the running configuration: %s", err);
        return;
    }
    config_default_tmp_dir(cfg);
    /* The generation's reference keeps the engine alive while it loads. */
    struct runtime *rt = runtime_acquire();
    struct scan_engine *scan = rt->scan;
    if (scan != NULL && scan_engine_reload(scan, cfg, err, sizeof(err)) < 0)
        log_error("signature reload failed, keeping the running engine: %s", err);
    runtime_install(cfg, scan);
    runtime_release(rt);
    log_info("configuration %s reloaded", config_path);
}

static void *reload_main(void *arg)
{
    const char *config_path = arg;
    pthread_mutex_lock(&reload_lock);
    do {
        reload_again = false;
        pthread_mutex_unlock(&reload_lock);
        reload_once(config_path);
        pthread_mutex_lock(&reload_lock);
    } while (reload_again);
    reload_running = false;
    (void)sd_notify(0, "READY=1");
    pthread_mutex_unlock(&reload_lock);
    return NULL;
}

/* SIGHUP: starts a reload, or asks the running one for another pass. */
static void reload_start(const char *config_path)
{
    pthread_mutex_lock(&reload_lock);
    if (reload_running) {
        reload_again = true;
        pthread_mutex_unlock(&reload_lock);
        return;
    }
    if (reload_joinable) /* the last reload has ended: collect its thread */
        (void)pthread_join(reload_thread, NULL);
    reload_joinable = false;
    (void)sd_notify(0, "RELOADING=1");
    int rc = pthread_create(&reload_thread, NULL, reload_main, (void *)config_path);
    if (rc != 0) {
        log_error("reload not started: pthread_create: %s", strerror(rc));
        (void)sd_notify(0, "READY=1");
    } else {
        reload_running = reload_joinable = true;
    }
    pthread_mutex_unlock(&reload_lock);
}

/* At exit: waits for a reload under way (it ends on its own). */
static void reload_wait(void)
{
    pthread_mutex_lock(&reload_lock);
    bool joinable = reload_joinable;
    reload_again = false;
    reload_joinable = false;
    pthread_mutex_unlock(&reload_lock);
    if (joinable)
        (void)pthread_join(reload_thread, NULL);
}

/* Waits for the sessions to end, at most STOP_GRACE_SECONDS. */
static void wait_for_sessions(void)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += STOP_GRACE_SECONDS;
    pthread_mutex_lock(&sessions_lock);
    while (active_sessions > 0)
        if (pthread_cond_timedwait(&sessions_done, &sessions_lock, &deadline) == ETIMEDOUT)
            break;
    unsigned left = active_sessions;
    pthread_mutex_unlock(&sessions_lock);
    if (left > 0)
        log_warn("stopping with %u sessions still open (nothing they hold was acknowledged)", left);
}

int server_run(const char *config_path)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        log_error("signalfd: %s", strerror(errno));
        return 1;
    }

    if (pipe2(stop_pipe, O_CLOEXEC) < 0) {
        log_error("pipe: %s", strerror(errno));
        close(sfd);
        return 1;
    }
    struct pollfd pfds[MAX_LISTENERS + 1];
    pfds[0].fd = sfd;
    pfds[0].events = POLLIN;
    for (size_t i = 0; i < n_listeners; i++) {
        pfds[i + 1].fd = listeners[i].fd;
        pfds[i + 1].events = POLLIN;
    }
    (void)sd_notify(0, "READY=1");
    log_info("lmtpscand %s ready", LMTPSCAN_VERSION);

    bool stop = false;
    while (!stop) {
        int n = poll(pfds, n_listeners + 1, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll: %s", strerror(errno));
            break;
        }
        if (pfds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGHUP)
                    reload_start(config_path);
                else
                    stop = true;
            }
        }
        for (size_t i = 0; i < n_listeners && !stop; i++)
            if (pfds[i + 1].revents & POLLIN)
                accept_one(&listeners[i]);
    }

    (void)sd_notify(0, "STOPPING=1");
    log_info("stopping: listeners closed, waiting for sessions");
    for (size_t i = 0; i < n_listeners; i++)
        close(listeners[i].fd);
    n_listeners = 0;
    if (write(stop_pipe[1], "x", 1) != 1)
        log_warn("cannot tell sessions to stop: %s", strerror(errno));
    reload_wait();
    wait_for_sessions();
    close(sfd);
    return 0;
}
