/*
 * net_address: the "unix:/path" and "inet:host:port" address syntax of the
 * configuration (inet hosts may be IPv6 in brackets: inet:[::1]:10024),
 * and CIDR lists for allow_from. Parsing and formatting are pure; the
 * connect/listen helpers do the socket calls. Thread-safe.
 *
 * Syntax accepted by net_address_parse():
 *   unix:/absolute/path       at most 107 bytes, no control bytes
 *   inet:HOST:PORT            HOST a name or IPv4 address ([A-Za-z0-9.-_]),
 *   inet:[IPV6]:PORT          IPv6 only in brackets; PORT 0-65535 (decimal)
 * No blanks anywhere; the caller trims list items.
 *
 * CIDR: "ADDR/PREFIX" or a bare ADDR (= /32 or /128). Host bits beyond the
 * prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8). An IPv4 client also
 * matches an IPv4-mapped IPv6 range and an IPv4-mapped IPv6 client
 * (::ffff:a.b.c.d, as a dual-stack listener reports it) matches IPv4
 * ranges.
 */
#ifndef LMTPSCAN_NET_ADDRESS_H
#define LMTPSCAN_NET_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum net_kind { NET_UNIX, NET_INET };

/* An all-zero struct (kind NET_UNIX, empty path) is "no address"; see
 * net_address_is_set(). */
struct net_address {
    enum net_kind kind;
    char path[108]; /* NET_UNIX: socket path */
    char host[256]; /* NET_INET: numeric address or name */
    char port[8];   /* NET_INET */
};

struct cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix;
};

/* 0 on success, -1 with a message in err (out is then zeroed). */
int net_address_parse(const char *text, struct net_address *out, char *err, size_t errlen);
/* Writes "unix:/p" or "inet:h:p" (IPv6 hosts in brackets); "" when unset.
 * Truncated (always NUL-terminated) when outlen is too small. */
void net_address_format(const struct net_address *a, char *out, size_t outlen);
/* False for the zeroed "no address" value (an empty configuration value). */
bool net_address_is_set(const struct net_address *a);
/* 0 on success, -1 on a malformed range. */
int cidr_parse(const char *text, struct cidr *out);
/* True when the socket address falls in one of the n ranges. AF_UNIX is
 * never inside a range (local clients are always allowed). */
bool cidr_list_match(const struct cidr *list, size_t n, const struct sockaddr *sa);

/* Every protocol here writes whole buffers and then waits for an answer,
 * so Nagle's algorithm only adds delayed-ACK stalls: TCP sockets get
 * TCP_NODELAY (net_connect does it; the accept loop calls this). */
void net_set_nodelay(int fd);

/* Connects with a timeout in milliseconds (<= 0: no limit of our own; the
 * host name lookup itself is not bounded). Every address the name resolves
 * to is tried in turn within the one deadline. Returns a connected,
 * blocking, close-on-exec fd, or -1 with err ("connect to ADDR: reason"). */
int net_connect(const struct net_address *a, int timeout_ms, char *err, size_t errlen);
/* Creates a listening, blocking, close-on-exec socket (backlog <= 0:
 * SOMAXCONN). inet: SO_REUSEADDR, IPV6_V6ONLY on IPv6, bound to the first
 * address the host resolves to. unix: a stale socket file (nobody
 * listening) is removed first, a live one or a non-socket file is an
 * error; the parent directory must exist; the socket is made mode 0666.
 * Returns the fd or -1 with err. */
int net_listen(const struct net_address *a, int backlog, char *err, size_t errlen);

#endif
