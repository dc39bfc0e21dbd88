/*
 * sasl_client: SMTP AUTH (RFC 4954) as a client, through libsasl2, for the
 * connection to the relay: libsasl2 picks the best mechanism both ends
 * share (SCRAM, DIGEST-MD5, CRAM-MD5, PLAIN, LOGIN... whatever plugins are
 * installed), the user name and password come from the configuration. No
 * security layer is negotiated (max SSF 0): the authentication only.
 *
 * Public: sasl_client_authenticate(). The set-up it shares with the AUTH
 * server (initialisation, threads, the security policy) is
 * common/sasl_setup.h.
 *
 * Failure modes: SASL_AUTH_REFUSED when the relay refuses (4xx/5xx reply
 * in *last) or no mechanism fits (err says so); SASL_AUTH_IO_ERROR when the
 * connection failed (then close it). Thread-safe: libsasl2 is initialised
 * once (common/sasl_setup.c), and each call has its own sasl_conn_t.
 */
#ifndef LMTPSCAN_SASL_CLIENT_H
#define LMTPSCAN_SASL_CLIENT_H

#include "deliver/smtp_client.h"

#include <stddef.h>

enum sasl_auth_result { SASL_AUTH_OK, SASL_AUTH_REFUSED, SASL_AUTH_IO_ERROR };

/* AUTH with the mechanisms of the last EHLO on c. server_name: the relay's
 * host name (for mechanisms that use it). *last gets the last reply seen
 * (code 0 when none); err a reason for the log. */
enum sasl_auth_result sasl_client_authenticate(struct smtp_conn *c, const char *server_name,
                                               const char *username, const char *password,
                                               struct smtp_reply *last, char *err, size_t errlen);

#endif
