/*
 * timings: where one message spent its time, measured once in the data
 * path and used three ways (the stage histograms of common/metrics.h, the
 * report's <timings> element, the log line). Microseconds on the
 * monotonic clock (common/clock.h).
 *
 * Stages, each an interval of its own inside [data_start, end]:
 * receive (DATA/first BDAT to the end of data), scan (the whole scanning
 * stage, wall time), delivery (quarantine and Maildir writes), relay (the
 * SMTP re-injection). The scanners run concurrently inside scan: clamav
 * is the ClamAV branch, spam_wait + spam the slowest spam-engine request
 * (its wait for a connection slot, then the request), each <= scan. So
 * receive + scan + delivery + relay <= total.
 *
 * Public: timings_us_between(), stage_name(). Pure, thread-safe.
 */
#ifndef LMTPSCAN_TIMINGS_H
#define LMTPSCAN_TIMINGS_H

#include <stdint.h>
#include <time.h>

/* The stages of the histograms (report is observed after the report is
 * written, so it is in the histogram but not in the report itself). */
enum stage {
    STAGE_RECEIVE,
    STAGE_CLAMAV,
    STAGE_SPAM_WAIT,
    STAGE_SPAM,
    STAGE_DELIVERY,
    STAGE_RELAY,
    STAGE_REPORT,
    STAGE_COUNT
};

struct timings {
    struct timespec data_start; /* monotonic; zero: not known */
    uint64_t receive_us;
    uint64_t scan_us;
    uint64_t clamav_us;
    uint64_t spam_wait_us;
    uint64_t spam_us;
    uint64_t delivery_us;
    uint64_t relay_us;
    uint64_t total_us; /* data_start (or end of data) to the log line */
    unsigned ran;      /* TIMINGS_RAN_* of the stages that ran */
};

#define TIMINGS_RAN_DELIVERY 0x1 /* something was stored locally */
#define TIMINGS_RAN_RELAY    0x2 /* a relay transaction was tried */

/* Microseconds from a to b (0 when b is before a). */
static inline uint64_t timings_us_between(struct timespec a, struct timespec b)
{
    int64_t us = (int64_t)(b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
    return us > 0 ? (uint64_t)us : 0;
}

/* "receive", "clamav", "spam_wait", "spam", "delivery", "relay", "report". */
const char *stage_name(enum stage s);

#endif
