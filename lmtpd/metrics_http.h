/*
 * metrics_http: the GET /metrics endpoint of [server] metrics_listen
 * (SPEC section 12), served by libmicrohttpd from a thread of its own, so
 * a slow or hostile scraper never holds a session thread or a lock of the
 * data path. Bounds: METRICS_HTTP_CONNECTIONS connections at once (more
 * are refused at accept), METRICS_HTTP_TIMEOUT seconds of inactivity per
 * connection, METRICS_HTTP_REQUEST_MAX bytes of request line and header
 * (larger: refused by libmicrohttpd), no request body (any method but
 * GET and HEAD: 405). inet clients outside the current generation's
 * allow_from are refused at accept; unix-socket clients are local.
 *
 * The socket is bound in metrics_http_bind() while still root, like the
 * mail listeners; metrics_http_start() starts the thread once the daemon
 * is ready. A changed metrics_listen takes effect at the next start (a
 * reload keeps the listener, and every counter).
 *
 * Failure modes: bind/start return -1 with err (the daemon refuses to
 * start). Not thread-safe: called from main() only.
 */
#ifndef LMTPSCAN_METRICS_HTTP_H
#define LMTPSCAN_METRICS_HTTP_H

#include "common/config.h"

#include <stddef.h>

#define METRICS_HTTP_CONNECTIONS 32
#define METRICS_HTTP_TIMEOUT     10 /* seconds */
#define METRICS_HTTP_REQUEST_MAX (16 * 1024)

/* Binds metrics_listen when set; 0 (also when unset), or -1 with err. */
int metrics_http_bind(const struct config *cfg, char *err, size_t err_len);
/* Starts serving on the bound socket (nothing when none); 0 or -1. */
int metrics_http_start(char *err, size_t err_len);
/* Stops the thread and closes the socket. */
void metrics_http_stop(void);

#endif
