/*
 * db.h — one libpq connection per worker thread, prepared statements,
 * reconnect after the database went away, SQLSTATE to HTTP status mapping.
 */
#ifndef MLPIPE_DB_H
#define MLPIPE_DB_H

#include <jansson.h>
#include <libpq-fe.h>

struct db_statement
{
	const char *name;
	const char *sql;
	int			nparams;
	int			readonly;		/* safe to retry once on a fresh connection */
};

struct db_error
{
	unsigned	http_status;	/* 404, 409, 415, 422, 500, 503 */
	char		sqlstate[6];
	char		message[512];	/* PG_DIAG_MESSAGE_PRIMARY: what happened */
	char		detail[512];	/* PG_DIAG_MESSAGE_DETAIL: why; may be empty */
	char		hint[512];		/* PG_DIAG_MESSAGE_HINT: what to do; may be empty */
	char		column[64];		/* PG_DIAG_COLUMN_NAME when the server sent one */
	int			connection_lost;	/* our own connection is down, not a statement's error */
	char		constraint[64];	/* PG_DIAG_CONSTRAINT_NAME, or empty */
};

/* Called once before the worker threads start. */
int			db_init(const char *application_name,
					const struct db_statement *stmts, int nstmts);

/*
 * Executes statement number stmt.  formats may be NULL (all text).  Returns
 * a PGRES_TUPLES_OK result the caller must PQclear, or NULL with err filled.
 */
PGresult   *db_exec(int stmt, const char *const *values, const int *lengths,
					const int *formats, int binary_result, struct db_error *err);

/*
 * The mlpipe_* functions answer in one jsonb (as text) value: parses the
 * only value of res as JSON of any type and clears res.  NULL when res does
 * not hold exactly one row, the value is SQL NULL, or it is not JSON.
 */
json_t	   *db_result_json(PGresult *res);

/*
 * Runs a fixed, parameterless read-only query on the calling thread's
 * connection (once more on a fresh one if the connection was lost).
 * Returns a PGRES_TUPLES_OK result to PQclear, or NULL with err filled.
 */
PGresult   *db_query(const char *sql, struct db_error *err);

/* Is the database reachable now?  */
int			db_ping(struct db_error *err);

/* Maps a SQLSTATE to the HTTP status of the errors table in services/README.md. */
unsigned	db_http_status(const char *sqlstate);

#endif
