/*
 * check.h — what every unit test program shares: count checks, print each
 * failed one with its line, and end with "N passed, M failed" (the exit
 * status is 1 when any failed).
 *
 *   CHECK(cond, "what it means")         the usual form
 *   CHECKF(cond, "row %d: %s", i, why)   the message formatted
 *   CHECK_EXPR(cond)                     the expression itself as the message
 *   CHECK_NUM(got, want)                 doubles equal to 1e-9 (relative); NaN equals NaN
 */
#ifndef MLPIPE_TEST_CHECK_H
#define MLPIPE_TEST_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int	passed,
			failed;

#define CHECK(cond, what) check_at((cond), __LINE__, "%s", (what))
#define CHECKF(cond, ...) check_at((cond), __LINE__, __VA_ARGS__)
#define CHECK_EXPR(cond) check_at((cond), __LINE__, "%s", #cond)
#define CHECK_NUM(got, want) check_num_at((got), (want), __LINE__, #got)

static inline int check_at(int ok, int line, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Counts one check; prints it when it failed.  Returns ok. */
static inline int
check_at(int ok, int line, const char *fmt,...)
{
	va_list		ap;

	if (ok)
	{
		passed++;
		return 1;
	}
	failed++;
	printf("FAIL line %d: ", line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 0;
}

static inline int
check_num_at(double got, double want, int line, const char *what)
{
	int			ok = (isnan(want) && isnan(got)) || fabs(got - want) <= 1e-9 * (1 + fabs(want));

	return check_at(ok, line, "%s: got %.17g, want %.17g", what, got, want);
}

/* Prints the closing line; the program's exit status. */
static inline int
check_summary(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif							/* MLPIPE_TEST_CHECK_H */
