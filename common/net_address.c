/*
 * net_address: configuration addresses, CIDR ranges, connect and listen
 * (see net_address.h for the syntax).
 *
 * Public: net_address_parse(), net_address_format(), net_address_is_set(),
 * cidr_parse(), cidr_list_match(), net_connect(), net_listen().
 *
 * Failure modes: parse errors name the offending part; net_connect()
 * reports resolution failures, refusals and "timed out" after timeout_ms;
 * net_listen() reports a live or non-socket file at a unix path, a missing
 * parent directory, and bind/listen errors. No function leaks an fd on
 * failure. Thread-safe (no shared state).
 */
#include "common/net_address.h"
#include "common/clock.h"
#include "common/text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define UNIX_PATH_LIMIT (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* Decimal 0-65535, no sign, no blanks, at most 5 digits. */
static int parse_port(const char *s, char *out, size_t outlen)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || n >= outlen)
        return -1;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    /* Canonical form: no leading zeros. */
    snprintf(out, outlen, "%lu", v);
    return 0;
}

static int parse_inet(const char *rest, struct net_address *out, char *err, size_t errlen)
{
    const char *port;
    size_t hostlen;
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        if (close == NULL) {
            set_err(err, errlen, "inet:%s: missing ']' after IPv6 address", rest);
            return -1;
        }
        if (close[1] != ':') {
            set_err(err, errlen, "inet:%s: expected ':PORT' after ']'", rest);
            return -1;
        }
        hostlen = (size_t)(close - rest - 1);
        if (hostlen == 0 || hostlen >= INET6_ADDRSTRLEN) {
            set_err(err, errlen, "inet:%s: bad IPv6 address", rest);
            return -1;
        }
        memcpy(out->host, rest + 1, hostlen);
        out->host[hostlen] = '\0';
        unsigned char buf[16];
        if (inet_pton(AF_INET6, out->host, buf) != 1) {
            set_err(err, errlen, "inet:%s: bad IPv6 address", rest);
            return -1;
        }
        port = close + 2;
    } else {
        const char *colon = strrchr(rest, ':');
        if (colon == NULL) {
            set_err(err, errlen, "inet:%s: expected inet:HOST:PORT", rest);
            return -1;
        }
        hostlen = (size_t)(colon - rest);
        if (memchr(rest, ':', hostlen) != NULL) {
            set_err(err, errlen,
                    "inet:%s: an IPv6 address must be in brackets "
                    "(inet:[::1]:PORT)",
                    rest);
            return -1;
        }
        if (hostlen == 0) {
            set_err(err, errlen, "inet:%s: empty host", rest);
            return -1;
        }
        if (hostlen >= sizeof(out->host)) {
            set_err(err, errlen, "inet:%s: host name too long", rest);
            return -1;
        }
        for (size_t i = 0; i < hostlen; i++) {
            if (!is_host_char(rest[i])) {
                set_err(err, errlen, "inet:%s: bad character in host", rest);
                return -1;
            }
        }
        memcpy(out->host, rest, hostlen);
        out->host[hostlen] = '\0';
        port = colon + 1;
    }
    if (parse_port(port, out->port, sizeof(out->port)) != 0) {
        set_err(err, errlen, "inet:%s: bad port (expected 0-65535)", rest);
        return -1;
    }
    out->kind = NET_INET;
    return 0;
}

int net_address_parse(const char *text, struct net_address *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (text == NULL || text[0] == '\0') {
        set_err(err, errlen, "empty address");
        return -1;
    }
    if (text_has_control(text) || strpbrk(text, " \t") != NULL) {
        set_err(err, errlen, "address contains blanks or control bytes");
        return -1;
    }
    int rc;
    if (strncmp(text, "unix:", 5) == 0) {
        const char *path = text + 5;
        if (path[0] != '/') {
            set_err(err, errlen, "%s: the socket path must be absolute", text);
            rc = -1;
        } else if (strlen(path) > UNIX_PATH_LIMIT || strlen(path) >= sizeof(out->path)) {
            set_err(err, errlen, "%s: socket path too long (at most 107 bytes)", text);
            rc = -1;
        } else {
            out->kind = NET_UNIX;
            snprintf(out->path, sizeof(out->path), "%s", path);
            rc = 0;
        }
    } else if (strncmp(text, "inet:", 5) == 0) {
        rc = parse_inet(text + 5, out, err, errlen);
    } else {
        set_err(err, errlen, "%s: expected unix:/PATH or inet:HOST:PORT", text);
        rc = -1;
    }
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

void net_address_format(const struct net_address *a, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    if (!net_address_is_set(a))
        out[0] = '\0';
    else if (a->kind == NET_UNIX)
        snprintf(out, outlen, "unix:%s", a->path);
    else if (strchr(a->host, ':') != NULL)
        snprintf(out, outlen, "inet:[%s]:%s", a->host, a->port);
    else
        snprintf(out, outlen, "inet:%s:%s", a->host, a->port);
}

bool net_address_is_set(const struct net_address *a)
{
    return a->kind == NET_UNIX ? a->path[0] != '\0' : a->host[0] != '\0';
}

/* ---- CIDR ---- */

static void clear_host_bits(unsigned char *addr, size_t len, unsigned prefix)
{
    for (size_t i = 0; i < len; i++) {
        unsigned bit = (unsigned)i * 8;
        if (bit >= prefix)
            addr[i] = 0;
        else if (prefix - bit < 8)
            addr[i] &= (unsigned char)(0xffu << (8 - (prefix - bit)));
    }
}

int cidr_parse(const char *text, struct cidr *out)
{
    char buf[INET6_ADDRSTRLEN];
    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return -1;
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof(buf))
        return -1;
    memcpy(buf, text, alen);
    buf[alen] = '\0';

    unsigned max;
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        memset(out, 0, sizeof(*out));
        return -1;
    }

    unsigned prefix = max;
    if (slash != NULL) {
        const char *p = slash + 1;
        size_t n = strlen(p);
        if (n == 0 || n > 3)
            goto bad;
        prefix = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] < '0' || p[i] > '9')
                goto bad;
            prefix = prefix * 10 + (unsigned)(p[i] - '0');
        }
        if (prefix > max)
            goto bad;
    }
    out->prefix = prefix;
    clear_host_bits(out->addr, max / 8, prefix);
    return 0;
bad:
    memset(out, 0, sizeof(*out));
    return -1;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *net, unsigned prefix)
{
    size_t whole = prefix / 8;
    if (memcmp(a, net, whole) != 0)
        return false;
    unsigned rest = prefix % 8;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool cidr_list_match(const struct cidr *list, size_t n, const struct sockaddr *sa)
{
    unsigned char v4[4], v6[16];
    bool have_v4 = false, have_v6 = false;

    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        memcpy(v4, &sin->sin_addr, 4);
        memcpy(v6, v4_mapped_prefix, 12);
        memcpy(v6 + 12, v4, 4);
        have_v4 = have_v6 = true;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        memcpy(v6, &sin6->sin6_addr, 16);
        have_v6 = true;
        if (memcmp(v6, v4_mapped_prefix, 12) == 0) {
            memcpy(v4, v6 + 12, 4);
            have_v4 = true;
        }
    } else {
        return false;
    }

    for (size_t i = 0; i < n; i++) {
        if (list[i].family == AF_INET && have_v4 && prefix_equal(v4, list[i].addr, list[i].prefix))
            return true;
        if (list[i].family == AF_INET6 && have_v6 && prefix_equal(v6, list[i].addr, list[i].prefix))
            return true;
    }
    return false;
}

/* ---- sockets ---- */

/* Milliseconds left until deadline (-1: none), 0 when passed. */
static int remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - mono_now_ms();
    if (left <= 0)
        return 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

static int set_blocking(int fd, bool blocking)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    fl = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl);
}

/* Connects a non-blocking fd before deadline; 0, or -1 with errno. */
static int connect_before(int fd, const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
    for (;;) {
        if (connect(fd, sa, len) == 0)
            return 0;
        if (errno == EAGAIN && sa->sa_family == AF_UNIX) {
            /* Local listener's backlog is full: retry until the deadline. */
            int left = remaining_ms(deadline);
            if (left == 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            struct timespec pause = {0, 10 * 1000000L};
            nanosleep(&pause, NULL);
            continue;
        }
        if (errno == EINPROGRESS || errno == EINTR)
            break;
        return -1;
    }
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int left = remaining_ms(deadline);
        if (left == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        int rc = poll(&pfd, 1, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        break;
    }
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return 0;
}

static int connect_sockaddr(int family, const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect_before(fd, sa, len, deadline) != 0 || set_blocking(fd, true) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int fill_sockaddr_un(const char *path, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) > UNIX_PATH_LIMIT) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sun->sun_path, path, strlen(path));
    return 0;
}

void net_set_nodelay(int fd)
{
    int one = 1;
    /* Best effort: a socket that refuses it only loses latency. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int net_connect(const struct net_address *a, int timeout_ms, char *err, size_t errlen)
{
    char name[400];
    net_address_format(a, name, sizeof(name));
    if (!net_address_is_set(a)) {
        set_err(err, errlen, "connect: no address configured");
        return -1;
    }
    int64_t deadline = timeout_ms > 0 ? mono_now_ms() + timeout_ms : -1;

    if (a->kind == NET_UNIX) {
        struct sockaddr_un sun;
        int fd = -1;
        if (fill_sockaddr_un(a->path, &sun) == 0)
            fd = connect_sockaddr(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), deadline);
        if (fd < 0)
            set_err(err, errlen, "connect to %s: %s", name,
                    errno == ETIMEDOUT ? "timed out" : strerror(errno));
        return fd;
    }

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int gai = getaddrinfo(a->host, a->port, &hints, &res);
    if (gai != 0) {
        set_err(err, errlen, "connect to %s: %s", name,
                gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return -1;
    }
    int fd = -1, last_errno = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        if (deadline >= 0 && remaining_ms(deadline) == 0) {
            last_errno = ETIMEDOUT;
            break;
        }
        fd = connect_sockaddr(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline);
        if (fd < 0)
            last_errno = errno;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        set_err(err, errlen, "connect to %s: %s", name,
                last_errno == ETIMEDOUT ? "timed out" : strerror(last_errno));
        return -1;
    }
    net_set_nodelay(fd);
    return fd;
}

/* A socket file at path: removes it when nobody listens on it. */
static int remove_stale_socket(const char *path, const char *name, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        set_err(err, errlen, "listen on %s: %s", name, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        set_err(err, errlen, "listen on %s: %s", name, "the path exists and is not a socket");
        return -1;
    }
    struct sockaddr_un sun;
    if (fill_sockaddr_un(path, &sun) != 0) {
        set_err(err, errlen, "listen on %s: %s", name, strerror(errno));
        return -1;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) {
        set_err(err, errlen, "listen on %s: %s", name, strerror(errno));
        return -1;
    }
    int rc = connect(probe, (struct sockaddr *)&sun, sizeof(sun));
    int saved = errno;
    close(probe);
    if (rc == 0 || saved == EAGAIN || saved == EINPROGRESS) {
        set_err(err, errlen, "listen on %s: %s", name,
                "another process is listening on this socket");
        return -1;
    }
    if (saved != ECONNREFUSED) {
        set_err(err, errlen, "listen on %s: %s", name, strerror(saved));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        set_err(err, errlen, "listen on %s: cannot remove the stale socket: %s", name,
                strerror(errno));
        return -1;
    }
    return 0;
}

static int listen_unix(const struct net_address *a, int backlog, const char *name, char *err,
                       size_t errlen)
{
    struct sockaddr_un sun;
    if (fill_sockaddr_un(a->path, &sun) != 0) {
        set_err(err, errlen, "listen on %s: %s", name, strerror(errno));
        return -1;
    }
    if (remove_stale_socket(a->path, name, err, errlen) != 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_err(err, errlen, "listen on %s: %s", name, strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        set_err(err, errlen, "listen on %s: %s", name,
                errno == ENOENT ? "the directory does not exist" : strerror(errno));
        goto close_fd;
    }
    if (chmod(a->path, 0666) != 0) {
        set_err(err, errlen, "listen on %s: chmod: %s", name, strerror(errno));
        goto unlink_path;
    }
    if (listen(fd, backlog) != 0) {
        set_err(err, errlen, "listen on %s: %s", name, strerror(errno));
        goto unlink_path;
    }
    return fd;

unlink_path:
    unlink(a->path);
close_fd:
    close(fd);
    return -1;
}

static int listen_inet(const struct net_address *a, int backlog, const char *name, char *err,
                       size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(a->host, a->port, &hints, &res);
    if (gai != 0) {
        set_err(err, errlen, "listen on %s: %s", name,
                gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return -1;
    }
    int fd = -1, last_errno = EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            (ai->ai_family == AF_INET6 &&
             setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
            last_errno = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        set_err(err, errlen, "listen on %s: %s", name, strerror(last_errno));
    return fd;
}

int net_listen(const struct net_address *a, int backlog, char *err, size_t errlen)
{
    char name[400];
    net_address_format(a, name, sizeof(name));
    if (!net_address_is_set(a)) {
        set_err(err, errlen, "listen: no address configured");
        return -1;
    }
    if (backlog <= 0)
        backlog = SOMAXCONN;
    if (a->kind == NET_UNIX)
        return listen_unix(a, backlog, name, err, errlen);
    return listen_inet(a, backlog, name, err, errlen);
}
