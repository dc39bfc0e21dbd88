/*
 * metrics: the registry and its text exposition (see metrics.h). Counters
 * are arrays of atomic uint64 indexed by their fixed labels; a histogram
 * keeps one non-cumulative atomic count per bucket plus the sum in
 * microseconds, made cumulative when rendered.
 */
#include "common/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)
#define GET(x)    atomic_load_explicit(&(x), memory_order_relaxed)

#define N_PROTO   2
#define N_VERDICT VERDICT_COUNT
#define N_ACTION  (ACTION_TEMPFAIL + 1)
#define N_CLASS   3 /* 2xx 4xx 5xx */

/* Bucket upper bounds in microseconds: from a 0.5 ms fsync to a 60 s
 * spamd wait (1 ms and 30 s are bounds of their own). */
static const uint64_t bucket_us[] = {
    500,    1000,   2500,    5000,    10000,   25000,    50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

struct histogram {
    atomic_uint_fast64_t bucket[N_BUCKETS + 1]; /* last: above every bound */
    atomic_uint_fast64_t sum_us;
};

/* The per-message counters, one copy per shard. A thread takes a shard
 * on its first update (round robin) and keeps it, so threads rarely share
 * a cache line; a scrape sums the shards. Updates are still atomic, as
 * two threads may share a shard. */
struct shard {
    atomic_uint_fast64_t messages[N_PROTO][N_VERDICT];
    atomic_uint_fast64_t bytes[N_PROTO];
    atomic_uint_fast64_t recipients[N_PROTO][N_VERDICT][N_ACTION];
    atomic_uint_fast64_t replies[N_PROTO][N_CLASS];
    atomic_uint_fast64_t scanner_failures[ENGINE_COUNT];
    atomic_uint_fast64_t relay_failures;
    struct histogram stage[STAGE_COUNT];
} __attribute__((aligned(64)));

#define N_SHARDS 16

static struct shard shards[N_SHARDS];
static atomic_uint next_shard;
static _Thread_local struct shard *my_shard;

/* Gauges and rare events: one copy. */
static struct {
    atomic_int_fast64_t sessions;
    atomic_int_fast64_t scan_memory;
    atomic_uint_fast64_t clamav_signatures;
    atomic_uint_fast64_t clamav_load_us;
    atomic_uint_fast64_t clamav_loads;
} reg;

static struct shard *shard(void)
{
    if (my_shard == NULL)
        my_shard =
            &shards[atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % N_SHARDS];
    return my_shard;
}

/* A counter summed over the shards, named by its copy in shard 0. */
static uint64_t sum_of(const atomic_uint_fast64_t *in_first)
{
    size_t offset = (size_t)((const char *)in_first - (const char *)&shards[0]);
    uint64_t total = 0;
    for (size_t i = 0; i < N_SHARDS; i++)
        total += GET(*(const atomic_uint_fast64_t *)((const char *)&shards[i] + offset));
    return total;
}

#define SUM(field) sum_of(&shards[0].field)

static const char *const proto_names[N_PROTO] = {"lmtp", "smtp"};
static const char *const class_names[N_CLASS] = {"2xx", "4xx", "5xx"};
static const char *const engine_names[ENGINE_COUNT] = {"clamav", "spamd", "rspamd"};

const char *stage_name(enum stage s)
{
    static const char *const names[STAGE_COUNT] = {"receive",  "clamav", "spam_wait", "spam",
                                                   "delivery", "relay",  "report"};
    return (unsigned)s < STAGE_COUNT ? names[s] : "?";
}

static unsigned proto_index(enum protocol p)
{
    return p == PROTO_SMTP ? 1 : 0;
}

void metrics_count_message(enum protocol p, enum verdict v, uint64_t bytes)
{
    if ((unsigned)v >= N_VERDICT)
        return;
    ADD(shard()->messages[proto_index(p)][v], 1);
    ADD(shard()->bytes[proto_index(p)], bytes);
}

void metrics_count_recipient(enum protocol p, enum verdict v, enum action a)
{
    if ((unsigned)v < N_VERDICT && (unsigned)a < N_ACTION)
        ADD(shard()->recipients[proto_index(p)][v][a], 1);
}

void metrics_count_reply(enum protocol p, int reply_class)
{
    int c = reply_class == 2 ? 0 : reply_class == 4 ? 1 : reply_class == 5 ? 2 : -1;
    if (c >= 0)
        ADD(shard()->replies[proto_index(p)][c], 1);
}

void metrics_count_scanner_failure(enum metrics_engine e)
{
    if ((unsigned)e < ENGINE_COUNT)
        ADD(shard()->scanner_failures[e], 1);
}

void metrics_count_relay_failures(unsigned n)
{
    ADD(shard()->relay_failures, n);
}

void metrics_observe_stage(enum stage s, uint64_t us)
{
    if ((unsigned)s >= STAGE_COUNT)
        return;
    size_t b = 0;
    while (b < N_BUCKETS && us > bucket_us[b])
        b++;
    ADD(shard()->stage[s].bucket[b], 1);
    ADD(shard()->stage[s].sum_us, us);
}

void metrics_sessions_add(int delta)
{
    ADD(reg.sessions, delta);
}

void metrics_scan_memory_add(int64_t delta)
{
    ADD(reg.scan_memory, delta);
}

void metrics_clamav_loaded(unsigned signatures, uint64_t load_us)
{
    atomic_store_explicit(&reg.clamav_signatures, signatures, memory_order_relaxed);
    atomic_store_explicit(&reg.clamav_load_us, load_us, memory_order_relaxed);
    ADD(reg.clamav_loads, 1);
}

/* ---- exposition ------------------------------------------------------- */

/* The exposition buffer; failed once an append did not fit. */
struct out {
    struct strbuf *sb;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void emit(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (strbuf_vprintf(o->sb, fmt, ap) < 0)
        o->failed = true;
    va_end(ap);
}

/* HELP and TYPE lines. OpenMetrics names a counter family without its
 * _total suffix; the Prometheus format names it with. */
static void family(struct out *o, bool om, const char *name, const char *type, const char *help,
                   const char *unit)
{
    char fam[128];
    snprintf(fam, sizeof(fam), "%s", name);
    size_t n = strlen(fam);
    if (om && n > 6 && strcmp(fam + n - 6, "_total") == 0)
        fam[n - 6] = '\0';
    emit(o, "# HELP %s %s\n# TYPE %s %s\n", fam, help, fam, type);
    if (om && unit != NULL)
        emit(o, "# UNIT %s %s\n", fam, unit);
}

static void seconds(char *out, size_t len, uint64_t us)
{
    snprintf(out, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
             (unsigned long long)(us % 1000000));
}

static void render_counters(struct out *o, bool om)
{
    family(o, om, "lmtpscan_messages_total", "counter",
           "Messages at the end of data, by protocol and most severe verdict.", NULL);
    for (unsigned p = 0; p < N_PROTO; p++)
        for (unsigned v = 0; v < N_VERDICT; v++)
            emit(o, "lmtpscan_messages_total{protocol=\"%s\",verdict=\"%s\"} %llu\n",
                 proto_names[p], verdict_name((enum verdict)v),
                 (unsigned long long)SUM(messages[p][v]));
    family(o, om, "lmtpscan_received_bytes_total", "counter",
           "Bytes of message data received, by protocol.", "bytes");
    for (unsigned p = 0; p < N_PROTO; p++)
        emit(o, "lmtpscan_received_bytes_total{protocol=\"%s\"} %llu\n", proto_names[p],
             (unsigned long long)SUM(bytes[p]));
    family(o, om, "lmtpscan_recipients_total", "counter",
           "Recipient outcomes, by protocol, verdict and action.", NULL);
    for (unsigned p = 0; p < N_PROTO; p++)
        for (unsigned v = 0; v < N_VERDICT; v++)
            for (unsigned a = 0; a < N_ACTION; a++)
                emit(o,
                     "lmtpscan_recipients_total{protocol=\"%s\",verdict=\"%s\",action=\"%s\"} "
                     "%llu\n",
                     proto_names[p], verdict_name((enum verdict)v), action_name((enum action)a),
                     (unsigned long long)SUM(recipients[p][v][a]));
    family(o, om, "lmtpscan_replies_total", "counter",
           "Replies after the data (LMTP: one per recipient, SMTP: one per message), by class.",
           NULL);
    for (unsigned p = 0; p < N_PROTO; p++)
        for (unsigned c = 0; c < N_CLASS; c++)
            emit(o, "lmtpscan_replies_total{protocol=\"%s\",class=\"%s\"} %llu\n", proto_names[p],
                 class_names[c], (unsigned long long)SUM(replies[p][c]));
    family(o, om, "lmtpscan_scanner_failures_total", "counter",
           "Scanner requests that failed (errors and timeouts), by engine.", NULL);
    for (unsigned e = 0; e < ENGINE_COUNT; e++)
        emit(o, "lmtpscan_scanner_failures_total{engine=\"%s\"} %llu\n", engine_names[e],
             (unsigned long long)SUM(scanner_failures[e]));
    family(o, om, "lmtpscan_relay_failures_total", "counter",
           "Recipients the relay refused or could not take.", NULL);
    emit(o, "lmtpscan_relay_failures_total %llu\n", (unsigned long long)SUM(relay_failures));
    family(o, om, "lmtpscan_clamav_loads_total", "counter",
           "ClamAV signature database loads (start and reloads).", NULL);
    emit(o, "lmtpscan_clamav_loads_total %llu\n", (unsigned long long)GET(reg.clamav_loads));
}

static void render_gauges(struct out *o, bool om)
{
    char s[32];
    int64_t sessions = GET(reg.sessions);
    family(o, om, "lmtpscan_sessions", "gauge", "LMTP and SMTP sessions in use.", NULL);
    emit(o, "lmtpscan_sessions %lld\n", (long long)(sessions > 0 ? sessions : 0));
    family(o, om, "lmtpscan_scan_memory_bytes", "gauge",
           "Scan-memory budget held by scans in flight.", "bytes");
    int64_t memory = GET(reg.scan_memory);
    emit(o, "lmtpscan_scan_memory_bytes %lld\n", (long long)(memory > 0 ? memory : 0));
    family(o, om, "lmtpscan_clamav_signatures", "gauge", "Signatures in the running ClamAV engine.",
           NULL);
    emit(o, "lmtpscan_clamav_signatures %llu\n", (unsigned long long)GET(reg.clamav_signatures));
    family(o, om, "lmtpscan_clamav_load_seconds", "gauge",
           "Time the last ClamAV signature load took.", "seconds");
    seconds(s, sizeof(s), GET(reg.clamav_load_us));
    emit(o, "lmtpscan_clamav_load_seconds %s\n", s);
}

static void render_histograms(struct out *o, bool om)
{
    char s[32];
    family(o, om, "lmtpscan_stage_duration_seconds", "histogram",
           "Time spent per stage of the data path.", "seconds");
    for (unsigned st = 0; st < STAGE_COUNT; st++) {
        const char *name = stage_name((enum stage)st);
        uint64_t cum = 0;
        for (size_t b = 0; b <= N_BUCKETS; b++) {
            cum += SUM(stage[st].bucket[b]);
            if (b < N_BUCKETS)
                snprintf(s, sizeof(s), "%g", (double)bucket_us[b] / 1e6);
            emit(o,
                 "lmtpscan_stage_duration_seconds_bucket{stage=\"%s\",le=\"%s\"} "
                 "%llu\n",
                 name, b < N_BUCKETS ? s : "+Inf", (unsigned long long)cum);
        }
        seconds(s, sizeof(s), SUM(stage[st].sum_us));
        emit(o, "lmtpscan_stage_duration_seconds_sum{stage=\"%s\"} %s\n", name, s);
        emit(o, "lmtpscan_stage_duration_seconds_count{stage=\"%s\"} %llu\n", name,
             (unsigned long long)cum);
    }
}

int metrics_render(struct strbuf *sb, bool openmetrics)
{
    struct out o = {.sb = sb, .failed = false};
    render_counters(&o, openmetrics);
    render_gauges(&o, openmetrics);
    render_histograms(&o, openmetrics);
    if (openmetrics)
        emit(&o, "# EOF\n");
    return o.failed ? -1 : 0;
}
