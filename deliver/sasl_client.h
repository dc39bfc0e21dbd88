/*
 * sasl_client: SMTP AUTH (RFC 4954) as a client, through libsasl2, for the
 * connection to the relay: libsasl2 picks the best mechanism both ends
 * share (SCRAM, DIGEST-MD5, CRAM-MD5, PLAIN, LOGIN... whatever plugins are
 * installed), the user name and password come from the configuration. No
 * security layer is negotiated (max SSF 0): the authentication only.
 *
 * Public: sasl_threads_init(), sasl_security_policy(),
 * sasl_client_authenticate().
 *
 * Failure modes: SASL_AUTH_REFUSED when the relay refuses (4xx/5xx reply
 * in *last) or no mechanism fits (err says so); SASL_AUTH_IO_ERROR when the
 * connection failed (then close it). Thread-safe: libsasl2 is initialised
 * once, with real mutexes, and each call has its own sasl_conn_t.
 */
#ifndef LMTPSCAN_SASL_CLIENT_H
#define LMTPSCAN_SASL_CLIENT_H

#include "deliver/smtp_client.h"

#include <sasl/sasl.h>
#include <stddef.h>

enum sasl_auth_result { SASL_AUTH_OK, SASL_AUTH_REFUSED, SASL_AUTH_IO_ERROR };

/* Installs pthread mutexes into libsasl2. Idempotent and thread-safe;
 * call it before sasl_client_init()/sasl_server_init() (this module and
 * the AUTH server both do). */
void sasl_threads_init(void);

/* The one SASL policy of lmtpscan, for the relay client and the AUTH
 * server alike: no security layer (neither end has one to offer; TLS is
 * Postfix's), plaintext mechanisms allowed, anonymous not, as Postfix's
 * smtpd and smtp clients default. */
void sasl_security_policy(sasl_conn_t *conn);

/* AUTH with the mechanisms of the last EHLO on c. server_name: the relay's
 * host name (for mechanisms that use it). *last gets the last reply seen
 * (code 0 when none); err a reason for the log. */
enum sasl_auth_result sasl_client_authenticate(struct smtp_conn *c, const char *server_name,
                                               const char *username, const char *password,
                                               struct smtp_reply *last, char *err, size_t errlen);

#endif
