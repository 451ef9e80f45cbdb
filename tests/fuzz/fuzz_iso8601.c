/*
 * fuzz_iso8601.c — libFuzzer target for mlp_parse_iso8601().
 *
 * The input is the date text itself, in an exactly sized heap buffer with no
 * terminator, so ASan sees any read past len.  Beyond "no crash, no UB" it
 * checks what the parser promises: a failure always says why, and an
 * accepted date, written back in canonical UTC form and parsed again, gives
 * the same instant.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iso8601.h"

/* Civil date of a day count (inverse of mlp_days_from_civil). */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era,
				doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t		usec = 0;
	const char *why = NULL;
	char		canon[64];
	int64_t		again;
	int64_t		secs,
				days,
				y;
	int			m,
				d,
				sod;
	int			n;

	if (size > 64)
		return 0;
	if (!mlp_parse_iso8601((const char *) data, size, &usec, &why))
	{
		if (why == NULL || why[0] == '\0')
			abort();			/* a refusal must say why */
		return 0;
	}

	/* Round trip through the canonical form YYYY-MM-DDTHH:MM:SS.ffffffZ.
	 * An offset can move a year-1 date before 0001-01-01 or a year-9999
	 * date into year 10000; those cannot be written back with four digits. */
	secs = floor_div(usec, 1000000);
	days = floor_div(secs, 86400);
	sod = (int) (secs - days * 86400);
	civil_from_days(days, &y, &m, &d);
	if (y < 1 || y > 9999)
		return 0;
	n = snprintf(canon, sizeof(canon), "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%06" PRId64 "Z",
				 y, m, d, sod / 3600, sod / 60 % 60, sod % 60, usec - secs * 1000000);
	if (n <= 0 || (size_t) n >= sizeof(canon))
		abort();
	if (!mlp_parse_iso8601(canon, (size_t) n, &again, &why) || again != usec)
	{
		fprintf(stderr, "round trip: %.*s -> %s -> %s\n", (int) size, (const char *) data,
				canon, why ? why : "different instant");
		abort();
	}
	return 0;
}
