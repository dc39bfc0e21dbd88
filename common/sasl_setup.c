/*
 * sasl_setup: libsasl2's process-wide set-up (see sasl_setup.h). Every
 * global of this file is written under setup_lock only.
 */
#include "common/sasl_setup.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;
static bool mutexes_set;
static bool client_done, server_done;
static int client_rc = SASL_FAIL, server_rc = SASL_FAIL;
/* libsasl2 keeps the pointer given to sasl_server_init: written once. */
static char server_app[64];

static void *mutex_alloc(void)
{
    pthread_mutex_t *m = xmalloc(sizeof(*m));
    pthread_mutex_init(m, NULL);
    return m;
}

static int mutex_lock(void *m)
{
    return pthread_mutex_lock(m) == 0 ? 0 : -1;
}

static int mutex_unlock(void *m)
{
    return pthread_mutex_unlock(m) == 0 ? 0 : -1;
}

static void mutex_free(void *m)
{
    pthread_mutex_destroy(m);
    free(m);
}

static int sasl_log(void *context, int level, const char *message)
{
    (void)context;
    if (message == NULL)
        return SASL_OK;
    /* libsasl2's messages may quote what the client sent (user names). */
    char buf[LOG_VALUE_SIZE(256)];
    log_value(message, buf, sizeof(buf));
    if (level <= SASL_LOG_ERR)
        log_error("sasl: %s", buf);
    else if (level <= SASL_LOG_WARN)
        log_warn("sasl: %s", buf);
    else
        log_debug("sasl: %s", buf);
    return SASL_OK;
}

static const sasl_callback_t global_callbacks[] = {
    {SASL_CB_LOG, (int (*)(void))(void (*)(void))sasl_log, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* Caller holds setup_lock. */
static void set_mutexes_locked(void)
{
    if (!mutexes_set) {
        sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
        mutexes_set = true;
    }
}

int sasl_setup_client(void)
{
    pthread_mutex_lock(&setup_lock);
    if (!client_done) {
        set_mutexes_locked();
        client_rc = sasl_client_init(global_callbacks);
        client_done = true;
        if (client_rc != SASL_OK)
            log_error("sasl_client_init: %s", sasl_errstring(client_rc, NULL, NULL));
    }
    int rc = client_rc;
    pthread_mutex_unlock(&setup_lock);
    return rc;
}

int sasl_setup_server(const char *service)
{
    pthread_mutex_lock(&setup_lock);
    if (!server_done) {
        set_mutexes_locked();
        snprintf(server_app, sizeof(server_app), "%s", service);
        server_rc = sasl_server_init(global_callbacks, server_app);
        server_done = true;
        if (server_rc != SASL_OK)
            log_error("sasl_server_init(%s): %s", server_app,
                      sasl_errstring(server_rc, NULL, NULL));
    }
    int rc = server_rc;
    pthread_mutex_unlock(&setup_lock);
    return rc;
}

void sasl_security_policy(sasl_conn_t *conn)
{
    sasl_security_properties_t props;
    memset(&props, 0, sizeof(props));
    props.max_ssf = 0;
    props.maxbufsize = 0;
    props.security_flags = SASL_SEC_NOANONYMOUS;
    (void)sasl_setprop(conn, SASL_SEC_PROPS, &props);
}
