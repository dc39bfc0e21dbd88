/*
 * verdict_cache: a fixed table of reusable spam verdicts (see
 * verdict_cache.h). Lookups scan the whole table: VERDICT_CACHE_SLOTS is
 * small and a scan costs far less than one engine request.
 */
#include "scan/verdict_cache.h"

#include "common/clock.h"
#include "common/xalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    bool used;
    enum spam_engine engine;
    char user[256];
    char sha[65];
    char mail_id[MAIL_ID_LEN + 1];
    uint64_t stored_ms;      /* monotonic */
    uint64_t last_use;       /* LRU counter */
    struct spamd_result res; /* rules point into rules[] */
    struct spamd_rule rules[VERDICT_CACHE_RULES];
};

struct verdict_cache {
    pthread_mutex_t lock;
    struct entry *slots; /* VERDICT_CACHE_SLOTS, NULL until the first store */
    uint64_t clock;
    char version[2][64]; /* the last version each engine reported */
};

static uint64_t now_ms(void)
{
    struct timespec t = mono_now();
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

struct verdict_cache *verdict_cache_new(void)
{
    struct verdict_cache *vc = xcalloc(1, sizeof(*vc));
    pthread_mutex_init(&vc->lock, NULL);
    return vc;
}

void verdict_cache_free(struct verdict_cache *vc)
{
    if (vc == NULL)
        return;
    pthread_mutex_destroy(&vc->lock);
    free(vc->slots);
    free(vc);
}

void verdict_cache_clear(struct verdict_cache *vc)
{
    pthread_mutex_lock(&vc->lock);
    if (vc->slots != NULL)
        memset(vc->slots, 0, VERDICT_CACHE_SLOTS * sizeof(*vc->slots));
    pthread_mutex_unlock(&vc->lock);
}

static bool same_key(const struct entry *e, enum spam_engine engine, const char *user,
                     const char *sha)
{
    return e->used && e->engine == engine && strcmp(e->sha, sha) == 0 && strcmp(e->user, user) == 0;
}

bool verdict_cache_get(struct verdict_cache *vc, const char *sha256_hex, unsigned ttl,
                       struct spamd_result *out)
{
    bool hit = false;
    uint64_t now = now_ms();

    if (ttl == 0)
        return false;
    pthread_mutex_lock(&vc->lock);
    for (size_t i = 0; vc->slots != NULL && i < VERDICT_CACHE_SLOTS; i++) {
        struct entry *e = &vc->slots[i];
        if (!same_key(e, out->engine, out->user, sha256_hex))
            continue;
        if (now - e->stored_ms >= (uint64_t)ttl * 1000 ||
            strcmp(e->res.version, vc->version[out->engine]) != 0) {
            e->used = false; /* expired, or another version answers now */
            break;
        }
        e->last_use = ++vc->clock;
        out->status = e->res.status;
        out->score = e->res.score;
        out->required = e->res.required;
        out->n_rules = e->res.n_rules;
        out->rules = NULL;
        if (e->res.n_rules > 0) {
            out->rules = xcalloc(e->res.n_rules, sizeof(*out->rules));
            memcpy(out->rules, e->rules, e->res.n_rules * sizeof(*out->rules));
        }
        out->error[0] = '\0';
        out->duration_ms = 0;
        snprintf(out->action, sizeof(out->action), "%s", e->res.action);
        snprintf(out->version, sizeof(out->version), "%s", e->res.version);
        snprintf(out->reused_from, sizeof(out->reused_from), "%s", e->mail_id);
        hit = true;
        break;
    }
    pthread_mutex_unlock(&vc->lock);
    return hit;
}

/* The slot for a new entry: the same key, a free one, else the least
 * recently used (an expired entry is never used again, so it goes). */
static struct entry *pick_slot(struct verdict_cache *vc, const struct spamd_result *res,
                               const char *sha)
{
    struct entry *lru = NULL;
    for (size_t i = 0; i < VERDICT_CACHE_SLOTS; i++) {
        struct entry *e = &vc->slots[i];
        if (!e->used || same_key(e, res->engine, res->user, sha))
            return e;
        if (lru == NULL || e->last_use < lru->last_use)
            lru = e;
    }
    return lru;
}

void verdict_cache_put(struct verdict_cache *vc, const char *sha256_hex, const char *mail_id,
                       const struct spamd_result *res)
{
    if (res->status != SPAMD_HAM && res->status != SPAMD_SPAM)
        return;
    pthread_mutex_lock(&vc->lock);
    if (vc->slots == NULL)
        vc->slots = xcalloc(VERDICT_CACHE_SLOTS, sizeof(*vc->slots));
    if (strcmp(vc->version[res->engine], res->version) != 0) {
        /* the engine changed: nothing it said before is reused */
        for (size_t i = 0; i < VERDICT_CACHE_SLOTS; i++)
            if (vc->slots[i].engine == res->engine)
                vc->slots[i].used = false;
        snprintf(vc->version[res->engine], sizeof(vc->version[res->engine]), "%s", res->version);
    }
    if (res->n_rules > VERDICT_CACHE_RULES) {
        pthread_mutex_unlock(&vc->lock);
        return;
    }
    struct entry *e = pick_slot(vc, res, sha256_hex);
    memset(e, 0, sizeof(*e));
    e->used = true;
    e->engine = res->engine;
    snprintf(e->user, sizeof(e->user), "%s", res->user);
    snprintf(e->sha, sizeof(e->sha), "%s", sha256_hex);
    snprintf(e->mail_id, sizeof(e->mail_id), "%s", mail_id);
    e->stored_ms = now_ms();
    e->last_use = ++vc->clock;
    e->res = *res;
    e->res.rules = NULL;
    e->res.reused_from[0] = '\0';
    if (res->n_rules > 0)
        memcpy(e->rules, res->rules, res->n_rules * sizeof(*e->rules));
    pthread_mutex_unlock(&vc->lock);
}
