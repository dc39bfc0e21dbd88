/*
 * cmd_stats: `lmtpscan stats [--since AGE] [--dir DIR]`: a view for
 * people of the stored reports (default: the last 24 hours): messages,
 * recipients by verdict and by action, and per stage of the <timings>
 * element the count, 50th, 90th and 99th percentile and maximum in
 * milliseconds. Streams the reports (admin/report_reader.h); percentiles
 * come from a fixed log-scale histogram per stage (buckets 5 % apart), so
 * memory does not grow with the number of reports and a percentile is
 * exact to within 5 %. Exit 0; 2 for bad usage, an unreadable report
 * directory or unreadable reports (after printing what was read).
 */
#include "admin/admin_commands.h"
#include "admin/report_reader.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N_VERDICTS VERDICT_COUNT
#define N_ACTIONS  (ACTION_TEMPFAIL + 1)
#define N_STAGES   8
#define N_BUCKETS  600 /* 1.05^600 us: far beyond any timeout */
#define GROWTH     1.05

static const char *const stage_names[N_STAGES] = {"total",     "receive", "scan",     "clamav",
                                                  "spam_wait", "spam",    "delivery", "relay"};

struct stage_hist {
    uint64_t count;
    uint64_t max_us;
    uint64_t bucket[N_BUCKETS];
};

struct stats {
    unsigned long messages, recipients;
    unsigned long verdicts[N_VERDICTS];
    unsigned long actions[N_ACTIONS];
    struct stage_hist stage[N_STAGES];
};

static void observe(struct stage_hist *h, uint64_t us)
{
    size_t b = us <= 1 ? 0 : (size_t)(log((double)us) / log(GROWTH)) + 1;
    if (b >= N_BUCKETS)
        b = N_BUCKETS - 1;
    h->bucket[b]++;
    h->count++;
    if (us > h->max_us)
        h->max_us = us;
}

/* The upper bound of the bucket holding the q-quantile, in ms (at most
 * the maximum seen). */
static double quantile_ms(const struct stage_hist *h, double q)
{
    uint64_t rank = (uint64_t)ceil(q * (double)h->count), seen = 0;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= rank && seen > 0) {
            double upper = b == 0 ? 1.0 : pow(GROWTH, (double)b);
            return fmin(upper, (double)h->max_us) / 1000.0;
        }
    }
    return (double)h->max_us / 1000.0;
}

static int count_one(const struct stored_report *r, void *arg)
{
    struct stats *st = arg;
    st->messages++;
    for (size_t i = 0; i < r->n_rcpts; i++) {
        st->recipients++;
        st->verdicts[r->rcpts[i].verdict]++;
        st->actions[r->rcpts[i].action]++;
    }
    if (!r->has_timings)
        return 0;
    const struct timings *t = &r->timings;
    const uint64_t v[N_STAGES] = {t->total_us,     t->receive_us, t->scan_us,     t->clamav_us,
                                  t->spam_wait_us, t->spam_us,    t->delivery_us, t->relay_us};
    for (int s = 0; s < N_STAGES; s++)
        if (s < 2 || v[s] > 0) /* a stage that did not run is not a 0 ms sample */
            observe(&st->stage[s], v[s]);
    return 0;
}

static void print_stats(const struct stats *st, time_t since)
{
    char when[32];
    struct tm tm;
    gmtime_r(&since, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("since %s: %lu messages, %lu recipients\n\n", when, st->messages, st->recipients);
    printf("%-10s %10s\n", "verdict", "recipients");
    for (int v = 0; v < N_VERDICTS; v++)
        printf("%-10s %10lu\n", verdict_name((enum verdict)v), st->verdicts[v]);
    printf("\n%-10s %10s\n", "action", "recipients");
    for (int a = 0; a < N_ACTIONS; a++)
        printf("%-10s %10lu\n", action_name((enum action)a), st->actions[a]);
    printf("\n%-10s %8s %10s %10s %10s %10s  (ms)\n", "stage", "messages", "p50", "p90", "p99",
           "max");
    for (int s = 0; s < N_STAGES; s++) {
        const struct stage_hist *h = &st->stage[s];
        if (h->count == 0) {
            printf("%-10s %8d %10s %10s %10s %10s\n", stage_names[s], 0, "-", "-", "-", "-");
            continue;
        }
        printf("%-10s %8llu %10.1f %10.1f %10.1f %10.1f\n", stage_names[s],
               (unsigned long long)h->count, quantile_ms(h, 0.50), quantile_ms(h, 0.90),
               quantile_ms(h, 0.99), (double)h->max_us / 1000.0);
    }
}

int cmd_stats(const struct config *cfg, int argc, char **argv)
{
    const char *dir = cfg->report.dir;
    time_t now = time(NULL), since = now - 86400;
    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--dir") == 0) {
            dir = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--since") == 0) {
            if (report_parse_since(argv[++i], now, &since) < 0) {
                fprintf(stderr, "lmtpscan: --since wants a number and s, m, h or d (e.g. 24h)\n");
                return ADMIN_BAD_INPUT;
            }
        } else {
            fprintf(stderr, "usage: lmtpscan [-c FILE] stats [--since AGE] [--dir DIR]\n");
            return ADMIN_BAD_INPUT;
        }
    }
    if (dir[0] == '\0') {
        fprintf(stderr, "lmtpscan: reports are off ([report] dir is empty); use --dir DIR\n");
        return ADMIN_BAD_INPUT;
    }
    static struct stats st; /* about 40 KiB: not on the stack */
    memset(&st, 0, sizeof(st));
    char err[1024];
    long unreadable = report_walk(dir, since, count_one, &st, err, sizeof(err));
    if (unreadable < 0) {
        fprintf(stderr, "lmtpscan: %s\n", err);
        return ADMIN_BAD_INPUT;
    }
    print_stats(&st, since);
    fflush(stdout);
    if (unreadable > 0) {
        fprintf(stderr, "lmtpscan: %ld unreadable report(s)\n", unreadable);
        return ADMIN_BAD_INPUT;
    }
    return ADMIN_OK;
}
