/*
 * conntrack.h — tracking open connections: a total limit that refuses at
 * once, and a deadline for a request's headers (slowloris defence).
 *
 * libmicrohttpd 0.9.75 stops watching the listening socket when it reaches
 * MHD_OPTION_CONNECTION_LIMIT, so clients beyond it hang in the kernel's
 * listen queue; and its timeout is an inactivity timeout only, so a client
 * sending one header byte every few seconds keeps its connection forever.
 * This module counts connections (MHD_OPTION_NOTIFY_CONNECTION), refuses
 * new ones beyond the limit in the accept policy callback (MHD closes them
 * at once), and runs a watchdog thread that shuts down (shutdown(2), never
 * close(2): the socket stays MHD's) connections whose request has not
 * reached the access handler within the header deadline.
 */
#ifndef MLPIPE_CONNTRACK_H
#define MLPIPE_CONNTRACK_H

#include <sys/socket.h>
#include <microhttpd.h>

/*
 * Sets the limits and starts the watchdog (header_seconds == 0: no header
 * deadline, no thread).  0 or -1.
 */
int			conntrack_start(unsigned max_connections, unsigned header_seconds);

/* Stops the watchdog thread (after MHD_stop_daemon). */
void		conntrack_stop(void);

/* The MHD_AcceptPolicyCallback: MHD_NO when max_connections are open. */
enum MHD_Result conntrack_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);

/* The MHD_OPTION_NOTIFY_CONNECTION callback. */
void		conntrack_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
							 enum MHD_ConnectionNotificationCode code);

/* The connection's request reached the access handler: no deadline now. */
void		conntrack_reached(struct MHD_Connection *conn);

/* The request finished; a keep-alive connection waits for the next headers. */
void		conntrack_rearm(struct MHD_Connection *conn);

/* Connections open now. */
unsigned	conntrack_open(void);

/* Connections shut down by the watchdog, refused by the limit (for the log). */
unsigned long conntrack_cuts(void);
unsigned long conntrack_refused(void);

#endif
