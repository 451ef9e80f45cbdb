/*
 * check.h — the few lines every unit test program shares: count checks,
 * print the failed ones with their line, and end with "N passed, M failed".
 */
#ifndef MLPIPE_TEST_CHECK_H
#define MLPIPE_TEST_CHECK_H

#include <stdio.h>

static int	passed,
			failed;

#define CHECK(cond, what) check((cond), (what), __LINE__)

static void
check(int ok, const char *what, int line)
{
	if (ok)
		passed++;
	else
	{
		failed++;
		printf("FAIL line %d: %s\n", line, what);
	}
}

/* Prints the closing line; the program's exit status. */
static int
check_summary(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif							/* MLPIPE_TEST_CHECK_H */
