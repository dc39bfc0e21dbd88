/*
 * relay_pool: idle SMTP connections to the relay kept for the next
 * message (private to deliver/relay.c; relay_pool_close_all() is public
 * in relay.h). A taken connection belongs to the caller, which gives it
 * back with relay_pool_put() when it is still good (RSET probe first).
 * All functions are thread-safe.
 */
#ifndef LMTPSCAN_RELAY_POOL_H
#define LMTPSCAN_RELAY_POOL_H

#include "common/config.h"
#include "deliver/smtp_client.h"

#include <stddef.h>

/* The identity of a connection: where it goes and as whom. */
void relay_pool_key(const struct config *cfg, char *key, size_t keylen);
/* Takes the newest idle connection for key, or NULL; closes expired ones. */
struct smtp_conn *relay_pool_take(const char *key);
/* Keeps c for key (evicting the oldest when full). */
void relay_pool_put(struct smtp_conn *c, const char *key);

#endif
