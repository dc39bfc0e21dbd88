/*
 * runtime: reference-counted configuration generations and the engine's
 * lifetime (see runtime.h). `runtime_lock` guards every field here; the
 * engine is freed outside it.
 */
#include "lmtpd/runtime.h"
#include "common/xalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *runtime_current;
static struct scan_engine *runtime_engine; /* freed with the last generation */
static unsigned live_generations;
static bool stopping;

/* Drops one reference; returns the engine when the caller must free it. */
static struct scan_engine *runtime_unref_locked(struct runtime *rt)
{
    if (--rt->refs > 0)
        return NULL;
    config_free(rt->cfg);
    free(rt);
    live_generations--;
    if (!stopping || live_generations > 0)
        return NULL;
    struct scan_engine *se = runtime_engine;
    runtime_engine = NULL;
    return se;
}

void runtime_install(struct config *cfg, struct scan_engine *scan)
{
    struct runtime *rt = xcalloc(1, sizeof(*rt));
    rt->cfg = cfg;
    rt->scan = scan;
    rt->refs = 1;
    pthread_mutex_lock(&runtime_lock);
    runtime_engine = scan;
    live_generations++;
    struct runtime *old = runtime_current;
    runtime_current = rt;
    struct scan_engine *se = old ? runtime_unref_locked(old) : NULL;
    pthread_mutex_unlock(&runtime_lock);
    scan_engine_free(se); /* NULL: not stopping */
}

struct runtime *runtime_acquire(void)
{
    pthread_mutex_lock(&runtime_lock);
    struct runtime *rt = runtime_current;
    rt->refs++;
    pthread_mutex_unlock(&runtime_lock);
    return rt;
}

void runtime_release(struct runtime *rt)
{
    pthread_mutex_lock(&runtime_lock);
    struct scan_engine *se = runtime_unref_locked(rt);
    pthread_mutex_unlock(&runtime_lock);
    scan_engine_free(se);
}

void runtime_shutdown(void)
{
    pthread_mutex_lock(&runtime_lock);
    stopping = true;
    struct scan_engine *se = NULL;
    if (runtime_current)
        se = runtime_unref_locked(runtime_current);
    runtime_current = NULL;
    pthread_mutex_unlock(&runtime_lock);
    scan_engine_free(se);
}
