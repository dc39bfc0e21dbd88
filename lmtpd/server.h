/*
 * server: the listeners and the accept loop. Each accepted connection runs
 * as a session in its own thread, up to max_sessions (421 4.3.2 beyond);
 * untrusted clients (inet outside allow_from) get at most max_sessions -
 * min(trusted_sessions, max_sessions / 2) of them. Signals arrive through
 * a signalfd in the accept loop: SIGHUP reloads configuration and
 * signatures in a thread of its own while the loop goes on accepting (a
 * bad configuration is refused and the running one kept), SIGTERM/SIGINT
 * stop accepting and let sessions finish within a bound. Called from the
 * main thread only.
 */
#ifndef LMTPSCAN_SERVER_H
#define LMTPSCAN_SERVER_H

#include "common/config.h"

/* Takes the sockets passed by the service manager if any, else opens
 * every listener of cfg; 0, or -1 with err. */
int server_listen(const struct config *cfg, char *err, size_t err_len);
/* Runs until SIGTERM/SIGINT; returns the exit status. config_path is
 * re-read on SIGHUP. */
int server_run(const char *config_path);

#endif
