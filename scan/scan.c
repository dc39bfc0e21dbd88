/*
 * scan: orchestration of the scanning stage (see scan.h). scan_message
 * computes which scanners the recipients' policies want, starts a small
 * pool of worker threads per spam engine (one request per distinct
 * (engine, expanded spamd_user) pair: spamd or rspamd, as each policy's
 * spam_engine says), hands the ClamAV scan to the scan threads
 * (scan/clamav_pool.h) within the scan-memory budget and waits for it,
 * and joins every worker before returning, so no thread reads the spool
 * afterwards. Everything is bounded by
 * server.scan_timeout from the start of scan_message: the budget wait,
 * the engines' slot waits and every socket operation; libclamav's own
 * scan time is bounded by CL_ENGINE_MAX_SCANTIME (= scan_timeout).
 *
 * Fair share of each engine: each worker runs one request at a time, so
 * the number of an engine's workers is the number of requests to it one
 * message has in flight. It is at most message_share(): half of that
 * engine's connections, at least 1 (16 when connections is 0, no limit),
 * so a message with many distinct users leaves the other half of the
 * connections to other messages instead of holding all of them until
 * scan_timeout; its own requests queue behind its share.
 *
 * Verdict reuse ([scan] verdict_reuse > 0): before a request, the
 * verdict cache is asked for the same message (the SHA-256 the spool
 * computed while receiving it), engine and user; a hit is not sent. Fresh
 * answers are stored after the workers are joined.
 *
 * Failure modes are reported in the result, never as clean: engine
 * missing/loading, budget wait timeout ("scan timeout"), libclamav errors,
 * every spamd or rspamd failure, a spamd_user that does not expand.
 */
#include "scan/scan.h"

#include "common/clock.h"
#include "common/timings.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "scan/clamav_engine.h"
#include "scan/clamav_pool.h"
#include "scan/policy.h"
#include "scan/scan_budget.h"
#include "scan/rspamd_client.h"
#include "scan/spamd_client.h"
#include "scan/verdict_cache.h"

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
    struct clamav_pool *pool; /* [clamav] scan_threads */
    struct scan_budget budget;
    struct spamd_limit spamd_limit;
    struct gate rspamd_limit;       /* [rspamd] connections */
    struct verdict_cache *verdicts; /* [scan] verdict_reuse */
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
    se->pool = clamav_pool_new(cfg->clamav.scan_threads);
    scan_budget_init(&se->budget, cfg->clamav.scan_memory);
    spamd_limit_init(&se->spamd_limit, cfg->spamd.connections);
    gate_init(&se->rspamd_limit, cfg->rspamd.connections);
    se->verdicts = verdict_cache_new();
    return se;
}

int scan_engine_reload(struct scan_engine *se, const struct config *cfg, char *err, size_t err_len)
{
    struct clamav_settings s;

    clamav_settings_from_config(cfg, &s);
    clamav_pool_set_threads(se->pool, cfg->clamav.scan_threads);
    scan_budget_set_total(&se->budget, cfg->clamav.scan_memory);
    spamd_limit_set_max(&se->spamd_limit, cfg->spamd.connections);
    gate_set_capacity(&se->rspamd_limit, cfg->rspamd.connections);
    verdict_cache_clear(se->verdicts); /* another configuration may ask other engines */
    return clamav_engine_reload(se->clamav, &s, err, err_len);
}

void scan_engine_free(struct scan_engine *se)
{
    if (se == NULL)
        return;
    clamav_pool_free(se->pool);
    clamav_engine_free(se->clamav);
    scan_budget_destroy(&se->budget);
    spamd_limit_destroy(&se->spamd_limit);
    gate_destroy(&se->rspamd_limit);
    verdict_cache_free(se->verdicts);
    free(se);
}

/* ---- spam engine workers ---------------------------------------------- */

/* One request per (engine, user) entry of the result. */
struct spam_job {
    bool runnable; /* false: bad user, or a reused verdict */
    struct spamd_request spamd;
    struct rspamd_request rspamd;
};

/* The jobs of one engine, taken in turn by that engine's workers. */
struct spam_queue {
    pthread_mutex_t lock;
    size_t next;
    size_t n;
    size_t *idx; /* job / result indices of this engine */
    struct spam_job *jobs;
    struct spamd_result *results;
    enum spam_engine engine;
};

static void *spam_worker(void *arg)
{
    struct spam_queue *q = arg;

    for (;;) {
        size_t i;
        pthread_mutex_lock(&q->lock);
        i = q->next++;
        pthread_mutex_unlock(&q->lock);
        if (i >= q->n)
            break;
        size_t k = q->idx[i];
        if (!q->jobs[k].runnable)
            continue;
        if (q->engine == SPAM_ENGINE_RSPAMD)
            rspamd_check(&q->jobs[k].rspamd, &q->results[k]);
        else
            spamd_check(&q->jobs[k].spamd, &q->results[k]);
    }
    return NULL;
}

/* How many requests to one engine one message may have in flight: half
 * of the engine's connection limit, at least one, at most MAX_WORKERS. */
static size_t message_share(unsigned connections)
{
    size_t share = connections > 0 ? connections / 2 : MAX_WORKERS;
    if (share < 1)
        share = 1;
    return share < MAX_WORKERS ? share : MAX_WORKERS;
}

/* Index of (engine, user) in out->spamd, adding an entry when new. */
static size_t spam_entry(struct scan_result *out, size_t *cap, enum spam_engine engine,
                         const char *user)
{
    for (size_t i = 0; i < out->n_spamd; i++)
        if (out->spamd[i].engine == engine && strcmp(out->spamd[i].user, user) == 0)
            return i;
    out->spamd = xgrow(out->spamd, cap, out->n_spamd + 1, sizeof(*out->spamd));
    struct spamd_result *sr = &out->spamd[out->n_spamd];
    memset(sr, 0, sizeof(*sr));
    sr->engine = engine;
    snprintf(sr->user, sizeof(sr->user), "%s", user);
    sr->status = SPAMD_NOT_RUN;
    return out->n_spamd++;
}

static bool engine_enabled(const struct config *cfg, enum spam_engine e)
{
    return e == SPAM_ENGINE_RSPAMD ? cfg->rspamd.enabled : cfg->spamd.enabled;
}

/* Fills out->spamd / out->rcpt_spamd for the recipients that want a spam
 * engine; entries that cannot run (bad spamd_user) are set to SPAMD_ERROR
 * and flagged in *bad (owned by the caller). */
static void plan_spam(const struct config *cfg, const struct envelope *env, struct scan_result *out,
                      bool **bad)
{
    size_t cap = 0;
    size_t bad_cap = 0;

    *bad = NULL;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        const struct recipient *r = &env->rcpts[i];
        const struct policy *p = r->policy != NULL ? r->policy : policy_lookup(cfg, &r->addr);
        char user[256];
        bool ok = true;

        if (!p->spam_scan || !engine_enabled(cfg, p->spam_engine))
            continue;
        if (address_expand(p->spamd_user, &r->addr, NULL, NULL, user, sizeof(user)) != 0) {
            ok = false;
            snprintf(user, sizeof(user), "%.200s", p->spamd_user);
        }
        size_t before = out->n_spamd;
        size_t idx = spam_entry(out, &cap, p->spam_engine, user);
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

/* The recipients of each entry, grouped: entry k's are
 * (*addrs)[(*first)[k] .. (*first)[k + 1]). Linear in the recipients. */
static void group_rcpts(const struct envelope *env, const struct scan_result *out,
                        const char ***addrs, size_t **first)
{
    size_t n = out->n_spamd;
    size_t *fill = xcalloc(n + 1, sizeof(*fill));

    *first = xcalloc(n + 1, sizeof(**first));
    *addrs = xcalloc(env->n_rcpts > 0 ? env->n_rcpts : 1, sizeof(**addrs));
    for (size_t i = 0; i < env->n_rcpts; i++)
        if (out->rcpt_spamd[i] != SIZE_MAX)
            (*first)[out->rcpt_spamd[i] + 1]++;
    for (size_t k = 0; k < n; k++)
        (*first)[k + 1] += (*first)[k];
    for (size_t i = 0; i < env->n_rcpts; i++) {
        size_t k = out->rcpt_spamd[i];
        if (k != SIZE_MAX)
            (*addrs)[(*first)[k] + fill[k]++] = env->rcpts[i].address;
    }
    free(fill);
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
            if (clamav_pool_scan(se->pool, ref, msg, cr, &deadline) < 0) {
                cr->status = CLAMAV_ERROR;
                snprintf(cr->reason, sizeof(cr->reason), "scan timeout");
            }
            scan_budget_release(&se->budget, amount);
        }
        clamav_engine_release(se->clamav, ref);
    }
    cr->duration_us = timings_us_between(start, mono_now());
    cr->duration_ms = (unsigned)(cr->duration_us / 1000);
}

/* Starts up to want workers on q; returns how many started. */
static size_t start_workers(struct spam_queue *q, size_t want, pthread_t *workers)
{
    pthread_attr_t attr;
    size_t n = 0;

    if (want > q->n)
        want = q->n;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    for (; n < want; n++) {
        int rc = pthread_create(&workers[n], &attr, spam_worker, q);
        if (rc != 0) {
            log_warn("scan: cannot start a %s thread: %s", spam_engine_name(q->engine),
                     strerror(rc));
            break;
        }
    }
    pthread_attr_destroy(&attr);
    return n;
}

int scan_message(struct scan_engine *se, const struct config *cfg, const struct envelope *env,
                 const struct spool *msg, struct scan_result *out)
{
    unsigned timeout = cfg->server.scan_timeout > 0 ? cfg->server.scan_timeout : NO_TIMEOUT_SECS;
    struct timespec started = mono_now();
    struct timespec deadline = deadline_after_ms((uint64_t)timeout * 1000);
    struct spam_queue queues[2];
    struct spam_job *jobs;
    pthread_t workers[2][MAX_WORKERS];
    size_t n_workers[2] = {0, 0};
    bool *bad = NULL;
    const char **addrs;
    size_t *first;
    char sha[65];

    memset(out, 0, sizeof(*out));
    out->clamav.status = CLAMAV_NOT_RUN;
    snprintf(out->clamav_version, sizeof(out->clamav_version), "%s", clamav_version());
    out->rcpt_spamd = xcalloc(env->n_rcpts > 0 ? env->n_rcpts : 1, sizeof(*out->rcpt_spamd));
    for (size_t i = 0; i < env->n_rcpts; i++)
        out->rcpt_spamd[i] = SIZE_MAX;

    plan_spam(cfg, env, out, &bad);
    group_rcpts(env, out, &addrs, &first);
    spool_sha256_hex(msg, sha); /* computed while the message was spooled */

    size_t n = out->n_spamd;
    jobs = xcalloc(n > 0 ? n : 1, sizeof(*jobs));
    for (size_t e = 0; e < 2; e++) {
        memset(&queues[e], 0, sizeof(queues[e]));
        pthread_mutex_init(&queues[e].lock, NULL);
        queues[e].engine = (enum spam_engine)e;
        queues[e].jobs = jobs;
        queues[e].results = out->spamd;
        queues[e].idx = xcalloc(n > 0 ? n : 1, sizeof(*queues[e].idx));
    }
    for (size_t k = 0; k < n; k++) {
        struct spamd_result *sr = &out->spamd[k];
        struct spam_queue *q = &queues[sr->engine];
        jobs[k].runnable =
            !bad[k] && !verdict_cache_get(se->verdicts, sha, cfg->scan.verdict_reuse, sr);
        jobs[k].spamd = (struct spamd_request){
            .address = &cfg->spamd.address,
            .user = sr->user,
            .msg = msg,
            .max_size = cfg->spamd.max_size,
            .timeout = cfg->spamd.timeout,
            .deadline = deadline,
            .limit = &se->spamd_limit,
        };
        jobs[k].rspamd = (struct rspamd_request){
            .address = &cfg->rspamd.address,
            .user = sr->user,
            .env = env,
            .rcpts = addrs + first[k],
            .n_rcpts = first[k + 1] - first[k],
            .msg = msg,
            .max_size = cfg->rspamd.max_size,
            .timeout = cfg->rspamd.timeout,
            .deadline = deadline,
            .limit = &se->rspamd_limit,
        };
        q->idx[q->n++] = k;
    }
    free(bad);

    n_workers[SPAM_ENGINE_SPAMD] =
        start_workers(&queues[SPAM_ENGINE_SPAMD], message_share(cfg->spamd.connections),
                      workers[SPAM_ENGINE_SPAMD]);
    n_workers[SPAM_ENGINE_RSPAMD] =
        start_workers(&queues[SPAM_ENGINE_RSPAMD], message_share(cfg->rspamd.connections),
                      workers[SPAM_ENGINE_RSPAMD]);

    if (wants_clamav(cfg, env))
        run_clamav(se, msg, deadline, out);

    for (size_t e = 0; e < 2; e++) {
        if (n_workers[e] == 0)
            spam_worker(&queues[e]); /* no thread could start: run them here */
        for (size_t i = 0; i < n_workers[e]; i++)
            pthread_join(workers[e][i], NULL);
        pthread_mutex_destroy(&queues[e].lock);
        free(queues[e].idx);
    }
    if (cfg->scan.verdict_reuse > 0)
        for (size_t k = 0; k < n; k++)
            if (jobs[k].runnable)
                verdict_cache_put(se->verdicts, sha, env->mail_id, &out->spamd[k]);
    free(jobs);
    free(addrs);
    free(first);
    out->scan_us = timings_us_between(started, mono_now());
    return 0;
}
