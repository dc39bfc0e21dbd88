/*
 * net_address: the "unix:/path" and "inet:host:port" address syntax of the
 * configuration (inet hosts may be IPv6 in brackets: inet:[::1]:10024),
 * and CIDR lists for allow_from. Parsing is pure; connect/listen helpers
 * do the socket calls. Thread-safe.
 */
#ifndef LMTPSCAN_NET_ADDRESS_H
#define LMTPSCAN_NET_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum net_kind { NET_UNIX, NET_INET };

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

/* 0 on success, -1 with a message in err. */
int net_address_parse(const char *text, struct net_address *out, char *err, size_t errlen);
/* Writes "unix:/p" or "inet:h:p" (IPv6 hosts in brackets). */
void net_address_format(const struct net_address *a, char *out, size_t outlen);
int cidr_parse(const char *text, struct cidr *out);
/* True when the socket address falls in one of the n ranges. AF_UNIX is
 * never inside a range (local clients are always allowed). */
bool cidr_list_match(const struct cidr *list, size_t n, const struct sockaddr *sa);

/* Connects with a timeout in milliseconds; returns the fd or -1 with err. */
int net_connect(const struct net_address *a, int timeout_ms, char *err, size_t errlen);
/* Creates a listening socket (unix sockets: stale file removed, mode 0666);
 * returns the fd or -1 with err. */
int net_listen(const struct net_address *a, int backlog, char *err, size_t errlen);

#endif
