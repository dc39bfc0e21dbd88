/*
 * test_dir_sync: the group commit of directory fsyncs on real directories
 * under a fresh mkdtemp root: one call alone issues one fsync; 16 threads
 * each creating and renaming files into one directory all get 0, every
 * file is there, and they share fsyncs (with the first fsync held until
 * all 16 have entered, at most 2 are issued); a failed fsync reaches
 * exactly the callers it covered, later callers get a fresh one; a
 * directory whose fsync hangs does not hold up another directory, and
 * with the table full a caller still gets its own fsync.
 */
#include "deliver/dir_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmp_tree.h"

#define THREADS    16
#define ITERATIONS 200
#define WAIT_MS    10000 /* generous bound for anything the hooks wait for */

static int setup(void **state)
{
    return tmp_tree_setup(state, "dirsync");
}

static int teardown(void **state)
{
    dir_sync_set_fsync_for_test(NULL);
    return tmp_tree_teardown(state);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Opens root/name as a directory, made if missing. */
static int open_dir(const char *root, const char *name)
{
    char path[256];
    int n = snprintf(path, sizeof path, "%s/%s", root, name);
    assert_true(n > 0 && (size_t)n < sizeof path);
    assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

/* ---- hooks: state shared with the fsync replacement ---- */

static atomic_int hook_calls;
static atomic_int hook_fail_call;   /* 1-based call number to fail with EIO; 0: none */
static atomic_ullong hook_hold_for; /* hold the first call until this many dir_sync calls */
static atomic_int hook_in_hold;     /* calls being held now */
static atomic_bool hook_release;
static atomic_ullong hook_hold_ino; /* hold calls on this directory until released */
static atomic_ullong hook_pass_ino; /* if set, hold calls on every other directory */

static void hook_reset(void)
{
    atomic_store(&hook_calls, 0);
    atomic_store(&hook_fail_call, 0);
    atomic_store(&hook_hold_for, 0);
    atomic_store(&hook_in_hold, 0);
    atomic_store(&hook_release, false);
    atomic_store(&hook_hold_ino, 0);
    atomic_store(&hook_pass_ino, 0);
}

static int hook_fsync(int fd)
{
    int call = atomic_fetch_add(&hook_calls, 1) + 1;
    unsigned long long want = atomic_load(&hook_hold_for);
    double deadline = now_ms() + WAIT_MS;
    if (call == 1 && want > 0)
        while (dir_sync_stats().calls < want && now_ms() < deadline)
            sleep_ms(1);
    struct stat st;
    unsigned long long ino = fstat(fd, &st) == 0 ? (unsigned long long)st.st_ino : 0;
    unsigned long long pass = atomic_load(&hook_pass_ino);
    if (ino == atomic_load(&hook_hold_ino) || (pass != 0 && ino != pass)) {
        atomic_fetch_add(&hook_in_hold, 1);
        while (!atomic_load(&hook_release) && now_ms() < deadline)
            sleep_ms(1);
        atomic_fetch_sub(&hook_in_hold, 1);
    }
    if (call == atomic_load(&hook_fail_call)) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}

/* (a) alone: one fsync a call */
static void test_single_thread(void **state)
{
    struct tmp_tree *fx = *state;
    int fd = open_dir(fx->root, "d");
    struct dir_sync_stats before = dir_sync_stats();
    for (int i = 0; i < 5; i++)
        assert_int_equal(dir_sync(fd), 0);
    struct dir_sync_stats after = dir_sync_stats();
    assert_int_equal(after.calls - before.calls, 5);
    assert_int_equal(after.fsyncs - before.fsyncs, 5);
    close(fd);
}

struct worker {
    pthread_t thread;
    int dir_fd;
    int index;
    int iterations;
    int failures; /* dir_sync() returning -1 */
    int eio;      /* of them with EIO */
    int other;    /* any other failure */
};

/* Creates a temporary file, renames it to w<index>-<i>, dir_sync(). */
static void *worker_run(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->iterations; i++) {
        char tmp[64], name[64];
        snprintf(tmp, sizeof tmp, ".w%d-%d.tmp", w->index, i);
        snprintf(name, sizeof name, "w%d-%d", w->index, i);
        int fd = openat(w->dir_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0 || close(fd) < 0 || renameat(w->dir_fd, tmp, w->dir_fd, name) < 0) {
            w->other++;
            continue;
        }
        if (dir_sync(w->dir_fd) < 0) {
            w->failures++;
            w->eio += errno == EIO;
        }
    }
    return NULL;
}

/* Runs THREADS workers of `iterations` each on their own fd of root/name. */
static void run_workers(const char *root, const char *name, struct worker *ws, int iterations)
{
    for (int t = 0; t < THREADS; t++) {
        ws[t] =
            (struct worker){.dir_fd = open_dir(root, name), .index = t, .iterations = iterations};
        assert_int_equal(pthread_create(&ws[t].thread, NULL, worker_run, &ws[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(ws[t].thread, NULL), 0);
        close(ws[t].dir_fd);
        assert_int_equal(ws[t].other, 0);
    }
}

/* (b) many threads, one directory: all succeed, all files there, shared */
static void test_concurrent_share(void **state)
{
    struct tmp_tree *fx = *state;
    struct worker ws[THREADS];
    struct dir_sync_stats before = dir_sync_stats();
    run_workers(fx->root, "d", ws, ITERATIONS);
    struct dir_sync_stats after = dir_sync_stats();
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(ws[t].failures, 0);
    unsigned long long calls = after.calls - before.calls;
    unsigned long long fsyncs = after.fsyncs - before.fsyncs;
    assert_int_equal(calls, THREADS * ITERATIONS);
    assert_true(fsyncs <= calls);
    printf("dir_sync: %llu calls, %llu fsyncs (%.2f a call)\n", calls, fsyncs,
           (double)fsyncs / (double)calls);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < ITERATIONS; i++) {
            char path[256];
            snprintf(path, sizeof path, "%s/d/w%d-%d", fx->root, t, i);
            struct stat st;
            assert_int_equal(stat(path, &st), 0);
        }
}

/* (b) made certain: the first fsync is held until all THREADS callers
 * have their tickets, so the rest share one: 2 fsyncs for THREADS calls. */
static void test_concurrent_share_certain(void **state)
{
    struct tmp_tree *fx = *state;
    hook_reset();
    struct dir_sync_stats before = dir_sync_stats();
    atomic_store(&hook_hold_for, before.calls + THREADS);
    dir_sync_set_fsync_for_test(hook_fsync);
    struct worker ws[THREADS];
    run_workers(fx->root, "d", ws, 1);
    struct dir_sync_stats after = dir_sync_stats();
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(ws[t].failures, 0);
    assert_int_equal(after.calls - before.calls, THREADS);
    assert_int_equal(after.fsyncs - before.fsyncs, 2);
}

/* (c) the second fsync (covering tickets 2..THREADS: the first is held
 * until all have theirs) fails: exactly those callers get EIO; the next
 * call issues a fresh fsync and succeeds. */
static void test_failure_reaches_covered(void **state)
{
    struct tmp_tree *fx = *state;
    hook_reset();
    struct dir_sync_stats before = dir_sync_stats();
    atomic_store(&hook_hold_for, before.calls + THREADS);
    atomic_store(&hook_fail_call, 2);
    dir_sync_set_fsync_for_test(hook_fsync);
    struct worker ws[THREADS];
    run_workers(fx->root, "d", ws, 1);
    int failed = 0, eio = 0;
    for (int t = 0; t < THREADS; t++) {
        failed += ws[t].failures;
        eio += ws[t].eio;
    }
    assert_int_equal(failed, THREADS - 1);
    assert_int_equal(eio, THREADS - 1);
    assert_int_equal(dir_sync_stats().fsyncs - before.fsyncs, 2);

    /* single thread: the failing call alone gets EIO, the next succeeds */
    hook_reset();
    atomic_store(&hook_fail_call, 1);
    int fd = open_dir(fx->root, "d");
    errno = 0;
    assert_int_equal(dir_sync(fd), -1);
    assert_int_equal(errno, EIO);
    assert_int_equal(dir_sync(fd), 0);
    assert_int_equal(atomic_load(&hook_calls), 2);
    close(fd);
}

struct one_call {
    pthread_t thread;
    int fd;
    int rc;
};

static void *one_call_run(void *arg)
{
    struct one_call *c = arg;
    c->rc = dir_sync(c->fd);
    return NULL;
}

/* (d) a hanging fsync of one directory holds up nobody elsewhere; and
 * with every slot taken by hanging directories a caller fsyncs directly. */
static void test_directories_independent(void **state)
{
    struct tmp_tree *fx = *state;
    hook_reset();
    dir_sync_set_fsync_for_test(hook_fsync);
    int a = open_dir(fx->root, "a");
    int b = open_dir(fx->root, "b");
    struct stat st;
    assert_int_equal(fstat(a, &st), 0);
    atomic_store(&hook_hold_ino, (unsigned long long)st.st_ino);

    struct one_call held = {.fd = a, .rc = 1};
    assert_int_equal(pthread_create(&held.thread, NULL, one_call_run, &held), 0);
    double deadline = now_ms() + WAIT_MS;
    while (atomic_load(&hook_in_hold) == 0 && now_ms() < deadline)
        sleep_ms(1);
    assert_int_equal(atomic_load(&hook_in_hold), 1);
    double t0 = now_ms();
    assert_int_equal(dir_sync(b), 0);
    assert_true(now_ms() - t0 < WAIT_MS / 2);
    assert_false(atomic_load(&hook_release)); /* a's fsync still running */
    atomic_store(&hook_release, true);
    assert_int_equal(pthread_join(held.thread, NULL), 0);
    assert_int_equal(held.rc, 0);
    close(a);
    close(b);
}

/* Every slot taken by a directory whose fsync hangs: another directory
 * still gets its fsync at once; once they are done the slots are free
 * again (sharing works, which needs a slot). */
static void test_table_full(void **state)
{
    struct tmp_tree *fx = *state;
    hook_reset();
    dir_sync_set_fsync_for_test(hook_fsync);
    int extra = open_dir(fx->root, "extra");
    struct stat st;
    assert_int_equal(fstat(extra, &st), 0);
    atomic_store(&hook_pass_ino, (unsigned long long)st.st_ino);
    struct one_call calls[DIR_SYNC_SLOTS];
    for (int i = 0; i < DIR_SYNC_SLOTS; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        calls[i] = (struct one_call){.fd = open_dir(fx->root, name), .rc = 1};
        assert_int_equal(pthread_create(&calls[i].thread, NULL, one_call_run, &calls[i]), 0);
    }
    double deadline = now_ms() + WAIT_MS;
    while (atomic_load(&hook_in_hold) < DIR_SYNC_SLOTS && now_ms() < deadline)
        sleep_ms(1);
    assert_int_equal(atomic_load(&hook_in_hold), DIR_SYNC_SLOTS);
    struct dir_sync_stats before = dir_sync_stats();
    assert_int_equal(dir_sync(extra), 0);
    assert_true(now_ms() < deadline);
    assert_int_equal(dir_sync_stats().fsyncs - before.fsyncs, 1);
    assert_int_equal(atomic_load(&hook_in_hold), DIR_SYNC_SLOTS); /* still held */
    atomic_store(&hook_release, true);
    for (int i = 0; i < DIR_SYNC_SLOTS; i++) {
        assert_int_equal(pthread_join(calls[i].thread, NULL), 0);
        assert_int_equal(calls[i].rc, 0);
        close(calls[i].fd);
    }
    close(extra);
    test_concurrent_share_certain(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_share_certain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_reaches_covered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directories_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
