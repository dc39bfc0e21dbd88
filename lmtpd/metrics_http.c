/*
 * metrics_http: the /metrics endpoint over libmicrohttpd (see
 * metrics_http.h). One internal polling thread (epoll) serves every
 * connection; each answer is rendered into a bounded buffer from the
 * atomic registry of common/metrics.h.
 *
 * libmicrohttpd is loaded (dlopen) only when metrics_listen is set, at
 * bind time, before privileges are dropped: with it come GnuTLS and
 * p11-kit, whose start-up alone keeps about 3 MB resident in every
 * daemon that never serves /metrics. The header still types every call.
 */
#include "lmtpd/metrics_http.h"

#include "common/log.h"
#include "common/metrics.h"
#include "common/net_address.h"
#include "common/strbuf.h"
#include "lmtpd/runtime.h"

#include <dlfcn.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPOSITION_MAX (1024 * 1024)

static int listen_fd = -1;
static struct MHD_Daemon *daemon_handle;

/* The functions used, resolved from the library once. */
static struct {
    void *lib;
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
} mhd;

static int resolve(void *fn, const char *name, char *err, size_t err_len)
{
    void *sym = dlsym(mhd.lib, name);
    if (sym == NULL) {
        snprintf(err, err_len, "metrics_listen: %s has no %s", LMTPSCAN_MHD_SONAME, name);
        return -1;
    }
    memcpy(fn, &sym, sizeof(sym)); /* POSIX: a function's address as a data pointer */
    return 0;
}

static int mhd_load(char *err, size_t err_len)
{
    if (mhd.lib != NULL)
        return 0;
    mhd.lib = dlopen(LMTPSCAN_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (mhd.lib == NULL) {
        const char *why = dlerror();
        snprintf(err, err_len, "metrics_listen: cannot load %s: %s", LMTPSCAN_MHD_SONAME,
                 why != NULL ? why : "unknown error");
        return -1;
    }
    if (resolve(&mhd.start_daemon, "MHD_start_daemon", err, err_len) < 0 ||
        resolve(&mhd.stop_daemon, "MHD_stop_daemon", err, err_len) < 0 ||
        resolve(&mhd.create_response_from_buffer, "MHD_create_response_from_buffer", err, err_len) <
            0 ||
        resolve(&mhd.add_response_header, "MHD_add_response_header", err, err_len) < 0 ||
        resolve(&mhd.queue_response, "MHD_queue_response", err, err_len) < 0 ||
        resolve(&mhd.destroy_response, "MHD_destroy_response", err, err_len) < 0 ||
        resolve(&mhd.lookup_connection_value, "MHD_lookup_connection_value", err, err_len) < 0) {
        dlclose(mhd.lib);
        memset(&mhd, 0, sizeof(mhd));
        return -1;
    }
    return 0;
}

int metrics_http_bind(const struct config *cfg, char *err, size_t err_len)
{
    if (!net_address_is_set(&cfg->server.metrics_listen))
        return 0;
    char where[300], why[256];
    if (mhd_load(err, err_len) < 0)
        return -1;
    net_address_format(&cfg->server.metrics_listen, where, sizeof(where));
    listen_fd = net_listen(&cfg->server.metrics_listen, 64, why, sizeof(why));
    if (listen_fd < 0) {
        snprintf(err, err_len, "metrics_listen %s: %s", where, why);
        return -1;
    }
    return 0;
}

/* allow_from of the running generation, as for the mail listeners. */
static enum MHD_Result allowed(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)cls;
    (void)addrlen;
    if (addr == NULL || addr->sa_family == AF_UNIX)
        return MHD_YES;
    struct runtime *rt = runtime_acquire();
    bool ok = cidr_list_match(rt->cfg->server.allow_from, rt->cfg->server.n_allow_from, addr);
    runtime_release(rt);
    return ok ? MHD_YES : MHD_NO;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        mhd.create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    (void)mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        (void)mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = mhd.queue_response(c, status, r);
    mhd.destroy_response(r);
    return rc;
}

/* OpenMetrics when the client names it in Accept, as Prometheus does. */
static bool wants_openmetrics(struct MHD_Connection *c)
{
    const char *accept = mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    return accept != NULL && strstr(accept, "application/openmetrics-text") != NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (*con_cls == NULL) { /* headers read; a GET has no body to wait for */
        static int marker;
        *con_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0)
        return reply_text(c, MHD_HTTP_BAD_REQUEST, "no request body expected\n");
    if (strcmp(url, "/metrics") != 0)
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");

    bool om = wants_openmetrics(c);
    struct strbuf sb;
    strbuf_init(&sb, EXPOSITION_MAX);
    if (metrics_render(&sb, om) < 0 || sb.data == NULL) {
        strbuf_free(&sb);
        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "exposition too large\n");
    }
    struct MHD_Response *r =
        mhd.create_response_from_buffer(sb.len, sb.data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        strbuf_free(&sb);
        return MHD_NO;
    }
    (void)mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                  om ? METRICS_TYPE_OPENMETRICS : METRICS_TYPE_PROMETHEUS);
    enum MHD_Result rc = mhd.queue_response(c, MHD_HTTP_OK, r);
    mhd.destroy_response(r);
    return rc;
}

int metrics_http_start(char *err, size_t err_len)
{
    if (listen_fd < 0)
        return 0;
    daemon_handle =
        mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, allowed, NULL, handle,
                         NULL, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)METRICS_HTTP_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)METRICS_HTTP_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         (size_t)METRICS_HTTP_REQUEST_MAX, MHD_OPTION_END);
    if (daemon_handle == NULL) {
        snprintf(err, err_len, "metrics_listen: libmicrohttpd did not start");
        close(listen_fd);
        listen_fd = -1;
        return -1;
    }
    return 0;
}

void metrics_http_stop(void)
{
    if (daemon_handle != NULL)
        mhd.stop_daemon(daemon_handle); /* closes the listening socket too */
    else if (listen_fd >= 0)
        close(listen_fd);
    daemon_handle = NULL;
    listen_fd = -1;
}
