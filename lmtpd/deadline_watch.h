/*
 * deadline_watch: the hard end of a session. session.c checks
 * session_timeout between commands and bounds each wait for input, but a
 * client that sends a command line a byte at a time is inside one read
 * call; past its hard deadline the watch shuts the reading side of its
 * socket (shutdown SHUT_RD), so that read ends at once as if the client
 * had closed. Replies can still be written. One thread for all sessions,
 * started on first use; it sleeps until the earliest deadline.
 *
 * Public: deadline_watch_add(), deadline_watch_remove(). Thread-safe.
 * Failure: when the thread cannot be started, the watch is logged as off
 * and sessions keep their soft limits only.
 */
#ifndef LMTPSCAN_DEADLINE_WATCH_H
#define LMTPSCAN_DEADLINE_WATCH_H

#include <stdbool.h>
#include <time.h>

/* One watched socket; owned by the session, linked while watched. */
struct deadline_watch {
    int fd;
    struct timespec when; /* CLOCK_MONOTONIC */
    bool fired;
    struct deadline_watch *prev, *next;
};

/* Watches fd until deadline_watch_remove(w); w must stay valid until then. */
void deadline_watch_add(struct deadline_watch *w, int fd, struct timespec when);
/* Stops watching; call before closing fd (the fd is never touched after). */
void deadline_watch_remove(struct deadline_watch *w);

#endif
