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

int
main(void)
{
	test_array_literals();
	test_job_copies();
	return check_summary();
}
