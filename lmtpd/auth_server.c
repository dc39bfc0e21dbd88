/*
 * auth_server: one session's libsasl2 server connection (see
 * auth_server.h). The local and remote "addr;port" are given to libsasl2
 * for mechanisms that bind to them; a unix socket has none.
 */
#include "lmtpd/auth_server.h"
#include "common/log.h"
#include "common/sasl_setup.h"

#include <netdb.h>
#include <sasl/sasl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

/* "addr;port" of one end of the socket; "" for unix. */
static void socket_end(int fd, bool local, char *out, size_t outlen)
{
    out[0] = '\0';
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int rc = local ? getsockname(fd, (struct sockaddr *)&ss, &len)
                   : getpeername(fd, (struct sockaddr *)&ss, &len);
    if (rc != 0 || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
        return;
    char host[64], port[8];
    if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(out, outlen, "%s;%s", host, port);
}

struct sasl_conn *auth_server_new(const struct config *cfg, int fd)
{
    if (sasl_setup_server(cfg->server.sasl_service) != SASL_OK)
        return NULL;
    char local[80], remote[80];
    socket_end(fd, true, local, sizeof(local));
    socket_end(fd, false, remote, sizeof(remote));
    sasl_conn_t *conn = NULL;
    int rc = sasl_server_new(cfg->server.sasl_service, cfg->server.hostname, NULL,
                             local[0] ? local : NULL, remote[0] ? remote : NULL, NULL, 0, &conn);
    if (rc != SASL_OK) {
        log_error("sasl_server_new: %s", sasl_errstring(rc, NULL, NULL));
        return NULL;
    }
    sasl_security_policy(conn);
    return conn;
}

const char *auth_server_mechs(struct sasl_conn *conn)
{
    const char *list = NULL;
    unsigned len = 0;
    int count = 0;
    if (sasl_listmech(conn, NULL, "", " ", "", &list, &len, &count) != SASL_OK || count == 0)
        return NULL;
    return list;
}

void auth_server_free(struct sasl_conn **conn)
{
    if (*conn != NULL) {
        sasl_conn_t *c = *conn;
        sasl_dispose(&c);
        *conn = NULL;
    }
}
