/*
 * test_gate: the counting gate and the deadline arithmetic under it:
 * units fit or wait until their deadline (bounded in time), a release
 * wakes a waiter at once, a request larger than the capacity runs alone,
 * capacity 0 is no limit, a raised capacity lets waiters in; deadlines
 * count down, compare, and "never" stays far away.
 */
#include "common/clock.h"
#include "common/gate.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

static void test_deadlines(void **state)
{
    (void)state;
    struct timespec a = deadline_after_ms(1000);
    int left = deadline_remaining_ms(a);
    assert_true(left > 500 && left <= 1000);
    assert_int_equal(deadline_remaining_ms(deadline_after_ms(0)), 0);
    assert_int_equal(deadline_remaining_ms(deadline_never()), INT32_MAX);
    struct timespec b = deadline_after_ms(50);
    struct timespec m = deadline_min(a, b);
    assert_true(m.tv_sec == b.tv_sec && m.tv_nsec == b.tv_nsec);
    m = deadline_min(deadline_never(), a);
    assert_true(m.tv_sec == a.tv_sec && m.tv_nsec == a.tv_nsec);
    struct timespec start = mono_now();
    int64_t ms = mono_now_ms();
    usleep(20 * 1000);
    assert_true(elapsed_ms(start) >= 20);
    assert_true(mono_now_ms() - ms >= 20);
}

static void test_units_and_timeouts(void **state)
{
    (void)state;
    struct gate g;
    struct timespec dl;

    gate_init(&g, 3);
    dl = deadline_after_ms(50);
    assert_int_equal(gate_acquire(&g, 2, &dl), 0);
    assert_int_equal(gate_acquire(&g, 1, &dl), 0);
    struct timespec start = mono_now();
    dl = deadline_after_ms(100);
    assert_int_equal(gate_acquire(&g, 1, &dl), -1); /* full: waits, times out */
    unsigned took = elapsed_ms(start);
    assert_true(took >= 90 && took < 3000);
    gate_release(&g, 2);
    dl = deadline_after_ms(50);
    assert_int_equal(gate_acquire(&g, 3, &dl), -1); /* 1 + 3 > 3 */
    assert_int_equal(gate_acquire(&g, 2, &dl), 0);
    gate_release(&g, 2);
    gate_release(&g, 1);

    /* larger than the capacity: only alone */
    dl = deadline_after_ms(50);
    assert_int_equal(gate_acquire(&g, 1, &dl), 0);
    assert_int_equal(gate_acquire(&g, 10, &dl), -1);
    gate_release(&g, 1);
    assert_int_equal(gate_acquire(&g, 10, &dl), 0);
    dl = deadline_after_ms(50);
    assert_int_equal(gate_acquire(&g, 1, &dl), -1);
    gate_release(&g, 10);

    /* capacity 0: no limit */
    gate_set_capacity(&g, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(gate_acquire(&g, 1000, &dl), 0);
    for (int i = 0; i < 100; i++)
        gate_release(&g, 1000);
    gate_destroy(&g);
}

struct waiter {
    struct gate *g;
    uint64_t n;
    int rc;
    unsigned took;
};

static void *waiter_thread(void *arg)
{
    struct waiter *w = arg;
    struct timespec start = mono_now();
    struct timespec dl = deadline_after_ms(10 * 1000);
    w->rc = gate_acquire(w->g, w->n, &dl);
    w->took = elapsed_ms(start);
    return NULL;
}

static void test_release_and_capacity_wake_waiters(void **state)
{
    (void)state;
    struct gate g;
    struct timespec dl = deadline_after_ms(50);
    pthread_t t;

    gate_init(&g, 1);
    assert_int_equal(gate_acquire(&g, 1, &dl), 0);
    struct waiter w = {.g = &g, .n = 1};
    assert_int_equal(pthread_create(&t, NULL, waiter_thread, &w), 0);
    usleep(100 * 1000);
    gate_release(&g, 1);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_true(w.took < 5000);

    /* held by the waiter now; a second waiter gets in when the capacity grows */
    struct waiter w2 = {.g = &g, .n = 1};
    assert_int_equal(pthread_create(&t, NULL, waiter_thread, &w2), 0);
    usleep(100 * 1000);
    gate_set_capacity(&g, 2);
    pthread_join(t, NULL);
    assert_int_equal(w2.rc, 0);
    assert_true(w2.took < 5000);
    gate_release(&g, 1);
    gate_release(&g, 1);
    gate_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_units_and_timeouts),
        cmocka_unit_test(test_release_and_capacity_wake_waiters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
