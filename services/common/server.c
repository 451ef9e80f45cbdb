/*
 * server.c — libmicrohttpd wiring shared by the services.
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
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "coalesce.h"
#include "conntrack.h"
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "validate.h"

/*
 * Each connection's memory pool: request line, headers, read buffer.
 * libmicrohttpd zeroes the whole pool after every request of a keep-alive
 * connection, so its size is paid per request (64 KB: 5 % of the service's
 * CPU under load).  16 KB holds request headers of about 12 KB, more than
 * the 8 KB nginx and Apache allow; bigger ones get libmicrohttpd's 431
 * (414 for a URL).  Bodies do not use it.
 */
#define CONNECTION_MEMORY (16 * 1024)

#define DEFAULT_MAX_BODY (1024UL * 1024)
#define DEFAULT_MAX_UPLOAD (64UL * 1024 * 1024)
#define DEFAULT_MAX_BATCH_BODY (16UL * 1024 * 1024)	/* 10,000 purchases are ~1.5 MB */
#define SHUTDOWN_GRACE_SECONDS 20
#define DEFAULT_MAX_CONNECTIONS 1000	/* MHD's own ceiling is FD_SETSIZE - 4 = 1020 */
#define DEFAULT_MAX_CONNECTIONS_PER_IP 200
#define DEFAULT_CONNECTION_TIMEOUT 30	/* seconds without any byte moving */
#define DEFAULT_HEADER_TIMEOUT 10	/* seconds to send a request's headers */

struct config
{
	const char *host;
	unsigned	port;
	const char *token;
	size_t		max_body;
	size_t		max_upload;
	size_t		max_batch_body;
	unsigned	threads;
	unsigned	dispatchers;
	unsigned	max_connections;
	unsigned	max_connections_per_ip; /* 0: no per-address limit */
	unsigned	connection_timeout;
	unsigned	header_timeout; /* 0: no header deadline */
};

static const struct service *svc;
static struct config cfg;
static atomic_int inflight;

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

	/* request_defer: the reply is built on a dispatcher thread */
	int			deferred;
	defer_finish finish;
	void	   *finish_arg;
	struct reply deferred_reply;
};

/* ---- built-in routes ---------------------------------------------------- */

static void
handle_healthz(struct request *req, struct reply *rep)
{
	(void) req;
	reply_json(rep, 200, json_pack("{s:s}", "status", "ok"));
}

static void
handle_readyz(struct request *req, struct reply *rep)
{
	struct db_error err;

	(void) req;
	if (db_ping(&err))
		reply_json(rep, 200, json_pack("{s:s,s:s}", "status", "ready", "database", "ok"));
	else
		reply_json(rep, 503, json_pack("{s:s}", "detail", "Database unavailable"));
}

static void
handle_metrics(struct request *req, struct reply *rep)
{
	size_t		len = 0;
	char	   *text = metrics_render(&len);

	(void) req;
	if (text == NULL)
	{
		reply_detail(rep, 500, "Internal Server Error");
		return;
	}
	reply_clear(rep);
	rep->status = 200;
	rep->body = text;
	rep->body_len = len;
	rep->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static const struct route builtin_routes[] = {
	{"GET", "/healthz", handle_healthz, 0},
	{"GET", "/readyz", handle_readyz, 0},
	{"GET", "/metrics", handle_metrics, 0},
};
#define NBUILTIN (sizeof(builtin_routes) / sizeof(builtin_routes[0]))

/* ---- routing ------------------------------------------------------------ */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes [s, s+n) into a new string; NULL on bad escapes, NUL, or a
 * result that is not UTF-8 (PostgreSQL would refuse it with 22021, and no
 * model can have such a name).
 */
static char *
segment_decode(const char *s, size_t n)
{
	char	   *out = malloc(n + 1);
	size_t		o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '%')
		{
			int			a = i + 2 < n ? hexval(s[i + 1]) : -1;
			int			b = i + 2 < n ? hexval(s[i + 2]) : -1;

			/* a truncated escape, a bad digit or an encoded NUL: refuse */
			if (a < 0 || b < 0 || (a == 0 && b == 0))
			{
				free(out);
				return NULL;
			}
			out[o++] = (char) (a * 16 + b);
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	if (!utf8_valid(out, o))
	{
		free(out);
		return NULL;
	}
	return out;
}

/*
 * Does path match pattern?  {x} matches one non-empty segment, which is
 * decoded into params.  Returns 1 on match (params filled), 0 otherwise.
 */
static int
route_match(const char *pattern, const char *path, char **params, int *nparams)
{
	const char *p = pattern;
	const char *u = path;

	*nparams = 0;
	while (*p && *u)
	{
		if (*p == '{')
		{
			const char *seg_end = strchr(u, '/');
			size_t		n = seg_end ? (size_t) (seg_end - u) : strlen(u);
			char	   *v;

			if (n == 0 || *nparams == ROUTE_MAX_PARAMS)
				goto fail;
			v = segment_decode(u, n);
			if (v == NULL)
				goto fail;
			params[(*nparams)++] = v;
			p = strchr(p, '}');
			if (p == NULL)
				goto fail;
			p++;
			u += n;
		}
		else if (*p++ != *u++)
			goto fail;
	}
	if (*p == '\0' && *u == '\0')
		return 1;
fail:
	for (int i = 0; i < *nparams; i++)
		free(params[i]);
	*nparams = 0;
	return 0;
}

/* Finds the route for (method, path); sets early on 404/405. */
static const struct route *
find_route(const char *method, const char *path, struct request *req, enum early *early)
{
	int			path_known = 0;

	for (size_t pass = 0; pass < 2; pass++)
	{
		const struct route *table = pass == 0 ? builtin_routes : svc->routes;
		size_t		n = pass == 0 ? NBUILTIN : svc->nroutes;

		for (size_t i = 0; i < n; i++)
		{
			char	   *params[ROUTE_MAX_PARAMS];
			int			nparams;

			if (!route_match(table[i].pattern, path, params, &nparams))
				continue;
			if (strcmp(table[i].method, method) != 0)
			{
				path_known = 1;
				for (int k = 0; k < nparams; k++)
					free(params[k]);
				continue;
			}
			memcpy(req->params, params, sizeof(params));
			req->nparams = nparams;
			return &table[i];
		}
	}
	*early = path_known ? EARLY_METHOD : EARLY_NOT_FOUND;
	return NULL;
}

/* ---- auth --------------------------------------------------------------- */

/* Compares without an early exit, so timing does not reveal the token. */
static int
token_equal(const char *given, const char *expected)
{
	size_t		gl = strlen(given);
	size_t		el = strlen(expected);
	unsigned char diff = gl != el;

	for (size_t i = 0; i < el; i++)
		diff |= (unsigned char) given[i < gl ? i : 0] ^ (unsigned char) expected[i];
	return diff == 0;
}

static enum early
check_auth(struct MHD_Connection *conn)
{
	const char *h;

	if (cfg.token == NULL)
		return EARLY_NONE;
	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return EARLY_AUTH_MISSING;
	h += 7;
	while (*h == ' ')
		h++;
	return token_equal(h, cfg.token) ? EARLY_NONE : EARLY_AUTH_WRONG;
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
	if (status == 405)
	{
		char		allow[64] = "";

		/* every method registered for this path */
		for (size_t pass = 0; pass < 2; pass++)
		{
			const struct route *table = pass == 0 ? builtin_routes : svc->routes;
			size_t		n = pass == 0 ? NBUILTIN : svc->nroutes;

			for (size_t i = 0; i < n; i++)
			{
				char	   *params[ROUTE_MAX_PARAMS];
				int			np;

				if (!route_match(table[i].pattern, ctx->req.path, params, &np))
					continue;
				for (int k = 0; k < np; k++)
					free(params[k]);
				if (strlen(allow) + strlen(table[i].method) + 3 < sizeof(allow))
				{
					if (allow[0])
						strcat(allow, ", ");
					strcat(allow, table[i].method);
				}
			}
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	}
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
			reply_detail(rep, 413, "Request body too large (limit %zu bytes)", ctx->limit);
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

		ctx->route = find_route(method, url, &ctx->req, &ctx->early);
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
request_header(const struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* ---- configuration and main ------------------------------------------- */

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: %s [--help]\n"
			"%s\n\n"
			"Configuration comes only from the environment:\n"
			"  DATABASE_URL        libpq connection string or URI; when unset libpq's\n"
			"                      PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD... apply\n"
			"  HOST                address to listen on (default 127.0.0.1)\n"
			"  PORT                port to listen on (default %u)\n"
			"  MLPIPE_API_TOKEN    when set, changing endpoints need\n"
			"                      'Authorization: Bearer <token>'\n"
			"  MLPIPE_MAX_BODY     largest JSON body in bytes (default %lu)\n"
			"  MLPIPE_MAX_UPLOAD   largest model upload in bytes (default %lu)\n"
			"  MLPIPE_MAX_BATCH_BODY  largest body of batch endpoints (/predict/batch,\n"
			"                      /purchases) in bytes (default %lu)\n"
			"  MLPIPE_THREADS      worker threads, each with its own database\n"
			"                      connection (default: twice the cores, at least 4)\n"
			"  MLPIPE_DISPATCHERS  threads that run deferred statements (POST /predict),\n"
			"                      each with its own database connection; concurrent\n"
			"                      requests waiting for one share a statement\n"
			"                      (default: one per two cores, at least 1); a standby\n"
			"                      thread takes requests that have waited 20 ms\n"
			"  MLPIPE_MAX_CONNECTIONS  open connections at most (default %u, 1..1000000);\n"
			"                      beyond it new connections are closed at once\n"
			"  MLPIPE_MAX_CONNECTIONS_PER_IP  open connections from one client address\n"
			"                      at most (default %u, 0 = no limit); beyond it new\n"
			"                      connections from that address are closed at once\n"
			"  MLPIPE_CONNECTION_TIMEOUT  seconds a connection may stay without any byte\n"
			"                      sent or received before it is closed (default %u, 1..86400)\n"
			"  MLPIPE_HEADER_TIMEOUT  seconds a client has to send a request's headers\n"
			"                      (from connecting or from the previous answer) before\n"
			"                      the connection is closed (default %u, 0 = off, 1..86400)\n"
			"Sessions run with TimeZone=UTC.  Endpoints /healthz, /readyz and /metrics\n"
			"are always present.  SIGTERM or SIGINT finish requests in flight, then exit.\n"
			"A bad value of any variable is reported on stderr; the exit status is 2.\n",
			svc->name, svc->summary, svc->default_port, DEFAULT_MAX_BODY, DEFAULT_MAX_UPLOAD,
			DEFAULT_MAX_BATCH_BODY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP,
			DEFAULT_CONNECTION_TIMEOUT, DEFAULT_HEADER_TIMEOUT);
}

static int
env_number(const char *name, unsigned long long def, unsigned long long min,
		   unsigned long long max, unsigned long long *out)
{
	const char *v = getenv(name);
	char	   *end;
	unsigned long long x;

	if (v == NULL || *v == '\0')
	{
		*out = def;
		return 0;
	}
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end != '\0' || x < min || x > max || v[0] == '-')
	{
		fprintf(stderr, "%s: %s must be a number between %llu and %llu\n",
				svc->name, name, min, max);
		return -1;
	}
	*out = x;
	return 0;
}

/* Twice the cores, at least 4: see read_config. */
static unsigned long long
default_threads(long cores)
{
	unsigned long long n = cores > 0 ? 2 * (unsigned long long) cores : 4;

	return n < 4 ? 4 : n;
}

static int
read_config(void)
{
	unsigned long long v;
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	cfg.host = getenv("HOST");
	if (cfg.host == NULL || *cfg.host == '\0')
		cfg.host = "127.0.0.1";
	if (env_number("PORT", svc->default_port, 1, 65535, &v) != 0)
		return -1;
	cfg.port = (unsigned) v;
	cfg.token = getenv("MLPIPE_API_TOKEN");
	if (cfg.token && *cfg.token == '\0')
		cfg.token = NULL;
	if (env_number("MLPIPE_MAX_BODY", DEFAULT_MAX_BODY, 1, 1ULL << 32, &v) != 0)
		return -1;
	cfg.max_body = v;
	if (env_number("MLPIPE_MAX_UPLOAD", DEFAULT_MAX_UPLOAD, 1, 1ULL << 32, &v) != 0)
		return -1;
	cfg.max_upload = v;
	if (env_number("MLPIPE_MAX_BATCH_BODY", DEFAULT_MAX_BATCH_BODY, 1, 1ULL << 32, &v) != 0)
		return -1;
	cfg.max_batch_body = v;
	/*
	 * A worker blocks while the database answers, so one per core leaves
	 * cores idle: with 2 threads and 8 clients on 2 cores /predict served
	 * 3,600 requests/s, with 4 threads 13,600.
	 */
	if (env_number("MLPIPE_THREADS", default_threads(cores), 1, 1024, &v) != 0)
		return -1;
	cfg.threads = (unsigned) v;
	/*
	 * One dispatcher per two cores: on 2 cores one dispatcher served
	 * /predict at 32 connections 10-20 % faster than two, whose batches were
	 * smaller (6 requests on average instead of 10).
	 */
	if (env_number("MLPIPE_DISPATCHERS", cores > 2 ? (unsigned long long) cores / 2 : 1, 1, 1024, &v) != 0)
		return -1;
	cfg.dispatchers = (unsigned) v;
	if (env_number("MLPIPE_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, 1, 1000000, &v) != 0)
		return -1;
	cfg.max_connections = (unsigned) v;
	if (env_number("MLPIPE_MAX_CONNECTIONS_PER_IP", DEFAULT_MAX_CONNECTIONS_PER_IP, 0, 1000000,
				   &v) != 0)
		return -1;
	cfg.max_connections_per_ip = (unsigned) v;
	if (env_number("MLPIPE_CONNECTION_TIMEOUT", DEFAULT_CONNECTION_TIMEOUT, 1, 86400, &v) != 0)
		return -1;
	cfg.connection_timeout = (unsigned) v;
	if (env_number("MLPIPE_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT, 0, 86400, &v) != 0)
		return -1;
	cfg.header_timeout = (unsigned) v;
	return 0;
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
	struct coalesce_counts counts;

	svc = service;
	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		{
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "%s: unknown argument '%s'\n", svc->name, argv[i]);
		usage(stderr);
		return 2;
	}
	if (read_config() != 0)
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
		fprintf(stderr, "%s: cannot start the header deadline thread\n", svc->name);
		freeaddrinfo(ai);
		return 1;
	}
	if (coalesce_start(cfg.dispatchers) != 0)
	{
		fprintf(stderr, "%s: cannot start the database dispatcher threads\n", svc->name);
		conntrack_stop();
		freeaddrinfo(ai);
		return 1;
	}
	d = MHD_start_daemon(flags, (uint16_t) cfg.port, conntrack_accept, NULL, on_request, NULL,
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
		fprintf(stderr, "%s: cannot listen on %s:%u: %s\n", svc->name, cfg.host,
				cfg.port, strerror(errno));
		coalesce_stop();
		conntrack_stop();
		return 1;
	}
	fprintf(stderr, "{\"level\":\"info\",\"service\":\"%s\",\"msg\":\"listening\",\"host\":\"%s\",\"port\":%u,\"threads\":%u,\"dispatchers\":%u,"
			"\"max_connections\":%u,\"max_connections_per_ip\":%u,\"connection_timeout\":%u,\"header_timeout\":%u}\n",
			svc->name, cfg.host, cfg.port, cfg.threads, cfg.dispatchers, cfg.max_connections,
			cfg.max_connections_per_ip, cfg.connection_timeout, cfg.header_timeout);

	sigwait(&sigs, &sig);

	/*
	 * Stop accepting, let requests in flight finish (bounded), then stop.
	 * MHD_stop_daemon alone would cut responses still being written.
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
	coalesce_counts(&counts);
	fprintf(stderr, "{\"level\":\"info\",\"service\":\"%s\",\"msg\":\"stopped\",\"signal\":%d,\"header_deadline_cuts\":%lu,\"refused_over_limit\":%lu,"
			"\"db_batches\":%llu,\"db_batched_requests\":%llu,\"db_batch_fallbacks\":%llu,\"db_standby_takeovers\":%llu}\n",
			svc->name, sig, conntrack_cuts(), conntrack_refused(), counts.batches,
			counts.batched_jobs, counts.fallbacks, counts.standby);
	return 0;
}
