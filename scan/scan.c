/*
 * scan: orchestration of the scanning stage (see scan.h). scan_message
 * computes which scanners the recipients' policies want, starts a small
 * pool of worker threads for the spamd requests (one request per distinct
 * expanded spamd_user), runs the ClamAV scan in the calling thread within
 * the scan-memory budget, and joins every worker before returning, so no
 * thread reads the spool afterwards. Everything is bounded by
 * server.scan_timeout from the start of scan_message: the budget wait, the
 * spamd slot wait and every spamd socket operation; libclamav's own scan
 * time is bounded by CL_ENGINE_MAX_SCANTIME (= scan_timeout).
 *
 * Fair share of spamd: each worker runs one request at a time, so the
 * number of workers is the number of spamd requests one message has in
 * flight. It is at most spamd_message_share(): half of [spamd]
 * connections, at least 1 (16 when connections is 0, no limit), so a
 * message with many distinct spamd users leaves the other half of the
 * connections to other messages instead of holding all of them until
 * scan_timeout; its own requests queue behind its share.
 *
 * Failure modes are reported in the result, never as clean: engine
 * missing/loading, budget wait timeout ("scan timeout"), libclamav errors,
 * every spamd failure, a spamd_user that does not expand.
 */
#include "scan/scan.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "scan/clamav_engine.h"
#include "scan/policy.h"
#include "scan/scan_budget.h"
#include "scan/spamd_client.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKER_STACK    (256 * 1024)
#define MAX_WORKERS     16          /* spamd requests of one message in flight, at most */
#define NO_TIMEOUT_SECS (24 * 3600) /* scan_timeout = 0: effectively none */

struct scan_engine {
    struct clamav_engine *clamav;
    struct scan_budget budget;
    struct spamd_limit spamd_limit;
};

struct scan_engine *scan_engine_new(const struct config *cfg, char *err, size_t err_len)
{
    struct clamav_settings s;
    struct scan_engine *se = xcalloc(1, sizeof(*se));

    clamav_settings_from_config(cfg, &s);
    se->clamav = clamav_engine_new(&s, err, err_len);
    if (se->clamav == NULL) {
        free(se);
        return NULL;
    }
    scan_budget_init(&se->budget, cfg->clamav.scan_memory);
    spamd_limit_init(&se->spamd_limit, cfg->spamd.connections);
    return se;
}

int scan_engine_reload(struct scan_engine *se, const struct config *cfg, char *err, size_t err_len)
{
    struct clamav_settings s;

    clamav_settings_from_config(cfg, &s);
    scan_budget_set_total(&se->budget, cfg->clamav.scan_memory);
    spamd_limit_set_max(&se->spamd_limit, cfg->spamd.connections);
    return clamav_engine_reload(se->clamav, &s, err, err_len);
}

void scan_engine_free(struct scan_engine *se)
{
    if (se == NULL)
        return;
    clamav_engine_free(se->clamav);
    scan_budget_destroy(&se->budget);
    spamd_limit_destroy(&se->spamd_limit);
    free(se);
}

/* ---- spamd workers ---------------------------------------------------- */

struct spamd_jobs {
    pthread_mutex_t lock;
    size_t next;
    size_t n;
    struct spamd_request *reqs; /* reqs[i] fills results[i] */
    struct spamd_result *results;
    bool *runnable;
};

static void *spamd_worker(void *arg)
{
    struct spamd_jobs *jobs = arg;

    for (;;) {
        size_t i;
        pthread_mutex_lock(&jobs->lock);
        i = jobs->next++;
        pthread_mutex_unlock(&jobs->lock);
        if (i >= jobs->n)
            break;
        if (jobs->runnable[i])
            spamd_check(&jobs->reqs[i], &jobs->results[i]);
    }
    return NULL;
}

/* How many spamd requests one message may have in flight: half of the
 * connection limit, at least one, at most MAX_WORKERS. */
static size_t spamd_message_share(unsigned connections)
{
    size_t share = connections > 0 ? connections / 2 : MAX_WORKERS;
    if (share < 1)
        share = 1;
    return share < MAX_WORKERS ? share : MAX_WORKERS;
}

/* Index of user in out->spamd, adding an entry when new. */
static size_t spamd_entry(struct scan_result *out, size_t *cap, const char *user)
{
    for (size_t i = 0; i < out->n_spamd; i++)
        if (strcmp(out->spamd[i].user, user) == 0)
            return i;
    out->spamd = xgrow(out->spamd, cap, out->n_spamd + 1, sizeof(*out->spamd));
    struct spamd_result *sr = &out->spamd[out->n_spamd];
    memset(sr, 0, sizeof(*sr));
    snprintf(sr->user, sizeof(sr->user), "%s", user);
    sr->status = SPAMD_NOT_RUN;
    return out->n_spamd++;
}

/* Fills out->spamd / out->rcpt_spamd for the recipients that want spamd;
 * entries that cannot run (bad spamd_user) are set to SPAMD_ERROR and
 * flagged in *bad (owned by the caller). */
static void plan_spamd(const struct config *cfg, const struct envelope *env,
                       struct scan_result *out, bool **bad)
{
    size_t cap = 0;
    size_t bad_cap = 0;

    *bad = NULL;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        const struct policy *p = r->policy != NULL ? r->policy : policy_lookup(cfg, &r->addr);
        char user[256];
        bool ok = true;

        if (!cfg->spamd.enabled || !p->spam_scan)
            continue;
        if (address_expand(p->spamd_user, &r->addr, NULL, NULL, user, sizeof(user)) != 0) {
            ok = false;
            snprintf(user, sizeof(user), "%.200s", p->spamd_user);
        }
        size_t before = out->n_spamd;
        size_t idx = spamd_entry(out, &cap, user);
        *bad = xgrow(*bad, &bad_cap, out->n_spamd, sizeof(**bad));
        if (out->n_spamd > before)
            (*bad)[idx] = false; /* a new entry */
        if (!ok) {
            (*bad)[idx] = true;
            out->spamd[idx].status = SPAMD_ERROR;
            snprintf(out->spamd[idx].error, sizeof(out->spamd[idx].error),
                     "spamd_user does not expand for %.200s", r->address);
        }
        out->rcpt_spamd[i] = idx;
    }
}

static bool wants_clamav(const struct config *cfg, const struct envelope *env)
{
    if (!cfg->clamav.enabled)
        return false;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        const struct policy *p = r->policy != NULL ? r->policy : policy_lookup(cfg, &r->addr);
        if (p->virus_scan)
            return true;
    }
    return false;
}

static void run_clamav(struct scan_engine *se, const struct spool *msg, struct timespec deadline,
                       struct scan_result *out)
{
    struct timespec start = mono_now();
    struct clamav_result *cr = &out->clamav;
    bool loading;
    struct clamav_ref *ref;
    uint64_t amount = scan_budget_estimate(spool_size(msg));

    ref = clamav_engine_acquire(se->clamav, cr->reason, sizeof(cr->reason), &loading);
    if (ref == NULL) {
        cr->status = CLAMAV_ERROR;
        cr->engine_loading = loading;
    } else {
        out->clamav_signatures = clamav_ref_signatures(ref);
        if (scan_budget_reserve(&se->budget, amount, &deadline) < 0) {
            cr->status = CLAMAV_ERROR;
            snprintf(cr->reason, sizeof(cr->reason), "scan timeout");
        } else {
            clamav_ref_scan(ref, msg, cr);
            scan_budget_release(&se->budget, amount);
        }
        clamav_engine_release(se->clamav, ref);
    }
    cr->duration_ms = elapsed_ms(start);
}

int scan_message(struct scan_engine *se, const struct config *cfg, const struct envelope *env,
                 const struct spool *msg, struct scan_result *out)
{
    unsigned timeout = cfg->server.scan_timeout > 0 ? cfg->server.scan_timeout : NO_TIMEOUT_SECS;
    struct timespec deadline = deadline_after_ms((uint64_t)timeout * 1000);
    struct spamd_jobs jobs;
    pthread_t workers[MAX_WORKERS];
    size_t n_workers = 0;
    bool *bad = NULL;

    memset(out, 0, sizeof(*out));
    out->clamav.status = CLAMAV_NOT_RUN;
    snprintf(out->clamav_version, sizeof(out->clamav_version), "%s", clamav_version());
    out->rcpt_spamd = xcalloc(env->n_rcpts > 0 ? env->n_rcpts : 1, sizeof(*out->rcpt_spamd));
    for (size_t i = 0; i < env->n_rcpts; i++)
        out->rcpt_spamd[i] = SIZE_MAX;

    plan_spamd(cfg, env, out, &bad);

    memset(&jobs, 0, sizeof(jobs));
    pthread_mutex_init(&jobs.lock, NULL);
    jobs.n = out->n_spamd;
    jobs.results = out->spamd;
    jobs.reqs = xcalloc(jobs.n > 0 ? jobs.n : 1, sizeof(*jobs.reqs));
    jobs.runnable = xcalloc(jobs.n > 0 ? jobs.n : 1, sizeof(*jobs.runnable));
    for (size_t i = 0; i < jobs.n; i++) {
        jobs.runnable[i] = !bad[i];
        jobs.reqs[i] = (struct spamd_request){
            .address = &cfg->spamd.address,
            .user = out->spamd[i].user,
            .msg = msg,
            .max_size = cfg->spamd.max_size,
            .timeout = cfg->spamd.timeout,
            .deadline = deadline,
            .limit = &se->spamd_limit,
        };
    }
    free(bad);

    if (jobs.n > 0) {
        size_t share = spamd_message_share(cfg->spamd.connections);
        size_t want = jobs.n < share ? jobs.n : share;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, WORKER_STACK);
        for (; n_workers < want; n_workers++) {
            int rc = pthread_create(&workers[n_workers], &attr, spamd_worker, &jobs);
            if (rc != 0) {
                log_warn("scan: cannot start a spamd thread: %s", strerror(rc));
                break;
            }
        }
        pthread_attr_destroy(&attr);
    }

    if (wants_clamav(cfg, env))
        run_clamav(se, msg, deadline, out);

    if (n_workers == 0)
        spamd_worker(&jobs); /* no thread could start: run them here */
    for (size_t i = 0; i < n_workers; i++)
        pthread_join(workers[i], NULL);

    pthread_mutex_destroy(&jobs.lock);
    free(jobs.reqs);
    free(jobs.runnable);
    return 0;
}
