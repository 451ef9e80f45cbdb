/*
 * config.c — reading the services' environment (see config.h) and the
 * --help text that documents it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "readiness.h"

#define DEFAULT_MAX_BODY (1024UL * 1024)
#define DEFAULT_MAX_UPLOAD (64UL * 1024 * 1024)
/* PostgreSQL's MaxAllocSize: no bytea, text or jsonb value is larger */
#define MAX_BODY_LIMIT ((size_t) 0x3fffffff)
#define DEFAULT_MAX_BATCH_BODY (16UL * 1024 * 1024)	/* 10,000 purchases are ~1.5 MB */
#define DEFAULT_MAX_CONNECTIONS 1000	/* MHD's own ceiling is FD_SETSIZE - 4 = 1020 */
#define DEFAULT_MAX_CONNECTIONS_PER_IP 200
#define DEFAULT_CONNECTION_TIMEOUT 30	/* seconds without any byte moving */
#define DEFAULT_LOG_MAX_BYTES (64ULL * 1024 * 1024)
#define DEFAULT_HEADER_TIMEOUT 10	/* seconds to send a request's headers */

/* The union of the flags of svc's routes: which settings it reads. */
static int
route_flags(const struct service *svc)
{
	int			flags = 0;

	for (size_t i = 0; i < svc->nroutes; i++)
		flags |= svc->routes[i].flags;
	return flags;
}

/* Lists only what this service reads: the token, upload, batch and dispatcher settings are not everyone's. */
void
config_usage(const struct service *svc, FILE *out)
{
	int			flags = route_flags(svc);

	fprintf(out,
			"Usage: %s [--help | --check-openapi [FILE]]\n"
			"%s\n\n"
			"--check-openapi compares the routes with the embedded OpenAPI document (or\n"
			"FILE) and lists every difference; exit status 1 when there is one.\n\n"
			"Configuration comes only from the environment:\n"
			"  DATABASE_URL        libpq connection string or URI; when unset libpq's\n"
			"                      PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD... apply;\n"
			"                      several hosts fail over: 'host=a,b port=5432,5432\n"
			"                      target_session_attrs=read-write' (or prefer-standby)\n"
			"  MLPIPE_MAX_REPLICA_LAG  on a hot standby, /readyz answers 503 past this\n"
			"                      replay lag in seconds (default 30, 0 = no limit)\n"
			"  HOST                address to listen on (default 127.0.0.1)\n"
			"  PORT                port to listen on (default %u)\n",
			svc->name, svc->summary, svc->default_port);
	if (flags & ROUTE_AUTH)
		fprintf(out,
				"  MLPIPE_API_TOKEN    when set, changing endpoints need\n"
				"                      'Authorization: Bearer <token>'\n");
	fprintf(out, "  MLPIPE_MAX_BODY     largest JSON body in bytes (default %lu)\n", DEFAULT_MAX_BODY);
	if (flags & ROUTE_UPLOAD)
		fprintf(out, "  MLPIPE_MAX_UPLOAD   largest model upload in bytes (default %lu)\n",
				DEFAULT_MAX_UPLOAD);
	if (flags & ROUTE_BULK)
		fprintf(out, "  MLPIPE_MAX_BATCH_BODY  largest body of the batch endpoints in bytes\n"
				"                      (default %lu)\n", DEFAULT_MAX_BATCH_BODY);
	fprintf(out,
			"                      (body limits at most 1073741823, 1 GB - 1 byte:\n"
			"                      PostgreSQL holds no larger bytea or jsonb value)\n"
			"  MLPIPE_THREADS      worker threads, each with its own database\n"
			"                      connection (default: twice the cores, at least 4)\n");
	if (flags & ROUTE_DEFER)
		fprintf(out,
				"  MLPIPE_DISPATCHERS  threads that run deferred statements (POST /predict),\n"
				"                      each with its own database connection; concurrent\n"
				"                      requests waiting for one share a statement\n"
				"                      (default: one per two cores, at least 1); a standby\n"
				"                      thread takes requests that have waited 20 ms\n");
	fprintf(out,
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
			"  MLPIPE_LOG_FILE     write the log (one JSON line per request or event) to\n"
			"                      this file instead of stderr, appending\n"
			"  MLPIPE_LOG_MAX_BYTES  past this size MLPIPE_LOG_FILE is renamed to\n"
			"                      <file>.1 (replacing it) and a new one begun: at most\n"
			"                      about twice this on disk (default %llu, 0 = no limit)\n"
			"Sessions run with TimeZone=UTC.  Endpoints /healthz, /readyz, /metrics,\n"
			"/openapi.json and /docs are always present; HEAD answers every GET route.\n"
			"SIGTERM or SIGINT finish requests in flight, then exit.\n"
			"A bad value of any variable is reported on stderr; the exit status is 2.\n",
			DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP,
			DEFAULT_CONNECTION_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_LOG_MAX_BYTES);
	if (svc->usage_extra)
		fputs(svc->usage_extra, out);
}

/* A number within [min, max], def when unset; else a message ending in why. */
static int
env_number_why(const struct service *svc, const char *name, unsigned long long def,
			   unsigned long long min, unsigned long long max, unsigned long long *out,
			   const char *why)
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
		fprintf(stderr, "%s: %s must be a number between %llu and %llu%s\n",
				svc->name, name, min, max, why);
		return -1;
	}
	*out = x;
	return 0;
}

static int
env_number(const struct service *svc, const char *name, unsigned long long def,
		   unsigned long long min, unsigned long long max, unsigned long long *out)
{
	return env_number_why(svc, name, def, min, max, out, "");
}

/*
 * A body limit in bytes.  What a body carries reaches PostgreSQL as one
 * value (a model's bytea, a batch's jsonb), and PostgreSQL holds no value
 * over 1 GB - 1 byte: a larger limit would only let clients upload what
 * the database must refuse.
 */
static int
env_body_limit(const struct service *svc, const char *name, unsigned long long def,
			   size_t *out)
{
	unsigned long long v;

	if (env_number_why(svc, name, def, 1, MAX_BODY_LIMIT, &v,
					   " (bytes; PostgreSQL holds no value, a model's bytea or a batch's "
					   "jsonb, over 1 GB - 1 byte)") != 0)
		return -1;
	*out = (size_t) v;
	return 0;
}

/* Twice the cores, at least 4: see config_read. */
static unsigned long long
default_threads(long cores)
{
	unsigned long long n = cores > 0 ? 2 * (unsigned long long) cores : 4;

	return n < 4 ? 4 : n;
}

int
config_read(const struct service *svc, struct config *cfg)
{
	unsigned long long v;
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	cfg->host = getenv("HOST");
	if (cfg->host == NULL || *cfg->host == '\0')
		cfg->host = "127.0.0.1";
	if (env_number(svc, "PORT", svc->default_port, 1, 65535, &v) != 0)
		return -1;
	cfg->port = (unsigned) v;
	cfg->token = getenv("MLPIPE_API_TOKEN");
	if (cfg->token && *cfg->token == '\0')
		cfg->token = NULL;
	if (env_body_limit(svc, "MLPIPE_MAX_BODY", DEFAULT_MAX_BODY, &cfg->max_body) != 0)
		return -1;
	if (env_body_limit(svc, "MLPIPE_MAX_UPLOAD", DEFAULT_MAX_UPLOAD, &cfg->max_upload) != 0)
		return -1;
	if (env_body_limit(svc, "MLPIPE_MAX_BATCH_BODY", DEFAULT_MAX_BATCH_BODY, &cfg->max_batch_body) != 0)
		return -1;
	/*
	 * A worker blocks while the database answers, so one per core leaves
	 * cores idle: with 2 threads and 8 clients on 2 cores /predict served
	 * 3,600 requests/s, with 4 threads 13,600.
	 */
	if (env_number(svc, "MLPIPE_THREADS", default_threads(cores), 1, 1024, &v) != 0)
		return -1;
	cfg->threads = (unsigned) v;
	/*
	 * One dispatcher per two cores: on 2 cores one dispatcher served
	 * /predict at 32 connections 10-20 % faster than two, whose batches were
	 * smaller (6 requests on average instead of 10).
	 */
	if (env_number(svc, "MLPIPE_DISPATCHERS", cores > 2 ? (unsigned long long) cores / 2 : 1, 1, 1024, &v) != 0)
		return -1;
	cfg->dispatchers = (unsigned) v;
	if (env_number(svc, "MLPIPE_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, 1, 1000000, &v) != 0)
		return -1;
	cfg->max_connections = (unsigned) v;
	if (env_number(svc, "MLPIPE_MAX_CONNECTIONS_PER_IP", DEFAULT_MAX_CONNECTIONS_PER_IP, 0, 1000000,
				   &v) != 0)
		return -1;
	cfg->max_connections_per_ip = (unsigned) v;
	if (env_number(svc, "MLPIPE_CONNECTION_TIMEOUT", DEFAULT_CONNECTION_TIMEOUT, 1, 86400, &v) != 0)
		return -1;
	cfg->connection_timeout = (unsigned) v;
	if (env_number(svc, "MLPIPE_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT, 0, 86400, &v) != 0)
		return -1;
	cfg->header_timeout = (unsigned) v;
	cfg->log_file = getenv("MLPIPE_LOG_FILE");
	if (cfg->log_file && *cfg->log_file == '\0')
		cfg->log_file = NULL;
	/* at least a few lines per file; at most what fits a file system (1 TiB) */
	if (env_number(svc, "MLPIPE_LOG_MAX_BYTES", DEFAULT_LOG_MAX_BYTES, 0, 1ULL << 40, &v) != 0)
		return -1;
	if (v > 0 && v < 65536)
	{
		fprintf(stderr, "%s: MLPIPE_LOG_MAX_BYTES must be 0 (no limit) or at least 65536\n",
				svc->name);
		return -1;
	}
	cfg->log_max_bytes = v;
	/* read where it is used: /readyz (readiness.c) */
	if (readiness_init(svc->name) != 0)
		return -1;
	return 0;
}

void
config_log(const struct config *cfg)
{
	struct log_field f[] = {
		LOG_STR("host", cfg->host), LOG_NUM("port", cfg->port), LOG_NUM("threads", cfg->threads),
		LOG_NUM("dispatchers", cfg->dispatchers),
		LOG_NUM("max_connections", cfg->max_connections),
		LOG_NUM("max_connections_per_ip", cfg->max_connections_per_ip),
		LOG_NUM("connection_timeout", cfg->connection_timeout),
		LOG_NUM("header_timeout", cfg->header_timeout),
	};

	log_event("info", "listening", f, sizeof(f) / sizeof(f[0]));
}
