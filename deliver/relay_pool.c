/*
 * relay_pool: the process-wide pool of idle relay connections (see
 * relay_pool.h): at most RELAY_POOL_MAX, each reused for at most
 * RELAY_POOL_IDLE seconds after it went idle, keyed by where it goes and
 * as whom; the oldest is evicted when the pool is full.
 */
#include "deliver/relay_pool.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "deliver/relay.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pooled {
    struct smtp_conn *conn;
    char *key;
    time_t since;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pooled pool[RELAY_POOL_MAX];
static size_t pool_n;

/* The identity of a connection: where it goes and as whom. */
void relay_pool_key(const struct config *cfg, char *key, size_t keylen)
{
    char addr[400];
    net_address_format(&cfg->deliver.relay, addr, sizeof(addr));
    snprintf(key, keylen, "%s\n%s\n%s\n%s", addr, cfg->server.hostname,
             cfg->deliver.relay_sasl_username, cfg->deliver.relay_sasl_password);
}

static void pooled_free(struct pooled *p)
{
    smtp_conn_close(p->conn);
    free(p->key);
}

/* Takes the newest idle connection for key, or NULL. Expired ones are
 * closed on the way. */
struct smtp_conn *relay_pool_take(const char *key)
{
    struct pooled dead[RELAY_POOL_MAX];
    size_t n_dead = 0;
    struct smtp_conn *found = NULL;
    time_t now = mono_now().tv_sec;
    pthread_mutex_lock(&pool_lock);
    size_t keep = 0;
    for (size_t i = 0; i < pool_n; i++) {
        if (now - pool[i].since > RELAY_POOL_IDLE)
            dead[n_dead++] = pool[i];
        else
            pool[keep++] = pool[i];
    }
    pool_n = keep;
    for (size_t i = pool_n; i-- > 0;) {
        if (strcmp(pool[i].key, key) == 0) {
            found = pool[i].conn;
            free(pool[i].key);
            memmove(&pool[i], &pool[i + 1], (pool_n - i - 1) * sizeof(pool[0]));
            pool_n--;
            break;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    for (size_t i = 0; i < n_dead; i++)
        pooled_free(&dead[i]);
    return found;
}

void relay_pool_put(struct smtp_conn *c, const char *key)
{
    struct pooled evicted = {0};
    pthread_mutex_lock(&pool_lock);
    if (pool_n == RELAY_POOL_MAX) {
        evicted = pool[0];
        memmove(&pool[0], &pool[1], (pool_n - 1) * sizeof(pool[0]));
        pool_n--;
    }
    pool[pool_n++] = (struct pooled){.conn = c, .key = xstrdup(key), .since = mono_now().tv_sec};
    pthread_mutex_unlock(&pool_lock);
    if (evicted.conn != NULL)
        pooled_free(&evicted);
}

void relay_pool_close_all(void)
{
    pthread_mutex_lock(&pool_lock);
    struct pooled all[RELAY_POOL_MAX];
    size_t n = pool_n;
    memcpy(all, pool, n * sizeof(pool[0]));
    pool_n = 0;
    pthread_mutex_unlock(&pool_lock);
    for (size_t i = 0; i < n; i++) {
        (void)smtp_cmd(all[i].conn, "QUIT");
        (void)smtp_flush(all[i].conn);
        pooled_free(&all[i]);
    }
}
