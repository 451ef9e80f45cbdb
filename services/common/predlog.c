/*
 * predlog.c — the prediction log's queue and writer thread (predlog.h).
 *
 * Request threads and the writer share one mutex, held only to copy rows
 * into or out of the ring: the writer copies a batch out, unlocks, and only
 * then talks to the database.  So however long an INSERT waits (a locked
 * table, a slow disk, a database that went away), a request thread waits
 * for a copy at most; when the ring is full its row is dropped and counted.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "coalesce.h"
#include "log.h"
#include "predlog.h"

#define DEFAULT_RATE 0.01
#define DEFAULT_ROLE "mlpipe_predlog"
#define RETRY_CONNECT_MS 1000	/* after a failed connect, drop batches this long */
#define REPORT_EVERY_S 60		/* the same failure is logged at most this often */

/*
 * The month is computed here, in UTC, from the purchase date as stored
 * (the same instant the features use).  A NULL version means the latest:
 * it is resolved as the row is written, through the registry's one
 * definition of "latest" (mlpipe.find_model_id).
 */
static const char insert_sql[] =
"INSERT INTO mlpipe.predictions"
" (model_name, version, customer_id, purchase_date, month, predicted)"
" SELECT m, coalesce(v, (SELECT x.version FROM mlpipe.models x"
"                        WHERE x.id = mlpipe.find_model_id(m, NULL))),"
"        c, d, (date_trunc('month', d, 'UTC') AT TIME ZONE 'UTC')::date, p"
" FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::float8[])"
"      AS u(m, v, c, d, p)";

static double rate;
static int	configured;
static const char *log_url;		/* NULL: DATABASE_URL, else libpq's PG* */
static const char *log_role;	/* "" : no SET ROLE */
static const char *appname;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct predlog_ring ring;
static int	stopping;
static struct timespec oldest;	/* when the ring's oldest row came; lock */

static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static pthread_t writer;
static int	writer_started;

static atomic_ullong count_logged;
static atomic_ullong count_dropped_full;
static atomic_ullong count_dropped_failed;

static _Thread_local uint64_t sample_state;

/* ---- rows, ring, sampling: no locks, no database ---- */

static int
copy_field(char *dst, size_t size, const char *src)
{
	size_t		n;

	if (src == NULL)
	{
		dst[0] = '\0';
		return 0;
	}
	n = strnlen(src, size);
	if (n >= size)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int
predlog_row_set(struct predlog_row *row, const char *model_name, const char *version,
				const char *customer_id, const char *purchase_date, const char *predicted)
{
	if (model_name == NULL || model_name[0] == '\0' || customer_id == NULL ||
		purchase_date == NULL || predicted == NULL)
		return -1;
	if (copy_field(row->model_name, sizeof(row->model_name), model_name) ||
		copy_field(row->version, sizeof(row->version), version) ||
		copy_field(row->customer_id, sizeof(row->customer_id), customer_id) ||
		copy_field(row->purchase_date, sizeof(row->purchase_date), purchase_date) ||
		copy_field(row->predicted, sizeof(row->predicted), predicted))
		return -1;
	return 0;
}

int
predlog_ring_push(struct predlog_ring *r, const struct predlog_row *row)
{
	if (r->count == r->cap)
		return -1;
	r->rows[(r->head + r->count) % r->cap] = *row;
	r->count++;
	return 0;
}

size_t
predlog_ring_take(struct predlog_ring *r, struct predlog_row *out, size_t max)
{
	size_t		n = r->count < max ? r->count : max;

	for (size_t i = 0; i < n; i++)
		out[i] = r->rows[(r->head + i) % r->cap];
	r->head = (r->head + n) % r->cap;
	r->count -= n;
	return n;
}

/* splitmix64: cheap, and good enough to pick a sample */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

int
predlog_sampled(double r, uint64_t *state)
{
	if (r <= 0)
		return 0;
	if (r >= 1)
		return 1;
	/* 53 random bits as a double in [0, 1) */
	return (double) (next_random(state) >> 11) * 0x1.0p-53 < r;
}

int
predlog_parse_rate(const char *s, double *out)
{
	char	   *end;
	double		v;

	if (s == NULL || s[0] == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0 && v <= 1))
		return -1;
	*out = v;
	return 0;
}

/* ---- configuration and counters ---- */

int
predlog_configure(const char *application_name)
{
	const char *s = getenv("MLPIPE_PREDICTION_LOG_RATE");

	rate = DEFAULT_RATE;
	if (s != NULL && predlog_parse_rate(s, &rate) != 0)
	{
		fprintf(stderr, "%s: MLPIPE_PREDICTION_LOG_RATE must be a number between 0 and 1"
				" (0 turns the prediction log off), not '%s'\n", application_name, s);
		return -1;
	}
	log_url = getenv("MLPIPE_PREDICTION_LOG_URL");
	if (log_url == NULL || log_url[0] == '\0')
		log_url = getenv("DATABASE_URL");
	if (log_url != NULL && log_url[0] == '\0')
		log_url = NULL;
	if (log_url != NULL)
	{
		char	   *err = NULL;
		PQconninfoOption *opts = PQconninfoParse(log_url, &err);

		if (opts == NULL)
		{
			fprintf(stderr, "%s: MLPIPE_PREDICTION_LOG_URL is not a valid connection string: %s\n",
					application_name, err ? err : "out of memory");
			PQfreemem(err);
			return -1;
		}
		PQconninfoFree(opts);
	}
	log_role = getenv("MLPIPE_PREDICTION_LOG_ROLE");
	if (log_role == NULL)
		log_role = DEFAULT_ROLE;
	appname = application_name;
	configured = rate > 0;
	return 0;
}

void
predlog_counts(struct predlog_counts *out)
{
	out->enabled = configured;
	out->logged = atomic_load(&count_logged);
	out->dropped_full = atomic_load(&count_dropped_full);
	out->dropped_failed = atomic_load(&count_dropped_failed);
	pthread_mutex_lock(&lock);
	out->queued = ring.count;
	pthread_mutex_unlock(&lock);
}

/* ---- the writer ---- */

static int64_t
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t) (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* One line on stderr for a failure, unless it repeats the last within a minute. */
static void
report(const char *what, const char *detail)
{
	static char last[256];
	static time_t last_at;
	time_t		now = time(NULL);
	struct log_field f[1] = {LOG_STR("detail", detail)};

	if (strncmp(last, detail, sizeof(last) - 1) == 0 && now - last_at < REPORT_EVERY_S)
		return;
	snprintf(last, sizeof(last), "%s", detail);
	last_at = now;
	log_event("warning", what, f, 1);
}

/* First line of a libpq message, without its newline. */
static void
first_line(char *dst, size_t size, const char *msg)
{
	size_t		n = strcspn(msg ? msg : "", "\n");

	if (n >= size)
		n = size - 1;
	memcpy(dst, msg ? msg : "", n);
	dst[n] = '\0';
}

/* A session for the log: UTC, short waits for locks, the log's own role. */
static PGconn *
log_connect(void)
{
	const char *keywords[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
	const char *values[] = {"5", appname, log_url, NULL};
	char		setup[512];
	char		msg[256];
	PGconn	   *conn = PQconnectdbParams(keywords, values, 1);
	PGresult   *res;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		first_line(msg, sizeof(msg), PQerrorMessage(conn));
		report("prediction log: cannot connect; dropping rows", msg);
		PQfinish(conn);
		return NULL;
	}
	snprintf(setup, sizeof(setup),
			 "SET TimeZone = 'UTC'; SET lock_timeout = '1s'; SET statement_timeout = '5s'");
	if (log_role[0] != '\0')
	{
		char	   *role = PQescapeIdentifier(conn, log_role, strlen(log_role));

		if (role == NULL || strlen(role) > 200)
		{
			PQfreemem(role);
			report("prediction log: bad MLPIPE_PREDICTION_LOG_ROLE", log_role);
			PQfinish(conn);
			return NULL;
		}
		snprintf(setup + strlen(setup), sizeof(setup) - strlen(setup), "; SET ROLE %s", role);
		PQfreemem(role);
	}
	res = PQexec(conn, setup);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		first_line(msg, sizeof(msg), PQresultErrorMessage(res));
		report("prediction log: cannot set up its session (set MLPIPE_PREDICTION_LOG_ROLE to a role"
			   " this user may SET, or empty for none); dropping rows", msg);
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

/* The five columns of rows[0..n) as array literals; 0, or -1 out of memory. */
static int
build_arrays(const struct predlog_row *rows, size_t n, char *arrays[5])
{
	const char **column = malloc(n * sizeof(*column));
	int			ok = column != NULL;

	for (int c = 0; c < 5 && ok; c++)
	{
		for (size_t i = 0; i < n; i++)
		{
			const struct predlog_row *r = &rows[i];

			column[i] = c == 0 ? r->model_name :
				c == 1 ? (r->version[0] ? r->version : NULL) :
				c == 2 ? r->customer_id :
				c == 3 ? r->purchase_date : r->predicted;
		}
		arrays[c] = pg_text_array(column, n);
		ok = arrays[c] != NULL;
	}
	free(column);
	return ok ? 0 : -1;
}

struct writer_state
{
	PGconn	   *conn;
	struct timespec retry_at;	/* no connect attempt before this */
};

static void
write_rows(struct writer_state *ws, const struct predlog_row *rows, size_t n)
{
	char	   *arrays[5] = {0};
	struct timespec now;
	PGresult   *res;
	char		msg[256];

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (ws->conn != NULL && PQstatus(ws->conn) != CONNECTION_OK)
	{
		PQfinish(ws->conn);
		ws->conn = NULL;
	}
	if (ws->conn == NULL && ms_between(&ws->retry_at, &now) >= 0)
	{
		ws->conn = log_connect();
		if (ws->conn == NULL)
		{
			ws->retry_at = now;
			ws->retry_at.tv_sec += RETRY_CONNECT_MS / 1000;
		}
	}
	if (ws->conn == NULL || build_arrays(rows, n, arrays) != 0)
	{
		atomic_fetch_add(&count_dropped_failed, n);
		goto out;
	}
	res = PQexecParams(ws->conn, insert_sql, 5, NULL, (const char *const *) arrays, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		atomic_fetch_add(&count_logged, n);
	else
	{
		atomic_fetch_add(&count_dropped_failed, n);
		first_line(msg, sizeof(msg), PQresultErrorMessage(res));
		report("prediction log: insert failed; its rows are dropped", msg);
	}
	PQclear(res);
out:
	for (int c = 0; c < 5; c++)
		free(arrays[c]);
}

static void *
writer_main(void *arg)
{
	struct writer_state ws = {0};
	struct predlog_row *batch = arg;

	for (;;)
	{
		size_t		n;

		pthread_mutex_lock(&lock);
		while (ring.count == 0 && !stopping)
			pthread_cond_wait(&wake, &lock);
		/* let a batch fill, but never keep a row waiting past the flush time */
		while (ring.count > 0 && ring.count < PREDLOG_BATCH && !stopping)
		{
			struct timespec now,
						deadline;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (ms_between(&oldest, &now) >= PREDLOG_FLUSH_MS)
				break;
			deadline = oldest;
			deadline.tv_nsec += (long) PREDLOG_FLUSH_MS * 1000000;
			deadline.tv_sec += deadline.tv_nsec / 1000000000;
			deadline.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&wake, &lock, &deadline);
		}
		n = predlog_ring_take(&ring, batch, PREDLOG_BATCH);
		if (ring.count > 0)
			clock_gettime(CLOCK_MONOTONIC, &oldest);
		if (n == 0 && stopping)
		{
			pthread_mutex_unlock(&lock);
			break;
		}
		pthread_mutex_unlock(&lock);
		if (n > 0)
			write_rows(&ws, batch, n);
	}
	if (ws.conn)
		PQfinish(ws.conn);
	free(batch);
	return NULL;
}

static void
start_writer(void)
{
	pthread_condattr_t attr;
	struct predlog_row *batch = malloc(PREDLOG_BATCH * sizeof(*batch));

	ring.rows = malloc(PREDLOG_QUEUE * sizeof(*ring.rows));
	if (batch == NULL || ring.rows == NULL)
		goto fail;
	ring.cap = PREDLOG_QUEUE;
	/* timed waits on the monotonic clock: a clock change must not stall the log */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&writer, NULL, writer_main, batch) != 0)
		goto fail;
	writer_started = 1;
	return;
fail:
	/* no writer: every offer is dropped (the ring stays 0 rows long) */
	report("prediction log: cannot start its writer; dropping rows", "out of memory or threads");
	free(batch);
	free(ring.rows);
	ring.rows = NULL;
	ring.cap = 0;
}

int
predlog_sample(void)
{
	if (!configured)
		return 0;
	if (sample_state == 0)
		sample_state = (uint64_t) (uintptr_t) &sample_state ^ (uint64_t) time(NULL);
	return predlog_sampled(rate, &sample_state);
}

void
predlog_offer(const char *model_name, const char *version, const char *customer_id,
			  const char *purchase_date, const char *predicted)
{
	if (predlog_sample())
		predlog_add(model_name, version, customer_id, purchase_date, predicted);
}

void
predlog_add(const char *model_name, const char *version, const char *customer_id,
			const char *purchase_date, const char *predicted)
{
	struct predlog_row row;
	int			full;

	if (!configured)
		return;
	if (predlog_row_set(&row, model_name, version, customer_id, purchase_date, predicted) != 0)
	{
		atomic_fetch_add(&count_dropped_failed, 1);
		return;
	}
	pthread_once(&start_once, start_writer);
	pthread_mutex_lock(&lock);
	full = stopping || predlog_ring_push(&ring, &row) != 0;
	if (!full && ring.count == 1)
		clock_gettime(CLOCK_MONOTONIC, &oldest);
	/* wake the writer for its first row (it times the flush) and a full batch */
	if (!full && (ring.count == 1 || ring.count == PREDLOG_BATCH))
		pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	if (full)
		atomic_fetch_add(&count_dropped_full, 1);
}

void
predlog_stop(void)
{
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	if (writer_started)
		pthread_join(writer, NULL);
	writer_started = 0;
	free(ring.rows);
	ring.rows = NULL;
	ring.cap = 0;
	ring.count = 0;
}
