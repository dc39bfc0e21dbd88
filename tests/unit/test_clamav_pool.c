/*
 * test_clamav_pool: the scan threads. Never more jobs at once than the
 * pool has threads (also after a resize); every job runs exactly once; a
 * job no thread takes before its deadline fails without running; the
 * default is at least 2.
 */
#include "common/clock.h"
#include "scan/clamav_pool.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

static atomic_int running, most, done;

static void busy(void *arg)
{
    (void)arg;
    int now = atomic_fetch_add(&running, 1) + 1;
    int seen = atomic_load(&most);
    while (now > seen && !atomic_compare_exchange_weak(&most, &seen, now))
        ;
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    atomic_fetch_sub(&running, 1);
    atomic_fetch_add(&done, 1);
}

struct caller {
    struct clamav_pool *pool;
    int rc;
};

static void *call(void *arg)
{
    struct caller *c = arg;
    struct timespec deadline = deadline_after_ms(30000);
    c->rc = clamav_pool_run(c->pool, busy, NULL, &deadline);
    return NULL;
}

/* n callers at once; the most jobs seen running together. */
static int crowd(struct clamav_pool *p, int n)
{
    pthread_t t[16];
    struct caller c[16];
    atomic_store(&most, 0);
    atomic_store(&done, 0);
    for (int i = 0; i < n; i++) {
        c[i] = (struct caller){.pool = p, .rc = -9};
        assert_int_equal(pthread_create(&t[i], NULL, call, &c[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(c[i].rc, 0);
    }
    assert_int_equal(atomic_load(&done), n);
    return atomic_load(&most);
}

static void test_bounded_and_resized(void **state)
{
    (void)state;
    struct clamav_pool *p = clamav_pool_new(2);
    int m = crowd(p, 12);
    assert_true(m >= 1 && m <= 2);
    clamav_pool_set_threads(p, 4);
    m = crowd(p, 12);
    assert_true(m >= 1 && m <= 4);
    clamav_pool_set_threads(p, 1);
    assert_int_equal(crowd(p, 6), 1);
    clamav_pool_free(p);
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_open = PTHREAD_COND_INITIALIZER;
static int gate_state; /* 0 closed, 1 a job waits at it, 2 open */

static void wait_at_gate(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gate_lock);
    gate_state = 1;
    pthread_cond_broadcast(&gate_open);
    while (gate_state != 2)
        pthread_cond_wait(&gate_open, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
}

static void must_not_run(void *arg)
{
    atomic_int *ran = arg;
    atomic_store(ran, 1);
}

static void *blocker(void *arg)
{
    struct caller *c = arg;
    struct timespec deadline = deadline_after_ms(30000);
    c->rc = clamav_pool_run(c->pool, wait_at_gate, NULL, &deadline);
    return NULL;
}

static void test_deadline_while_queued(void **state)
{
    (void)state;
    struct clamav_pool *p = clamav_pool_new(1);
    struct caller b = {.pool = p, .rc = -9};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, blocker, &b), 0);
    pthread_mutex_lock(&gate_lock);
    while (gate_state != 1)
        pthread_cond_wait(&gate_open, &gate_lock);
    pthread_mutex_unlock(&gate_lock);

    /* the only thread is busy: this job waits, then gives up */
    atomic_int ran = 0;
    struct timespec start = mono_now();
    struct timespec deadline = deadline_after_ms(150);
    assert_int_equal(clamav_pool_run(p, must_not_run, &ran, &deadline), -1);
    assert_true(elapsed_ms(start) >= 140);

    pthread_mutex_lock(&gate_lock);
    gate_state = 2;
    pthread_cond_broadcast(&gate_open);
    pthread_mutex_unlock(&gate_lock);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(b.rc, 0);
    /* the job that timed out was taken off the queue: it never runs */
    assert_int_equal(crowd(p, 3), 1);
    assert_int_equal(atomic_load(&ran), 0);
    clamav_pool_free(p);
}

static void test_default(void **state)
{
    (void)state;
    assert_true(clamav_pool_default_threads() >= 2);
    assert_true(clamav_pool_default_threads() <= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded_and_resized),
        cmocka_unit_test(test_deadline_while_queued),
        cmocka_unit_test(test_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
