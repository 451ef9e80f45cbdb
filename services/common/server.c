/*
 * server.c — libmicrohttpd wiring shared by the services: the daemon's
 * life, request bodies, authentication and deferred answers.  What the
 * environment says is config.c's; which handler a path reaches, router.c's.
 *
 * Threading: MHD runs MLPIPE_THREADS pool threads, each with its own epoll
 * set; handlers run on those threads and may block on PostgreSQL (each
 * thread has its own connection, see db.c).  A handler may instead defer
 * its statement (request_defer): the connection is suspended, a dispatcher
 * thread of the coalescer runs it, possibly together with others, builds
 * the reply and resumes the connection, whose last callback then sends it.
 *
 * Request life: the first callback matches the route and decides early what
 * cannot succeed (unknown route, wrong method, bad token, declared body too
 * large) so that such bodies are discarded instead of buffered; later
 * callbacks append body bytes up to the route's limit; the last one answers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "coalesce.h"
#include "config.h"
#include "conntrack.h"
#include "log.h"
#include "metrics.h"
#include "openapi_check.h"
#include "router.h"
#include "service.h"
#include "web.h"

/*
 * Each connection's memory pool: request line, headers, read buffer.
 * libmicrohttpd zeroes the whole pool after every request of a keep-alive
 * connection, so its size is paid per request (64 KB: 5 % of the service's
 * CPU under load).  16 KB holds request headers of about 12 KB, more than
 * the 8 KB nginx and Apache allow; bigger ones get libmicrohttpd's 431
 * (414 for a URL).  Bodies do not use it.
 */
#define CONNECTION_MEMORY (16 * 1024)

#define SHUTDOWN_GRACE_SECONDS 20

static const struct service *svc;
static struct config cfg;
/* the built-in routes, /openapi.json and /docs, then the service's */
#define NTABLES 3
static struct route_table tables[NTABLES];
static atomic_int inflight;
static atomic_int stopping;		/* a signal came: every answer closes its connection */

/* status decided in the first callback, before the body arrives */
enum early
{
	EARLY_NONE = 0,
	EARLY_NOT_FOUND,
	EARLY_METHOD,
	EARLY_AUTH_MISSING,
	EARLY_AUTH_WRONG,
	EARLY_TOO_LARGE
};

struct req_ctx
{
	struct timespec start;
	const struct route *route;
	struct request req;
	enum early early;
	char	   *body;
	size_t		len;
	size_t		cap;
	size_t		limit;
	size_t		declared;		/* Content-Length when given, else 0 */
	char		allow[ROUTE_ALLOW_MAX]; /* 405: the methods the path has */

	/* request_defer: the reply is built on a dispatcher thread */
	int			deferred;
	defer_finish finish;
	void	   *finish_arg;
	struct reply deferred_reply;
};

/* The bearer token of a changing route, when one is configured. */
static enum early
check_auth(struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
												MHD_HTTP_HEADER_AUTHORIZATION);

	switch (auth_check(h, cfg.token))
	{
		case AUTH_MISSING:
			return EARLY_AUTH_MISSING;
		case AUTH_WRONG:
			return EARLY_AUTH_WRONG;
		default:
			return EARLY_NONE;
	}
}

/* ---- MHD callbacks ------------------------------------------------------ */

static double
elapsed_seconds(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct req_ctx *ctx, struct reply *rep)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned	status;
	double		secs;

	if (rep->body == NULL || rep->status < 100 || rep->status > 599)
		reply_detail(rep, 500, "Internal Server Error");	/* a handler bug, not a crash */
	status = rep->status;
	resp = MHD_create_response_from_buffer(rep->body_len, rep->body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
	{
		reply_clear(rep);
		return MHD_NO;
	}
	rep->body = NULL;			/* now owned by MHD */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
							rep->content_type ? rep->content_type : "application/json");
	if (rep->disposition)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, rep->disposition);
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	/* keep-alive clients would keep the requests coming through the grace period */
	if (atomic_load(&stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (status == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, ctx->allow);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	reply_clear(rep);

	secs = elapsed_seconds(&ctx->start);
	metrics_observe(ctx->route ? ctx->route->pattern : "unmatched", status, secs);
	log_request(svc->name, ctx->req.method, ctx->req.path, status, secs * 1000.0);
	return ret;
}

static void
answer_early(struct req_ctx *ctx, struct reply *rep)
{
	switch (ctx->early)
	{
		case EARLY_NOT_FOUND:
			reply_detail(rep, 404, "Not Found");
			break;
		case EARLY_METHOD:
			reply_detail(rep, 405, "Method Not Allowed");
			break;
		case EARLY_AUTH_MISSING:
			reply_detail(rep, 401, "Not authenticated");
			break;
		case EARLY_AUTH_WRONG:
			reply_detail(rep, 401, "Invalid token");
			break;
		case EARLY_TOO_LARGE:
			/* the setting that raises this route's limit, named */
			reply_detail(rep, 413, "Request body too large (limit %zu bytes; %s raises it)", ctx->limit,
						 ctx->route && (ctx->route->flags & ROUTE_UPLOAD) ? "MLPIPE_MAX_UPLOAD" :
						 ctx->route && (ctx->route->flags & ROUTE_BULK) ? "MLPIPE_MAX_BATCH_BODY" :
						 "MLPIPE_MAX_BODY");
			break;
		case EARLY_NONE:
			break;
	}
}

static int
body_append(struct req_ctx *ctx, const char *data, size_t n)
{
	if (n > ctx->limit - ctx->len)
		return -1;
	if (ctx->len + n + 1 > ctx->cap)
	{
		size_t		ncap = ctx->cap ? ctx->cap : 16384;
		char	   *p;

		/*
		 * A small declared body gets exactly its size: a 16 KB buffer for a
		 * 200-byte /predict made malloc consolidate its free lists every time.
		 * A big one still grows with what arrives, never with what a header
		 * claims.
		 */
		if (ctx->cap == 0 && ctx->declared > 0 && ctx->declared < 16384)
			ncap = ctx->declared + 1;

		while (ncap < ctx->len + n + 1)
			ncap *= 2;
		if (ncap > ctx->limit + 1)
			ncap = ctx->limit + 1;
		p = realloc(ctx->body, ncap);
		if (p == NULL)
			return -1;
		ctx->body = p;
		ctx->cap = ncap;
	}
	memcpy(ctx->body + ctx->len, data, n);
	ctx->len += n;
	ctx->body[ctx->len] = '\0';
	return 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
		   const char *method, const char *version, const char *upload_data,
		   size_t *upload_data_size, void **con_cls)
{
	struct req_ctx *ctx = *con_cls;
	struct reply rep = {0};

	(void) cls;
	(void) version;
	if (ctx == NULL)
	{
		const char *cl;

		/* the headers are complete: the header deadline no longer applies */
		conntrack_reached(conn);
		ctx = calloc(1, sizeof(*ctx));
		if (ctx == NULL)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &ctx->start);
		ctx->req.method = method;
		ctx->req.path = url;
		ctx->req.conn = conn;
		*con_cls = ctx;
		atomic_fetch_add(&inflight, 1);

		/* HEAD is GET without the body (libmicrohttpd drops it) */
		ctx->route = router_find(tables, NTABLES, strcmp(method, "HEAD") == 0 ? "GET" : method,
								 url, ctx->req.params, &ctx->req.nparams, ctx->allow);
		if (ctx->route == NULL)
			ctx->early = ctx->allow[0] ? EARLY_METHOD : EARLY_NOT_FOUND;
		ctx->limit = cfg.max_body;
		if (ctx->route && (ctx->route->flags & ROUTE_UPLOAD))
			ctx->limit = cfg.max_upload;
		else if (ctx->route && (ctx->route->flags & ROUTE_BULK))
			ctx->limit = cfg.max_batch_body;
		if (ctx->route && (ctx->route->flags & ROUTE_AUTH))
			ctx->early = check_auth(conn);
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl)
			ctx->declared = strtoull(cl, NULL, 10);
		if (ctx->early == EARLY_NONE && ctx->declared > ctx->limit)
			ctx->early = EARLY_TOO_LARGE;

		/*
		 * A client waiting for "100 Continue" has sent nothing yet: answer
		 * now rather than make it upload a body we will throw away.
		 */
		if (ctx->early != EARLY_NONE &&
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT))
		{
			answer_early(ctx, &rep);
			return send_reply(conn, ctx, &rep);
		}
		return MHD_YES;
	}

	if (*upload_data_size > 0)
	{
		if (ctx->early == EARLY_NONE && body_append(ctx, upload_data, *upload_data_size) != 0)
		{
			ctx->early = EARLY_TOO_LARGE;
			free(ctx->body);
			ctx->body = NULL;
			ctx->len = ctx->cap = 0;
		}
		*upload_data_size = 0;	/* consumed (or discarded) */
		return MHD_YES;
	}

	/* resumed: the dispatcher has built the reply */
	if (ctx->deferred)
		return send_reply(conn, ctx, &ctx->deferred_reply);

	if (ctx->early != EARLY_NONE)
		answer_early(ctx, &rep);
	else
	{
		ctx->req.body = ctx->body ? ctx->body : "";
		ctx->req.body_len = ctx->len;
		ctx->route->handler(&ctx->req, &rep);
		if (ctx->deferred)
			return MHD_YES;		/* suspended until the database answers */
	}
	return send_reply(conn, ctx, &rep);
}

/* The handler's finish() builds rep from the job's outcome; the job is freed. */
static void
finish_job(struct coalesce_job *job, defer_finish finish, void *arg, struct reply *rep)
{
	finish(arg, job->failed ? NULL : job->result, job->failed ? &job->err : NULL, rep);
	free(job->result);
	free(job);
}

/* On a dispatcher thread: the statement is done; reply, then wake the connection. */
static void
deferred_complete(struct coalesce_job *job)
{
	struct req_ctx *ctx = job->owner;

	finish_job(job, ctx->finish, ctx->finish_arg, &ctx->deferred_reply);
	MHD_resume_connection(ctx->req.conn);
}

int
request_defer(struct request *req, struct reply *rep, int stmt, int batch_stmt,
			  const char *const *values, int nvalues, defer_finish finish, void *arg)
{
	/* every request a handler sees is the one inside its req_ctx */
	struct req_ctx *ctx = (struct req_ctx *) ((char *) req - offsetof(struct req_ctx, req));
	struct coalesce_job *job = coalesce_job_new(stmt, batch_stmt, values, nvalues);

	if (job == NULL)
	{
		reply_detail(rep, 500, "Internal Server Error");
		return -1;
	}
	/*
	 * The only connection of the whole service: run it here.  Only then: a
	 * thread busy with one statement cannot queue the requests waiting
	 * unread on its other connections, which would then each run alone
	 * too (32 connections on one HTTP thread got 4,100 requests/s so,
	 * instead of 16,500).
	 */
	if (conntrack_open() == 1 && coalesce_run_alone(job))
	{
		finish_job(job, finish, arg, rep);
		return 0;
	}
	job->complete = deferred_complete;
	job->owner = ctx;
	ctx->finish = finish;
	ctx->finish_arg = arg;
	ctx->deferred = 1;
	/* suspended first: the job may be done before this handler returns */
	MHD_suspend_connection(req->conn);
	coalesce_submit(job);
	return 0;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *ctx = *con_cls;

	(void) cls;
	(void) toe;
	/* a keep-alive connection now waits for the next request's headers */
	conntrack_rearm(conn);
	if (ctx == NULL)
		return;
	for (int i = 0; i < ctx->req.nparams; i++)
		free(ctx->req.params[i]);
	free(ctx->body);
	free(ctx);
	*con_cls = NULL;
	atomic_fetch_sub(&inflight, 1);
}

/* Keep the path raw: route_match decodes each segment, so %2F stays inside one. */
static size_t
no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void) cls;
	(void) c;
	return strlen(s);
}

const char *
request_query(const struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
request_header(const struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* The last line: what the connection guards and the coalescer did. */
static void
log_stopped(int sig)
{
	struct coalesce_counts counts;

	coalesce_counts(&counts);
	{
		struct log_field f[] = {
			LOG_NUM("signal", sig), LOG_NUM("header_deadline_cuts", conntrack_cuts()),
			LOG_NUM("refused_over_limit", conntrack_refused()),
			LOG_NUM("db_batches", counts.batches),
			LOG_NUM("db_batched_requests", counts.batched_jobs),
			LOG_NUM("db_batch_fallbacks", counts.fallbacks),
			LOG_NUM("db_standby_takeovers", counts.standby),
		};

		log_event("info", "stopped", f, sizeof(f) / sizeof(f[0]));
	}
}

/*
 * --check-openapi [FILE]: the routes answered and the embedded document (or
 * FILE: the api suite's self-test gives it a document with a path missing)
 * agree.
 */
static int
check_openapi(const char *file)
{
	const char *doc = service_openapi;
	size_t		len = (size_t) (service_openapi_end - service_openapi);
	char	   *text = NULL;
	int			diffs;

	if (file)
	{
		FILE	   *f = fopen(file, "r");

		text = malloc(4 << 20);
		len = f && text ? fread(text, 1, 4 << 20, f) : 0;
		if (f)
			fclose(f);
		doc = text ? text : "";
	}
	diffs = openapi_route_diff(doc, len, tables, NTABLES, stdout);
	free(text);
	if (diffs < 0)
		printf("%s: the OpenAPI document is not JSON with \"paths\"\n", svc->name);
	else if (diffs == 0)
		printf("%s: the OpenAPI document and the routes agree\n", svc->name);
	return diffs == 0 ? 0 : 1;
}

int
service_main(const struct service *service, int argc, char **argv)
{
	struct addrinfo hints = {0};
	struct addrinfo *ai = NULL;
	char		portstr[8];
	struct MHD_Daemon *d;
	sigset_t	sigs;
	int			sig = 0;
	unsigned	flags;

	svc = service;
	log_init(svc->name);
	tables[0] = (struct route_table) {builtin_routes, builtin_nroutes};
	tables[1] = (struct route_table) {web_routes, web_nroutes};
	tables[2] = (struct route_table) {svc->routes, svc->nroutes};
	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		{
			config_usage(svc, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--check-openapi") == 0)
			return check_openapi(i + 1 < argc ? argv[i + 1] : NULL);
		fprintf(stderr, "%s: unknown argument '%s'\n", svc->name, argv[i]);
		config_usage(svc, stderr);
		return 2;
	}
	if (config_read(svc, &cfg) != 0)
		return 2;
	if (db_init(svc->name, svc->statements, (int) svc->nstatements) != 0)
		return 2;

	snprintf(portstr, sizeof(portstr), "%u", cfg.port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(cfg.host, portstr, &hints, &ai) != 0 || ai == NULL)
	{
		fprintf(stderr, "%s: cannot resolve HOST '%s'\n", svc->name, cfg.host);
		return 2;
	}
	/* from here on, everything is a log line (the settings were the person's to fix) */
	if (cfg.log_file && log_open(cfg.log_file, cfg.log_max_bytes) != 0)
	{
		fprintf(stderr, "%s: cannot open MLPIPE_LOG_FILE '%s': %s\n", svc->name, cfg.log_file,
				strerror(errno));
		freeaddrinfo(ai);
		return 2;
	}

	/* workers inherit this mask; only the main thread takes the signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
		MHD_ALLOW_SUSPEND_RESUME;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (conntrack_start(cfg.max_connections, cfg.header_timeout) != 0)
	{
		log_event("error", "cannot start the header deadline thread", NULL, 0);
		freeaddrinfo(ai);
		return 1;
	}
	if (coalesce_start(cfg.dispatchers) != 0)
	{
		log_event("error", "cannot start the database dispatcher threads", NULL, 0);
		conntrack_stop();
		freeaddrinfo(ai);
		return 1;
	}
	d = MHD_start_daemon(flags, (uint16_t) cfg.port, conntrack_accept, NULL, on_request, NULL,
	/* first: the options after it may already have something to say */
						 MHD_OPTION_EXTERNAL_LOGGER, log_vprintf, NULL,
						 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
						 MHD_OPTION_THREAD_POOL_SIZE, cfg.threads,
						 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
						 MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
						 MHD_OPTION_CONNECTION_TIMEOUT, cfg.connection_timeout,
						 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY,
						 MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
	/*
	 * Bounds on connections: over them new connections are accepted and
	 * closed at once, so a flood of idle sockets neither exhausts
	 * descriptors nor leaves clients hanging in the listen queue.  The total
	 * is conntrack_accept's (MHD's own limit, split between the pool threads,
	 * would stop accepting instead: it is set twice as high, out of the way);
	 * the per-address count is MHD's, shared by the pool.
	 */
						 MHD_OPTION_NOTIFY_CONNECTION, conntrack_notify, NULL,
						 MHD_OPTION_CONNECTION_LIMIT, cfg.max_connections * 2 + cfg.threads,
						 MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg.max_connections_per_ip,
	/* refuse requests without Host, or with a header without a name or colon */
						 MHD_OPTION_STRICT_FOR_CLIENT, (int) 1,
						 MHD_OPTION_END);
	freeaddrinfo(ai);
	if (d == NULL)
	{
		struct log_field f[] = {LOG_STR("host", cfg.host), LOG_NUM("port", cfg.port),
		LOG_STR("error", strerror(errno))};

		log_event("error", "cannot listen", f, 3);
		coalesce_stop();
		conntrack_stop();
		return 1;
	}
	config_log(&cfg);

	sigwait(&sigs, &sig);
	atomic_store(&stopping, 1);

	/*
	 * Stop accepting, let requests in flight finish (bounded), then stop.
	 * MHD_stop_daemon alone would cut responses still being written.  Every
	 * answer from now on closes its connection, so keep-alive clients go.
	 * Whatever still arrives on an open connection after coalesce_stop()
	 * runs on its HTTP thread (coalesce_submit), so no connection is left
	 * suspended: MHD_stop_daemon aborts the process if one is.
	 */
	{
		MHD_socket	lsock = MHD_quiesce_daemon(d);

		if (lsock != MHD_INVALID_SOCKET)
			close(lsock);
	}
	for (int waited = 0; atomic_load(&inflight) > 0 && waited < SHUTDOWN_GRACE_SECONDS * 10; waited++)
	{
		struct timespec ts = {0, 100 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	/* past the grace period: answer what is still queued before stopping */
	coalesce_stop();
	MHD_stop_daemon(d);
	conntrack_stop();
	log_stopped(sig);
	return 0;
}
