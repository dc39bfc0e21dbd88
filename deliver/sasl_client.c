/*
 * sasl_client: SMTP AUTH client exchange over libsasl2 (see
 * sasl_client.h): AUTH MECH [initial-response], then 334 challenges
 * answered until 235 or a refusal. Base64 both ways with libsasl2's
 * sasl_encode64/sasl_decode64; "*" cancels when libsasl2 gives up.
 */
#include "deliver/sasl_client.h"
#include "common/sasl_setup.h"
#include "common/xalloc.h"

#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B64_MAX 4096 /* encoded SASL messages, either way */

/* ---- callbacks: the configured credentials ---- */

struct credentials {
    const char *username;
    const char *password;
    sasl_secret_t *secret;
};

static int get_simple(void *context, int id, const char **result, unsigned *len)
{
    struct credentials *cr = context;
    if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME)
        return SASL_BADPARAM;
    /* authorization id = authentication id */
    *result = cr->username;
    if (len != NULL)
        *len = (unsigned)strlen(cr->username);
    return SASL_OK;
}

static int get_secret(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
    (void)conn;
    struct credentials *cr = context;
    if (id != SASL_CB_PASS)
        return SASL_BADPARAM;
    size_t n = strlen(cr->password);
    if (cr->secret == NULL) {
        cr->secret = xmalloc(sizeof(sasl_secret_t) + n + 1);
        cr->secret->len = (unsigned long)n;
        memcpy(cr->secret->data, cr->password, n + 1);
    }
    *psecret = cr->secret;
    return SASL_OK;
}

static int get_realm(void *context, int id, const char **availrealms, const char **result)
{
    (void)context;
    if (id != SASL_CB_GETREALM)
        return SASL_BADPARAM;
    *result = availrealms != NULL && availrealms[0] != NULL ? availrealms[0] : "";
    return SASL_OK;
}

typedef int (*sasl_cb_fn)(void);
/* libsasl2 takes every callback as int (*)(void); the detour through
 * void (*)(void) is the cast C allows without a warning. */
#define SASL_CB(f) ((sasl_cb_fn)(void (*)(void))(f))

/* ---- the exchange ---- */

/* Sends "AUTH MECH [resp]" or a continuation line with out base64-encoded. */
static int send_encoded(struct smtp_conn *c, const char *mech, const char *out, unsigned outlen,
                        bool has_out)
{
    char b64[B64_MAX];
    unsigned b64len = 0;
    if (has_out && outlen > 0 && sasl_encode64(out, outlen, b64, sizeof(b64), &b64len) != SASL_OK)
        return -2;
    b64[b64len] = '\0';
    if (mech != NULL) {
        if (!has_out)
            return smtp_cmd(c, "AUTH %s", mech);
        return smtp_cmd(c, "AUTH %s %s", mech, outlen > 0 ? b64 : "=");
    }
    return smtp_cmd(c, "%s", b64);
}

enum sasl_auth_result sasl_client_authenticate(struct smtp_conn *c, const char *server_name,
                                               const char *username, const char *password,
                                               struct smtp_reply *last, char *err, size_t errlen)
{
    memset(last, 0, sizeof(*last));
    int init_rc = sasl_setup_client();
    if (init_rc != SASL_OK) {
        snprintf(err, errlen, "sasl_client_init: %s", sasl_errstring(init_rc, NULL, NULL));
        return SASL_AUTH_REFUSED;
    }
    const char *mechs = smtp_conn_caps(c)->auth;
    if (mechs[0] == '\0') {
        snprintf(err, errlen, "the relay offers no AUTH");
        return SASL_AUTH_REFUSED;
    }

    struct credentials cr = {.username = username, .password = password};
    sasl_callback_t callbacks[] = {
        {SASL_CB_USER, SASL_CB(get_simple), &cr}, {SASL_CB_AUTHNAME, SASL_CB(get_simple), &cr},
        {SASL_CB_PASS, SASL_CB(get_secret), &cr}, {SASL_CB_GETREALM, SASL_CB(get_realm), &cr},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    enum sasl_auth_result result = SASL_AUTH_REFUSED;
    sasl_conn_t *conn = NULL;
    const char *local = smtp_conn_local(c), *remote = smtp_conn_remote(c);
    int rc = sasl_client_new("smtp", server_name, local[0] ? local : NULL,
                             remote[0] ? remote : NULL, callbacks, 0, &conn);
    if (rc != SASL_OK) {
        snprintf(err, errlen, "sasl_client_new: %s", sasl_errstring(rc, NULL, NULL));
        goto out;
    }
    sasl_security_policy(conn);

    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    sasl_interact_t *interact = NULL;
    rc = sasl_client_start(conn, mechs, &interact, &out, &outlen, &mech);
    if (rc != SASL_OK && rc != SASL_CONTINUE) {
        snprintf(err, errlen, "no usable mechanism in \"%s\": %s", mechs, sasl_errdetail(conn));
        goto out;
    }
    int w = send_encoded(c, mech, out, outlen, out != NULL);
    if (w == -2) {
        snprintf(err, errlen, "initial response too long");
        goto out;
    }
    if (w < 0) {
        result = SASL_AUTH_IO_ERROR;
        snprintf(err, errlen, "%s", smtp_conn_error(c));
        goto out;
    }
    for (int round = 0;; round++) {
        if (smtp_read_reply(c, last, NULL, NULL) < 0) {
            result = SASL_AUTH_IO_ERROR;
            snprintf(err, errlen, "%s", smtp_conn_error(c));
            goto out;
        }
        if (last->code == 235) {
            result = SASL_AUTH_OK;
            goto out;
        }
        if (last->code != 334 || round > 20) {
            snprintf(err, errlen, "AUTH %s refused: %s", mech, last->line);
            goto out;
        }
        /* The challenge is the whole text after "334 ". */
        const char *challenge = last->line[3] ? last->line + 4 : "";
        char in[B64_MAX];
        unsigned inlen = 0;
        rc = sasl_decode64(challenge, (unsigned)strlen(challenge), in, sizeof(in), &inlen);
        if (rc == SASL_OK)
            rc = sasl_client_step(conn, in, inlen, &interact, &out, &outlen);
        if (rc != SASL_OK && rc != SASL_CONTINUE) {
            snprintf(err, errlen, "AUTH %s: %s", mech, sasl_errdetail(conn));
            /* cancel the exchange; the server answers 501 */
            if (smtp_cmd(c, "*") < 0 || smtp_read_reply(c, last, NULL, NULL) < 0)
                result = SASL_AUTH_IO_ERROR;
            goto out;
        }
        w = send_encoded(c, NULL, out, outlen, true);
        if (w < 0) {
            result = w == -2 ? SASL_AUTH_REFUSED : SASL_AUTH_IO_ERROR;
            snprintf(err, errlen, "%s", w == -2 ? "response too long" : smtp_conn_error(c));
            goto out;
        }
    }
out:
    if (conn != NULL)
        sasl_dispose(&conn);
    if (cr.secret != NULL) {
        memset(cr.secret->data, 0, cr.secret->len);
        free(cr.secret);
    }
    return result;
}
