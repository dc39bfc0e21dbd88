/*
 * gate: a counting gate. It holds a capacity of units; a holder acquires n
 * units, waiting until they fit or its deadline passes, and releases them
 * when done. The scan-memory budget (bytes, scan/scan_budget.h) and the
 * spamd connection limit (requests, scan/spamd_client.h) are gates.
 *
 * Rules: a capacity of 0 means no limit; an acquisition always succeeds
 * when nothing is held, so a request larger than the whole capacity runs
 * alone instead of never. Waiters are not queued in order: every release
 * wakes them all and each re-checks whether it fits.
 *
 * Public: gate_init(), gate_destroy(), gate_set_capacity(), gate_acquire(),
 * gate_release().
 *
 * Failure modes: gate_acquire() returns -1 when its deadline passes before
 * the units fit (nothing is then held). Thread-safe: one mutex and one
 * condition variable on CLOCK_MONOTONIC.
 */
#ifndef LMTPSCAN_GATE_H
#define LMTPSCAN_GATE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t freed; /* CLOCK_MONOTONIC */
    uint64_t capacity;    /* 0: no limit */
    uint64_t in_use;
    unsigned holders;
};

void gate_init(struct gate *g, uint64_t capacity);
void gate_destroy(struct gate *g);
/* Changes the capacity (configuration reload); waiters are re-evaluated.
 * Units already held stay held. */
void gate_set_capacity(struct gate *g, uint64_t capacity);
/* Waits until n units fit (deadline: CLOCK_MONOTONIC, see common/clock.h).
 * 0 with the units held, or -1 on timeout. */
int gate_acquire(struct gate *g, uint64_t n, const struct timespec *deadline);
/* Gives back n units taken by one gate_acquire(). */
void gate_release(struct gate *g, uint64_t n);

#endif
