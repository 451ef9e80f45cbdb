/*
 * db.c — per-thread libpq connections.
 *
 * Every libmicrohttpd pool thread owns one connection (a pthread key, so the
 * connection is closed when the thread ends).  Statements are prepared on a
 * connection the first time they are used there.  When a call fails and the
 * connection is found broken, the connection is reset: if the database is
 * still down the request gets 503, and the next request after the database
 * is back reconnects by itself.  Read-only statements are retried once on the
 * fresh connection; changing ones are not, since we cannot know whether the
 * lost call committed.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

struct thread_conn
{
	PGconn	   *conn;
	unsigned char *prepared;	/* one flag per statement */
};

static const struct db_statement *statements;
static int	nstatements;
static pthread_key_t conn_key;
static char *conn_options;		/* "-c TimeZone=UTC" plus the user's options */
static const char *conn_dbname; /* DATABASE_URL, or NULL for the PG* defaults */
static const char *conn_appname;

static void
thread_conn_free(void *p)
{
	struct thread_conn *tc = p;

	if (tc->conn)
		PQfinish(tc->conn);
	free(tc->prepared);
	free(tc);
}

int
db_init(const char *application_name, const struct db_statement *stmts, int nstmts)
{
	const char *user_options = getenv("PGOPTIONS");
	char	   *url_options = NULL;
	size_t		len;

	statements = stmts;
	nstatements = nstmts;
	conn_appname = application_name;
	conn_dbname = getenv("DATABASE_URL");
	if (conn_dbname && conn_dbname[0] == '\0')
		conn_dbname = NULL;

	/*
	 * Our "options" keyword overrides the one inside DATABASE_URL, so carry
	 * the URL's options over instead of losing them.
	 */
	if (conn_dbname)
	{
		char	   *errmsg = NULL;
		PQconninfoOption *opts = PQconninfoParse(conn_dbname, &errmsg);

		if (opts == NULL)
		{
			fprintf(stderr, "DATABASE_URL is not a valid connection string: %s\n",
					errmsg ? errmsg : "out of memory");
			PQfreemem(errmsg);
			return -1;
		}
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, "options") == 0 && o->val)
				url_options = strdup(o->val);
		PQconninfoFree(opts);
		user_options = url_options;
	}
	len = (user_options ? strlen(user_options) : 0) + 32;
	conn_options = malloc(len);
	if (conn_options == NULL)
	{
		free(url_options);
		return -1;
	}
	snprintf(conn_options, len, "%s%s-c TimeZone=UTC",
			 user_options ? user_options : "", user_options ? " " : "");
	free(url_options);

	if (pthread_key_create(&conn_key, thread_conn_free) != 0)
		return -1;
	return 0;
}

unsigned
db_http_status(const char *sqlstate)
{
	if (sqlstate == NULL || sqlstate[0] == '\0')
		return 503;				/* no SQLSTATE: libpq lost the connection */
	if (strcmp(sqlstate, "42704") == 0)
		return 404;
	/*
	 * 23505 a version taken (or a tombstone); 55006 object_in_use, a version
	 * an alias points at; 55000 object_not_in_prerequisite_state, an alias
	 * with nothing to roll back to: all conflicts with the registry's state.
	 */
	if (strcmp(sqlstate, "23505") == 0 || strcmp(sqlstate, "55006") == 0 ||
		strcmp(sqlstate, "55000") == 0)
		return 409;
	if (strcmp(sqlstate, "0A000") == 0)
		return 415;
	/*
	 * Class 22, data exception (22023, 22P02, 22007, 22008, 22003, 22004,
	 * 22021 character_not_in_repertoire...), is always about a value the
	 * client sent; 23514 check_violation is a value out of range.
	 */
	if (strncmp(sqlstate, "22", 2) == 0 || strcmp(sqlstate, "23514") == 0)
		return 422;
	/* 25006 read_only_sql_transaction: a write reached a hot standby */
	if (strcmp(sqlstate, "25006") == 0)
		return 503;
	if (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57P0", 4) == 0 ||
		strcmp(sqlstate, "53300") == 0) /* too_many_connections */
		return 503;
	return 500;
}

/* Copies a server text without libpq's trailing newline (JSON clients don't want it). */
static void
copy_trimmed(char *dst, size_t size, const char *src)
{
	size_t		n;

	snprintf(dst, size, "%s", src ? src : "");
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
		dst[--n] = '\0';
}

static void
set_error(struct db_error *err, unsigned status, const char *sqlstate, const char *msg)
{
	err->http_status = status;
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate ? sqlstate : "");
	copy_trimmed(err->message, sizeof(err->message), msg);
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	err->column[0] = '\0';
	err->connection_lost = 0;
	err->constraint[0] = '\0';
}

/* The server's fields, each its own: never parsed out of the message text. */
static void
set_result_error(struct db_error *err, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
	const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

	set_error(err, db_http_status(state), state, msg ? msg : PQresultErrorMessage(res));
	copy_trimmed(err->detail, sizeof(err->detail), PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
	copy_trimmed(err->hint, sizeof(err->hint), PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
	if (column)
		snprintf(err->column, sizeof(err->column), "%s", column);
	if (constraint)
		snprintf(err->constraint, sizeof(err->constraint), "%s", constraint);
}

static void
set_down_error(struct db_error *err, PGconn *conn)
{
	(void) conn;
	set_error(err, 503, "08006", "Database unavailable");
	err->connection_lost = 1;
}

/* NOTICEs and WARNINGs of the server: a log line of ours, not libpq's stderr text */
static void
log_notice(void *arg, const char *message)
{
	char		text[1024];
	size_t		n = strlen(message);

	(void) arg;
	while (n > 0 && message[n - 1] == '\n')
		n--;
	snprintf(text, sizeof(text), "%.*s", (int) n, message);
	log_event("notice", text, NULL, 0);
}

static PGconn *
with_notices(PGconn *conn)
{
	if (conn != NULL)
		PQsetNoticeProcessor(conn, log_notice, NULL);
	return conn;
}

static PGconn *
connect_now(void)
{
	/* keywords after dbname override DATABASE_URL, those before it don't */
	const char *keywords[] = {"connect_timeout", "dbname", "options",
	"fallback_application_name", NULL};
	const char *timeout = getenv("PGCONNECT_TIMEOUT");
	const char *values[] = {timeout ? timeout : "5", conn_dbname, conn_options,
	conn_appname, NULL};

	/* a NULL dbname stops the keyword scan early, so skip it */
	if (conn_dbname == NULL)
	{
		static const char *kw2[] = {"connect_timeout", "options",
		"fallback_application_name", NULL};
		const char *v2[] = {values[0], conn_options, conn_appname, NULL};

		return with_notices(PQconnectdbParams(kw2, v2, 0));
	}
	return with_notices(PQconnectdbParams(keywords, values, 1));
}

/*
 * An idle connection has nothing to read unless the server closed it (a
 * restart sends FATAL 57P01 then EOF).  Finding that out now, with one
 * poll(), lets a changing statement run on a fresh connection instead of
 * failing on a dead one: we never retry those, since we could not know
 * whether they committed.  A read-only statement skips the check (one
 * system call per request): on a dead connection it is simply run again.
 */
static int
idle_connection_closed(PGconn *conn)
{
	struct pollfd pfd = {PQsocket(conn), POLLIN, 0};

	if (pfd.fd < 0)
		return 1;
	/*
	 * Only a closing server talks to an idle session (we never LISTEN); at
	 * worst a false alarm costs one reconnect.
	 */
	return poll(&pfd, 1, 0) > 0;
}

/*
 * The calling thread's connection, (re)connected; NULL and 503 when down.
 * check_idle: make sure first that the server has not closed it.
 */
static struct thread_conn *
get_conn(int check_idle, struct db_error *err)
{
	struct thread_conn *tc = pthread_getspecific(conn_key);

	if (tc == NULL)
	{
		tc = calloc(1, sizeof(*tc));
		if (tc == NULL || (tc->prepared = calloc(nstatements + 1, 1)) == NULL)
		{
			free(tc);
			set_error(err, 500, NULL, "out of memory");
			return NULL;
		}
		pthread_setspecific(conn_key, tc);
	}
	if (tc->conn == NULL)
		tc->conn = connect_now();
	else if (check_idle && PQstatus(tc->conn) == CONNECTION_OK && idle_connection_closed(tc->conn))
	{
		PQreset(tc->conn);
		memset(tc->prepared, 0, nstatements);
	}
	else if (PQstatus(tc->conn) != CONNECTION_OK)
	{
		PQreset(tc->conn);
		memset(tc->prepared, 0, nstatements);
	}
	if (tc->conn == NULL || PQstatus(tc->conn) != CONNECTION_OK)
	{
		set_down_error(err, tc->conn);
		return NULL;
	}
	return tc;
}

/* After a failure: was it the connection?  Then reset it for next time. */
static int
lost_connection(struct thread_conn *tc)
{
	if (PQstatus(tc->conn) == CONNECTION_OK)
		return 0;
	PQreset(tc->conn);
	memset(tc->prepared, 0, nstatements);
	return 1;
}

PGresult *
db_exec(int stmt, const char *const *values, const int *lengths,
		const int *formats, int binary_result, struct db_error *err)
{
	const struct db_statement *s;

	if (stmt < 0 || stmt >= nstatements)
	{
		set_error(err, 500, NULL, "unknown statement");
		return NULL;
	}
	s = &statements[stmt];

	for (int attempt = 0; attempt < 2; attempt++)
	{
		struct thread_conn *tc = get_conn(!s->readonly, err);
		PGresult   *res;

		if (tc == NULL)
			return NULL;
		if (!tc->prepared[stmt])
		{
			res = PQprepare(tc->conn, s->name, s->sql, s->nparams, NULL);
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
			{
				if (lost_connection(tc))
				{
					PQclear(res);
					continue;	/* nothing was executed yet: always safe */
				}
				set_result_error(err, res);
				PQclear(res);
				return NULL;
			}
			PQclear(res);
			tc->prepared[stmt] = 1;
		}
		res = PQexecPrepared(tc->conn, s->name, s->nparams, values, lengths,
							 formats, binary_result);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			return res;
		if (lost_connection(tc))
		{
			PQclear(res);
			if (s->readonly && attempt == 0 && PQstatus(tc->conn) == CONNECTION_OK)
				continue;
			set_down_error(err, tc->conn);
			return NULL;
		}
		set_result_error(err, res);
		PQclear(res);
		return NULL;
	}
	set_down_error(err, NULL);
	return NULL;
}

json_t *
db_result_json(PGresult *res)
{
	json_t	   *j = NULL;

	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		j = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
	PQclear(res);
	return j;
}

PGresult *
db_query(const char *sql, struct db_error *err)
{
	for (int attempt = 0; attempt < 2; attempt++)
	{
		struct thread_conn *tc = get_conn(1, err);
		PGresult   *res;

		if (tc == NULL)
			return NULL;
		res = PQexec(tc->conn, sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			return res;
		if (!lost_connection(tc))
		{
			set_result_error(err, res);
			PQclear(res);
			return NULL;
		}
		PQclear(res);
	}
	set_down_error(err, NULL);
	return NULL;
}

int
db_ping(struct db_error *err)
{
	PGresult   *res = db_query("SELECT 1", err);

	PQclear(res);
	return res != NULL;
}
