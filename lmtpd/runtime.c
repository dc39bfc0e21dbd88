/*
 * runtime: reference-counted configuration generations (see runtime.h).
 */
#include "lmtpd/runtime.h"
#include "common/xalloc.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *runtime_current;

static void runtime_unref_locked(struct runtime *rt)
{
    if (--rt->refs == 0) {
        config_free(rt->cfg);
        free(rt);
    }
}

void runtime_install(struct config *cfg, struct scan_engine *scan)
{
    struct runtime *rt = xcalloc(1, sizeof(*rt));
    rt->cfg = cfg;
    rt->scan = scan;
    rt->refs = 1;
    pthread_mutex_lock(&runtime_lock);
    struct runtime *old = runtime_current;
    runtime_current = rt;
    if (old)
        runtime_unref_locked(old);
    pthread_mutex_unlock(&runtime_lock);
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
    runtime_unref_locked(rt);
    pthread_mutex_unlock(&runtime_lock);
}

void runtime_shutdown(void)
{
    pthread_mutex_lock(&runtime_lock);
    if (runtime_current)
        runtime_unref_locked(runtime_current);
    runtime_current = NULL;
    pthread_mutex_unlock(&runtime_lock);
}
