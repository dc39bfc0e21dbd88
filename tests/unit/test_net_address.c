/*
 * test_net_address: address parsing and formatting, CIDR parsing and
 * matching (table-driven, including IPv4-mapped IPv6 clients), and real
 * sockets on loopback: net_listen + net_connect on 127.0.0.1 port 0 and
 * [::1] (when the host has IPv6), a unix socket in a private temporary
 * directory (mode 0666, stale socket replaced, live socket and other files
 * refused), refused connections and the connect timeout.
 */
#include "common/net_address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define ERR_MAX 512

/* ---- parse and format ---- */

struct parse_case {
    const char *text;
    int rc;
    enum net_kind kind;
    const char *host_or_path;
    const char *port;
    const char *formatted;
};

static const struct parse_case parse_cases[] = {
    {"unix:/run/lmtpscan/lmtp.sock", 0, NET_UNIX, "/run/lmtpscan/lmtp.sock", NULL,
     "unix:/run/lmtpscan/lmtp.sock"},
    {"unix:/x", 0, NET_UNIX, "/x", NULL, "unix:/x"},
    {"inet:127.0.0.1:10024", 0, NET_INET, "127.0.0.1", "10024", "inet:127.0.0.1:10024"},
    {"inet:[::1]:10024", 0, NET_INET, "::1", "10024", "inet:[::1]:10024"},
    {"inet:[2001:db8::25]:25", 0, NET_INET, "2001:db8::25", "25", "inet:[2001:db8::25]:25"},
    {"inet:[::ffff:127.0.0.1]:25", 0, NET_INET, "::ffff:127.0.0.1", "25",
     "inet:[::ffff:127.0.0.1]:25"},
    {"inet:mail.example.org:783", 0, NET_INET, "mail.example.org", "783",
     "inet:mail.example.org:783"},
    {"inet:localhost:0", 0, NET_INET, "localhost", "0", "inet:localhost:0"},
    {"inet:a_b-c:65535", 0, NET_INET, "a_b-c", "65535", "inet:a_b-c:65535"},
    {"inet:h:00025", 0, NET_INET, "h", "25", "inet:h:25"},
    /* refused */
    {"", -1, 0, NULL, NULL, NULL},
    {"unix:", -1, 0, NULL, NULL, NULL},
    {"unix:relative", -1, 0, NULL, NULL, NULL},
    {"unix:/a b", -1, 0, NULL, NULL, NULL},
    {"UNIX:/x", -1, 0, NULL, NULL, NULL},
    {"tcp:1.2.3.4:25", -1, 0, NULL, NULL, NULL},
    {"/run/x.sock", -1, 0, NULL, NULL, NULL},
    {"127.0.0.1:25", -1, 0, NULL, NULL, NULL},
    {"inet:", -1, 0, NULL, NULL, NULL},
    {"inet:127.0.0.1", -1, 0, NULL, NULL, NULL},
    {"inet:127.0.0.1:", -1, 0, NULL, NULL, NULL},
    {"inet::25", -1, 0, NULL, NULL, NULL},
    {"inet:127.0.0.1:65536", -1, 0, NULL, NULL, NULL},
    {"inet:127.0.0.1:123456", -1, 0, NULL, NULL, NULL},
    {"inet:127.0.0.1:-1", -1, 0, NULL, NULL, NULL},
    {"inet:127.0.0.1:smtp", -1, 0, NULL, NULL, NULL},
    {"inet:127.0.0.1:25 ", -1, 0, NULL, NULL, NULL},
    {"inet:::1:25", -1, 0, NULL, NULL, NULL},
    {"inet:[::1]", -1, 0, NULL, NULL, NULL},
    {"inet:[::1]25", -1, 0, NULL, NULL, NULL},
    {"inet:[::1:25", -1, 0, NULL, NULL, NULL},
    {"inet:[]:25", -1, 0, NULL, NULL, NULL},
    {"inet:[1.2.3.4]:25", -1, 0, NULL, NULL, NULL},
    {"inet:[not::an::ip]:25", -1, 0, NULL, NULL, NULL},
    {"inet:bad/host:25", -1, 0, NULL, NULL, NULL},
    {"inet:bad\thost:25", -1, 0, NULL, NULL, NULL},
};

static void test_parse_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct net_address a;
        char err[ERR_MAX] = "", out[512];
        int rc = net_address_parse(c->text, &a, err, sizeof(err));
        if (rc != c->rc)
            fail_msg("\"%s\": rc %d (%s), want %d", c->text, rc, err, c->rc);
        if (rc != 0) {
            assert_true(err[0] != '\0');
            assert_false(net_address_is_set(&a));
            continue;
        }
        assert_int_equal(a.kind, c->kind);
        assert_true(net_address_is_set(&a));
        if (c->kind == NET_UNIX) {
            assert_string_equal(a.path, c->host_or_path);
        } else {
            assert_string_equal(a.host, c->host_or_path);
            assert_string_equal(a.port, c->port);
        }
        net_address_format(&a, out, sizeof(out));
        assert_string_equal(out, c->formatted);
        /* Formatting is parseable back to the same address. */
        struct net_address b;
        assert_int_equal(net_address_parse(out, &b, err, sizeof(err)), 0);
        assert_memory_equal(&a, &b, sizeof(a));
    }

    /* Length limits: a unix path of 107 bytes fits, 108 does not. */
    char text[300], err[ERR_MAX];
    struct net_address a;
    memset(text, 'p', sizeof(text));
    memcpy(text, "unix:/", 6);
    text[5 + 107] = '\0';
    assert_int_equal(net_address_parse(text, &a, err, sizeof(err)), 0);
    assert_int_equal(strlen(a.path), 107);
    memset(text, 'p', sizeof(text));
    memcpy(text, "unix:/", 6);
    text[5 + 108] = '\0';
    assert_int_equal(net_address_parse(text, &a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too long"));
    /* A host name of 255 bytes fits, 256 does not. */
    memset(text, 'h', sizeof(text));
    memcpy(text, "inet:", 5);
    memcpy(text + 5 + 255, ":25", 4);
    assert_int_equal(net_address_parse(text, &a, err, sizeof(err)), 0);
    memset(text, 'h', sizeof(text));
    memcpy(text, "inet:", 5);
    memcpy(text + 5 + 256, ":25", 4);
    assert_int_equal(net_address_parse(text, &a, err, sizeof(err)), -1);

    /* Messages name the problem. */
    assert_int_equal(net_address_parse("inet:::1:25", &a, err, sizeof(err)), -1);
    assert_string_equal(err, "inet:::1:25: an IPv6 address must be in brackets "
                             "(inet:[::1]:PORT)");
    /* A short error buffer is respected. */
    char tiny[8];
    assert_int_equal(net_address_parse("nonsense", &a, tiny, sizeof(tiny)), -1);
    assert_string_equal(tiny, "nonsens");
    assert_int_equal(net_address_parse("nonsense", &a, NULL, 0), -1);

    /* Formatting: the unset address, and truncation. */
    char out[12];
    memset(&a, 0, sizeof(a));
    net_address_format(&a, out, sizeof(out));
    assert_string_equal(out, "");
    assert_int_equal(net_address_parse("inet:127.0.0.1:10024", &a, err, sizeof(err)), 0);
    net_address_format(&a, out, sizeof(out));
    assert_string_equal(out, "inet:127.0.");
}

/* ---- CIDR ---- */

struct cidr_case {
    const char *text;
    int rc;
    int family;
    const char *network; /* after clearing host bits */
    unsigned prefix;
};

static const struct cidr_case cidr_cases[] = {
    {"127.0.0.0/8", 0, AF_INET, "127.0.0.0", 8},
    {"10.1.2.3/8", 0, AF_INET, "10.0.0.0", 8},
    {"192.168.1.5", 0, AF_INET, "192.168.1.5", 32},
    {"192.168.1.255/25", 0, AF_INET, "192.168.1.128", 25},
    {"0.0.0.0/0", 0, AF_INET, "0.0.0.0", 0},
    {"1.2.3.4/32", 0, AF_INET, "1.2.3.4", 32},
    {"::1", 0, AF_INET6, "::1", 128},
    {"2001:db8::/32", 0, AF_INET6, "2001:db8::", 32},
    {"2001:db8:ffff::1/33", 0, AF_INET6, "2001:db8:8000::", 33},
    {"::/0", 0, AF_INET6, "::", 0},
    {"::ffff:10.0.0.0/104", 0, AF_INET6, "::ffff:10.0.0.0", 104},
    {"", -1, 0, NULL, 0},
    {"/8", -1, 0, NULL, 0},
    {"10.0.0.0/", -1, 0, NULL, 0},
    {"10.0.0.0/33", -1, 0, NULL, 0},
    {"10.0.0.0/-1", -1, 0, NULL, 0},
    {"10.0.0.0/+8", -1, 0, NULL, 0},
    {"10.0.0.0/8x", -1, 0, NULL, 0},
    {"10.0.0.0/0008", -1, 0, NULL, 0},
    {"10.0.0/8", -1, 0, NULL, 0},
    {"::1/129", -1, 0, NULL, 0},
    {"localhost", -1, 0, NULL, 0},
    {"10.0.0.0 /8", -1, 0, NULL, 0},
    {"1.2.3.4/8/8", -1, 0, NULL, 0},
};

static void test_cidr_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cidr_cases) / sizeof(cidr_cases[0]); i++) {
        const struct cidr_case *c = &cidr_cases[i];
        struct cidr r;
        int rc = cidr_parse(c->text, &r);
        if (rc != c->rc)
            fail_msg("\"%s\": rc %d, want %d", c->text, rc, c->rc);
        if (rc != 0)
            continue;
        assert_int_equal(r.family, c->family);
        assert_int_equal(r.prefix, c->prefix);
        unsigned char want[16] = {0};
        assert_int_equal(inet_pton(c->family, c->network, want), 1);
        assert_memory_equal(r.addr, want, c->family == AF_INET ? 4 : 16);
    }
    struct cidr r;
    assert_int_equal(cidr_parse(NULL, &r), -1);
}

static struct sockaddr_storage make_sa(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
        sin->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1)
        sin6->sin6_family = AF_INET6;
    else
        fail_msg("bad test address %s", ip);
    return ss;
}

struct match_case {
    const char *list; /* comma-separated */
    const char *client;
    bool match;
};

static const struct match_case match_cases[] = {
    {"127.0.0.0/8,::1", "127.0.0.1", true},
    {"127.0.0.0/8,::1", "127.255.255.254", true},
    {"127.0.0.0/8,::1", "128.0.0.1", false},
    {"127.0.0.0/8,::1", "::1", true},
    {"127.0.0.0/8,::1", "::2", false},
    {"127.0.0.0/8,::1", "::ffff:127.0.0.1", true}, /* IPv4-mapped */
    {"127.0.0.0/8,::1", "::ffff:10.0.0.1", false},
    {"127.0.0.0/8,::1", "::127.0.0.1", false}, /* IPv4-compatible is not mapped */
    {"192.168.1.128/25", "192.168.1.127", false},
    {"192.168.1.128/25", "192.168.1.128", true},
    {"192.168.1.128/25", "192.168.1.255", true},
    {"10.0.0.0/9", "10.127.255.255", true},
    {"10.0.0.0/9", "10.128.0.0", false},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"0.0.0.0/0", "::ffff:203.0.113.9", true},
    {"0.0.0.0/0", "2001:db8::1", false},
    {"::/0", "2001:db8::1", true},
    {"::/0", "10.0.0.1", true}, /* as ::ffff:10.0.0.1 */
    {"2001:db8::/32", "2001:db8:1234::1", true},
    {"2001:db8::/32", "2001:db9::1", false},
    {"2001:db8:8000::/33", "2001:db8:7fff::1", false},
    {"2001:db8:8000::/33", "2001:db8:8000::1", true},
    {"::ffff:10.0.0.0/104", "10.1.2.3", true},
    {"::ffff:10.0.0.0/104", "11.1.2.3", false},
    {"1.2.3.4", "1.2.3.4", true},
    {"1.2.3.4", "1.2.3.5", false},
    {"", "127.0.0.1", false},
};

static void test_cidr_match(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        const struct match_case *c = &match_cases[i];
        struct cidr list[8];
        size_t n = 0;
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", c->list);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save)) {
            assert_true(n < 8);
            assert_int_equal(cidr_parse(tok, &list[n]), 0);
            n++;
        }
        struct sockaddr_storage ss = make_sa(c->client);
        bool got = cidr_list_match(list, n, (struct sockaddr *)&ss);
        if (got != c->match)
            fail_msg("%s in [%s]: got %d, want %d", c->client, c->list, got, c->match);
    }

    /* unix clients and NULL are never in a range. */
    struct cidr all;
    assert_int_equal(cidr_parse("0.0.0.0/0", &all), 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    assert_false(cidr_list_match(&all, 1, (struct sockaddr *)&sun));
    assert_false(cidr_list_match(&all, 1, NULL));
}

/* ---- sockets ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One byte each way over a connected pair. */
static void exchange(int client, int server)
{
    char c = 'x';
    assert_int_equal(write(client, "a", 1), 1);
    assert_int_equal(read(server, &c, 1), 1);
    assert_int_equal(c, 'a');
    assert_int_equal(write(server, "b", 1), 1);
    assert_int_equal(read(client, &c, 1), 1);
    assert_int_equal(c, 'b');
}

/* Listens on host port 0, then connects to the port the kernel chose. */
static void listen_connect_inet(const char *text)
{
    struct net_address a;
    char err[ERR_MAX];
    assert_int_equal(net_address_parse(text, &a, err, sizeof(err)), 0);
    int lfd = net_listen(&a, 4, err, sizeof(err));
    if (lfd < 0)
        fail_msg("net_listen %s: %s", text, err);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &sl), 0);
    unsigned port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                            : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    assert_true(port > 0);
    if (ss.ss_family == AF_INET6) {
        int v6only = 0;
        socklen_t ol = sizeof(v6only);
        assert_int_equal(getsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol), 0);
        assert_int_equal(v6only, 1);
    }
    int reuse = 0;
    socklen_t ol = sizeof(reuse);
    assert_int_equal(getsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &reuse, &ol), 0);
    assert_int_not_equal(reuse, 0);

    struct net_address to = a;
    snprintf(to.port, sizeof(to.port), "%u", port);
    int cfd = net_connect(&to, 2000, err, sizeof(err));
    if (cfd < 0)
        fail_msg("net_connect: %s", err);
    int sfd = accept(lfd, NULL, NULL);
    assert_true(sfd >= 0);
    exchange(cfd, sfd);
    /* The fd is blocking and close-on-exec. */
    assert_int_equal(fcntl(cfd, F_GETFL) & O_NONBLOCK, 0);
    assert_int_not_equal(fcntl(cfd, F_GETFD) & FD_CLOEXEC, 0);
    assert_int_not_equal(fcntl(lfd, F_GETFD) & FD_CLOEXEC, 0);
    close(sfd);
    close(cfd);
    close(lfd);

    /* Nobody listens any more: refused, quickly and with a message. */
    int64_t t0 = now_ms();
    assert_int_equal(net_connect(&to, 2000, err, sizeof(err)), -1);
    assert_true(now_ms() - t0 < 1500);
    char want[128];
    snprintf(want, sizeof(want), "connect to %s", strchr(to.host, ':') ? "inet:[" : "inet:");
    assert_memory_equal(err, want, strlen(want));
    assert_non_null(strstr(err, "refused"));
}

static void test_inet_v4(void **state)
{
    (void)state;
    listen_connect_inet("inet:127.0.0.1:0");
}

static void test_inet_v6(void **state)
{
    (void)state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (probe < 0 || bind(probe, (struct sockaddr *)&sin6, sizeof(sin6)) != 0) {
        if (probe >= 0)
            close(probe);
        skip(); /* no IPv6 loopback on this host */
    }
    close(probe);
    listen_connect_inet("inet:[::1]:0");
}

static void test_inet_errors(void **state)
{
    (void)state;
    char err[ERR_MAX];
    struct net_address a;

    /* An address that is not local cannot be bound. */
    assert_int_equal(net_address_parse("inet:192.0.2.1:0", &a, err, sizeof(err)), 0);
    assert_int_equal(net_listen(&a, 1, err, sizeof(err)), -1);
    assert_string_equal(err, "listen on inet:192.0.2.1:0: Cannot assign requested address");

    /* An unset address. */
    memset(&a, 0, sizeof(a));
    assert_int_equal(net_listen(&a, 1, err, sizeof(err)), -1);
    assert_int_equal(net_connect(&a, 100, err, sizeof(err)), -1);
    assert_string_equal(err, "connect: no address configured");

    /* A name that does not resolve (.invalid is reserved, RFC 6761). */
    assert_int_equal(net_address_parse("inet:no-such-host.invalid:25", &a, err, sizeof(err)), 0);
    assert_int_equal(net_connect(&a, 2000, err, sizeof(err)), -1);
    assert_memory_equal(err, "connect to inet:no-such-host.invalid:25: ", 40);

    /* The timeout: a listener whose queue is full leaves the connect hanging.
     * Fill the queue without accepting until one attempt times out. */
    assert_int_equal(net_address_parse("inet:127.0.0.1:0", &a, err, sizeof(err)), 0);
    int lfd = net_listen(&a, 1, err, sizeof(err));
    assert_true(lfd >= 0);
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
    snprintf(a.port, sizeof(a.port), "%u", ntohs(sin.sin_port));
    int fds[16];
    size_t nfds = 0;
    bool timed_out = false;
    while (nfds < 16 && !timed_out) {
        int64_t t0 = now_ms();
        int fd = net_connect(&a, 200, err, sizeof(err));
        if (fd >= 0) {
            fds[nfds++] = fd;
            continue;
        }
        int64_t took = now_ms() - t0;
        assert_non_null(strstr(err, "timed out"));
        assert_true(took >= 150 && took < 2000);
        timed_out = true;
    }
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    close(lfd);
    if (!timed_out)
        skip(); /* this kernel accepted everything (syncookies or a large queue) */
}

static char tmpdir[64];

static void test_unix(void **state)
{
    (void)state;
    char err[ERR_MAX], text[200];
    struct net_address a;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_net.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(text, sizeof(text), "unix:%s/lmtp.sock", tmpdir);
    assert_int_equal(net_address_parse(text, &a, err, sizeof(err)), 0);

    mode_t old = umask(077);
    int lfd = net_listen(&a, 4, err, sizeof(err));
    umask(old);
    if (lfd < 0)
        fail_msg("net_listen: %s", err);
    struct stat st;
    assert_int_equal(lstat(a.path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0666);

    int cfd = net_connect(&a, 1000, err, sizeof(err));
    if (cfd < 0)
        fail_msg("net_connect: %s", err);
    int sfd = accept(lfd, NULL, NULL);
    assert_true(sfd >= 0);
    exchange(cfd, sfd);
    assert_int_equal(fcntl(cfd, F_GETFL) & O_NONBLOCK, 0);
    close(sfd);
    close(cfd);

    /* A live socket is not taken over. */
    assert_int_equal(net_listen(&a, 4, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "another process is listening"));

    /* Timeout on a full queue: connects pile up until one has to wait. */
    int fds[64];
    size_t nfds = 0;
    bool timed_out = false;
    while (nfds < 64 && !timed_out) {
        int64_t t0 = now_ms();
        int fd = net_connect(&a, 150, err, sizeof(err));
        if (fd >= 0) {
            fds[nfds++] = fd;
            continue;
        }
        assert_non_null(strstr(err, "timed out"));
        assert_true(now_ms() - t0 >= 100);
        timed_out = true;
    }
    assert_true(timed_out);
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);

    /* Closed: the socket file stays and is stale; connecting is refused... */
    close(lfd);
    assert_int_equal(lstat(a.path, &st), 0);
    assert_int_equal(net_connect(&a, 1000, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "refused"));
    /* ...and listening again replaces it. */
    lfd = net_listen(&a, 4, err, sizeof(err));
    if (lfd < 0)
        fail_msg("net_listen over a stale socket: %s", err);
    close(lfd);
    assert_int_equal(unlink(a.path), 0);

    /* A regular file in the way is an error and is left alone. */
    FILE *f = fopen(a.path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(net_listen(&a, 4, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is not a socket"));
    assert_int_equal(lstat(a.path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(unlink(a.path), 0);

    /* No parent directories are created. */
    snprintf(text, sizeof(text), "unix:%s/missing/lmtp.sock", tmpdir);
    assert_int_equal(net_address_parse(text, &a, err, sizeof(err)), 0);
    assert_int_equal(net_listen(&a, 4, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "the directory does not exist"));
    snprintf(text, sizeof(text), "%s/missing", tmpdir);
    assert_int_equal(stat(text, &st), -1);
    assert_int_equal(errno, ENOENT);

    /* Connecting to a missing socket. */
    assert_int_equal(net_connect(&a, 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file or directory"));

    assert_int_equal(rmdir(tmpdir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format), cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_match),   cmocka_unit_test(test_inet_v4),
        cmocka_unit_test(test_inet_v6),      cmocka_unit_test(test_inet_errors),
        cmocka_unit_test(test_unix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
