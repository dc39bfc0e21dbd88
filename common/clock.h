/*
 * clock: the one monotonic clock of the daemon and the deadlines built on
 * it. A deadline is an absolute point in time on CLOCK_MONOTONIC held in a
 * struct timespec, the form pthread_cond_timedwait takes, so the same value
 * bounds a condition wait (common/gate.h) and a socket wait
 * (common/fd_stream.h). mono_now_ms() is the millisecond reading for
 * plain arithmetic (common/net_address.c's connect timeout).
 *
 * Public: mono_now(), mono_now_ms(), deadline_after_ms(), deadline_never(),
 * deadline_min(), deadline_remaining_ms(), deadline_cond_init(),
 * elapsed_ms().
 *
 * Failure modes: none (CLOCK_MONOTONIC always exists on Linux). Pure
 * arithmetic plus clock_gettime: thread-safe.
 */
#ifndef LMTPSCAN_CLOCK_H
#define LMTPSCAN_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Now, on CLOCK_MONOTONIC. */
struct timespec mono_now(void);
/* Now in milliseconds on CLOCK_MONOTONIC. */
int64_t mono_now_ms(void);

/* Now plus ms milliseconds. */
struct timespec deadline_after_ms(uint64_t ms);
/* A deadline that never comes (decades away). */
struct timespec deadline_never(void);
/* The earlier of two deadlines. */
struct timespec deadline_min(struct timespec a, struct timespec b);
/* Milliseconds left until d, rounded up: 0 once it has passed, at most
 * INT32_MAX (a poll() timeout). */
int deadline_remaining_ms(struct timespec d);
/* Initialises cond so that pthread_cond_timedwait() takes these
 * deadlines (CLOCK_MONOTONIC). */
void deadline_cond_init(pthread_cond_t *cond);

/* Milliseconds elapsed since start (a mono_now() reading). */
unsigned elapsed_ms(struct timespec start);

#endif
