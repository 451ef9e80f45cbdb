/*
 * coalesce.h — running concurrent one-row statements as one.
 *
 * A request that needs one value from a read-only statement can hand it over
 * as a job instead of blocking its HTTP thread.  A few dispatcher threads,
 * each with its own database connection, take whatever jobs are queued and
 * run them together: one job runs the statement itself; several run its
 * batch form once, over arrays of their parameters.  Under load this turns
 * N round trips, N executor starts and N backend wake-ups into one; with a
 * single client nothing waits for company: a lone request even runs on its
 * own thread (coalesce_run_alone).
 *
 * The batch form of a statement with parameters $1..$n takes $1..$n as text
 * arrays of the jobs' values (SQL NULL elements for NULL values) and returns
 * one row (k, value) per element, k its 1-based position in the arrays, in
 * any order, e.g.
 *     SELECT k, f(a, b) FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY
 *         AS u(a, b, k)
 * When the batch fails with anything but a lost database, its jobs run one
 * by one so that each gets its own answer (a bad value fails only its job).
 */
#ifndef MLPIPE_COALESCE_H
#define MLPIPE_COALESCE_H

#include <stddef.h>

#include "db.h"

#define COALESCE_MAX_PARAMS 16
#define COALESCE_MAX_BATCH 64

struct coalesce_job
{
	struct coalesce_job *next;	/* the queue's */
	int			stmt;			/* the statement */
	int			batch_stmt;		/* its batch form */
	int			nvalues;
	const char *values[COALESCE_MAX_PARAMS];	/* NULL: SQL NULL */

	/* the outcome, set before complete() is called */
	int			failed;
	struct db_error err;		/* when failed */
	char	   *result;			/* malloc'd text of the only value; NULL: SQL NULL */

	long long	queued_ns;		/* CLOCK_MONOTONIC, set by coalesce_submit */

	/* called once on a dispatcher thread; owns the job from then on */
	void		(*complete) (struct coalesce_job *job);
	void	   *owner;
};

/*
 * A job with room for copies of values; NULL when out of memory.  The copies
 * live in the same allocation: free(job) releases them (not job->result).
 */
struct coalesce_job *coalesce_job_new(int stmt, int batch_stmt,
									  const char *const *values, int nvalues);

/*
 * Starts nthreads dispatchers and the standby, a dispatcher that takes only
 * jobs that have waited 20 ms (the others are all stuck on slow statements,
 * or overrun); 0 on success.
 */
int			coalesce_start(unsigned nthreads);

/*
 * Queues a job; its complete() runs later on a dispatcher thread.  Once
 * coalesce_stop() has begun, the job runs on the calling thread instead and
 * complete() is called before this returns: every job is completed.
 */
void		coalesce_submit(struct coalesce_job *job);

/*
 * A lone request need not pay for the hand-off to a dispatcher and back
 * (two thread wake-ups, 70 us of latency at one connection).  When no job
 * is queued or running, coalesce_run_alone runs the job's statement on the
 * calling thread, fills its outcome and returns 1 (complete() is not
 * called; the caller frees the job).  Otherwise it returns 0 at once and
 * the job should be submitted.  The caller must know that no other request
 * is about to submit one: a thread that runs a statement cannot queue the
 * requests that meanwhile arrive on its other connections.
 */
int			coalesce_run_alone(struct coalesce_job *job);

/* Runs the jobs still queued, then stops the dispatchers. */
void		coalesce_stop(void);

/* Counts since the start, for /metrics and the last log line. */
struct coalesce_counts
{
	unsigned long long batches;	/* batch statements that answered their jobs */
	unsigned long long batched_jobs;	/* jobs answered by them */
	unsigned long long fallbacks;	/* batches whose jobs ran one by one instead */
	unsigned long long standby;	/* times the standby took jobs that had waited */
};

void		coalesce_counts(struct coalesce_counts *out);

/*
 * A PostgreSQL array literal of n text values ({"a","b\"c",NULL}), every
 * element quoted so that no value can change the literal's shape; malloc'd,
 * NULL when out of memory.
 */
char	   *pg_text_array(const char *const *values, size_t n);

#endif
