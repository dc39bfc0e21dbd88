/*
 * auth_server: libsasl2's server side for one session, without the
 * session: a connection made for the session's socket with lmtpscan's
 * policy, the mechanisms it offers, and its release. The AUTH exchange
 * itself is cmd_auth.c's. libsasl2 is initialised once per process
 * (common/sasl_setup.h) with the sasl_service of the first configuration
 * that needs it (a new name needs a restart).
 *
 * Public: auth_server_new(), auth_server_mechs(), auth_server_free().
 * Thread-safe: each session has its own connection.
 */
#ifndef LMTPSCAN_AUTH_SERVER_H
#define LMTPSCAN_AUTH_SERVER_H

#include "common/config.h"

struct sasl_conn; /* libsasl2's sasl_conn_t */

/* A server connection for the client on fd; NULL (logged) on failure. */
struct sasl_conn *auth_server_new(const struct config *cfg, int fd);
/* "PLAIN LOGIN", or NULL when libsasl2 offers none. The text belongs to
 * conn and is valid until its next libsasl2 call. */
const char *auth_server_mechs(struct sasl_conn *conn);
/* Releases *conn (NULL allowed) and sets it to NULL. */
void auth_server_free(struct sasl_conn **conn);

#endif
