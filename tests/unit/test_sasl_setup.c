/*
 * test_sasl_setup: libsasl2's process-wide set-up. The client and server
 * sides initialise once even when started from several threads at the
 * same time, and the application name libsasl2 keeps (it holds our
 * pointer) is never rewritten by a later call with another service name,
 * as a session after a reload changing sasl_service would do.
 */
#include "common/sasl_setup.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define N_THREADS 8

static void *init_both(void *arg)
{
    int *rc = arg;
    rc[0] = sasl_setup_server("lmtpscan-test");
    rc[1] = sasl_setup_client();
    return NULL;
}

static void test_once_and_name_kept(void **state)
{
    (void)state;
    pthread_t t[N_THREADS];
    int rc[N_THREADS][2];
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, init_both, rc[i]), 0);
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(rc[i][0], SASL_OK);
        assert_int_equal(rc[i][1], SASL_OK);
    }
    /* a later caller with another name changes nothing */
    assert_int_equal(sasl_setup_server("renamed-after-reload"), SASL_OK);

    sasl_conn_t *conn = NULL;
    assert_int_equal(
        sasl_server_new("lmtpscan-test", "host.test", NULL, NULL, NULL, NULL, 0, &conn), SASL_OK);
    sasl_security_policy(conn);
    const void *app = NULL;
    assert_int_equal(sasl_getprop(conn, SASL_APPNAME, &app), SASL_OK);
    assert_non_null(app);
    assert_string_equal((const char *)app, "lmtpscan-test");
    sasl_dispose(&conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once_and_name_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
