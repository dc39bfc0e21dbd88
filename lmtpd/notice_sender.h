/*
 * notice_sender: the daemon's thread that sends the notices queued in
 * [notify] queue_dir (SPEC section 13), with the configuration
 * generation current at each pass. A pass sends every queued file,
 * oldest name first; while the server is unreachable or answers 4xx the
 * next pass waits 5 s, then twice as long each time, at most 10 minutes
 * (one success resets it). A new notice wakes the thread unless it is
 * backing off. Queued files survive a restart and go out on the first
 * pass. Thread-safe.
 */
#ifndef LMTPSCAN_NOTICE_SENDER_H
#define LMTPSCAN_NOTICE_SENDER_H

#define NOTICE_RETRY_FIRST 5    /* seconds */
#define NOTICE_RETRY_MAX   600  /* seconds */
#define NOTICE_PASS_MAX    1000 /* files looked at per pass */

/* Starts the thread. 0, or -1 (logged). */
int notice_sender_start(void);
/* A notice was queued: send it soon. */
void notice_sender_wake(void);
/* Stops the thread (after the send in progress, if any). */
void notice_sender_stop(void);

#endif
