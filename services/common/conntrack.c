/*
 * conntrack.c — open connections: the MLPIPE_MAX_CONNECTIONS limit, and the
 * header deadline that shuts down connections whose request has not reached
 * the access handler within MLPIPE_HEADER_TIMEOUT seconds.
 *
 * The limit: every connection is counted between MHD's STARTED and CLOSED
 * notifications; the accept policy callback, which MHD calls right after
 * accept(), refuses a new one while max_connections are open, and MHD then
 * closes it at once.  (MHD's own MHD_OPTION_CONNECTION_LIMIT is set higher,
 * see server.c: at that limit MHD would stop accepting and leave clients
 * hanging in the listen queue.)  Several pool threads may accept at the same
 * moment, so the count can pass the limit by up to threads - 1.
 *
 * Why shutting down a socket we do not own is safe here: libmicrohttpd
 * (0.9.5x through 1.0, 0.9.75 included) calls the NOTIFY_CONNECTION
 * callback with MHD_CONNECTION_NOTIFY_CLOSED *before* it closes the
 * connection's socket, on the thread that then closes it (in
 * MHD_cleanup_connections, and on the failure path of adding a new
 * connection).  Our CLOSED callback takes the mutex the watchdog holds
 * while it looks at and shuts down a socket, and removes the entry.  So
 * while the watchdog holds the mutex and sees an entry, the socket's close()
 * has not happened yet: the descriptor cannot have been reused for another
 * connection (or a database socket).  As a second guard, the watchdog only
 * shuts a descriptor down when fstat() still shows the socket inode recorded
 * when the connection started.  And it only ever calls shutdown(), never
 * close(): MHD sees end-of-file and closes the connection the normal way
 * (request-completed callback, per-IP count, CLOSED notification).
 *
 * Keep-alive: when a request completes, the next request's headers get a
 * fresh deadline, so an idle keep-alive connection is closed after the
 * header deadline (when shorter than the inactivity timeout).  A request
 * body is not covered: once the headers are in, only MHD's inactivity
 * timeout and the body limits apply.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "conntrack.h"

struct tracked
{
	struct tracked *prev;
	struct tracked *next;
	MHD_socket	fd;
	dev_t		dev;			/* which socket fd was when the connection began */
	ino_t		ino;
	struct timespec since;		/* CLOCK_MONOTONIC: start of the wait for headers */
	int			waiting;		/* headers not yet complete */
	int			cut;			/* shut down already */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static struct tracked *head;
static unsigned deadline_seconds;
static int	stopping;
static int	started;
static pthread_t watchdog;
static unsigned long ncuts;
static unsigned max_open;
static atomic_uint nopen;
static atomic_ulong nrefused;

static double
seconds_since(const struct timespec *t, const struct timespec *now)
{
	return (now->tv_sec - t->tv_sec) + (now->tv_nsec - t->tv_nsec) / 1e9;
}

/* Called with lock held. */
static void
cut_late(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (struct tracked *t = head; t; t = t->next)
	{
		struct stat st;

		if (!t->waiting || t->cut || seconds_since(&t->since, &now) < deadline_seconds)
			continue;
		t->cut = 1;
		if (fstat(t->fd, &st) == 0 && st.st_dev == t->dev && st.st_ino == t->ino)
		{
			shutdown(t->fd, SHUT_RDWR);
			ncuts++;
		}
	}
}

static void *
watchdog_main(void *arg)
{
	(void) arg;
	pthread_mutex_lock(&lock);
	while (!stopping)
	{
		struct timespec until;

		/* once a second is enough: the deadline is whole seconds */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&wake, &lock, &until);
		if (!stopping)
			cut_late();
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
conntrack_start(unsigned max_connections, unsigned header_seconds)
{
	pthread_condattr_t attr;
	sigset_t	all,
				old;
	int			rc;

	max_open = max_connections;
	deadline_seconds = header_seconds;
	if (header_seconds == 0)
		return 0;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&wake, &attr);
	pthread_condattr_destroy(&attr);
	/* the watchdog must not take SIGTERM/SIGINT from the main thread's sigwait */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&watchdog, NULL, watchdog_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	started = 1;
	return 0;
}

void
conntrack_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(watchdog, NULL);
	started = 0;
}

enum MHD_Result
conntrack_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	(void) cls;
	(void) addr;
	(void) addrlen;
	if (atomic_load(&nopen) < max_open)
		return MHD_YES;
	atomic_fetch_add(&nrefused, 1);
	return MHD_NO;
}

void
conntrack_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
					   enum MHD_ConnectionNotificationCode code)
{
	struct tracked *t;

	(void) cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
	{
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct stat st;

		atomic_fetch_add(&nopen, 1);
		*socket_context = NULL;
		if (deadline_seconds == 0 || ci == NULL || fstat(ci->connect_fd, &st) != 0 || (t = calloc(1, sizeof(*t))) == NULL)
			return;				/* untracked: only the inactivity timeout applies */
		t->fd = ci->connect_fd;
		t->dev = st.st_dev;
		t->ino = st.st_ino;
		t->waiting = 1;
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		pthread_mutex_lock(&lock);
		t->next = head;
		if (head)
			head->prev = t;
		head = t;
		pthread_mutex_unlock(&lock);
		*socket_context = t;
		return;
	}
	/* MHD_CONNECTION_NOTIFY_CLOSED: the socket is still open (see above) */
	atomic_fetch_sub(&nopen, 1);
	t = *socket_context;
	if (t == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&lock);
	free(t);
	*socket_context = NULL;
}

static struct tracked *
tracked_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	if (deadline_seconds == 0)
		return NULL;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void
conntrack_reached(struct MHD_Connection *conn)
{
	struct tracked *t = tracked_of(conn);

	if (t == NULL)
		return;
	pthread_mutex_lock(&lock);
	t->waiting = 0;
	pthread_mutex_unlock(&lock);
}

void
conntrack_rearm(struct MHD_Connection *conn)
{
	struct tracked *t = tracked_of(conn);

	if (t == NULL)
		return;
	pthread_mutex_lock(&lock);
	t->waiting = 1;
	clock_gettime(CLOCK_MONOTONIC, &t->since);
	pthread_mutex_unlock(&lock);
}

unsigned
conntrack_open(void)
{
	return atomic_load(&nopen);
}

unsigned long
conntrack_cuts(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = ncuts;
	pthread_mutex_unlock(&lock);
	return n;
}

unsigned long
conntrack_refused(void)
{
	return atomic_load(&nrefused);
}
