/*
 * scan_budget: reservations against the scan-memory budget (see
 * scan_budget.h), held in a common/gate.h gate; what is held is the
 * scan-memory gauge of common/metrics.h.
 */
#include "scan/scan_budget.h"

#include "common/metrics.h"

void scan_budget_init(struct scan_budget *b, uint64_t total)
{
    gate_init(&b->gate, total);
}

void scan_budget_destroy(struct scan_budget *b)
{
    gate_destroy(&b->gate);
}

void scan_budget_set_total(struct scan_budget *b, uint64_t total)
{
    gate_set_capacity(&b->gate, total);
}

uint64_t scan_budget_estimate(uint64_t message_size)
{
    uint64_t est = message_size > UINT64_MAX / 3 ? UINT64_MAX : message_size * 3;
    return est < SCAN_BUDGET_MIN ? SCAN_BUDGET_MIN : est;
}

int scan_budget_reserve(struct scan_budget *b, uint64_t amount, const struct timespec *deadline)
{
    if (gate_acquire(&b->gate, amount, deadline) < 0)
        return -1;
    metrics_scan_memory_add((int64_t)amount);
    return 0;
}

void scan_budget_release(struct scan_budget *b, uint64_t amount)
{
    gate_release(&b->gate, amount);
    metrics_scan_memory_add(-(int64_t)amount);
}
