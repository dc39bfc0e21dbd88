/*
 * session: the per-connection command loop (see session.h). Replies to
 * pipelined commands are queued and sent when no more input is buffered,
 * so they go out in order and in as few writes as possible.
 *
 * Limits: session_timeout bounds the whole session (checked before each
 * command and bounding every wait for input; a transaction under way gets
 * one more `timeout` to finish, then the session ends without it; a
 * message received is scanned and answered first). max_errors counts the
 * 4xx/5xx replies to commands (not the per-recipient replies after the
 * data), max_auth_failures the refused credentials, and
 * max_commands_before_auth the commands of a client that must
 * authenticate and has not. Each limit ends the session with 421. A read
 * still under way two idle timeouts past the deadline (a line sent a byte
 * at a time) is ended by deadline_watch.c: the session then ends without
 * a reply, as when the client closes.
 *
 * Failure modes: a read timeout gives 421 4.4.2 and closes; a closed or
 * failed socket ends the session and delivers nothing in flight.
 */
#include "lmtpd/session.h"
#include "common/log.h"
#include "common/net_address.h"
#include "common/clock.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void session_reply(struct session *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!s->replying_outcomes && (line[0] == '4' || line[0] == '5'))
        s->errors++;
    if (stream_reply(&s->st, "%s", line) != STREAM_OK)
        s->quit = true;
}

/* Milliseconds left until the session's deadline plus grace_ms (0 when
 * passed). */
static int session_left_ms(const struct session *s, unsigned grace_ms)
{
    struct timespec end = s->deadline;
    end.tv_sec += grace_ms / 1000;
    end.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    return deadline_remaining_ms(end);
}

/* The stream's timeout for the next read: the idle timeout, but never
 * past the deadline plus grace_ms. Writes keep the idle timeout
 * (session_unbound_wait), so replies to what was received still go out. */
static void session_bound_wait(struct session *s, unsigned grace_ms)
{
    int left = session_left_ms(s, grace_ms);
    int idle = (int)(s->cfg->server.timeout * 1000);
    stream_set_timeout(&s->st, left < idle ? left : idle);
}

static void session_unbound_wait(struct session *s)
{
    stream_set_timeout(&s->st, (int)(s->cfg->server.timeout * 1000));
}

/* Past the deadline a transaction under way (MAIL given, or data being
 * received) gets one more idle timeout to finish; nothing else does. */
static unsigned session_grace_ms(const struct session *s)
{
    return s->env.has_mail || s->bdat_active ? s->cfg->server.timeout * 1000 : 0;
}

static void session_time_up(struct session *s)
{
    log_info("client %s: session_timeout (%us) passed, closing", s->env.peer_addr,
             s->cfg->server.session_timeout);
    session_reply(s, "421 4.4.2 %s session time limit exceeded, closing", s->cfg->server.hostname);
    s->quit = true;
}

void session_reply_error(struct session *s, const struct command_error *e)
{
    session_reply(s, "%d %s %s", e->code, e->status, e->text);
}

void session_reset_transaction(struct session *s)
{
    envelope_reset_transaction(&s->env);
    spool_reset(s->spool);
    s->bdat_active = false;
    s->bdat_size = 0;
    s->bdat_too_big = false;
    s->bdat_errno = 0;
}

int session_may_transfer(struct session *s)
{
    if (!s->env.has_mail) {
        session_reply(s, "503 5.5.1 Error: need MAIL command");
        return 0;
    }
    if (s->env.n_rcpts == 0) {
        session_reply(s, "503 5.5.1 No valid recipients");
        return 0;
    }
    return 1;
}

bool session_peek_data(struct session *s, const char **data, size_t *len)
{
    unsigned grace_ms = session_grace_ms(s);
    enum stream_status st = STREAM_TIMEOUT;
    if (stream_has_input(&s->st) || session_left_ms(s, grace_ms) > 0) {
        session_bound_wait(s, grace_ms);
        st = stream_peek(&s->st, data, len);
        session_unbound_wait(s);
    }
    if (st == STREAM_OK)
        return true;
    if (st == STREAM_TIMEOUT && session_left_ms(s, grace_ms) == 0)
        session_time_up(s);
    else if (st == STREAM_TIMEOUT)
        session_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->cfg->server.hostname);
    s->quit = true;
    session_reset_transaction(s);
    return false;
}

typedef void (*command_handler)(struct session *s, const struct command *c);

static const command_handler handlers[] = {
    [CMD_LHLO] = cmd_lhlo, [CMD_EHLO] = cmd_lhlo, [CMD_HELO] = cmd_lhlo,
    [CMD_MAIL] = cmd_mail, [CMD_RCPT] = cmd_rcpt, [CMD_DATA] = cmd_data,
    [CMD_BDAT] = cmd_bdat, [CMD_RSET] = cmd_rset, [CMD_NOOP] = cmd_noop,
    [CMD_QUIT] = cmd_quit, [CMD_VRFY] = cmd_vrfy, [CMD_XFORWARD] = cmd_xforward,
    [CMD_AUTH] = cmd_auth,
};

/* Commands a client that must authenticate may give before AUTH. */
static bool allowed_before_auth(enum command_verb verb)
{
    switch (verb) {
    case CMD_LHLO:
    case CMD_EHLO:
    case CMD_HELO:
    case CMD_AUTH:
    case CMD_RSET:
    case CMD_NOOP:
    case CMD_QUIT:
        return true;
    default:
        return false;
    }
}

struct sasl_conn *session_sasl(struct session *s)
{
    if (!s->cfg->server.auth || !s->is_inet)
        return NULL;
    if (s->sasl == NULL)
        s->sasl = auth_server_new(s->cfg, s->st.fd);
    return s->sasl;
}

const char *session_auth_mechs(struct session *s)
{
    struct sasl_conn *conn = session_sasl(s);
    return conn != NULL ? auth_server_mechs(conn) : NULL;
}

static void session_dispatch(struct session *s, const char *line, size_t len)
{
    struct command c;
    command_parse(line, len, &c);
    if (s->bdat_active && c.verb != CMD_BDAT && c.verb != CMD_RSET && c.verb != CMD_QUIT &&
        c.verb != CMD_NOOP) {
        /* RFC 3030: only BDAT may follow BDAT in a transfer. */
        session_reply(s, "503 5.5.1 Error: BDAT transfer in progress, only BDAT allowed");
        return;
    }
    if (s->must_auth && !s->authenticated && c.verb != CMD_UNKNOWN &&
        !allowed_before_auth(c.verb)) {
        session_reply(s, "530 5.7.0 Authentication required");
        return;
    }
    if (c.verb >= sizeof(handlers) / sizeof(handlers[0]) || handlers[c.verb] == NULL) {
        session_reply(s, "500 5.5.1 Unknown command");
        return;
    }
    handlers[c.verb](s, &c);
}

/* Ends the session with 421 when one of its limits is reached. */
static bool session_over_limit(struct session *s)
{
    const struct config *cfg = s->cfg;
    const char *why = NULL, *text = NULL;
    if (session_left_ms(s, session_grace_ms(s)) == 0) {
        session_time_up(s);
        return true;
    }
    if (s->auth_failures >= cfg->server.max_auth_failures) {
        why = "max_auth_failures";
        text = "too many failed authentications";
    } else if (s->errors >= cfg->server.max_errors) {
        why = "max_errors";
        text = "too many errors";
    } else if (s->must_auth && !s->authenticated &&
               s->commands >= cfg->server.max_commands_before_auth) {
        why = "max_commands_before_auth";
        text = "too many commands before authentication";
    } else {
        return false;
    }
    log_info("client %s: %s reached, closing", s->env.peer_addr, why);
    session_reply(s, "421 4.7.0 %s Error: %s, closing", cfg->server.hostname, text);
    s->quit = true;
    return true;
}

static void session_describe_peer(struct session *s, const struct sockaddr *peer,
                                  socklen_t peer_len)
{
    if (peer->sa_family == AF_UNIX) {
        snprintf(s->env.peer_addr, sizeof(s->env.peer_addr), "unix");
        return;
    }
    char host[sizeof(s->env.peer_addr) - 8], port[sizeof(s->env.peer_port)];
    if (getnameinfo(peer, peer_len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(host, sizeof(host), "unknown");
        port[0] = '\0';
    }
    /* IPv4-mapped IPv6 peers are shown as IPv4. */
    const char *h =
        strncmp(host, "::ffff:", 7) == 0 && strchr(host + 7, ':') == NULL ? host + 7 : host;
    snprintf(s->env.peer_addr, sizeof(s->env.peer_addr), "%s", h);
    snprintf(s->env.peer_port, sizeof(s->env.peer_port), "%s", port);
}

void session_run(int fd, enum protocol protocol, const struct sockaddr *peer, socklen_t peer_len,
                 int stop_fd)
{
    struct session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return;
    s->rt = runtime_acquire();
    s->cfg = s->rt->cfg;
    s->protocol = protocol;
    s->is_inet = peer->sa_family != AF_UNIX;
    stream_init(&s->st, fd, (int)(s->cfg->server.timeout * 1000), stop_fd);
    envelope_init(&s->env);
    s->env.protocol = protocol;
    session_describe_peer(s, peer, peer_len);
    s->spool = spool_new(s->cfg->server.spool_dir);
    s->deadline = deadline_after_ms((uint64_t)s->cfg->server.session_timeout * 1000);
    /* Past this even a read under way ends (a line sent a byte at a time):
     * one idle timeout after the grace of a transaction under way. */
    uint64_t hard_s = (uint64_t)s->cfg->server.session_timeout + 2ull * s->cfg->server.timeout;
    deadline_watch_add(&s->watch, fd, deadline_after_ms(hard_s * 1000));
    const char *host = s->cfg->server.hostname;

    bool allowed = !s->is_inet ||
                   cidr_list_match(s->cfg->server.allow_from, s->cfg->server.n_allow_from, peer);
    if (!allowed && s->cfg->server.auth) {
        s->must_auth = true;
        session_reply(s, "220 %s %s lmtpscan ready", host,
                      protocol == PROTO_LMTP ? "LMTP" : "ESMTP");
    } else if (!allowed) {
        log_info("client %s not in allow_from: refused", s->env.peer_addr);
        session_reply(s, "554 5.7.1 %s Access denied", host);
        s->quit = true;
    } else {
        session_reply(s, "220 %s %s lmtpscan ready", host,
                      protocol == PROTO_LMTP ? "LMTP" : "ESMTP");
    }

    while (!s->quit) {
        if (session_over_limit(s))
            break;
        if (!stream_has_input(&s->st) && stream_flush(&s->st) != STREAM_OK)
            break;
        size_t len;
        session_bound_wait(s, session_grace_ms(s));
        enum stream_status st = stream_read_line(&s->st, s->line, COMMAND_LINE_MAX, &len);
        session_unbound_wait(s);
        s->commands++;
        if (st == STREAM_TOO_LONG) {
            session_reply(s, "500 5.5.2 Line too long");
            continue;
        }
        if (st == STREAM_STOPPING) {
            /* Between commands: anything not yet acknowledged is retried. */
            session_reply(s, "421 4.3.2 %s Service shutting down", host);
            break;
        }
        if (st == STREAM_TIMEOUT && session_left_ms(s, session_grace_ms(s)) == 0) {
            session_time_up(s);
            break;
        }
        if (st == STREAM_TIMEOUT) {
            log_info("timeout from %s", s->env.peer_addr);
            session_reply(s, "421 4.4.2 %s Error: timeout exceeded", host);
            break;
        }
        if (st != STREAM_OK)
            break;
        session_dispatch(s, s->line, len);
    }
    (void)stream_flush(&s->st);
    auth_server_free(&s->sasl);
    stream_free(&s->st);
    deadline_watch_remove(&s->watch);
    envelope_free(&s->env);
    spool_free(s->spool);
    runtime_release(s->rt);
    free(s);
}
