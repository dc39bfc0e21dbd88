/*
 * clamav_engine: the shared, reference-counted libclamav engine (see
 * clamav_engine.h). Locks: `lock` guards the current pointer, the state
 * and every reference count (held only for pointer work, never while
 * loading or scanning); `reload_lock` serialises reloads (SIGHUP and the
 * watcher) and guards the settings and the database stat; `watch_lock`
 * with `watch_wake` lets clamav_engine_free stop the watcher at once.
 */
#include "scan/clamav_engine.h"
#include "common/clock.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/timings.h"
#include "common/xalloc.h"
#include "scan/file_collect.h"

#include <clamav.h>
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

struct clamav_ref {
    struct cl_engine *engine;
    unsigned refs; /* the holder's reference + one per scan */
    unsigned signatures;
    unsigned max_files; /* the inventory's bound: [clamav] max_files */
};

enum engine_state { STATE_NONE, STATE_READY, STATE_LOADING, STATE_FAILED };

struct clamav_engine {
    pthread_mutex_t lock;
    struct clamav_ref *current;
    enum engine_state state;
    char failure[256];

    pthread_mutex_t reload_lock;
    struct clamav_settings settings;
    struct cl_stat dbstat;
    bool have_dbstat;

    pthread_mutex_t watch_lock;
    pthread_cond_t watch_wake; /* CLOCK_MONOTONIC */
    pthread_t watcher;
    bool watcher_running;
    bool watch_stop;
};

static pthread_once_t cl_once = PTHREAD_ONCE_INIT;
static cl_error_t cl_init_result = CL_SUCCESS;

static void clamav_log(enum cl_msg severity, const char *fullmsg, const char *msg, void *ctx)
{
    (void)fullmsg;
    (void)ctx;
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        n--;
    if (severity == CL_MSG_ERROR)
        log_error("libclamav: %.*s", (int)n, msg);
    else if (severity == CL_MSG_WARN)
        log_warn("libclamav: %.*s", (int)n, msg);
    else
        log_debug("libclamav: %.*s", (int)n, msg);
}

static void cl_init_once(void)
{
    cl_set_clcb_msg(clamav_log);
    cl_init_result = cl_init(CL_INIT_DEFAULT);
}

const char *clamav_version(void)
{
    return cl_retver();
}

void clamav_settings_from_config(const struct config *cfg, struct clamav_settings *out)
{
    out->clamav = cfg->clamav;
    out->scan_timeout = cfg->server.scan_timeout;
}

/* Per-scan context of the callbacks (the context argument of
 * cl_scandesc_callback, so each scan has its own on the shared engine):
 * the virus-found callback keeps the last name (libclamav does not always
 * return the name of a heuristic alert through virname); the inspection
 * and metadata callbacks fill the scan's file inventory. */
struct scan_ctx {
    char last[256];
    struct file_collect collect;
};

static cl_error_t on_file_inspection(int fd, const char *type, const char **ancestors,
                                     size_t parent_file_size, const char *file_name,
                                     size_t file_size, const char *file_buffer,
                                     uint32_t recursion_level, uint32_t layer_attributes,
                                     void *context)
{
    struct scan_ctx *ctx = context;
    (void)fd;
    (void)ancestors;
    (void)parent_file_size;
    (void)layer_attributes;
    if (ctx != NULL)
        file_collect_inspect(&ctx->collect, type, file_name, recursion_level, file_buffer,
                             file_size);
    return CL_CLEAN;
}

static cl_error_t on_meta(const char *container_type, unsigned long fsize_container,
                          const char *filename, unsigned long fsize_real, int is_encrypted,
                          unsigned int filepos_container, void *context)
{
    struct scan_ctx *ctx = context;
    (void)fsize_container;
    (void)fsize_real;
    (void)filepos_container;
    if (ctx != NULL)
        file_collect_listed(&ctx->collect, container_type, filename, is_encrypted);
    return CL_CLEAN;
}

static void on_virus_found(int fd, const char *virname, void *context)
{
    struct scan_ctx *ctx = context;
    (void)fd;
    if (ctx != NULL && virname != NULL)
        snprintf(ctx->last, sizeof(ctx->last), "%s", virname);
}

/* ---- loading ---------------------------------------------------------- */

static int set_num(struct cl_engine *e, enum cl_engine_field f, long long v, const char *name,
                   char *err, size_t errlen)
{
    cl_error_t rc = cl_engine_set_num(e, f, v);
    if (rc != CL_SUCCESS) {
        snprintf(err, errlen, "clamav: setting %s: %s", name, cl_strerror(rc));
        return -1;
    }
    return 0;
}

static struct clamav_ref *load_engine(const struct clamav_settings *s, char *err, size_t errlen)
{
    struct cl_engine *e;
    unsigned signo = 0;
    cl_error_t rc;
    long long scantime_ms = (long long)s->scan_timeout * 1000;

    pthread_once(&cl_once, cl_init_once);
    if (cl_init_result != CL_SUCCESS) {
        snprintf(err, errlen, "clamav: cl_init: %s", cl_strerror(cl_init_result));
        return NULL;
    }
    e = cl_engine_new();
    if (e == NULL) {
        snprintf(err, errlen, "clamav: cl_engine_new failed");
        return NULL;
    }
    if (scantime_ms > UINT32_MAX)
        scantime_ms = UINT32_MAX;
    if (set_num(e, CL_ENGINE_MAX_SCANSIZE, (long long)s->clamav.max_scan_size, "max_scan_size", err,
                errlen) < 0 ||
        set_num(e, CL_ENGINE_MAX_FILESIZE, (long long)s->clamav.max_file_size, "max_file_size", err,
                errlen) < 0 ||
        set_num(e, CL_ENGINE_MAX_RECURSION, s->clamav.max_recursion, "max_recursion", err, errlen) <
            0 ||
        set_num(e, CL_ENGINE_MAX_FILES, s->clamav.max_files, "max_files", err, errlen) < 0 ||
        (scantime_ms > 0 &&
         set_num(e, CL_ENGINE_MAX_SCANTIME, scantime_ms, "scan_timeout", err, errlen) < 0))
        goto free_engine;
    /* The file inventory (banned content) must see every file of every
     * message: a file libclamav cached as clean would be skipped, callbacks
     * included. */
    if (set_num(e, CL_ENGINE_DISABLE_CACHE, 1, "the clean-file cache", err, errlen) < 0)
        goto free_engine;
    /* libclamav makes a temporary directory for every scan: on a tmpfs
     * that costs no disk metadata writes. */
    if (s->clamav.tmp_dir[0] != '\0') {
        rc = cl_engine_set_str(e, CL_ENGINE_TMPDIR, s->clamav.tmp_dir);
        if (rc != CL_SUCCESS) {
            snprintf(err, errlen, "clamav: tmp_dir %s: %s", s->clamav.tmp_dir, cl_strerror(rc));
            goto free_engine;
        }
    }

    struct timespec load_start = mono_now();
    rc = cl_load(s->clamav.database, e, &signo, CL_DB_STDOPT);
    if (rc != CL_SUCCESS) {
        snprintf(err, errlen, "clamav: loading %s: %s", s->clamav.database, cl_strerror(rc));
        goto free_engine;
    }
    cl_engine_set_clcb_virus_found(e, on_virus_found);
    cl_engine_set_clcb_file_inspection(e, on_file_inspection);
    cl_engine_set_clcb_meta(e, on_meta);
    rc = cl_engine_compile(e);
    if (rc != CL_SUCCESS) {
        snprintf(err, errlen, "clamav: compiling %s: %s", s->clamav.database, cl_strerror(rc));
        goto free_engine;
    }

    struct clamav_ref *ref = xcalloc(1, sizeof(*ref));
    ref->engine = e;
    ref->refs = 1;
    ref->signatures = signo;
    metrics_clamav_loaded(signo, timings_us_between(load_start, mono_now()));
    ref->max_files = s->clamav.max_files;
    return ref;

free_engine:
    cl_engine_free(e);
    return NULL;
}

static void free_ref(struct clamav_ref *ref)
{
    cl_error_t rc = cl_engine_free(ref->engine);
    if (rc != CL_SUCCESS)
        log_warn("clamav: cl_engine_free: %s", cl_strerror(rc));
    free(ref);
}

void clamav_engine_release(struct clamav_engine *ce, struct clamav_ref *ref)
{
    bool last;

    if (ref == NULL)
        return;
    pthread_mutex_lock(&ce->lock);
    last = --ref->refs == 0;
    pthread_mutex_unlock(&ce->lock);
    if (last)
        free_ref(ref);
}

/* Replaces the current engine (NULL allowed) and drops the holder's
 * reference to the old one. */
static void install(struct clamav_engine *ce, struct clamav_ref *ref, enum engine_state state,
                    const char *failure)
{
    struct clamav_ref *old;

    pthread_mutex_lock(&ce->lock);
    old = ce->current;
    ce->current = ref;
    ce->state = state;
    snprintf(ce->failure, sizeof(ce->failure), "%s", failure ? failure : "");
    pthread_mutex_unlock(&ce->lock);
    clamav_engine_release(ce, old);
}

/* Where libclamav makes its per-scan directories and files, and whether
 * that is a tmpfs: on a disk file system every scan costs inode
 * allocations. A directory start-up has yet to create (-t) is judged by
 * its parent. */
static void log_tmp_dir(const struct clamav_settings *s)
{
    const char *dir = s->clamav.tmp_dir[0] != '\0' ? s->clamav.tmp_dir : config_system_tmp_dir();
    struct statfs fs;
    int rc = statfs(dir, &fs);
    char parent[PATH_MAX];
    if (rc < 0 && errno == ENOENT &&
        snprintf(parent, sizeof(parent), "%s", dir) < (int)sizeof(parent)) {
        char *slash = strrchr(parent, '/');
        if (slash != NULL && slash != parent) {
            *slash = '\0';
            rc = statfs(parent, &fs);
        }
    }
    if (rc < 0)
        log_info("clamav: temporary files in %s (file system unknown: %s)", dir, strerror(errno));
    else if (fs.f_type == TMPFS_MAGIC)
        log_info("clamav: temporary files in %s (tmpfs)", dir);
    else
        log_info("clamav: temporary files in %s (not a tmpfs: each scan creates and removes "
                 "files on disk; set [clamav] tmp_dir to a tmpfs)",
                 dir);
}

/* Caller holds reload_lock. */
static int reload_locked(struct clamav_engine *ce, char *err, size_t errlen)
{
    const struct clamav_settings *s = &ce->settings;
    struct cl_stat st;
    struct clamav_ref *ref;
    cl_error_t rc;

    if (!s->clamav.enabled) {
        install(ce, NULL, STATE_NONE, NULL);
        if (ce->have_dbstat) {
            cl_statfree(&ce->dbstat);
            ce->have_dbstat = false;
        }
        return 0;
    }

    /* Stat first: a change during the load is seen by the next check. */
    memset(&st, 0, sizeof(st));
    rc = cl_statinidir(s->clamav.database, &st);
    if (rc != CL_SUCCESS) {
        snprintf(err, errlen, "clamav: reading %s: %s", s->clamav.database, cl_strerror(rc));
        return -1;
    }

    if (s->clamav.reload == RELOAD_BLOCKING)
        install(ce, NULL, STATE_LOADING, NULL);
    ref = load_engine(s, err, errlen);
    if (ref == NULL) {
        cl_statfree(&st);
        if (s->clamav.reload == RELOAD_BLOCKING)
            install(ce, NULL, STATE_FAILED, err);
        return -1;
    }
    install(ce, ref, STATE_READY, NULL);
    if (ce->have_dbstat)
        cl_statfree(&ce->dbstat);
    ce->dbstat = st;
    ce->have_dbstat = true;
    log_info("clamav: engine loaded from %s: ClamAV %s, %u signatures", s->clamav.database,
             cl_retver(), ref->signatures);
    log_tmp_dir(s);
    return 0;
}

/* ---- watcher ---------------------------------------------------------- */

static void *watcher_main(void *arg)
{
    struct clamav_engine *ce = arg;
    char err[512];

    pthread_mutex_lock(&ce->watch_lock);
    while (!ce->watch_stop) {
        unsigned interval;
        pthread_mutex_lock(&ce->reload_lock);
        interval = ce->settings.clamav.reload_check;
        pthread_mutex_unlock(&ce->reload_lock);

        struct timespec until = deadline_after_ms((uint64_t)interval * 1000);
        while (!ce->watch_stop) {
            if (pthread_cond_timedwait(&ce->watch_wake, &ce->watch_lock, &until) == ETIMEDOUT)
                break;
        }
        if (ce->watch_stop)
            break;
        pthread_mutex_unlock(&ce->watch_lock);

        pthread_mutex_lock(&ce->reload_lock);
        bool failed;
        pthread_mutex_lock(&ce->lock);
        failed = ce->state == STATE_FAILED;
        pthread_mutex_unlock(&ce->lock);
        int changed = !ce->have_dbstat ? 1 : cl_statchkdir(&ce->dbstat);
        if (changed != 0 || failed) {
            log_info("clamav: database %s changed, reloading", ce->settings.clamav.database);
            if (reload_locked(ce, err, sizeof(err)) < 0)
                log_error("%s (keeping the running engine)", err);
        }
        pthread_mutex_unlock(&ce->reload_lock);

        pthread_mutex_lock(&ce->watch_lock);
    }
    pthread_mutex_unlock(&ce->watch_lock);
    return NULL;
}

static void watcher_stop(struct clamav_engine *ce)
{
    if (!ce->watcher_running)
        return;
    pthread_mutex_lock(&ce->watch_lock);
    ce->watch_stop = true;
    pthread_cond_broadcast(&ce->watch_wake);
    pthread_mutex_unlock(&ce->watch_lock);
    pthread_join(ce->watcher, NULL);
    ce->watcher_running = false;
}

static void watcher_start(struct clamav_engine *ce)
{
    pthread_attr_t attr;
    int rc;

    if (ce->watcher_running || !ce->settings.clamav.enabled ||
        ce->settings.clamav.reload_check == 0)
        return;
    ce->watch_stop = false;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 2 * 1024 * 1024);
    rc = pthread_create(&ce->watcher, &attr, watcher_main, ce);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        log_error("clamav: cannot start the database watcher: %s", strerror(rc));
    else
        ce->watcher_running = true;
}

/* ---- public ----------------------------------------------------------- */

struct clamav_engine *clamav_engine_new(const struct clamav_settings *s, char *err, size_t errlen)
{
    struct clamav_engine *ce = xcalloc(1, sizeof(*ce));
    pthread_mutex_init(&ce->lock, NULL);
    pthread_mutex_init(&ce->reload_lock, NULL);
    pthread_mutex_init(&ce->watch_lock, NULL);
    deadline_cond_init(&ce->watch_wake);
    ce->settings = *s;
    ce->state = STATE_NONE;

    if (reload_locked(ce, err, errlen) < 0) {
        clamav_engine_free(ce);
        return NULL;
    }
    watcher_start(ce);
    return ce;
}

int clamav_engine_reload(struct clamav_engine *ce, const struct clamav_settings *s, char *err,
                         size_t errlen)
{
    int rc;

    watcher_stop(ce);
    pthread_mutex_lock(&ce->reload_lock);
    struct clamav_settings prev = ce->settings;
    if (s != NULL)
        ce->settings = *s;
    rc = reload_locked(ce, err, errlen);
    if (rc < 0 && ce->settings.clamav.reload == RELOAD_CONCURRENT) {
        /* keep the running engine and the settings it was built from, but
         * take the new check interval so a fixed database is picked up */
        unsigned check = ce->settings.clamav.reload_check;
        ce->settings = prev;
        if (prev.clamav.enabled)
            ce->settings.clamav.reload_check = check;
    }
    pthread_mutex_unlock(&ce->reload_lock);
    watcher_start(ce);
    return rc;
}

void clamav_engine_free(struct clamav_engine *ce)
{
    if (ce == NULL)
        return;
    watcher_stop(ce);
    install(ce, NULL, STATE_NONE, NULL);
    if (ce->have_dbstat)
        cl_statfree(&ce->dbstat);
    pthread_cond_destroy(&ce->watch_wake);
    pthread_mutex_destroy(&ce->watch_lock);
    pthread_mutex_destroy(&ce->reload_lock);
    pthread_mutex_destroy(&ce->lock);
    free(ce);
}

struct clamav_ref *clamav_engine_acquire(struct clamav_engine *ce, char *why, size_t whylen,
                                         bool *loading)
{
    struct clamav_ref *ref;

    *loading = false;
    pthread_mutex_lock(&ce->lock);
    ref = ce->current;
    if (ref != NULL) {
        ref->refs++;
    } else if (ce->state == STATE_LOADING) {
        *loading = true;
        snprintf(why, whylen, "engine loading");
    } else if (ce->state == STATE_FAILED) {
        snprintf(why, whylen, "no engine: %s", ce->failure);
    } else {
        snprintf(why, whylen, "clamav not enabled");
    }
    pthread_mutex_unlock(&ce->lock);
    return ref;
}

unsigned clamav_ref_signatures(const struct clamav_ref *ref)
{
    return ref->signatures;
}

static bool is_limit_error(cl_error_t rc)
{
    return rc == CL_EMAXSIZE || rc == CL_EMAXREC || rc == CL_EMAXFILES || rc == CL_ETIMEOUT;
}

void clamav_ref_scan(const struct clamav_ref *ref, const struct spool *msg,
                     struct clamav_result *out)
{
    struct cl_scan_options opts;
    const char *virname = NULL;
    unsigned long scanned = 0;
    struct scan_ctx ctx = {.last = ""};
    cl_error_t rc;
    int fd = spool_fd(msg);

    file_inventory_free(&out->inventory);
    file_inventory_init(&out->inventory, ref->max_files);
    file_collect_init(&ctx.collect, &out->inventory);

    memset(&opts, 0, sizeof(opts));
    opts.general = CL_SCAN_GENERAL_HEURISTICS;
    opts.parse = ~0u;
    opts.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;

    if (fd >= 0) {
        rc = cl_scandesc_callback(fd, NULL, &virname, &scanned, ref->engine, &opts, &ctx);
    } else {
        const char *mem = spool_memory(msg);
        size_t len = (size_t)spool_size(msg);
        static const char empty[1] = {0};
        cl_fmap_t *map = cl_fmap_open_memory(mem != NULL && len > 0 ? mem : empty, len);
        if (map == NULL) {
            out->status = CLAMAV_ERROR;
            snprintf(out->reason, sizeof(out->reason), "cannot map the message");
            return;
        }
        rc = cl_scanmap_callback(map, NULL, &virname, &scanned, ref->engine, &opts, &ctx);
        cl_fmap_close(map);
    }

    if (rc == CL_VIRUS) {
        const char *name = virname != NULL ? virname : ctx.last[0] != '\0' ? ctx.last : "unknown";
        if (strncmp(name, "Heuristics.Limits.Exceeded", 26) == 0) {
            out->status = CLAMAV_LIMITS;
            snprintf(out->reason, sizeof(out->reason), "%s", name);
        } else {
            out->status = CLAMAV_INFECTED;
            snprintf(out->virus, sizeof(out->virus), "%s", name);
        }
    } else if (rc == CL_CLEAN) {
        out->status = CLAMAV_CLEAN;
    } else if (is_limit_error(rc)) {
        out->status = CLAMAV_LIMITS;
        snprintf(out->reason, sizeof(out->reason), "%s", cl_strerror(rc));
    } else {
        out->status = CLAMAV_ERROR;
        snprintf(out->reason, sizeof(out->reason), "%s", cl_strerror(rc));
    }
    /* past the inventory's bound the banned check is incomplete: unchecked,
     * never clean */
    if (out->status == CLAMAV_CLEAN && out->inventory.overflow) {
        out->status = CLAMAV_LIMITS;
        snprintf(out->reason, sizeof(out->reason), "file inventory over %zu files",
                 out->inventory.max_files);
    }
}

void clamav_engine_scan(struct clamav_engine *ce, const struct spool *msg,
                        struct clamav_result *out, unsigned *signatures)
{
    bool loading;
    struct clamav_ref *ref = clamav_engine_acquire(ce, out->reason, sizeof(out->reason), &loading);

    if (ref == NULL) {
        out->status = CLAMAV_ERROR;
        out->engine_loading = loading;
        return;
    }
    if (signatures != NULL)
        *signatures = ref->signatures;
    clamav_ref_scan(ref, msg, out);
    clamav_engine_release(ce, ref);
}
