/*
 * tmp_tree: a unit test's private directory under /tmp, made before each
 * test and removed afterwards with everything in it (no link followed);
 * tmp_tree_setup()/tmp_tree_teardown() are cmocka fixtures whose state is
 * a struct tmp_tree.
 */
#ifndef LMTPSCAN_TEST_TMP_TREE_H
#define LMTPSCAN_TEST_TMP_TREE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* /tmp/lmtpscan-NAME-XXXXXX into root. 0, or -1. */
static inline int tmp_tree_make(char *root, size_t len, const char *name)
{
    int n = snprintf(root, len, "/tmp/lmtpscan-%s-XXXXXX", name);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return mkdtemp(root) != NULL ? 0 : -1;
}

static inline int tmp_tree_remove_entry(const char *path, const struct stat *st, int flag,
                                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline int tmp_tree_remove(const char *root)
{
    return nftw(root, tmp_tree_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct tmp_tree {
    char root[64];
};

static inline int tmp_tree_setup(void **state, const char *name)
{
    struct tmp_tree *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -1;
    if (tmp_tree_make(t->root, sizeof(t->root), name) < 0) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static inline int tmp_tree_teardown(void **state)
{
    struct tmp_tree *t = *state;
    int rc = tmp_tree_remove(t->root);
    free(t);
    return rc;
}

#endif
