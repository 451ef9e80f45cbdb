/*
 * test_coalesce.c — unit tests of the pure parts of services/common/coalesce.c:
 * the array literals that carry a batch's parameters (no value may change
 * the literal's shape, SQL NULL stays NULL, the string "NULL" stays a
 * string) and the job's private copies of its values.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coalesce.h"

static int
literal_is(const char *const *values, size_t n, const char *want)
{
	char	   *got = pg_text_array(values, n);
	int			ok = got != NULL && strcmp(got, want) == 0;

	if (!ok)
		printf("  got %s, want %s\n", got ? got : "(null)", want);
	free(got);
	return ok;
}

static void
test_array_literals(void)
{
	const char *plain[] = {"xgboost", "1.0"};
	const char *nulls[] = {NULL, "NULL", NULL};
	const char *hostile[] = {"a\"b", "c\\d", "{,}", " x ", ""};
	const char *nested[] = {"\\\"", "\"\\"};
	const char *utf8[] = {"caf\xc3\xa9", "2024-05-01 10:00:00+02"};

	CHECK(literal_is(plain, 0, "{}"), "no values: an empty array");
	CHECK(literal_is(plain, 2, "{\"xgboost\",\"1.0\"}"), "every element quoted");
	CHECK(literal_is(nulls, 3, "{NULL,\"NULL\",NULL}"),
		  "SQL NULL bare, the string NULL quoted");
	CHECK(literal_is(hostile, 5, "{\"a\\\"b\",\"c\\\\d\",\"{,}\",\" x \",\"\"}"),
		  "quotes and backslashes escaped; braces, commas, spaces and empty strings kept");
	CHECK(literal_is(nested, 2, "{\"\\\\\\\"\",\"\\\"\\\\\"}"), "escapes of escapes");
	CHECK(literal_is(utf8, 2, "{\"caf\xc3\xa9\",\"2024-05-01 10:00:00+02\"}"),
		  "UTF-8 and timestamps unchanged");
}

static void
test_job_copies(void)
{
	char		a[] = "customer";
	char		b[] = "Female";
	const char *values[3] = {a, NULL, b};
	struct coalesce_job *job = coalesce_job_new(4, 5, values, 3);
	const char *too_many[COALESCE_MAX_PARAMS + 1] = {0};

	CHECK(job != NULL, "a job is made");
	if (job == NULL)
		return;
	memset(a, 'x', strlen(a));	/* the request's buffers may go away */
	memset(b, 'y', strlen(b));
	CHECK(job->stmt == 4 && job->batch_stmt == 5 && job->nvalues == 3, "statements and count kept");
	CHECK(job->values[0] && strcmp(job->values[0], "customer") == 0, "first value copied");
	CHECK(job->values[1] == NULL, "a NULL value stays NULL");
	CHECK(job->values[2] && strcmp(job->values[2], "Female") == 0, "last value copied");
	CHECK(job->result == NULL && !job->failed, "no outcome yet");
	free(job);
	CHECK(coalesce_job_new(1, 2, too_many, COALESCE_MAX_PARAMS + 1) == NULL,
		  "more values than a job holds: refused");
}

static int	completed;

static void
count_and_free(struct coalesce_job *job)
{
	completed++;
	free(job->result);
	free(job);
}

/*
 * Which thread runs a statement: the caller's when nothing else is waiting,
 * a dispatcher's otherwise.  No database is reachable here, so a statement
 * that runs fails with 503; that is enough to see where it ran.
 */
static void
test_who_runs(void)
{
	static const struct db_statement stmts[] = {
		{"one", "SELECT $1::int", 1, 1},
		{"many", "SELECT x FROM unnest($1::int[]) x", 1, 1},
	};
	const char *values[1] = {"7"};
	struct coalesce_job *alone = coalesce_job_new(0, 1, values, 1);
	struct coalesce_job *queued = coalesce_job_new(0, 1, values, 1);
	struct coalesce_job *second = coalesce_job_new(0, 1, values, 1);

	setenv("PGHOST", "/nonexistent-mlpipe-test", 1);
	setenv("PGCONNECT_TIMEOUT", "1", 1);
	unsetenv("DATABASE_URL");
	CHECK(db_init("test_coalesce", stmts, 2) == 0, "db_init");
	CHECK(alone && queued && second, "jobs made");
	if (!alone || !queued || !second)
		return;

	CHECK(coalesce_run_alone(alone) == 1, "nothing waiting: the caller runs its statement");
	CHECK(alone->failed && alone->err.http_status == 503, "and gets its outcome (database down: 503)");
	free(alone);

	queued->complete = count_and_free;
	coalesce_submit(queued);	/* no dispatcher yet: it stays queued */
	CHECK(coalesce_run_alone(second) == 0, "a job is waiting: the caller must queue too");
	CHECK(!second->failed && second->result == NULL, "and nothing ran");
	second->complete = count_and_free;
	coalesce_submit(second);

	CHECK(coalesce_start(1) == 0, "a dispatcher starts");
	coalesce_stop();			/* runs what is queued, then stops */
	CHECK(completed == 2, "the dispatcher answered both queued jobs before stopping");
}

int
main(void)
{
	test_array_literals();
	test_job_copies();
	test_who_runs();
	return check_summary();
}
