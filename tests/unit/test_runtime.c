/*
 * test_runtime: the scan engine's lifetime across configuration
 * generations. At exit the engine must outlive every session that still
 * holds a generation (a session may still scan), and go with the last
 * one. The engine's database watcher thread shows whether it is alive.
 */
#include "lmtpd/runtime.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char tmpdir[] = "/tmp/test_runtime.XXXXXX";

/* Threads of this process. */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static struct config *load(void)
{
    char text[1024], err[512];
    snprintf(text, sizeof(text),
             "[server]\nspool_dir = %s\n"
             "[clamav]\ndatabase = %s\nreload_check = 1h\n"
             "[spamd]\nenabled = no\n",
             tmpdir, tmpdir);
    struct config *cfg = NULL;
    if (config_load_string(text, "test", &cfg, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    return cfg;
}

static void test_engine_outlives_sessions_at_exit(void **state)
{
    (void)state;
    char err[512];
    int before = thread_count();
    struct config *cfg = load();
    struct scan_engine *se = scan_engine_new(cfg, err, sizeof(err));
    if (se == NULL)
        fail_msg("%s", err);
    assert_int_equal(thread_count(), before + 1); /* the database watcher */
    runtime_install(cfg, se);

    /* a reload installs a second generation; a session holds each one */
    struct runtime *old = runtime_acquire();
    runtime_install(load(), se);
    struct runtime *cur = runtime_acquire();

    runtime_shutdown();
    assert_int_equal(thread_count(), before + 1); /* still in use: alive */
    assert_int_equal(scan_engine_reload(cur->scan, cur->cfg, err, sizeof(err)), 0);
    runtime_release(old);
    assert_int_equal(thread_count(), before + 1);
    runtime_release(cur);
    assert_int_equal(thread_count(), before); /* freed with the last one */
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    char path[600];
    snprintf(path, sizeof(path), "%s/one.hdb", tmpdir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return 1;
    fprintf(f, "44d88612fea8a8f36de82e1278abb02f:68:Test.One.UNOFFICIAL\n");
    fclose(f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_outlives_sessions_at_exit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(path);
    rmdir(tmpdir);
    return rc;
}
