/*
 * mail_id: the 12-character [a-z0-9] id of every message, from getrandom().
 * Thread-safe.
 */
#ifndef LMTPSCAN_MAIL_ID_H
#define LMTPSCAN_MAIL_ID_H

#include <stdbool.h>

#define MAIL_ID_LEN 12

/* Fills out[MAIL_ID_LEN + 1]. 0 on success, -1 if no randomness. */
int mail_id_new(char *out);
/* True for exactly 12 characters of [a-z0-9]. */
bool mail_id_valid(const char *id);

#endif
