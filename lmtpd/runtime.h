/*
 * runtime: the configuration generation sessions run with, and the shared
 * scan engine. SIGHUP installs a new generation; a session keeps the one
 * it started with until it ends (reference counted). Thread-safe.
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

/* Installs cfg (owned from now on) as the current generation. */
void runtime_install(struct config *cfg, struct scan_engine *scan);
/* The current generation, with a reference the caller must release. */
struct runtime *runtime_acquire(void);
void runtime_release(struct runtime *rt);
/* Drops the current generation (at exit). */
void runtime_shutdown(void);

#endif
