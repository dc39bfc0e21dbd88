/*
 * scan_budget: the memory budget for ClamAV scans in flight
 * ([clamav] scan_memory), a common/gate.h gate counted in bytes. A scan
 * reserves an estimate of what libclamav will hold (3x the message size,
 * at least SCAN_BUDGET_MIN) before it starts and releases it afterwards;
 * a reservation that does not fit waits until it does or until its
 * deadline. A reservation larger than the whole budget is granted when
 * nothing else is reserved, so a big message is scanned alone instead of
 * never. A total of 0 means no limit.
 *
 * Public: scan_budget_init(), scan_budget_destroy(),
 * scan_budget_set_total(), scan_budget_estimate(), scan_budget_reserve(),
 * scan_budget_release().
 *
 * Thread-safe. Failure mode: the deadline passes (scan_budget_reserve
 * returns -1, nothing reserved).
 */
#ifndef LMTPSCAN_SCAN_BUDGET_H
#define LMTPSCAN_SCAN_BUDGET_H

#include "common/gate.h"

#include <stdint.h>
#include <time.h>

#define SCAN_BUDGET_MIN (256 * 1024)

struct scan_budget {
    struct gate gate; /* capacity: the total in bytes */
};

void scan_budget_init(struct scan_budget *b, uint64_t total);
void scan_budget_destroy(struct scan_budget *b);
/* Changes the total (configuration reload); waiters are re-evaluated. */
void scan_budget_set_total(struct scan_budget *b, uint64_t total);

/* What a scan of a message of message_size bytes reserves. */
uint64_t scan_budget_estimate(uint64_t message_size);

/* Waits until amount fits (deadline: CLOCK_MONOTONIC). 0, or -1 on
 * timeout. */
int scan_budget_reserve(struct scan_budget *b, uint64_t amount, const struct timespec *deadline);
void scan_budget_release(struct scan_budget *b, uint64_t amount);

#endif
