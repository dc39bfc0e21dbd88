/*
 * dir_sync: group commit of directory fsyncs (see dir_sync.h). One mutex
 * guards the table; it is never held across an fsync. Per slot, tickets
 * are handed out in order; a leader notes target = the last ticket handed
 * out when its fsync starts, and on return settles every waiter with a
 * ticket <= target (the waiters record their own result, so a later fsync
 * can never overwrite an earlier one's failure before it is read).
 */
#include "deliver/dir_sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

struct waiter {
    uint64_t ticket;
    bool settled;
    int rc;
    int err;
    struct waiter *next;
};

struct slot {
    unsigned users; /* callers inside dir_sync() for this directory; 0: free */
    dev_t dev;
    ino_t ino;
    uint64_t requested; /* last ticket handed out */
    bool running;       /* an fsync of this directory is under way */
    struct waiter *waiters;
    pthread_cond_t cond;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot table[DIR_SYNC_SLOTS];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static bool table_ready; /* every slot's condition variable made */

static void table_init(void)
{
    for (size_t i = 0; i < DIR_SYNC_SLOTS; i++)
        if (pthread_cond_init(&table[i].cond, NULL) != 0)
            return; /* table_ready stays false: plain fsyncs */
    table_ready = true;
}

static atomic_ullong stat_calls;
static atomic_ullong stat_fsyncs;
static _Atomic(int (*)(int)) fsync_for_test;

void dir_sync_set_fsync_for_test(int (*fn)(int fd))
{
    atomic_store(&fsync_for_test, fn);
}

struct dir_sync_stats dir_sync_stats(void)
{
    struct dir_sync_stats s = {
        .calls = atomic_load(&stat_calls),
        .fsyncs = atomic_load(&stat_fsyncs),
    };
    return s;
}

static int issue_fsync(int fd)
{
    atomic_fetch_add(&stat_fsyncs, 1);
    int (*fn)(int) = atomic_load(&fsync_for_test);
    return fn != NULL ? fn(fd) : fsync(fd);
}

/* The slot of dev/ino, claimed if none; NULL with the table full. Under
 * table_lock. */
static struct slot *slot_get(dev_t dev, ino_t ino)
{
    struct slot *free_slot = NULL;
    for (size_t i = 0; i < DIR_SYNC_SLOTS; i++) {
        struct slot *s = &table[i];
        if (s->users == 0) {
            if (free_slot == NULL)
                free_slot = s;
        } else if (s->dev == dev && s->ino == ino) {
            s->users++;
            return s;
        }
    }
    if (free_slot != NULL) {
        free_slot->users = 1;
        free_slot->dev = dev;
        free_slot->ino = ino;
        free_slot->requested = 0;
        free_slot->running = false;
        free_slot->waiters = NULL;
    }
    return free_slot;
}

/* Runs one fsync for every ticket handed out so far (the leader's own
 * among them) and settles the waiters it covers. Called and returns under
 * table_lock. */
static void lead(struct slot *s, int dir_fd)
{
    uint64_t target = s->requested;
    s->running = true;
    pthread_mutex_unlock(&table_lock);
    int rc = issue_fsync(dir_fd);
    int err = rc < 0 ? errno : 0;
    pthread_mutex_lock(&table_lock);
    s->running = false;
    for (struct waiter **p = &s->waiters; *p != NULL;) {
        struct waiter *w = *p;
        if (w->ticket <= target) {
            w->settled = true;
            w->rc = rc < 0 ? -1 : 0;
            w->err = err;
            *p = w->next;
        } else {
            p = &w->next;
        }
    }
    pthread_cond_broadcast(&s->cond);
}

int dir_sync(int dir_fd)
{
    struct stat st;
    if (fstat(dir_fd, &st) < 0)
        return -1;
    if (pthread_once(&table_once, table_init) != 0 || !table_ready) {
        atomic_fetch_add(&stat_calls, 1);
        return issue_fsync(dir_fd);
    }
    pthread_mutex_lock(&table_lock);
    atomic_fetch_add(&stat_calls, 1);
    struct slot *s = slot_get(st.st_dev, st.st_ino);
    if (s == NULL) {
        pthread_mutex_unlock(&table_lock);
        return issue_fsync(dir_fd);
    }
    struct waiter w = {.ticket = ++s->requested, .next = s->waiters};
    s->waiters = &w;
    while (!w.settled) {
        if (!s->running)
            lead(s, dir_fd);
        else
            pthread_cond_wait(&s->cond, &table_lock);
    }
    s->users--;
    pthread_mutex_unlock(&table_lock);
    if (w.rc < 0)
        errno = w.err;
    return w.rc;
}
