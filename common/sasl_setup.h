/*
 * sasl_setup: the libsasl2 set-up shared by the AUTH server (lmtpd/) and
 * the relay's SMTP AUTH client (deliver/): thread support (pthread
 * mutexes installed into libsasl2), the one-time library initialisation
 * of either side, libsasl2's messages into the daemon log, and the one
 * security policy of lmtpscan.
 *
 * Public: sasl_setup_client(), sasl_setup_server(), sasl_security_policy().
 *
 * Thread-safe: the initialisations run once per process under one lock
 * (libsasl2's own initialisation is not thread-safe, and the client and
 * server sides share its global state). Failure: the libsasl2 result code
 * of the initialisation, returned again on every later call.
 */
#ifndef LMTPSCAN_SASL_SETUP_H
#define LMTPSCAN_SASL_SETUP_H

#include <sasl/sasl.h>

/* Initialises libsasl2's client side once; SASL_OK or its error code. */
int sasl_setup_client(void);

/* Initialises libsasl2's server side once with service as the application
 * name (SERVICE.conf is its configuration); the service of the first call
 * stays for the life of the process. SASL_OK or the error code. */
int sasl_setup_server(const char *service);

/* The one SASL policy of lmtpscan, for the relay client and the AUTH
 * server alike: no security layer (neither end has one to offer; TLS is
 * Postfix's), plaintext mechanisms allowed, anonymous not, as Postfix's
 * smtpd and smtp clients default. */
void sasl_security_policy(sasl_conn_t *conn);

#endif
