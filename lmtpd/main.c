/*
 * lmtpscand: the daemon's entry point. Command line (SPEC section 2):
 *   lmtpscand [-c FILE] [-f] [-t] [-V]
 * Order of start-up: block signals (every thread inherits the mask; the
 * accept loop takes them from a signalfd), load and check the
 * configuration, open the listeners, drop root, check the directories,
 * load the signatures, serve.
 */
#include "common/config.h"
#include "common/log.h"
#include "common/sasl_setup.h"
#include "deliver/relay.h"
#include "lmtpd/metrics_http.h"
#include "lmtpd/notice_sender.h"
#include "lmtpd/privileges.h"
#include "lmtpd/runtime.h"
#include "lmtpd/server.h"
#include "lmtpd/startup_checks.h"
#include "scan/scan.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/lmtpscan/lmtpscan.conf"

static void usage(void)
{
    fprintf(stderr, "usage: lmtpscand [-c FILE] [-f] [-t] [-V]\n"
                    "  -c FILE  configuration (default " DEFAULT_CONFIG ")\n"
                    "  -f       stay in the foreground, log to stderr\n"
                    "  -t       check the configuration and the signatures, then exit\n"
                    "  -V       print the version\n");
}

int main(int argc, char **argv)
{
    const char *config_path = DEFAULT_CONFIG;
    bool foreground = false, test_only = false;
    int opt;
    while ((opt = getopt(argc, argv, "c:ftVh")) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'f':
            foreground = true;
            break;
        case 't':
            test_only = true;
            break;
        case 'V':
            printf("lmtpscand %s\n", LMTPSCAN_VERSION);
            return 0;
        default:
            usage();
            return opt == 'h' ? 0 : 1;
        }
    }
    if (optind != argc) {
        usage();
        return 1;
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);

    char err[1024];
    struct config *cfg;
    if (config_load(config_path, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "lmtpscand: %s\n", err);
        return 1;
    }
    config_default_tmp_dir(cfg); /* the runtime directory, when the unit gives one */
    log_open("lmtpscand", foreground || test_only ? LOG_TO_STDERR : cfg->server.log);

    /* Bind while still root (ports below 1024, sockets in /run), then drop
     * root for good before touching any mail. -t binds nothing. */
    if (!test_only && (server_listen(cfg, err, sizeof(err)) < 0 ||
                       metrics_http_bind(cfg, err, sizeof(err)) < 0)) {
        log_error("%s", err);
        config_free(cfg);
        return 1;
    }
    bool checked = test_only ? privileges_check(cfg, err, sizeof(err)) == 0 &&
                                   startup_checks(cfg, true, err, sizeof(err)) == 0
                             : startup_checks(cfg, false, err, sizeof(err)) == 0 &&
                                   privileges_prepare_dirs(cfg, err, sizeof(err)) == 0 &&
                                   privileges_drop(cfg, err, sizeof(err)) == 0 &&
                                   startup_checks(cfg, false, err, sizeof(err)) == 0;
    if (!checked) {
        log_error("%s: %s", config_path, err);
        config_free(cfg);
        return 1;
    }
    struct scan_engine *scan = scan_engine_new(cfg, err, sizeof(err));
    if (scan == NULL) {
        log_error("%s: %s", config_path, err);
        config_free(cfg);
        return 1;
    }
    if (test_only) {
        printf("lmtpscand: configuration %s OK\n", config_path);
        scan_engine_free(scan);
        config_free(cfg);
        return 0;
    }
    /* libsasl2 loads its plugins (dlopen) once, here in the main thread
     * rather than in the first session that needs them. A failure is
     * reported again by the session that uses SASL. */
    if (cfg->server.auth && sasl_setup_server(cfg->server.sasl_service) != SASL_OK)
        log_warn("libsasl2 server initialisation failed; AUTH will be refused");
    if (cfg->deliver.relay_sasl_username[0] != '\0' && sasl_setup_client() != SASL_OK)
        log_warn("libsasl2 client initialisation failed; relay AUTH will fail");
    runtime_install(cfg, scan);
    if (metrics_http_start(err, sizeof(err)) < 0) {
        log_error("%s", err);
        runtime_shutdown(); /* frees the engine with the generation */
        return 1;
    }
    if (notice_sender_start() < 0) {
        metrics_http_stop();
        runtime_shutdown(); /* frees the engine too */
        return 1;
    }
    int status = server_run(config_path);
    notice_sender_stop();
    metrics_http_stop();
    relay_pool_close_all();
    /* The engine goes with the last generation: a session still scanning
     * after the bounded wait keeps it until it ends or the process exits. */
    runtime_shutdown();
    return status;
}
