/*
 * test_fd_stream: the shared deadline-aware socket stream over a real
 * socketpair: line bounds (exact fit, early "too long" without waiting,
 * skipping the rest), CR/NUL handling, exact reads, EOF, the deadline and
 * the idle limit (bounded in time), the stop descriptor only between
 * lines, queued output flushed at its threshold, a peer that never reads
 * (write times out) and a peer that is gone (EPIPE, no SIGPIPE).
 */
#include "common/clock.h"
#include "common/fd_stream.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

struct pair {
    struct fd_stream s;
    int peer;
};

static void pair_open(struct pair *p, size_t in_size, size_t out_max, size_t flush_at)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fd_stream_init(&p->s, sv[0], in_size, out_max, flush_at);
    p->peer = sv[1];
}

static void pair_close(struct pair *p)
{
    close(p->s.fd);
    fd_stream_free(&p->s);
    if (p->peer >= 0)
        close(p->peer);
}

static void peer_send(struct pair *p, const char *data, size_t len)
{
    assert_int_equal(write(p->peer, data, len), (ssize_t)len);
}

static struct timespec soon(void)
{
    return deadline_after_ms(5000);
}

static void test_lines(void **state)
{
    (void)state;
    struct pair p;
    char line[16];
    size_t len;

    pair_open(&p, 64, 0, 0);
    static const char in[] = "HELO x\r\nNOOP\na\r\r\nn\0l\n";
    peer_send(&p, in, sizeof(in) - 1);
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_OK);
    assert_int_equal(len, 6);
    assert_string_equal(line, "HELO x");
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_OK);
    assert_string_equal(line, "NOOP");
    /* one CR before the LF is the line end; another is data */
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(line, "a\r", 3);
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(line, "n\0l", 4);
    assert_false(fd_stream_has_input(&p.s));
    pair_close(&p);
}

static void test_line_bounds(void **state)
{
    (void)state;
    struct pair p;
    char line[8];
    size_t len;

    /* a small input buffer: lines span several reads */
    pair_open(&p, 3, 0, 0);
    peer_send(&p, "123456\r\n", 8); /* exactly 8 with its end */
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_OK);
    assert_string_equal(line, "123456");
    peer_send(&p, "1234567\r\nnext\n", 14);
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_TOO_LONG);
    assert_int_equal(fd_stream_skip_line(&p.s, soon()), FDS_OK);
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_OK);
    assert_string_equal(line, "next");

    /* 8 bytes without an LF cannot fit: said at once, not at the deadline */
    peer_send(&p, "12345678", 8);
    struct timespec start = mono_now();
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, deadline_never()),
                     FDS_TOO_LONG);
    assert_true(elapsed_ms(start) < 1000);
    peer_send(&p, "9\nok\n", 5);
    assert_int_equal(fd_stream_skip_line(&p.s, soon()), FDS_OK);
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_OK);
    assert_string_equal(line, "ok");
    pair_close(&p);
}

static void test_read_exact_and_eof(void **state)
{
    (void)state;
    struct pair p;
    char buf[16];
    size_t len;

    pair_open(&p, 4, 0, 0);
    peer_send(&p, "0123456789", 10);
    assert_int_equal(fd_stream_read(&p.s, buf, 3, soon()), FDS_OK);
    assert_memory_equal(buf, "012", 3);
    assert_int_equal(fd_stream_read(&p.s, buf, 7, soon()), FDS_OK);
    assert_memory_equal(buf, "3456789", 7);
    peer_send(&p, "ab", 2);
    close(p.peer);
    p.peer = -1;
    assert_int_equal(fd_stream_read(&p.s, buf, 5, soon()), FDS_EOF);
    assert_int_equal(fd_stream_read_line(&p.s, buf, sizeof(buf), &len, soon()), FDS_EOF);
    pair_close(&p);
}

static void test_deadline(void **state)
{
    (void)state;
    struct pair p;
    char line[16];
    size_t len;
    const char *data;

    pair_open(&p, 64, 0, 0);
    struct timespec start = mono_now();
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, deadline_after_ms(100)),
                     FDS_TIMEOUT);
    unsigned took = elapsed_ms(start);
    assert_true(took >= 90 && took < 3000);
    /* a passed deadline still takes what is buffered */
    peer_send(&p, "x\n", 2);
    assert_int_equal(fd_stream_peek(&p.s, &data, &len, deadline_after_ms(0)), FDS_OK);
    assert_int_equal(len, 2);
    pair_close(&p);
}

struct dribble {
    int fd;
    const char *text;
    unsigned gap_ms;
};

static void *dribble_thread(void *arg)
{
    struct dribble *d = arg;
    for (const char *c = d->text; *c != '\0'; c++) {
        usleep(d->gap_ms * 1000);
        if (write(d->fd, c, 1) != 1)
            break;
    }
    return NULL;
}

static void test_idle_limit(void **state)
{
    (void)state;
    struct pair p;
    char line[16];
    size_t len;
    pthread_t t;

    pair_open(&p, 64, 0, 0);
    p.s.idle_ms = 400;
    /* a byte every 50 ms: progress keeps every wait short of the limit */
    struct dribble d = {.fd = p.peer, .text = "abcdefgh\n", .gap_ms = 50};
    assert_int_equal(pthread_create(&t, NULL, dribble_thread, &d), 0);
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, deadline_never()), FDS_OK);
    pthread_join(t, NULL);
    assert_string_equal(line, "abcdefgh");
    struct timespec start = mono_now();
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, deadline_never()),
                     FDS_TIMEOUT);
    unsigned took = elapsed_ms(start);
    assert_true(took >= 350 && took < 4000);
    pair_close(&p);
}

static void test_stop_between_lines_only(void **state)
{
    (void)state;
    struct pair p;
    char line[16];
    size_t len;
    int stop[2];

    assert_int_equal(pipe(stop), 0);
    pair_open(&p, 64, 0, 0);
    p.s.stop_fd = stop[0];
    assert_int_equal(write(stop[1], "x", 1), 1);
    /* buffered input wins over the stop */
    peer_send(&p, "one\n", 4);
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_OK);
    /* waiting for a new line: stopped */
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, soon()), FDS_STOPPED);
    /* in the middle of a line: not stopped, the line is awaited */
    peer_send(&p, "tw", 2);
    assert_int_equal(fd_stream_read_line(&p.s, line, sizeof(line), &len, deadline_after_ms(100)),
                     FDS_TIMEOUT);
    /* reading exact bytes is never stopped */
    struct timespec start = mono_now();
    assert_int_equal(fd_stream_read(&p.s, line, 1, deadline_after_ms(100)), FDS_TIMEOUT);
    assert_true(elapsed_ms(start) >= 90);
    close(stop[0]);
    close(stop[1]);
    pair_close(&p);
}

static void test_queue_and_flush(void **state)
{
    (void)state;
    struct pair p;
    char buf[64];

    pair_open(&p, 64, 32, 16);
    assert_int_equal(fd_stream_queue(&p.s, "0123456789", 10, soon()), FDS_OK);
    assert_int_equal(recv(p.peer, buf, sizeof(buf), MSG_DONTWAIT), -1); /* still queued */
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(fd_stream_queue(&p.s, "abcdefghij", 10, soon()), FDS_OK);
    assert_int_equal(recv(p.peer, buf, sizeof(buf), MSG_DONTWAIT), 16); /* the threshold */
    assert_memory_equal(buf, "0123456789abcdef", 16);
    assert_int_equal(fd_stream_flush(&p.s, soon()), FDS_OK);
    assert_int_equal(recv(p.peer, buf, sizeof(buf), MSG_DONTWAIT), 4);
    assert_memory_equal(buf, "ghij", 4);
    /* write_all sends what is queued first */
    assert_int_equal(fd_stream_queue(&p.s, "q", 1, soon()), FDS_OK);
    assert_int_equal(fd_stream_write_all(&p.s, "rs", 2, soon()), FDS_OK);
    assert_int_equal(recv(p.peer, buf, sizeof(buf), MSG_DONTWAIT), 3);
    assert_memory_equal(buf, "qrs", 3);
    pair_close(&p);
}

static void test_write_to_a_peer_that_never_reads(void **state)
{
    (void)state;
    struct pair p;
    size_t big = 8 * 1024 * 1024;
    char *data = calloc(1, big);

    assert_non_null(data);
    pair_open(&p, 64, 0, 0);
    struct timespec start = mono_now();
    assert_int_equal(fd_stream_write_all(&p.s, data, big, deadline_after_ms(200)), FDS_TIMEOUT);
    unsigned took = elapsed_ms(start);
    assert_true(took >= 190 && took < 3000);

    /* the peer gone: EPIPE, and the process lives on (no SIGPIPE) */
    close(p.peer);
    p.peer = -1;
    assert_int_equal(fd_stream_write_all(&p.s, "x", 1, soon()), FDS_ERROR);
    assert_int_equal(p.s.err_no, EPIPE);
    assert_string_equal(p.s.err_op, "write");
    free(data);
    pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_line_bounds),
        cmocka_unit_test(test_read_exact_and_eof),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_idle_limit),
        cmocka_unit_test(test_stop_between_lines_only),
        cmocka_unit_test(test_queue_and_flush),
        cmocka_unit_test(test_write_to_a_peer_that_never_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
