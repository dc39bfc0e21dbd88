/*
 * clock: monotonic time and deadlines (see clock.h).
 */
#include "common/clock.h"

#define NS_PER_S  1000000000L
#define NS_PER_MS 1000000L

struct timespec mono_now(void)
{
    struct timespec ts;
    /* Cannot fail for CLOCK_MONOTONIC with a valid pointer. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

int64_t mono_now_ms(void)
{
    struct timespec ts = mono_now();
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

struct timespec deadline_after_ms(uint64_t ms)
{
    struct timespec ts = mono_now();
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * NS_PER_MS;
    if (ts.tv_nsec >= NS_PER_S) {
        ts.tv_sec++;
        ts.tv_nsec -= NS_PER_S;
    }
    return ts;
}

struct timespec deadline_never(void)
{
    /* Seconds since boot: INT32_MAX is 68 years away and fits any time_t. */
    struct timespec ts = {.tv_sec = INT32_MAX, .tv_nsec = 0};
    return ts;
}

struct timespec deadline_min(struct timespec a, struct timespec b)
{
    if (a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec))
        return a;
    return b;
}

int deadline_remaining_ms(struct timespec d)
{
    struct timespec now = mono_now();
    int64_t s = (int64_t)d.tv_sec - (int64_t)now.tv_sec;
    if (s > INT32_MAX / 1000)
        return INT32_MAX;
    int64_t ns = s * NS_PER_S + (d.tv_nsec - now.tv_nsec);
    if (ns <= 0)
        return 0;
    int64_t ms = (ns + NS_PER_MS - 1) / NS_PER_MS;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

unsigned elapsed_ms(struct timespec start)
{
    struct timespec now = mono_now();
    int64_t ms = ((int64_t)now.tv_sec - (int64_t)start.tv_sec) * 1000 +
                 (now.tv_nsec - start.tv_nsec) / NS_PER_MS;
    return ms < 0 ? 0 : (unsigned)ms;
}

void deadline_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}
