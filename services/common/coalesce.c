/*
 * coalesce.c — the job queue and its dispatcher threads (see coalesce.h).
 *
 * One mutex guards a FIFO list.  Submitting appends and signals; the signal
 * costs nothing when every dispatcher is busy, which is exactly when jobs
 * pile up and batches form.  A dispatcher takes up to COALESCE_MAX_BATCH
 * jobs of the head job's statement and runs them with the queue unlocked.
 * Each dispatcher is an ordinary thread for db.c, so it owns a connection.
 * A standby dispatcher (standby_main) steps in only for jobs that have
 * waited too long.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coalesce.h"

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_nonempty = PTHREAD_COND_INITIALIZER;
static struct coalesce_job *queue_head;
static struct coalesce_job *queue_tail;
static int	stopping;

static pthread_t *dispatchers;
static unsigned ndispatchers;

#define STANDBY_WAIT_MS 20
static pthread_cond_t standby_wake;	/* monotonic clock: coalesce_start */
static pthread_t standby;
static int	standby_started;
static int	standby_idle;		/* waiting for the queue to fill; queue_lock */

/* jobs queued or running, and statements run alone: 0 means nothing waits */
static atomic_int outstanding;

static atomic_ullong count_batches;
static atomic_ullong count_batched_jobs;
static atomic_ullong count_fallbacks;
static atomic_ullong count_standby_batches;

struct coalesce_job *
coalesce_job_new(int stmt, int batch_stmt, const char *const *values, int nvalues)
{
	size_t		bytes = 0;
	struct coalesce_job *job;
	char	   *p;

	if (nvalues < 0 || nvalues > COALESCE_MAX_PARAMS)
		return NULL;
	for (int i = 0; i < nvalues; i++)
		if (values[i])
			bytes += strlen(values[i]) + 1;
	job = calloc(1, sizeof(*job) + bytes);
	if (job == NULL)
		return NULL;
	job->stmt = stmt;
	job->batch_stmt = batch_stmt;
	job->nvalues = nvalues;
	p = (char *) (job + 1);
	for (int i = 0; i < nvalues; i++)
	{
		size_t		n;

		if (values[i] == NULL)
			continue;
		n = strlen(values[i]) + 1;
		memcpy(p, values[i], n);
		job->values[i] = p;
		p += n;
	}
	return job;
}

char *
pg_text_array(const char *const *values, size_t n)
{
	size_t		len = 3;		/* braces and the NUL */
	char	   *out;
	char	   *o;

	for (size_t i = 0; i < n; i++)
	{
		len += 5;				/* a comma and NULL, or a comma and two quotes */
		if (values[i])
			for (const char *s = values[i]; *s; s++)
				len += (*s == '"' || *s == '\\') ? 2 : 1;
	}
	out = malloc(len);
	if (out == NULL)
		return NULL;
	o = out;
	*o++ = '{';
	for (size_t i = 0; i < n; i++)
	{
		if (i > 0)
			*o++ = ',';
		if (values[i] == NULL)
		{
			memcpy(o, "NULL", 4);
			o += 4;
			continue;
		}
		*o++ = '"';
		for (const char *s = values[i]; *s; s++)
		{
			if (*s == '"' || *s == '\\')
				*o++ = '\\';
			*o++ = *s;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return out;
}

static void
job_fail(struct coalesce_job *job, const struct db_error *err)
{
	job->failed = 1;
	job->err = *err;
}

/* Takes the value in (row, col) of res into job. */
static void
job_take(struct coalesce_job *job, PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return;
	job->result = strdup(PQgetvalue(res, row, col));
	if (job->result == NULL)
	{
		struct db_error oom = {.http_status = 500, .message = "out of memory"};

		job_fail(job, &oom);
	}
}

static void
run_one(struct coalesce_job *job)
{
	struct db_error err;
	PGresult   *res = db_exec(job->stmt, job->values, NULL, NULL, 0, &err);

	if (res == NULL)
	{
		job_fail(job, &err);
		return;
	}
	if (PQntuples(res) == 1 && PQnfields(res) >= 1)
		job_take(job, res, 0, 0);
	else
	{
		struct db_error bad = {.http_status = 500, .message = "statement returned no row"};

		job_fail(job, &bad);
	}
	PQclear(res);
}

/*
 * Does res hold exactly one (ordinality, value) row for each of n jobs?
 * Fills job_of_row with each row's job (0-based).  The rows may come in any
 * order: no ORDER BY, no sort, and no reliance on the order a plan happens
 * to produce.
 */
static int
rows_match_jobs(const PGresult *res, int n, int *job_of_row)
{
	unsigned char seen[COALESCE_MAX_BATCH] = {0};

	if (PQntuples(res) != n || PQnfields(res) != 2)
		return 0;
	for (int r = 0; r < n; r++)
	{
		const char *v = PQgetvalue(res, r, 0);
		char	   *end;
		long		k = strtol(v, &end, 10);

		if (PQgetisnull(res, r, 0) || end == v || *end != '\0' || k < 1 || k > n || seen[k - 1])
			return 0;
		seen[k - 1] = 1;
		job_of_row[r] = (int) k - 1;
	}
	return 1;
}

/*
 * Runs the batch form once for jobs[0..n).  Returns 1 when every job has its
 * outcome, 0 when they must run one by one.
 */
static int
run_batch(struct coalesce_job **jobs, int n)
{
	const char *column[COALESCE_MAX_BATCH];
	int			job_of_row[COALESCE_MAX_BATCH];
	char	   *arrays[COALESCE_MAX_PARAMS] = {0};
	int			nparams = jobs[0]->nvalues;
	struct db_error err;
	PGresult   *res = NULL;
	int			done = 0;

	for (int p = 0; p < nparams; p++)
	{
		for (int i = 0; i < n; i++)
			column[i] = jobs[i]->values[p];
		arrays[p] = pg_text_array(column, (size_t) n);
		if (arrays[p] == NULL)
			goto out;
	}
	res = db_exec(jobs[0]->batch_stmt, (const char *const *) arrays, NULL, NULL, 0, &err);
	if (res == NULL)
	{
		/*
		 * A lost database fails them all alike; retrying each would only
		 * wait longer.  A 503 the server answered (a PL/Proxy shard that
		 * is down, a standby) may concern some of the requests only.
		 */
		if (err.connection_lost)
		{
			for (int i = 0; i < n; i++)
				job_fail(jobs[i], &err);
			done = 1;
		}
		goto out;
	}
	if (!rows_match_jobs(res, n, job_of_row))
		goto out;
	for (int r = 0; r < n; r++)
		job_take(jobs[job_of_row[r]], res, r, 1);
	done = 1;
	atomic_fetch_add(&count_batches, 1);
	atomic_fetch_add(&count_batched_jobs, (unsigned long long) n);
out:
	PQclear(res);
	for (int p = 0; p < nparams; p++)
		free(arrays[p]);
	return done;
}

/* Unlinks up to max jobs of the head's statement; the queue lock is held. */
static int
take_jobs(struct coalesce_job **jobs, int max)
{
	struct coalesce_job **link = &queue_head;
	struct coalesce_job *prev = NULL;
	int			n = 0;
	int			stmt = queue_head->stmt;

	while (*link && n < max)
	{
		struct coalesce_job *job = *link;

		if (job->stmt == stmt)
		{
			*link = job->next;
			job->next = NULL;
			jobs[n++] = job;
		}
		else
		{
			prev = job;
			link = &job->next;
		}
	}
	/* when it stopped early the tail is still queued, else it is the last kept */
	if (*link == NULL)
		queue_tail = prev;
	return n;
}

/* Runs jobs[0..n), taken off the queue, and hands each its outcome. */
static void
run_jobs(struct coalesce_job **jobs, int n)
{
	if (n > 1 && !run_batch(jobs, n))
	{
		atomic_fetch_add(&count_fallbacks, 1);
		for (int i = 0; i < n; i++)
			run_one(jobs[i]);
	}
	else if (n == 1)
		run_one(jobs[0]);
	for (int i = 0; i < n; i++)
		jobs[i]->complete(jobs[i]);
	atomic_fetch_sub(&outstanding, n);
}

static void *
dispatcher_main(void *arg)
{
	struct coalesce_job *jobs[COALESCE_MAX_BATCH];

	(void) arg;
	for (;;)
	{
		int			n;

		pthread_mutex_lock(&queue_lock);
		while (queue_head == NULL && !stopping)
			pthread_cond_wait(&queue_nonempty, &queue_lock);
		if (queue_head == NULL)
		{
			pthread_mutex_unlock(&queue_lock);
			return NULL;
		}
		n = take_jobs(jobs, COALESCE_MAX_BATCH);
		pthread_mutex_unlock(&queue_lock);
		run_jobs(jobs, n);
	}
}

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * The standby: it takes jobs only when the head of the queue has waited
 * STANDBY_WAIT_MS, that is when every dispatcher is held up by a slow
 * statement (a customer with an enormous history, the first load of a big
 * model, a lock) or cannot keep up.  Taking ordinary batches would only
 * split them.  While the queue is empty it sleeps until a job arrives,
 * then until that job is STANDBY_WAIT_MS old: an idle service never wakes.
 */
static void *
standby_main(void *arg)
{
	struct coalesce_job *jobs[COALESCE_MAX_BATCH];

	(void) arg;
	pthread_mutex_lock(&queue_lock);
	for (;;)
	{
		long long	due;
		struct timespec deadline;
		int			n;

		if (queue_head == NULL)
		{
			if (stopping)
				break;
			standby_idle = 1;
			pthread_cond_wait(&standby_wake, &queue_lock);
			standby_idle = 0;
			continue;
		}
		due = queue_head->queued_ns + STANDBY_WAIT_MS * 1000000LL;
		if (!stopping && now_ns() < due)
		{
			deadline.tv_sec = due / 1000000000LL;
			deadline.tv_nsec = due % 1000000000LL;
			pthread_cond_timedwait(&standby_wake, &queue_lock, &deadline);
			continue;
		}
		n = take_jobs(jobs, COALESCE_MAX_BATCH);
		atomic_fetch_add(&count_standby_batches, 1);
		pthread_mutex_unlock(&queue_lock);
		run_jobs(jobs, n);
		pthread_mutex_lock(&queue_lock);
	}
	pthread_mutex_unlock(&queue_lock);
	return NULL;
}

int
coalesce_start(unsigned nthreads)
{
	pthread_condattr_t attr;

	/* the standby's deadlines are on the monotonic clock */
	if (pthread_condattr_init(&attr) != 0 ||
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
		pthread_cond_init(&standby_wake, &attr) != 0)
		return -1;
	pthread_condattr_destroy(&attr);
	dispatchers = calloc(nthreads, sizeof(*dispatchers));
	if (dispatchers == NULL)
		return -1;
	for (ndispatchers = 0; ndispatchers < nthreads; ndispatchers++)
		if (pthread_create(&dispatchers[ndispatchers], NULL, dispatcher_main, NULL) != 0)
		{
			coalesce_stop();
			return -1;
		}
	if (pthread_create(&standby, NULL, standby_main, NULL) != 0)
	{
		coalesce_stop();
		return -1;
	}
	standby_started = 1;
	return 0;
}

int
coalesce_run_alone(struct coalesce_job *job)
{
	int			none = 0;

	if (!atomic_compare_exchange_strong(&outstanding, &none, 1))
		return 0;
	run_one(job);
	atomic_fetch_sub(&outstanding, 1);
	return 1;
}

void
coalesce_submit(struct coalesce_job *job)
{
	atomic_fetch_add(&outstanding, 1);
	job->next = NULL;
	job->queued_ns = now_ns();
	pthread_mutex_lock(&queue_lock);
	if (stopping)
	{
		/*
		 * The dispatchers are gone or about to go: a job queued now could
		 * wait for ever, its connection suspended, and libmicrohttpd aborts
		 * a daemon stopped with suspended connections.  Run it here.
		 */
		pthread_mutex_unlock(&queue_lock);
		run_jobs(&job, 1);
		return;
	}
	if (queue_tail)
		queue_tail->next = job;
	else
	{
		queue_head = job;
		/* at most once per STANDBY_WAIT_MS: it stays awake while jobs wait */
		if (standby_idle)
			pthread_cond_signal(&standby_wake);
	}
	queue_tail = job;
	pthread_cond_signal(&queue_nonempty);
	pthread_mutex_unlock(&queue_lock);
}

void
coalesce_stop(void)
{
	pthread_mutex_lock(&queue_lock);
	stopping = 1;
	pthread_cond_broadcast(&queue_nonempty);
	pthread_cond_broadcast(&standby_wake);
	pthread_mutex_unlock(&queue_lock);
	for (unsigned i = 0; i < ndispatchers; i++)
		pthread_join(dispatchers[i], NULL);
	if (standby_started)
		pthread_join(standby, NULL);
	standby_started = 0;
	free(dispatchers);
	dispatchers = NULL;
	ndispatchers = 0;
}

void
coalesce_counts(struct coalesce_counts *out)
{
	out->batches = atomic_load(&count_batches);
	out->batched_jobs = atomic_load(&count_batched_jobs);
	out->fallbacks = atomic_load(&count_fallbacks);
	out->standby = atomic_load(&count_standby_batches);
}
