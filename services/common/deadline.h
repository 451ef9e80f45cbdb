/*
 * deadline.h — a deadline for a request's headers (slowloris defence).
 *
 * libmicrohttpd 0.9.75 only has an inactivity timeout: a client sending one
 * header byte every few seconds keeps its connection forever.  This module
 * tracks every connection (MHD_OPTION_NOTIFY_CONNECTION) and a watchdog
 * thread shuts down (shutdown(2), never close(2): the socket stays MHD's)
 * those whose request has not reached the access handler within the
 * deadline.  MHD then sees end-of-file and closes the connection itself.
 */
#ifndef MLPIPE_DEADLINE_H
#define MLPIPE_DEADLINE_H

#include <microhttpd.h>

/* Starts the watchdog; seconds == 0 leaves everything off.  0 or -1. */
int			header_deadline_start(unsigned seconds);

/* Stops the watchdog thread (after MHD_stop_daemon). */
void		header_deadline_stop(void);

/* The MHD_OPTION_NOTIFY_CONNECTION callback. */
void		header_deadline_notify(void *cls, struct MHD_Connection *conn,
								   void **socket_context,
								   enum MHD_ConnectionNotificationCode code);

/* The connection's request reached the access handler: no deadline now. */
void		header_deadline_reached(struct MHD_Connection *conn);

/* The request finished; a keep-alive connection waits for the next headers. */
void		header_deadline_rearm(struct MHD_Connection *conn);

/* Connections shut down by the watchdog so far (for the log). */
unsigned long header_deadline_cuts(void);

#endif
