/*
 * service.h — the one HTTP serving layer shared by the three mlpipe services.
 *
 * A service is a table of routes plus a table of prepared SQL statements.
 * service_main() reads the environment, starts libmicrohttpd with its own
 * thread pool, buffers request bodies within limits, checks the bearer token
 * of changing routes, calls the route's handler with the decoded path
 * parameters, sends its reply, logs one JSON line and records metrics.
 * /healthz, /readyz and /metrics are added to every service here.
 */
#ifndef MLPIPE_SERVICE_H
#define MLPIPE_SERVICE_H

#include <stddef.h>
#include <jansson.h>

#include "db.h"

struct MHD_Connection;

#define ROUTE_MAX_PARAMS 4

/* Route flags */
#define ROUTE_AUTH   0x1	/* changing endpoint: needs the bearer token when set */
#define ROUTE_UPLOAD 0x2	/* body limit is MLPIPE_MAX_UPLOAD instead of MLPIPE_MAX_BODY */
#define ROUTE_DEFER  0x8	/* may defer its statement (request_defer): the dispatchers serve it */
#define ROUTE_BULK   0x4	/* body limit is MLPIPE_MAX_BATCH_BODY (10,000 purchases fit) */

struct request
{
	const char *method;
	const char *path;			/* path as received, without the query */
	char	   *params[ROUTE_MAX_PARAMS];	/* percent-decoded {name} segments */
	int			nparams;
	const char *body;			/* NUL-terminated copy; may contain NULs */
	size_t		body_len;
	struct MHD_Connection *conn;
};

struct reply
{
	unsigned	status;
	char	   *body;			/* malloc'd, owned by the reply */
	size_t		body_len;
	const char *content_type;	/* NULL means application/json */
	char	   *disposition;	/* malloc'd Content-Disposition value, or NULL */
};

typedef void (*route_handler) (struct request *req, struct reply *rep);

struct route
{
	const char *method;			/* "GET", "POST", "DELETE" */
	const char *pattern;		/* "/get_model_info/{name}/{version}"; also the metrics label */
	route_handler handler;
	int			flags;
};

struct service
{
	const char *name;			/* program name, e.g. "mlpipe-registry" */
	const char *summary;		/* one line for --help */
	unsigned	default_port;
	const struct route *routes;
	size_t		nroutes;
	const struct db_statement *statements;
	size_t		nstatements;
	const char *usage_extra;	/* more of --help (this service's own variables), or NULL */
};

int			service_main(const struct service *svc, int argc, char **argv);

/*
 * Deferred answers.  A handler whose reply needs the one value of a
 * read-only statement can hand the statement to the coalescer (coalesce.h)
 * and return at once, leaving rep untouched: its HTTP thread goes on serving
 * other connections while the database works, and concurrent requests share
 * one database call.  finish() later builds the reply, on a dispatcher
 * thread, from the value (NULL: SQL NULL) or from err (NULL on success);
 * it must release arg.  batch_stmt is the statement's batch form.  When
 * nothing else is waiting for the database, the statement runs at once on
 * the calling thread instead and finish() fills rep before this returns.
 * Returns 0 when deferred or done; -1 when out of memory: rep then holds a
 * 500 and finish() is never called.
 */
typedef void (*defer_finish) (void *arg, const char *value, const struct db_error *err,
							  struct reply *rep);

int			request_defer(struct request *req, struct reply *rep, int stmt, int batch_stmt,
						  const char *const *values, int nvalues,
						  defer_finish finish, void *arg);

/* Header lookup (case-insensitive), NULL when absent. */
const char *request_header(const struct request *req, const char *name);

/* Query parameter (percent-decoded by libmicrohttpd), NULL when absent. */
const char *request_query(const struct request *req, const char *name);

/*
 * ?limit=&offset= on a list: keeps list[offset .. offset+limit) (no limit:
 * to the end).  A value that is not an integer >= 0 is FastAPI's 422 with
 * loc ["query", name]: rep is filled, list released, and 1 returned.
 */
int			reply_if_bad_paging(const struct request *req, struct reply *rep, json_t **list);

/*
 * Parses the body as JSON.  On failure fills rep with FastAPI's 422
 * (json_invalid, or missing for an empty body) and returns NULL.
 */
json_t	   *request_json(const struct request *req, struct reply *rep);

/* Replies; each replaces whatever rep held.  reply_json steals j. */
void		reply_json(struct reply *rep, unsigned status, json_t *j);
void		reply_detail(struct reply *rep, unsigned status, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
void		reply_errors(struct reply *rep, json_t *errors);	/* 422, steals */

/*
 * The end of every request validation: a 422 with the errors when there are
 * any (returns 1), else nothing (returns 0).  Steals errors either way.
 */
int			reply_if_invalid(struct reply *rep, json_t *errors);

/*
 * 404 "Model <name> [version <version>] not found", as the old pipeline
 * said it, followed by the database's detail (the versions or models that
 * exist) when err has one; err may be NULL.
 */
void		reply_model_not_found(struct reply *rep, const char *name, const char *version,
								  const struct db_error *err);

/* By status: 422 FastAPI's list, 404/409 message and detail, 503, 500 (logged) */
void		reply_db_error(struct reply *rep, const struct db_error *err);
void		reply_bytes(struct reply *rep, unsigned status, const char *data, size_t len);
void		reply_clear(struct reply *rep);

#endif
