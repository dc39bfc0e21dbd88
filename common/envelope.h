/*
 * envelope: one transaction as the protocol received it (client, MAIL,
 * RCPTs with their DSN parameters) and, per recipient, what the pipeline
 * decided (verdict, action) and what came of it (outcome, destination). Filled by lmtpd/, read by
 * scan/ and deliver/. Not thread-safe: owned by one session.
 */
#ifndef LMTPSCAN_ENVELOPE_H
#define LMTPSCAN_ENVELOPE_H

#include "common/address.h"
#include "common/config.h"
#include "common/mail_id.h"
#include "common/outcome.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define REPLY_MAX OUTCOME_LINE_MAX

enum protocol { PROTO_LMTP, PROTO_SMTP };
enum body_type { BODY_UNSPECIFIED, BODY_7BIT, BODY_8BITMIME, BODY_BINARYMIME };
enum dsn_ret { DSN_RET_UNSPECIFIED, DSN_RET_FULL, DSN_RET_HDRS };

/* DSN NOTIFY bits; 0 means the parameter was absent. */
#define DSN_NOTIFY_NEVER   0x1
#define DSN_NOTIFY_SUCCESS 0x2
#define DSN_NOTIFY_FAILURE 0x4
#define DSN_NOTIFY_DELAY   0x8

/* XFORWARD attributes (Postfix XFORWARD_README); empty = not given. */
struct xforward {
    char name[256];
    char addr[64];
    char port[8];
    char proto[16];
    char helo[256];
    char ident[64];
    char source[8];
};

enum verdict { VERDICT_CLEAN, VERDICT_SPAM, VERDICT_VIRUS, VERDICT_UNCHECKED };

struct recipient {
    char address[ADDRESS_MAX + 1]; /* as given, without <> */
    char orcpt[ADDRESS_MAX + 16];  /* DSN ORCPT value or empty */
    unsigned notify;               /* DSN_NOTIFY_* bits */
    char *maildir;                 /* maildir mode: expanded path (owned) */
    const struct policy *policy;

    /* the canonical address (made once at RCPT): policy lookup, spamd_user
     * and the Maildir path all use this one */
    struct address addr;

    /* filled by the pipeline */
    enum verdict verdict;
    enum action action;
    struct outcome outcome; /* what happened; formatted into the
                               reply only by outcome_format() */
    char *destination;      /* Maildir file, relay reply, quarantine
                               file (owned, NULL until stored) */
};

struct envelope {
    enum protocol protocol;
    char helo[256];
    char peer_addr[64]; /* numeric address, or "unix" */
    char peer_port[8];
    struct xforward xforward;

    bool has_mail;
    char mail_from[ADDRESS_MAX + 1]; /* empty for the null sender */
    uint64_t size_param;             /* SIZE=, 0 if absent */
    enum body_type body;
    bool smtputf8;
    enum dsn_ret ret;
    char envid[128];

    struct recipient *rcpts;
    size_t n_rcpts;
    size_t cap_rcpts;

    char mail_id[MAIL_ID_LEN + 1];
    struct timespec received; /* end of data, CLOCK_REALTIME */
};

void envelope_init(struct envelope *env);
/* Clears MAIL/RCPT/XFORWARD state (RSET, end of transaction); keeps the
 * client's address and HELO. */
void envelope_reset_transaction(struct envelope *env);
void envelope_free(struct envelope *env);
struct recipient *envelope_add_rcpt(struct envelope *env);

const char *verdict_name(enum verdict v);
const char *action_name(enum action a);

#endif
