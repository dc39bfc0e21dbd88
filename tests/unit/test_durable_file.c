/*
 * test_durable_file: durable_file_open/commit/abort on real directories
 * under a fresh mkdtemp root: a file straight in the base directory and
 * in a subdirectory (content, mode, no temporary left), abort, a symbolic
 * link as the subdirectory or one level of it (ELOOP, nothing written at
 * the target), "..", a link at the base (followed: it is the configured
 * directory) and a link planted at the final name (replaced, its target
 * untouched).
 */
#include "deliver/durable_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmp_tree.h"

static int setup(void **state)
{
    return tmp_tree_setup(state, "durable");
}

static int teardown(void **state)
{
    return tmp_tree_teardown(state);
}

static void path_join(char *out, size_t len, const char *a, const char *b)
{
    int n = snprintf(out, len, "%s/%s", a, b);
    assert_true(n > 0 && (size_t)n < len);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Writes text through a durable file into base/sub/name; 0 or -1. */
static int store(const char *base, const char *sub, const char *name, const char *text, char *path,
                 size_t path_len)
{
    struct durable_file df;
    if (durable_file_open(&df, base, sub, name) < 0)
        return -1;
    if (write(df.fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        durable_file_abort(&df);
        return -1;
    }
    if (durable_file_commit(&df) < 0)
        return -1;
    snprintf(path, path_len, "%s", df.final_path);
    return 0;
}

static void assert_file(const char *path, const char *text)
{
    char buf[256];
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, text);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_store(void **state)
{
    struct tmp_tree *fx = *state;
    char path[4096], want[4096], sub[4096];
    assert_int_equal(store(fx->root, NULL, "a.eml", "one", path, sizeof path), 0);
    path_join(want, sizeof want, fx->root, "a.eml");
    assert_string_equal(path, want);
    assert_file(path, "one");
    assert_int_equal(count_entries(fx->root), 1); /* no temporary left */

    path_join(sub, sizeof sub, fx->root, "2024-02-29");
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(store(fx->root, "2024-02-29", "b.xml", "two", path, sizeof path), 0);
    path_join(want, sizeof want, sub, "b.xml");
    assert_string_equal(path, want);
    assert_file(path, "two");
    /* replacing is what a release does */
    assert_int_equal(store(fx->root, "2024-02-29", "b.xml", "three", path, sizeof path), 0);
    assert_file(path, "three");
    assert_int_equal(count_entries(sub), 1);
}

static void test_abort(void **state)
{
    struct tmp_tree *fx = *state;
    struct durable_file df;
    assert_int_equal(durable_file_open(&df, fx->root, "", "x"), 0);
    assert_int_equal(count_entries(fx->root), 1);
    durable_file_abort(&df);
    assert_int_equal(count_entries(fx->root), 0);
}

static void test_symlink_below_base_refused(void **state)
{
    struct tmp_tree *fx = *state;
    char base[4096], outside[4096], link[4096], deeper[4096], path[4096];
    path_join(base, sizeof base, fx->root, "reports");
    path_join(outside, sizeof outside, fx->root, "outside");
    assert_int_equal(mkdir(base, 0700), 0);
    assert_int_equal(mkdir(outside, 0700), 0);

    /* the day directory is a link */
    path_join(link, sizeof link, base, "2024-02-29");
    assert_int_equal(symlink(outside, link), 0);
    errno = 0;
    assert_int_equal(store(base, "2024-02-29", "r.xml", "x", path, sizeof path), -1);
    assert_int_equal(errno, ELOOP);

    /* a deeper level is a link */
    path_join(deeper, sizeof deeper, base, "a");
    assert_int_equal(mkdir(deeper, 0700), 0);
    path_join(link, sizeof link, deeper, "b");
    assert_int_equal(symlink(outside, link), 0);
    errno = 0;
    assert_int_equal(store(base, "a/b", "r.xml", "x", path, sizeof path), -1);
    assert_int_equal(errno, ELOOP);

    /* a link to a file is no way through either */
    char file[4096];
    path_join(file, sizeof file, outside, "f");
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    path_join(link, sizeof link, base, "f");
    assert_int_equal(symlink(file, link), 0);
    errno = 0;
    assert_int_equal(store(base, "f", "r.xml", "x", path, sizeof path), -1);
    assert_int_equal(errno, ELOOP);

    /* ".." climbs out: refused */
    errno = 0;
    assert_int_equal(store(base, "a/../..", "r.xml", "x", path, sizeof path), -1);
    assert_int_equal(errno, EINVAL);

    /* nothing was written at any target */
    assert_int_equal(count_entries(outside), 1); /* f alone */
    assert_int_equal(count_entries(deeper), 1);  /* b alone */
}

static void test_symlink_at_base_followed(void **state)
{
    struct tmp_tree *fx = *state;
    char real[4096], base[4096], path[4096];
    path_join(real, sizeof real, fx->root, "real");
    path_join(base, sizeof base, fx->root, "quarantine");
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, base), 0);
    assert_int_equal(store(base, NULL, "q.eml", "q", path, sizeof path), 0);
    path_join(path, sizeof path, real, "q.eml");
    assert_file(path, "q");
}

static void test_link_at_final_name_replaced(void **state)
{
    struct tmp_tree *fx = *state;
    char victim[4096], link[4096], path[4096];
    path_join(victim, sizeof victim, fx->root, "victim");
    int fd = open(victim, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "keep", 4), 4);
    close(fd);
    path_join(link, sizeof link, fx->root, "n.eml");
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(store(fx->root, NULL, "n.eml", "new", path, sizeof path), 0);
    assert_file(path, "new"); /* a file now, not the link */
    assert_file(victim, "keep");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_below_base_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_at_base_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_at_final_name_replaced, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
