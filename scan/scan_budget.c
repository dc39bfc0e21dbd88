/*
 * scan_budget: reservations against the scan-memory budget (see
 * scan_budget.h). One mutex and one condition variable on
 * CLOCK_MONOTONIC; every release wakes all waiters, which re-check.
 */
#include "scan/scan_budget.h"

#include <errno.h>

void scan_budget_init(struct scan_budget *b, uint64_t total)
{
    pthread_condattr_t attr;

    pthread_mutex_init(&b->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&b->freed, &attr);
    pthread_condattr_destroy(&attr);
    b->total = total;
    b->in_use = 0;
    b->holders = 0;
}

void scan_budget_destroy(struct scan_budget *b)
{
    pthread_cond_destroy(&b->freed);
    pthread_mutex_destroy(&b->lock);
}

void scan_budget_set_total(struct scan_budget *b, uint64_t total)
{
    pthread_mutex_lock(&b->lock);
    b->total = total;
    pthread_cond_broadcast(&b->freed);
    pthread_mutex_unlock(&b->lock);
}

uint64_t scan_budget_estimate(uint64_t message_size)
{
    uint64_t est = message_size > UINT64_MAX / 3 ? UINT64_MAX : message_size * 3;
    return est < SCAN_BUDGET_MIN ? SCAN_BUDGET_MIN : est;
}

/* Caller holds the lock. */
static int fits(const struct scan_budget *b, uint64_t amount)
{
    if (b->total == 0 || b->holders == 0)
        return 1; /* no limit, or alone: always granted */
    return amount <= b->total && b->in_use <= b->total - amount;
}

int scan_budget_reserve(struct scan_budget *b, uint64_t amount, const struct timespec *deadline)
{
    int rc = 0;

    pthread_mutex_lock(&b->lock);
    while (!fits(b, amount)) {
        int e = pthread_cond_timedwait(&b->freed, &b->lock, deadline);
        if (e == ETIMEDOUT && !fits(b, amount)) {
            rc = -1;
            break;
        }
    }
    if (rc == 0) {
        b->in_use += amount;
        b->holders++;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void scan_budget_release(struct scan_budget *b, uint64_t amount)
{
    pthread_mutex_lock(&b->lock);
    b->in_use = amount > b->in_use ? 0 : b->in_use - amount;
    if (b->holders > 0)
        b->holders--;
    pthread_cond_broadcast(&b->freed);
    pthread_mutex_unlock(&b->lock);
}
