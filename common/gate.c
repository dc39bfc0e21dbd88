/*
 * gate: a counting gate on a mutex and a CLOCK_MONOTONIC condition
 * variable (see gate.h).
 */
#include "common/gate.h"
#include "common/clock.h"

#include <errno.h>

void gate_init(struct gate *g, uint64_t capacity)
{
    pthread_mutex_init(&g->lock, NULL);
    deadline_cond_init(&g->freed);
    g->capacity = capacity;
    g->in_use = 0;
    g->holders = 0;
}

void gate_destroy(struct gate *g)
{
    pthread_cond_destroy(&g->freed);
    pthread_mutex_destroy(&g->lock);
}

void gate_set_capacity(struct gate *g, uint64_t capacity)
{
    pthread_mutex_lock(&g->lock);
    g->capacity = capacity;
    pthread_cond_broadcast(&g->freed);
    pthread_mutex_unlock(&g->lock);
}

/* Caller holds the lock. */
static int fits(const struct gate *g, uint64_t n)
{
    if (g->capacity == 0 || g->holders == 0)
        return 1; /* no limit, or alone: always granted */
    return n <= g->capacity && g->in_use <= g->capacity - n;
}

int gate_acquire(struct gate *g, uint64_t n, const struct timespec *deadline)
{
    int rc = 0;

    pthread_mutex_lock(&g->lock);
    while (!fits(g, n)) {
        int e = pthread_cond_timedwait(&g->freed, &g->lock, deadline);
        if (e == ETIMEDOUT && !fits(g, n)) {
            rc = -1;
            break;
        }
    }
    if (rc == 0) {
        g->in_use += n;
        g->holders++;
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

void gate_release(struct gate *g, uint64_t n)
{
    pthread_mutex_lock(&g->lock);
    g->in_use = n > g->in_use ? 0 : g->in_use - n;
    if (g->holders > 0)
        g->holders--;
    pthread_cond_broadcast(&g->freed);
    pthread_mutex_unlock(&g->lock);
}
