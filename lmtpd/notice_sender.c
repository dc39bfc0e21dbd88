/*
 * notice_sender: the sending thread of queued notices (see
 * notice_sender.h): directory passes, the back-off, wake-ups.
 */
#include "lmtpd/notice_sender.h"

#include "common/log.h"
#include "common/xalloc.h"
#include "deliver/notice_queue.h"
#include "lmtpd/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool running, stopping, woken;
static pthread_t thread;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One pass over the queue. false when something is left for a retry. */
static bool pass(const struct config *cfg)
{
    DIR *d = opendir(cfg->notify.queue_dir);
    if (d == NULL) {
        if (errno != ENOENT)
            log_error("notice queue %s: %s", cfg->notify.queue_dir, strerror(errno));
        return errno == ENOENT;
    }
    char **names = xcalloc(NOTICE_PASS_MAX, sizeof(*names));
    size_t n = 0;
    struct dirent *de;
    while (n < NOTICE_PASS_MAX && (de = readdir(d)) != NULL)
        if (notice_queue_is_entry(de->d_name))
            names[n++] = xstrdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    bool done = true;
    for (size_t i = 0; i < n; i++) {
        bool stop;
        pthread_mutex_lock(&lock);
        stop = stopping;
        pthread_mutex_unlock(&lock);
        if (stop) {
            done = false;
            break;
        }
        enum notice_send_result r = notice_queue_send(cfg, names[i]);
        if (r == NOTICE_DEFERRED)
            done = false;
        if (r == NOTICE_UNREACHABLE) {
            done = false;
            break; /* the others go to the same server */
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return done && n < NOTICE_PASS_MAX;
}

static void *sender_main(void *arg)
{
    (void)arg;
    unsigned backoff = 0; /* seconds; 0: not backing off */
    for (;;) {
        pthread_mutex_lock(&lock);
        woken = false; /* a notice queued from now on wakes the next wait */
        pthread_mutex_unlock(&lock);
        struct runtime *rt = runtime_acquire();
        bool enabled = rt != NULL && config_notify_enabled(rt->cfg);
        bool done = true;
        if (enabled)
            done = pass(rt->cfg);
        if (rt != NULL)
            runtime_release(rt);
        if (done)
            backoff = 0;
        else
            backoff = backoff == 0
                          ? NOTICE_RETRY_FIRST
                          : (backoff * 2 > NOTICE_RETRY_MAX ? NOTICE_RETRY_MAX : backoff * 2);

        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += backoff ? backoff : 60; /* idle: a pass a minute all the same */
        pthread_mutex_lock(&lock);
        while (!stopping && !(woken && backoff == 0)) {
            if (pthread_cond_timedwait(&cond, &lock, &until) == ETIMEDOUT)
                break;
        }
        bool stop = stopping;
        pthread_mutex_unlock(&lock);
        if (stop)
            return NULL;
    }
}

int notice_sender_start(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&thread, NULL, sender_main, NULL);
    if (rc != 0) {
        log_error("notice sender: pthread_create: %s", strerror(rc));
        return -1;
    }
    running = true;
    return 0;
}

void notice_sender_wake(void)
{
    pthread_mutex_lock(&lock);
    woken = true;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
}

void notice_sender_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = false;
}
