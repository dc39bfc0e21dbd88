/*
 * test_metrics: the metrics registry (common/metrics.h): histogram
 * buckets resolve 1 ms and 30 s (a value on a bound is inside it), the sum
 * is exact; counters updated from several threads at once lose nothing;
 * the Prometheus exposition names counters with _total and the
 * OpenMetrics one names the family without it and ends with # EOF; the
 * bounded buffer's overflow is reported. Also prints the lock-contention
 * A/B of the per-message update: the registry's atomic updates against
 * the same updates under one mutex, from 4 threads (informational).
 */
#include "common/clock.h"
#include "common/metrics.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The value of the sample line starting with "name " in a fresh render. */
static double sample(const char *name)
{
    struct strbuf sb;
    strbuf_init(&sb, 1024 * 1024);
    assert_int_equal(metrics_render(&sb, false), 0);
    char key[256];
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *p = strstr(sb.data, key);
    assert_non_null(p);
    double v = strtod(p + strlen(key), NULL);
    strbuf_free(&sb);
    return v;
}

static void test_buckets_resolve_1ms_and_30s(void **state)
{
    (void)state;
#define B(le) "lmtpscan_stage_duration_seconds_bucket{stage=\"relay\",le=\"" le "\"}"
    double ms1 = sample(B("0.001")), ms25 = sample(B("0.0025")), s30 = sample(B("30")),
           s60 = sample(B("60")), inf = sample(B("+Inf"));
    metrics_observe_stage(STAGE_RELAY, 1000);     /* exactly 1 ms: in le=0.001 */
    metrics_observe_stage(STAGE_RELAY, 1001);     /* just above: le=0.0025 */
    metrics_observe_stage(STAGE_RELAY, 30000000); /* 30 s: le=30 */
    metrics_observe_stage(STAGE_RELAY, 30000001); /* above: le=60 */
    metrics_observe_stage(STAGE_RELAY, 99000000); /* above every bound */
    assert_true(sample(B("0.001")) - ms1 == 1);
    assert_true(sample(B("0.0025")) - ms25 == 2); /* cumulative */
    assert_true(sample(B("30")) - s30 == 3);
    assert_true(sample(B("60")) - s60 == 4);
    assert_true(sample(B("+Inf")) - inf == 5);
    assert_true(sample("lmtpscan_stage_duration_seconds_count{stage=\"relay\"}") ==
                sample(B("+Inf")));
#undef B
}

static void test_sum_is_exact(void **state)
{
    (void)state;
    double before = sample("lmtpscan_stage_duration_seconds_sum{stage=\"report\"}");
    metrics_observe_stage(STAGE_REPORT, 1500000); /* 1.5 s */
    metrics_observe_stage(STAGE_REPORT, 250);     /* 0.25 ms */
    double after = sample("lmtpscan_stage_duration_seconds_sum{stage=\"report\"}");
    assert_true(after - before > 1.50024 && after - before < 1.50026);
}

#define THREADS    4
#define PER_THREAD 200000

static void *count_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_count_recipient(PROTO_SMTP, VERDICT_SPAM, ACTION_JUNK);
        metrics_count_reply(PROTO_SMTP, 2);
        metrics_observe_stage(STAGE_SPAM, (uint64_t)i);
    }
    return NULL;
}

static void test_concurrent_updates_lose_nothing(void **state)
{
    (void)state;
    const char *rc =
        "lmtpscan_recipients_total{protocol=\"smtp\",verdict=\"spam\",action=\"junk\"}";
    const char *cls = "lmtpscan_replies_total{protocol=\"smtp\",class=\"2xx\"}";
    const char *cnt = "lmtpscan_stage_duration_seconds_count{stage=\"spam\"}";
    double r0 = sample(rc), c0 = sample(cls), n0 = sample(cnt);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_many, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_true(sample(rc) - r0 == THREADS * PER_THREAD);
    assert_true(sample(cls) - c0 == THREADS * PER_THREAD);
    assert_true(sample(cnt) - n0 == THREADS * PER_THREAD);
}

static void test_formats(void **state)
{
    (void)state;
    struct strbuf p, o;
    strbuf_init(&p, 1024 * 1024);
    strbuf_init(&o, 1024 * 1024);
    assert_int_equal(metrics_render(&p, false), 0);
    assert_int_equal(metrics_render(&o, true), 0);
    assert_non_null(strstr(p.data, "# TYPE lmtpscan_messages_total counter\n"));
    assert_null(strstr(p.data, "# EOF"));
    assert_null(strstr(p.data, "# UNIT"));
    assert_non_null(strstr(o.data, "# TYPE lmtpscan_messages counter\n"));
    assert_non_null(strstr(o.data, "# UNIT lmtpscan_stage_duration_seconds seconds\n"));
    assert_true(o.len > 6 && strcmp(o.data + o.len - 6, "# EOF\n") == 0);
    strbuf_free(&p);
    strbuf_free(&o);

    struct strbuf small;
    strbuf_init(&small, 100);
    assert_int_equal(metrics_render(&small, false), -1);
    strbuf_free(&small);
}

/* ---- the A/B: atomic registry vs the same counters under a mutex ---- */

static pthread_mutex_t ab_lock = PTHREAD_MUTEX_INITIALIZER;

/* B: the very same updates, each message's under one global mutex. */
static void *locked_updates(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        pthread_mutex_lock(&ab_lock);
        metrics_count_recipient(PROTO_SMTP, VERDICT_SPAM, ACTION_JUNK);
        metrics_count_reply(PROTO_SMTP, 2);
        metrics_observe_stage(STAGE_SPAM, (uint64_t)i);
        pthread_mutex_unlock(&ab_lock);
    }
    return NULL;
}

static double run_threads(void *(*fn)(void *))
{
    pthread_t t[THREADS];
    struct timespec start = mono_now();
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    struct timespec end = mono_now();
    double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
    return ns / (THREADS * PER_THREAD);
}

static void test_contention_ab(void **state)
{
    (void)state;
    const char *cnt = "lmtpscan_stage_duration_seconds_count{stage=\"spam\"}";
    double n0 = sample(cnt);
    double atomic_ns = run_threads(count_many);
    double locked_ns = run_threads(locked_updates);
    printf("# contention A/B, %d threads x %d updates (recipient counter, reply class, "
           "histogram bucket and sum) per thread: sharded atomics %.1f ns, the same under one "
           "mutex %.1f ns\n",
           THREADS, PER_THREAD, atomic_ns, locked_ns);
    assert_true(sample(cnt) - n0 == 2.0 * THREADS * PER_THREAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_resolve_1ms_and_30s),
        cmocka_unit_test(test_sum_is_exact),
        cmocka_unit_test(test_concurrent_updates_lose_nothing),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_contention_ab),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
