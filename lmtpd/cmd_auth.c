/*
 * cmd_auth: AUTH (RFC 4954) on inet listeners when [server] auth = yes,
 * through libsasl2's server side: the mechanisms and the user database
 * are libsasl2's configuration, the file SASL_SERVICE.conf (e.g.
 * lmtpscan.conf: pwcheck_method, auxprop_plugin, sasldb_path, mech_list)
 * found in libsasl2's search path (/etc/sasl2 and the library's plugin
 * directory, or $SASL_CONF_PATH), as for Postfix's smtpd.
 *
 * Public: cmd_auth(). The session's libsasl2 connection comes from
 * session_sasl() (made by auth_server.c).
 *
 * Replies: 334 challenges (base64), 235 2.7.0 success, 535 5.7.8 bad
 * credentials, 501 5.7.0 cancelled ("*"), 501 5.5.2 bad base64, 504 5.5.4
 * unknown mechanism, 503 5.5.1 AUTH not enabled / before LHLO/EHLO /
 * twice / inside a transaction, 454 4.7.0 when libsasl2 itself fails
 * (e.g. unreadable sasldb). Each 535 (credentials refused) counts toward
 * max_auth_failures, and every error reply toward max_errors (session.c
 * ends the session at either). Mechanism and user names, and libsasl2's
 * details, are logged through log_value().
 */
#include "common/log.h"
#include "lmtpd/session.h"

#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <string.h>

#define AUTH_B64_MAX 8192

/* Ends an attempt that failed: a fresh sasl_conn_t for the next one. */
static void auth_failed(struct session *s, const char *reply, const char *mech, int rc)
{
    char m[LOG_VALUE_SIZE(64)], detail[LOG_VALUE_SIZE(128)];
    log_warn("client %s AUTH %s failed: %s", s->env.peer_addr, log_value(mech, m, sizeof(m)),
             log_value(s->sasl != NULL ? sasl_errdetail(s->sasl) : sasl_errstring(rc, NULL, NULL),
                       detail, sizeof(detail)));
    if (strncmp(reply, "535 ", 4) == 0)
        s->auth_failures++; /* credentials refused: toward max_auth_failures */
    auth_server_free(&s->sasl);
    session_reply(s, "%s", reply);
}

/* Sends "334 base64(out)" and reads the client's answer into buf
 * (decoded into dec). Returns 1 with *declen, 0 when cancelled or bad
 * (reply given), -1 when the session ended. */
static int exchange(struct session *s, const char *out, unsigned outlen, char *dec, size_t decmax,
                    unsigned *declen)
{
    char b64[AUTH_B64_MAX];
    unsigned b64len = 0;
    if (outlen > 0 && sasl_encode64(out, outlen, b64, sizeof(b64), &b64len) != SASL_OK) {
        session_reply(s, "454 4.7.0 Temporary authentication failure");
        return 0;
    }
    b64[b64len] = '\0';
    session_reply(s, "334 %s", b64);
    if (s->quit || stream_flush(&s->st) != STREAM_OK) {
        s->quit = true;
        return -1;
    }
    char line[COMMAND_LINE_MAX + 1];
    size_t len = 0;
    enum stream_status st = stream_read_line(&s->st, line, COMMAND_LINE_MAX, &len);
    if (st == STREAM_TOO_LONG) {
        session_reply(s, "500 5.5.2 Line too long");
        return 0;
    }
    if (st != STREAM_OK) {
        s->quit = true;
        return -1;
    }
    if (len == 1 && line[0] == '*') {
        session_reply(s, "501 5.7.0 Authentication aborted");
        return 0;
    }
    if (sasl_decode64(line, (unsigned)len, dec, (unsigned)decmax, declen) != SASL_OK) {
        session_reply(s, "501 5.5.2 Cannot decode response");
        return 0;
    }
    return 1;
}

void cmd_auth(struct session *s, const struct command *c)
{
    if (!s->cfg->server.auth || !s->is_inet) {
        session_reply(s, "503 5.5.1 Error: authentication not enabled");
        return;
    }
    if (!s->greeted) {
        session_reply(s, "503 5.5.1 Error: send %s first",
                      s->protocol == PROTO_LMTP ? "LHLO" : "EHLO");
        return;
    }
    if (s->authenticated) {
        session_reply(s, "503 5.5.1 Error: already authenticated");
        return;
    }
    if (s->env.has_mail) {
        session_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
        return;
    }
    /* AUTH mechanism [initial-response] */
    char mech[64], initial[COMMAND_LINE_MAX + 1];
    size_t i = 0;
    while (i < c->args_len && c->args[i] != ' ')
        i++;
    if (i == 0 || i >= sizeof(mech)) {
        session_reply(s, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
        return;
    }
    memcpy(mech, c->args, i);
    mech[i] = '\0';
    while (i < c->args_len && c->args[i] == ' ')
        i++;
    size_t ilen = c->args_len - i;
    bool has_initial = ilen > 0;
    memcpy(initial, c->args + i, ilen);
    initial[ilen] = '\0';
    if (memchr(c->args, '\0', c->args_len) != NULL ||
        (has_initial && memchr(initial, ' ', ilen) != NULL)) {
        session_reply(s, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
        return;
    }

    sasl_conn_t *conn = session_sasl(s);
    if (conn == NULL) {
        session_reply(s, "454 4.7.0 Temporary authentication failure");
        return;
    }
    char dec[AUTH_B64_MAX];
    unsigned declen = 0;
    if (has_initial && !(ilen == 1 && initial[0] == '=') &&
        sasl_decode64(initial, (unsigned)ilen, dec, sizeof(dec), &declen) != SASL_OK) {
        session_reply(s, "501 5.5.2 Cannot decode response");
        return;
    }
    const char *out = NULL;
    unsigned outlen = 0;
    int rc = sasl_server_start(conn, mech, has_initial ? dec : NULL, has_initial ? declen : 0, &out,
                               &outlen);
    while (rc == SASL_CONTINUE) {
        int x = exchange(s, out, outlen, dec, sizeof(dec), &declen);
        if (x <= 0) {
            auth_server_free(&s->sasl); /* cancelled or gone: next AUTH starts afresh */
            return;
        }
        rc = sasl_server_step(conn, dec, declen, &out, &outlen);
    }
    switch (rc) {
    case SASL_OK: {
        const void *user = NULL;
        if (sasl_getprop(conn, SASL_USERNAME, &user) != SASL_OK || user == NULL)
            user = "?";
        s->authenticated = true;
        char u[LOG_VALUE_SIZE(128)], m[LOG_VALUE_SIZE(64)];
        log_info("client %s authenticated as %s (%s)", s->env.peer_addr,
                 log_value(user, u, sizeof(u)), log_value(mech, m, sizeof(m)));
        session_reply(s, "235 2.7.0 Authentication successful");
        return;
    }
    case SASL_NOMECH:
    case SASL_TOOWEAK:
    case SASL_ENCRYPT:
        auth_failed(s, "504 5.5.4 Unrecognized authentication type", mech, rc);
        return;
    case SASL_BADPROT:
        auth_failed(s, "501 5.5.2 Bad authentication protocol exchange", mech, rc);
        return;
    case SASL_FAIL:
    case SASL_TRYAGAIN:
    case SASL_UNAVAIL:
    case SASL_NOMEM:
        auth_failed(s, "454 4.7.0 Temporary authentication failure", mech, rc);
        return;
    default: /* SASL_BADAUTH, SASL_NOUSER, SASL_NOAUTHZ, SASL_EXPIRED... */
        auth_failed(s, "535 5.7.8 Error: authentication failed", mech, rc);
        return;
    }
}
