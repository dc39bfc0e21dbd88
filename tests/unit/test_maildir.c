/*
 * test_maildir: maildir_deliver() and maildir_exists() on real directories
 * under a fresh mkdtemp root: inbox and folder delivery (content, mode,
 * unique name with ,S=SIZE, empty tmp/), a missing Maildir without create,
 * writer failures (ENOSPC, EDQUOT, EIO) leaving nothing behind, a file in
 * the Maildir's place, unsafe folder names, a too small destination
 * buffer, symbolic links planted anywhere below the root (each refused,
 * nothing written at the link's target) while a link at the root itself is
 * followed, concurrent deliveries from several threads, and a real ENOSPC on
 * a tiny tmpfs mounted in a private mount namespace (skipped where mounting
 * is not permitted).
 */
#include "deliver/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmp_tree.h"

#define MAX_FILES 256

/* What the writer stores, and how it fails. */
struct message {
    const char *data;
    size_t len;
    int fail_errno; /* nonzero: write half, then fail with this errno */
};

static int write_message(int fd, void *arg)
{
    const struct message *m = arg;
    size_t len = m->fail_errno ? m->len / 2 : m->len;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, m->data + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)n;
    }
    if (m->fail_errno) {
        errno = m->fail_errno;
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    return tmp_tree_setup(state, "maildir");
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

/* Names of the entries in dir (not "." or ".."); returns their number. */
static size_t list_dir(const char *dir, char names[][NAME_MAX + 1], size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        assert_true(n < max);
        snprintf(names[n++], NAME_MAX + 1, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static size_t count_entries(const char *dir)
{
    static char names[MAX_FILES][NAME_MAX + 1];
    return list_dir(dir, names, MAX_FILES);
}

static size_t count_in(const char *maildir, const char *sub)
{
    char path[PATH_MAX];
    path_join(path, sizeof path, maildir, sub);
    return count_entries(path);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Checks one delivered file: place, name, mode, size, content; its Q counter. */
static unsigned long check_delivered(const char *maildir, const char *dest, const struct message *m)
{
    char new_dir[PATH_MAX];
    path_join(new_dir, sizeof new_dir, maildir, "new/");
    assert_memory_equal(dest, new_dir, strlen(new_dir));
    const char *name = dest + strlen(new_dir);
    assert_null(strchr(name, '/'));

    /* SECONDS.M<usec>P<pid>Q<counter>.<host>,S=<size> */
    long long secs;
    long usec, pid;
    unsigned long q;
    int used = 0;
    assert_int_equal(sscanf(name, "%lld.M%ldP%ldQ%lu.%n", &secs, &usec, &pid, &q, &used), 4);
    assert_true(used > 0);
    assert_true(usec >= 0 && usec < 1000000);
    assert_int_equal(pid, (long)getpid());

    struct stat st;
    assert_int_equal(stat(dest, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal((size_t)st.st_size, m->len);
    const char *size_tag = strstr(name, ",S=");
    assert_non_null(size_tag);
    char expected_tag[32];
    snprintf(expected_tag, sizeof expected_tag, ",S=%lld", (long long)st.st_size);
    assert_string_equal(size_tag, expected_tag);

    char *buf = malloc(m->len + 1);
    assert_non_null(buf);
    int fd = open(dest, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t got = read(fd, buf, m->len + 1);
    close(fd);
    assert_int_equal(got, (ssize_t)m->len);
    assert_memory_equal(buf, m->data, m->len);
    free(buf);
    return q;
}

static void test_inbox_delivery(void **state)
{
    struct tmp_tree *fx = *state;
    char maildir[PATH_MAX];
    path_join(maildir, sizeof maildir, fx->root, "example.com/user/Maildir");
    assert_false(maildir_exists(maildir));

    static const char body[] = "From: a@x\r\nSubject: hi\r\n\r\nbody\r\n";
    struct message m = {body, sizeof body - 1, 0};
    char dest[PATH_MAX], err[256];
    assert_int_equal(maildir_deliver(fx->root, maildir, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_OK);
    assert_string_equal(err, "");
    assert_true(maildir_exists(maildir));
    unsigned long q1 = check_delivered(maildir, dest, &m);
    assert_int_equal(count_in(maildir, "tmp"), 0);
    assert_int_equal(count_in(maildir, "new"), 1);
    assert_int_equal(count_in(maildir, "cur"), 0);

    struct stat st;
    assert_int_equal(stat(maildir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char tmp[PATH_MAX];
    path_join(tmp, sizeof tmp, maildir, "tmp");
    assert_int_equal(stat(tmp, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* a second copy into the existing Maildir, "" meaning the inbox too */
    char dest2[PATH_MAX];
    assert_int_equal(maildir_deliver(fx->root, maildir, "", false, write_message, &m, dest2,
                                     sizeof dest2, err, sizeof err),
                     MAILDIR_OK);
    assert_string_not_equal(dest, dest2);
    assert_true(check_delivered(maildir, dest2, &m) > q1); /* the counter moves on */
    assert_int_equal(count_in(maildir, "new"), 2);
    assert_int_equal(count_in(maildir, "tmp"), 0);

    /* an empty message is a valid, empty file */
    struct message empty = {"", 0, 0};
    assert_int_equal(maildir_deliver(fx->root, maildir, NULL, false, write_message, &empty, dest2,
                                     sizeof dest2, err, sizeof err),
                     MAILDIR_OK);
    check_delivered(maildir, dest2, &empty);
}

static void test_folder_delivery(void **state)
{
    struct tmp_tree *fx = *state;
    char maildir[PATH_MAX], junk[PATH_MAX], marker[PATH_MAX];
    path_join(maildir, sizeof maildir, fx->root, "Maildir");
    path_join(junk, sizeof junk, maildir, ".Junk");
    path_join(marker, sizeof marker, junk, "maildirfolder");

    static const char body[] = "Subject: spam\r\n\r\nbuy\r\n";
    struct message m = {body, sizeof body - 1, 0};
    char dest[PATH_MAX], err[256];
    assert_int_equal(maildir_deliver(fx->root, maildir, "Junk", true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_OK);
    assert_true(maildir_exists(maildir));
    assert_true(maildir_exists(junk));
    check_delivered(junk, dest, &m);
    assert_int_equal(count_in(junk, "tmp"), 0);
    assert_int_equal(count_in(maildir, "new"), 0);

    struct stat st;
    assert_int_equal(stat(marker, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 0);

    /* the folder is made for an existing Maildir even without create */
    char spam2[PATH_MAX];
    path_join(spam2, sizeof spam2, maildir, ".Spam.Old");
    assert_int_equal(maildir_deliver(fx->root, maildir, "Spam.Old", false, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_OK);
    check_delivered(spam2, dest, &m);
}

static void test_missing_without_create(void **state)
{
    struct tmp_tree *fx = *state;
    char maildir[PATH_MAX];
    path_join(maildir, sizeof maildir, fx->root, "user/Maildir");
    struct message m = {"x\r\n", 3, 0};
    char dest[PATH_MAX], err[256];
    assert_int_equal(maildir_deliver(fx->root, maildir, NULL, false, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_MISSING);
    assert_int_equal(maildir_deliver(fx->root, maildir, "Junk", false, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_MISSING);
    assert_true(strlen(err) > 0);
    assert_string_equal(dest, "");
    assert_false(exists(maildir));
    assert_int_equal(count_entries(fx->root), 0);

    /* a half-made Maildir (no tmp/) is missing too, and is left alone */
    path_join(maildir, sizeof maildir, fx->root, "half");
    char sub[PATH_MAX];
    assert_int_equal(mkdir(maildir, 0700), 0);
    path_join(sub, sizeof sub, maildir, "new");
    assert_int_equal(mkdir(sub, 0700), 0);
    path_join(sub, sizeof sub, maildir, "cur");
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_false(maildir_exists(maildir));
    assert_int_equal(maildir_deliver(fx->root, maildir, NULL, false, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_MISSING);
    assert_int_equal(count_entries(maildir), 2);
}

/* A writer failing with errnum gives want and leaves tmp/ and new/ empty. */
static void check_writer_failure(const char *root, int errnum, enum maildir_result want)
{
    char maildir[PATH_MAX];
    path_join(maildir, sizeof maildir, root, "Maildir");
    static const char body[] = "Subject: x\r\n\r\nsome body text\r\n";
    struct message m = {body, sizeof body - 1, errnum};
    char dest[PATH_MAX], err[256];
    assert_int_equal(maildir_deliver(root, maildir, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     want);
    assert_string_equal(dest, "");
    assert_non_null(strstr(err, "write"));
    assert_non_null(strstr(err, maildir));
    assert_int_equal(count_in(maildir, "tmp"), 0);
    assert_int_equal(count_in(maildir, "new"), 0);
    assert_int_equal(count_in(maildir, "cur"), 0);
}

static void test_writer_enospc(void **state)
{
    struct tmp_tree *fx = *state;
    check_writer_failure(fx->root, ENOSPC, MAILDIR_DISK_FULL);
}

static void test_writer_edquot(void **state)
{
    struct tmp_tree *fx = *state;
    check_writer_failure(fx->root, EDQUOT, MAILDIR_DISK_FULL);
}

static void test_writer_eio(void **state)
{
    struct tmp_tree *fx = *state;
    check_writer_failure(fx->root, EIO, MAILDIR_IO_ERROR);
}

static int failing_without_errno(int fd, void *arg)
{
    (void)fd;
    (void)arg;
    errno = 0;
    return -1;
}

static void test_writer_without_errno(void **state)
{
    struct tmp_tree *fx = *state;
    char maildir[PATH_MAX], dest[PATH_MAX], err[256];
    path_join(maildir, sizeof maildir, fx->root, "Maildir");
    assert_int_equal(maildir_deliver(fx->root, maildir, NULL, true, failing_without_errno, NULL,
                                     dest, sizeof dest, err, sizeof err),
                     MAILDIR_IO_ERROR);
    assert_int_equal(count_in(maildir, "tmp"), 0);
    assert_int_equal(count_in(maildir, "new"), 0);
}

static void test_file_in_the_way(void **state)
{
    struct tmp_tree *fx = *state;
    char maildir[PATH_MAX];
    path_join(maildir, sizeof maildir, fx->root, "Maildir");
    int fd = open(maildir, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);

    struct message m = {"x\r\n", 3, 0};
    char dest[PATH_MAX], err[256];
    assert_false(maildir_exists(maildir));
    assert_int_equal(maildir_deliver(fx->root, maildir, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_IO_ERROR);
    assert_non_null(strstr(err, maildir));
    assert_int_equal(maildir_deliver(fx->root, maildir, NULL, false, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_MISSING);

    /* a file where a level above the Maildir should be */
    char below[PATH_MAX];
    path_join(below, sizeof below, maildir, "user/Maildir");
    assert_int_equal(maildir_deliver(fx->root, below, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_IO_ERROR);

    /* a file where new/ should be: the tmp file is removed again */
    char other[PATH_MAX], sub[PATH_MAX];
    path_join(other, sizeof other, fx->root, "other");
    assert_int_equal(mkdir(other, 0700), 0);
    path_join(sub, sizeof sub, other, "tmp");
    assert_int_equal(mkdir(sub, 0700), 0);
    path_join(sub, sizeof sub, other, "cur");
    assert_int_equal(mkdir(sub, 0700), 0);
    path_join(sub, sizeof sub, other, "new");
    fd = open(sub, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(maildir_deliver(fx->root, other, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_IO_ERROR);
    assert_int_equal(count_in(other, "tmp"), 0);
}

static void test_unsafe_folders(void **state)
{
    struct tmp_tree *fx = *state;
    char maildir[PATH_MAX];
    path_join(maildir, sizeof maildir, fx->root, "Maildir");
    static const char *const folders[] = {"../x", ".x",    "a/b",   "/abs", "..",
                                          "a..b", "a\x01", "a\x7f", "a\nb"};
    struct message m = {"x\r\n", 3, 0};
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
        char dest[PATH_MAX], err[256] = "";
        assert_int_equal(maildir_deliver(fx->root, maildir, folders[i], true, write_message, &m,
                                         dest, sizeof dest, err, sizeof err),
                         MAILDIR_IO_ERROR);
        assert_true(strlen(err) > 0);
    }
    /* nothing at all was made, inside the root or beside it */
    assert_int_equal(count_entries(fx->root), 0);
}

static void test_small_destination(void **state)
{
    struct tmp_tree *fx = *state;
    char maildir[PATH_MAX];
    path_join(maildir, sizeof maildir, fx->root, "Maildir");
    struct message m = {"x\r\n", 3, 0};
    char dest[16], err[256];
    assert_int_equal(maildir_deliver(fx->root, maildir, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_IO_ERROR);
    assert_int_equal(count_in(maildir, "tmp"), 0);
    assert_int_equal(count_in(maildir, "new"), 0);

    /* no dest and no err at all is fine */
    assert_int_equal(
        maildir_deliver(fx->root, maildir, NULL, true, write_message, &m, NULL, 0, NULL, 0),
        MAILDIR_OK);
    assert_int_equal(count_in(maildir, "new"), 1);
}

/* ---- symbolic links below the root ------------------------------------ */

static size_t regular_files;

static int count_regular(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode))
        regular_files++;
    return 0;
}

/* Regular files anywhere below dir (links not followed). */
static size_t files_below(const char *dir)
{
    regular_files = 0;
    assert_int_equal(nftw(dir, count_regular, 16, FTW_PHYS), 0);
    return regular_files;
}

/* The Maildir (and its .Junk folder) a delivery would use, top down. */
static const char *const tree[] = {
    "example.com",
    "example.com/user",
    "example.com/user/Maildir",
    "example.com/user/Maildir/tmp",
    "example.com/user/Maildir/new",
    "example.com/user/Maildir/cur",
    "example.com/user/Maildir/.Junk",
    "example.com/user/Maildir/.Junk/tmp",
    "example.com/user/Maildir/.Junk/new",
    "example.com/user/Maildir/.Junk/cur",
};

struct link_case {
    const char *link;   /* this directory of the tree is a link to outside/ */
    const char *folder; /* where the copy goes */
};

static const struct link_case link_cases[] = {
    {"example.com", NULL},
    {"example.com/user", NULL}, /* the user's dir */
    {"example.com/user/Maildir", NULL},
    {"example.com/user/Maildir/new", NULL},
    {"example.com/user/Maildir/tmp", NULL},
    {"example.com/user/Maildir/cur", NULL},
    {"example.com/user/Maildir/.Junk", "Junk"},
    {"example.com/user/Maildir/.Junk/new", "Junk"},
    {"example.com/user/Maildir/.Junk/tmp", "Junk"},
};

/*
 * Builds root/vmail with the tree, except that c->link is a symbolic link
 * to root/outside, which holds the rest of the tree: a delivery that
 * followed the link would succeed there.
 */
static void plant_link(const char *base, const struct link_case *c)
{
    char vmail[PATH_MAX], outside[PATH_MAX], path[PATH_MAX];
    path_join(vmail, sizeof vmail, base, "vmail");
    path_join(outside, sizeof outside, base, "outside");
    assert_int_equal(mkdir(base, 0700), 0);
    assert_int_equal(mkdir(vmail, 0700), 0);
    assert_int_equal(mkdir(outside, 0700), 0);
    size_t n = strlen(c->link);
    for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++) {
        if (strcmp(tree[i], c->link) == 0) {
            path_join(path, sizeof path, vmail, tree[i]);
            assert_int_equal(symlink(outside, path), 0);
        } else if (strncmp(tree[i], c->link, n) == 0 && tree[i][n] == '/') {
            path_join(path, sizeof path, outside, tree[i] + n + 1);
            assert_int_equal(mkdir(path, 0700), 0);
        } else {
            path_join(path, sizeof path, vmail, tree[i]);
            assert_int_equal(mkdir(path, 0700), 0);
        }
    }
}

static void test_symlinks_refused(void **state)
{
    struct tmp_tree *fx = *state;
    struct message m = {"Subject: x\r\n\r\nredirected?\r\n", 27, 0};
    for (size_t i = 0; i < sizeof link_cases / sizeof link_cases[0]; i++) {
        const struct link_case *c = &link_cases[i];
        char base[PATH_MAX], vmail[PATH_MAX], maildir[PATH_MAX], outside[PATH_MAX];
        char name[32];
        snprintf(name, sizeof name, "case%zu", i);
        path_join(base, sizeof base, fx->root, name);
        plant_link(base, c);
        path_join(vmail, sizeof vmail, base, "vmail");
        path_join(outside, sizeof outside, base, "outside");
        path_join(maildir, sizeof maildir, vmail, "example.com/user/Maildir");

        for (int create = 1; create >= 0; create--) {
            char dest[PATH_MAX], err[256];
            enum maildir_result rc =
                maildir_deliver(vmail, maildir, c->folder, create, write_message, &m, dest,
                                sizeof dest, err, sizeof err);
            if (rc != MAILDIR_IO_ERROR || strstr(err, "symbolic link") == NULL)
                fail_msg("link at %s (create %d): result %d, \"%s\"", c->link, create, (int)rc,
                         err);
            assert_string_equal(dest, "");
        }
        /* nothing was written anywhere, least of all at the link's target */
        assert_int_equal(files_below(outside), 0);
        assert_int_equal(files_below(vmail), 0);
    }
}

/* A dangling link is not made into a directory through the link. */
static void test_dangling_symlink(void **state)
{
    struct tmp_tree *fx = *state;
    char vmail[PATH_MAX], maildir[PATH_MAX], target[PATH_MAX];
    path_join(vmail, sizeof vmail, fx->root, "vmail");
    path_join(maildir, sizeof maildir, vmail, "Maildir");
    path_join(target, sizeof target, fx->root, "not-there");
    assert_int_equal(mkdir(vmail, 0700), 0);
    assert_int_equal(symlink(target, maildir), 0);
    struct message m = {"x\r\n", 3, 0};
    char dest[PATH_MAX], err[256];
    assert_int_equal(maildir_deliver(vmail, maildir, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_IO_ERROR);
    assert_non_null(strstr(err, "symbolic link"));
    assert_false(exists(target));
}

/* The root is the administrator's: a link there (or above) is followed. */
static void test_link_at_the_root_followed(void **state)
{
    struct tmp_tree *fx = *state;
    char real[PATH_MAX], root[PATH_MAX], maildir[PATH_MAX];
    path_join(real, sizeof real, fx->root, "real");
    path_join(root, sizeof root, fx->root, "vmail");
    path_join(maildir, sizeof maildir, root, "d/u/Maildir");
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, root), 0);
    struct message m = {"x\r\n", 3, 0};
    char dest[PATH_MAX], err[256];
    assert_int_equal(maildir_deliver(root, maildir, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_OK);
    path_join(maildir, sizeof maildir, real, "d/u/Maildir");
    assert_int_equal(count_in(maildir, "new"), 1);
}

/* A Maildir that is not below the given root is refused. */
static void test_outside_the_root(void **state)
{
    struct tmp_tree *fx = *state;
    char root[PATH_MAX], maildir[PATH_MAX];
    path_join(root, sizeof root, fx->root, "vmail");
    path_join(maildir, sizeof maildir, fx->root, "vmailx/Maildir");
    struct message m = {"x\r\n", 3, 0};
    char dest[PATH_MAX], err[256];
    assert_int_equal(maildir_deliver(root, maildir, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_IO_ERROR);
    path_join(maildir, sizeof maildir, root, "a/../../Maildir");
    assert_int_equal(maildir_deliver(root, maildir, NULL, true, write_message, &m, dest,
                                     sizeof dest, err, sizeof err),
                     MAILDIR_IO_ERROR);
    assert_int_equal(count_entries(fx->root), 1); /* vmail/ (the root) alone */
}

#define THREADS    4
#define PER_THREAD 50

struct worker {
    const char *root;
    const char *maildir;
    char text[64];
    int failures;
};

static void *deliver_many(void *arg)
{
    struct worker *w = arg;
    struct message m = {w->text, strlen(w->text), 0};
    for (int i = 0; i < PER_THREAD; i++) {
        char dest[PATH_MAX], err[256];
        if (maildir_deliver(w->root, w->maildir, NULL, true, write_message, &m, dest, sizeof dest,
                            err, sizeof err) != MAILDIR_OK)
            w->failures++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct tmp_tree *fx = *state;
    char maildir[PATH_MAX];
    path_join(maildir, sizeof maildir, fx->root, "Maildir");
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i].root = fx->root;
        workers[i].maildir = maildir;
        workers[i].failures = 0;
        snprintf(workers[i].text, sizeof workers[i].text, "Subject: thread %d\r\n\r\n.\r\n", i);
        assert_int_equal(pthread_create(&threads[i], NULL, deliver_many, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(workers[i].failures, 0);
    }

    static char names[MAX_FILES][NAME_MAX + 1];
    char new_dir[PATH_MAX];
    path_join(new_dir, sizeof new_dir, maildir, "new");
    size_t n = list_dir(new_dir, names, MAX_FILES);
    assert_int_equal(n, THREADS * PER_THREAD);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(names[i], names[j]);
    assert_int_equal(count_in(maildir, "tmp"), 0);
}

/*
 * In a child with its own mount namespace: a 64 KiB tmpfs, one small
 * delivery that fits, then one that cannot. Exit 0 pass, 77 skip, else the
 * number of the failed check.
 */
static int tmpfs_child(const char *root)
{
    if (unshare(CLONE_NEWNS) < 0)
        return 77;
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 77;
    if (mount("none", root, "tmpfs", 0, "size=64k,mode=0700") < 0)
        return 77;

    char maildir[PATH_MAX];
    snprintf(maildir, sizeof maildir, "%s/Maildir", root);
    char dest[PATH_MAX], err[256];
    struct message small = {"Subject: s\r\n\r\nfits\r\n", 20, 0};
    if (maildir_deliver(root, maildir, NULL, true, write_message, &small, dest, sizeof dest, err,
                        sizeof err) != MAILDIR_OK)
        return 1;

    size_t big_len = 512 * 1024;
    char *big = malloc(big_len);
    if (!big)
        return 2;
    memset(big, 'x', big_len);
    struct message large = {big, big_len, 0};
    enum maildir_result rc = maildir_deliver(root, maildir, NULL, true, write_message, &large, dest,
                                             sizeof dest, err, sizeof err);
    free(big);
    if (rc != MAILDIR_DISK_FULL)
        return 3;
    if (strstr(err, "write") == NULL)
        return 4;
    char sub[PATH_MAX + 8];
    int n = snprintf(sub, sizeof sub, "%s/new", maildir);
    if (n < 0 || (size_t)n >= sizeof sub || count_entries(sub) != 1)
        return 5;
    n = snprintf(sub, sizeof sub, "%s/tmp", maildir);
    if (n < 0 || (size_t)n >= sizeof sub || count_entries(sub) != 0)
        return 6;
    /* the space came back: the next small copy is delivered */
    if (maildir_deliver(root, maildir, NULL, true, write_message, &small, dest, sizeof dest, err,
                        sizeof err) != MAILDIR_OK)
        return 7;
    return 0;
}

static void test_real_enospc(void **state)
{
    struct tmp_tree *fx = *state;
    char root[PATH_MAX];
    path_join(root, sizeof root, fx->root, "tiny");
    assert_int_equal(mkdir(root, 0700), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(tmpfs_child(root));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inbox_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_without_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_enospc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_edquot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_without_errno, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_in_the_way, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_folders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_destination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dangling_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_at_the_root_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_enospc, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
