/*
 * clamav_pool: the threads that run libclamav scans (see clamav_pool.h).
 * One mutex guards a FIFO of jobs that live on their callers' stacks;
 * each job has its own condition variable, so a finished scan wakes only
 * its caller.
 *
 * After a scan of a large message the freed memory is given back to the
 * system (malloc_trim): libclamav holds several times such a message while
 * it parses it, and what one scan thread freed in its malloc arena would
 * otherwise stay resident beside what the next thread takes for the next
 * large message.
 */
#include "scan/clamav_pool.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL_MAX 64
#define TRIM_AT  (1024 * 1024) /* message bytes: a scan worth a malloc_trim */

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
    void (*fn)(void *);
    void *arg;
    enum job_state state;
    pthread_cond_t changed; /* CLOCK_MONOTONIC */
    struct job *next;
};

struct clamav_pool {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job queued, or threads to leave */
    pthread_cond_t gone; /* a thread left */
    struct job *head, *tail;
    unsigned target;  /* threads wanted */
    unsigned threads; /* threads running */
    bool stopping;
};

unsigned clamav_pool_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2)
        n = 2;
    return n > POOL_MAX ? POOL_MAX : (unsigned)n;
}

static unsigned wanted(unsigned threads)
{
    if (threads == 0)
        return clamav_pool_default_threads();
    return threads > POOL_MAX ? POOL_MAX : threads;
}

struct clamav_pool *clamav_pool_new(unsigned threads)
{
    struct clamav_pool *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->gone, NULL);
    p->target = wanted(threads);
    return p;
}

void clamav_pool_set_threads(struct clamav_pool *p, unsigned threads)
{
    pthread_mutex_lock(&p->lock);
    p->target = wanted(threads);
    pthread_cond_broadcast(&p->work); /* surplus threads leave */
    pthread_mutex_unlock(&p->lock);
}

static void *scan_thread(void *arg)
{
    struct clamav_pool *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !p->stopping && p->threads <= p->target)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stopping || p->threads > p->target)
            break;
        struct job *j = p->head;
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&p->lock);

        j->fn(j->arg);

        pthread_mutex_lock(&p->lock);
        j->state = JOB_DONE;
        pthread_cond_signal(&j->changed);
    }
    p->threads--;
    if (p->head != NULL)
        pthread_cond_signal(&p->work); /* the wake-up this thread took is not lost */
    pthread_cond_broadcast(&p->gone);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* With the lock held: starts threads up to the target. false when none
 * runs and none could be started. */
static bool start_threads(struct clamav_pool *p)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (p->threads < p->target) {
        pthread_t t;
        int rc = pthread_create(&t, &attr, scan_thread, p);
        if (rc != 0) {
            log_warn("clamav: cannot start a scan thread: %s", strerror(rc));
            break;
        }
        p->threads++;
    }
    pthread_attr_destroy(&attr);
    return p->threads > 0;
}

static void unqueue(struct clamav_pool *p, struct job *j)
{
    struct job **pp = &p->head, *prev = NULL;
    while (*pp != NULL && *pp != j) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL)
        return;
    *pp = j->next;
    if (p->tail == j)
        p->tail = prev;
}

int clamav_pool_run(struct clamav_pool *p, void (*fn)(void *), void *arg,
                    const struct timespec *deadline)
{
    struct job j = {.fn = fn, .arg = arg, .state = JOB_QUEUED};
    int rc = 0;

    deadline_cond_init(&j.changed);
    pthread_mutex_lock(&p->lock);
    if (p->stopping || !start_threads(p)) {
        pthread_mutex_unlock(&p->lock);
        pthread_cond_destroy(&j.changed);
        return -1;
    }
    if (p->tail != NULL)
        p->tail->next = &j;
    else
        p->head = &j;
    p->tail = &j;
    pthread_cond_signal(&p->work);
    while (j.state == JOB_QUEUED) {
        if (pthread_cond_timedwait(&j.changed, &p->lock, deadline) == ETIMEDOUT &&
            j.state == JOB_QUEUED) {
            unqueue(p, &j);
            rc = -1;
            break;
        }
    }
    while (j.state == JOB_RUNNING)
        pthread_cond_wait(&j.changed, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&j.changed);
    return rc;
}

struct scan_job {
    const struct clamav_ref *ref;
    const struct spool *msg;
    struct clamav_result *out;
};

static void run_scan(void *arg)
{
    struct scan_job *sj = arg;
    clamav_ref_scan(sj->ref, sj->msg, sj->out);
    if (spool_size(sj->msg) >= TRIM_AT)
        (void)malloc_trim(0); /* 1 when memory was released; nothing to check */
}

int clamav_pool_scan(struct clamav_pool *p, const struct clamav_ref *ref, const struct spool *msg,
                     struct clamav_result *out, const struct timespec *deadline)
{
    struct scan_job sj = {.ref = ref, .msg = msg, .out = out};
    return clamav_pool_run(p, run_scan, &sj, deadline);
}

void clamav_pool_free(struct clamav_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    while (p->threads > 0)
        pthread_cond_wait(&p->gone, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->gone);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
