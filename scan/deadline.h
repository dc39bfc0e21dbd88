/*
 * deadline: absolute points in time on CLOCK_MONOTONIC, for the time
 * limits of the scanning stage (scan_timeout, spamd timeout). Pure
 * arithmetic plus clock_gettime; thread-safe.
 */
#ifndef LMTPSCAN_SCAN_DEADLINE_H
#define LMTPSCAN_SCAN_DEADLINE_H

#include <stdint.h>
#include <time.h>

/* Now plus ms milliseconds. */
static inline struct timespec deadline_after_ms(uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The earlier of two deadlines. */
static inline struct timespec deadline_min(struct timespec a, struct timespec b)
{
    if (a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec))
        return a;
    return b;
}

/* Milliseconds left until d (0 when passed), rounded up. */
static inline int deadline_remaining_ms(struct timespec d)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(d.tv_sec - now.tv_sec) * 1000 + (d.tv_nsec - now.tv_nsec) / 1000000;
    if ((d.tv_nsec - now.tv_nsec) % 1000000 > 0)
        ms++;
    if (ms <= 0)
        return 0;
    if (ms > INT32_MAX)
        return INT32_MAX;
    return (int)ms;
}

/* Milliseconds elapsed since start (a CLOCK_MONOTONIC reading). */
static inline unsigned elapsed_ms(struct timespec start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms =
        (int64_t)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    return ms < 0 ? 0 : (unsigned)ms;
}

#endif
