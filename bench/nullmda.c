/*
 * nullmda: the benchmark's "null delivery agent", the physical limit of a
 * delivery that keeps its promise on this file system.
 *
 * Stores COUNT messages into the Maildir DIR with CONC threads at once and
 * nothing else: no protocol, no parsing, no scanning. Each delivery is what
 * a Maildir writer must do before it may say 250: create tmp/NAME
 * (O_CREAT|O_EXCL), write the message's bytes, fsync, fstat, hard-link it as
 * new/NAME, remove tmp/NAME, fsync new/. That is 2 fsyncs a message (the
 * file and the directory); lmtpscand waits for 4 (its Maildir file and
 * new/, the report and its directory).
 *
 * Usage: nullmda -d DIR -c CONC -n COUNT [-o OFFSET] [-F LIST] [FILE...]
 *   FILE: the messages, used in turn from OFFSET (the same bytes the load
 *   generator sends); LIST: a file naming one message file a line.
 * Output (stdout), as lmtpload's: "sent N", "failed N", "elapsed S",
 * "error TEXT" (first failure), then "lat MICROSECONDS" per delivery.
 *
 * Failure modes: a failed system call counts the message as failed (the
 * first error is reported); exit 2 on bad arguments, unreadable files or a
 * DIR whose tmp/ and new/ cannot be made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailfiles.h"

static long count, offset;
static int tmp_fd = -1, new_fd = -1;
static atomic_long next_index, n_sent, n_failed;
static long *lat_us;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_error[256];

static double now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        abort();
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void note_error(const char *what, int errnum)
{
    atomic_fetch_add(&n_failed, 1);
    if (pthread_mutex_lock(&err_lock) != 0)
        return;
    if (first_error[0] == '\0')
        snprintf(first_error, sizeof first_error, "%s: %s", what, strerror(errnum));
    (void)pthread_mutex_unlock(&err_lock);
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One delivery; 0 or -1 with *what set (errno holds the reason). */
static int deliver(long i, const struct msg *m, const char **what)
{
    char name[96];
    struct stat st;
    snprintf(name, sizeof name, "%ld.P%ldQ%ld.nullmda", (long)time(NULL), (long)getpid(), i);
    *what = "create tmp/";
    int fd = openat(tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    *what = "write";
    if (write_all(fd, m->data, m->len) < 0)
        goto fail;
    *what = "fsync file";
    if (fsync(fd) < 0)
        goto fail;
    *what = "fstat";
    if (fstat(fd, &st) < 0)
        goto fail;
    if (close(fd) < 0) {
        *what = "close";
        return -1;
    }
    *what = "link into new/";
    if (linkat(tmp_fd, name, new_fd, name, 0) < 0)
        return -1;
    *what = "unlink tmp/";
    if (unlinkat(tmp_fd, name, 0) < 0)
        return -1;
    *what = "fsync new/";
    return fsync(new_fd);
fail:;
    int e = errno;
    (void)close(fd);
    errno = e;
    return -1;
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        long i = atomic_fetch_add(&next_index, 1);
        if (i >= count)
            break;
        const struct msg *m = &msgs[(size_t)(offset + i) % nmsgs];
        const char *what = "";
        double t0 = now();
        if (deliver(i, m, &what) < 0) {
            note_error(what, errno);
            continue;
        }
        lat_us[i] = (long)((now() - t0) * 1e6);
        atomic_fetch_add(&n_sent, 1);
    }
    return NULL;
}

static int open_subdir(int dir_fd, const char *name)
{
    if (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
        return -1;
    return openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *list = NULL;
    int conc = 1, opt;
    while ((opt = getopt(argc, argv, "d:c:n:o:F:")) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'c':
            conc = atoi(optarg);
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 'o':
            offset = atol(optarg);
            break;
        case 'F':
            list = optarg;
            break;
        default:
            return 2;
        }
    }
    if (!dir || conc <= 0 || conc > 1024 || count <= 0 || count > 100000000L || offset < 0 ||
        (optind >= argc && !list)) {
        fprintf(stderr, "usage: nullmda -d DIR -c CONC -n COUNT [-o OFFSET] [-F LIST] [FILE...]\n");
        return 2;
    }
    msgs = calloc(MAX_MSGS, sizeof *msgs);
    lat_us = malloc((size_t)count * sizeof *lat_us);
    pthread_t *th = calloc((size_t)conc, sizeof *th);
    if (!msgs || !lat_us || !th)
        return 2;
    if (list && add_list("nullmda", list) < 0)
        return 2;
    for (int k = optind; k < argc; k++)
        if (add_file("nullmda", argv[k]) < 0)
            return 2;
    if (nmsgs == 0)
        return 2;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "nullmda: mkdir %s: %s\n", dir, strerror(errno));
        return 2;
    }
    int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || (tmp_fd = open_subdir(root, "tmp")) < 0 ||
        (new_fd = open_subdir(root, "new")) < 0 ||
        (mkdirat(root, "cur", 0700) < 0 && errno != EEXIST)) {
        fprintf(stderr, "nullmda: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    if (fsync(root) < 0) {
        fprintf(stderr, "nullmda: fsync %s: %s\n", dir, strerror(errno));
        return 2;
    }
    for (long i = 0; i < count; i++)
        lat_us[i] = -1;
    double t0 = now();
    for (int k = 0; k < conc; k++)
        if (pthread_create(&th[k], NULL, worker, NULL) != 0) {
            fprintf(stderr, "nullmda: pthread_create failed\n");
            return 2;
        }
    for (int k = 0; k < conc; k++)
        if (pthread_join(th[k], NULL) != 0)
            return 2;
    double elapsed = now() - t0;
    printf("sent %ld\nfailed %ld\nelapsed %.6f\n", atomic_load(&n_sent), atomic_load(&n_failed),
           elapsed);
    if (first_error[0])
        printf("error %s\n", first_error);
    for (long i = 0; i < count; i++)
        if (lat_us[i] >= 0)
            printf("lat %ld\n", lat_us[i]);
    return 0;
}
