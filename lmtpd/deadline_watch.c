/*
 * deadline_watch: one thread shutting the reading side of sessions past
 * their hard deadline (see deadline_watch.h). `watch_lock` guards the list
 * and next_wake; a session unlinks itself under it before closing its fd,
 * so the thread never shuts a closed or reused descriptor. Work: one pass
 * over the watched sessions (at most max_sessions) per expiry, and per
 * new session only when it is due before the current wake-up.
 */
#include "lmtpd/deadline_watch.h"
#include "common/log.h"

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_wake; /* CLOCK_MONOTONIC */
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static bool watch_running;
static struct deadline_watch *watched;
static struct timespec next_wake; /* {0, 0}: asleep without a deadline */

static bool before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static bool is_zero(struct timespec t)
{
    return t.tv_sec == 0 && t.tv_nsec == 0;
}

static void *watch_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&watch_lock);
    for (;;) {
        struct timespec now, earliest = {0, 0};
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (struct deadline_watch *w = watched; w != NULL; w = w->next) {
            if (w->fired)
                continue;
            if (!before(now, w->when)) {
                /* Reads end (EOF); writes still work. */
                (void)shutdown(w->fd, SHUT_RD);
                w->fired = true;
            } else if (is_zero(earliest) || before(w->when, earliest)) {
                earliest = w->when;
            }
        }
        next_wake = earliest;
        if (is_zero(earliest))
            pthread_cond_wait(&watch_wake, &watch_lock);
        else
            (void)pthread_cond_timedwait(&watch_wake, &watch_lock, &earliest);
    }
    return NULL;
}

static void watch_start(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&watch_wake, &attr);
    pthread_condattr_destroy(&attr);

    pthread_attr_t tattr;
    pthread_t tid;
    pthread_attr_init(&tattr);
    pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&tid, &tattr, watch_main, NULL);
    pthread_attr_destroy(&tattr);
    if (rc != 0)
        log_error("session deadline watch not started: pthread_create: %s", strerror(rc));
    else
        watch_running = true;
}

void deadline_watch_add(struct deadline_watch *w, int fd, struct timespec when)
{
    pthread_once(&watch_once, watch_start);
    w->fd = fd;
    w->when = when;
    w->fired = false;
    w->prev = NULL;
    pthread_mutex_lock(&watch_lock);
    w->next = watched;
    if (watched != NULL)
        watched->prev = w;
    watched = w;
    if (watch_running && (is_zero(next_wake) || before(when, next_wake)))
        pthread_cond_signal(&watch_wake);
    pthread_mutex_unlock(&watch_lock);
}

void deadline_watch_remove(struct deadline_watch *w)
{
    pthread_mutex_lock(&watch_lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        watched = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    pthread_mutex_unlock(&watch_lock);
}
