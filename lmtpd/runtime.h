/*
 * runtime: the configuration generation sessions run with, and the shared
 * scan engine. SIGHUP installs a new generation; a session keeps the one
 * it started with until it ends (reference counted). The engine, shared by
 * every generation, belongs to the runtime from the first install on: it
 * is freed with the last generation after runtime_shutdown(), so a session
 * still scanning at exit never finds it freed. Thread-safe.
 */
#ifndef LMTPSCAN_RUNTIME_H
#define LMTPSCAN_RUNTIME_H

#include "common/config.h"
#include "scan/scan.h"

struct runtime {
    struct config *cfg;
    struct scan_engine *scan; /* shared by all generations; NULL if none */
    int refs;
};

/* Installs cfg (owned from now on) as the current generation; scan is the
 * engine of every generation (owned from the first install on). */
void runtime_install(struct config *cfg, struct scan_engine *scan);
/* The current generation, with a reference the caller must release. */
struct runtime *runtime_acquire(void);
/* Drops a reference; the last one after runtime_shutdown() also frees the
 * engine (in the calling thread). */
void runtime_release(struct runtime *rt);
/* At exit: drops the current generation. The engine is freed now when no
 * session holds a generation, else by the last runtime_release(). */
void runtime_shutdown(void);

#endif
