/*
 * iso8601.c — strict ISO 8601 timestamp parser (see iso8601.h).
 *
 * Written out by hand rather than with strptime(): strptime depends on the
 * locale, accepts out-of-range fields and knows nothing of offsets with
 * colons.  Every field is checked against its range, days against the
 * month's length.
 */
#include "iso8601.h"

#define USEC_PER_SEC INT64_C(1000000)

int64_t
mlp_days_from_civil(int64_t y, int m, int d)
{
	/* shift the year to start in March so the leap day is the year's last */
	y -= m <= 2;
	int64_t		era = (y >= 0 ? y : y - 399) / 400;
	int64_t		yoe = y - era * 400;
	int64_t		doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n digits at s[*pos]; false if any is not a digit. */
static bool
digits(const char *s, size_t len, size_t *pos, int n, int *out)
{
	int			v = 0;

	if (*pos + (size_t) n > len)
		return false;
	for (int i = 0; i < n; i++)
	{
		char		c = s[*pos + i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*pos += (size_t) n;
	*out = v;
	return true;
}

static bool
expect(const char *s, size_t len, size_t *pos, char c)
{
	if (*pos < len && s[*pos] == c)
	{
		(*pos)++;
		return true;
	}
	return false;
}

static bool
fail(const char **why, const char *msg)
{
	*why = msg;
	return false;
}

/*
 * Reads 1 to 9 digits of a fraction of a second into microseconds, rounded
 * half to even as PostgreSQL rounds (a carry to 1000000 is fine: the caller
 * adds it to the instant).
 */
static bool
parse_fraction(const char *s, size_t len, size_t *pos, int64_t *usec)
{
	int			n = 0;
	int64_t		v = 0;
	int			next = -1;		/* the 7th digit, -1 when absent */
	bool		rest_nonzero = false;

	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9')
	{
		int			digit = s[*pos] - '0';

		if (n < 6)
			v = v * 10 + digit;
		else if (n == 6)
			next = digit;
		else if (digit != 0)
			rest_nonzero = true;
		n++;
		(*pos)++;
	}
	if (n == 0 || n > 9)
		return false;
	for (int k = n; k < 6; k++)
		v *= 10;
	if (next > 5 || (next == 5 && (rest_nonzero || v % 2 == 1)))
		v++;
	*usec = v;
	return true;
}

/* Parses [Z | +HH[:MM] | +HHMM] at the end; *offset in seconds east of UTC. */
static bool
parse_offset(const char *s, size_t len, size_t *pos, int *offset, const char **why)
{
	int			sign,
				hh,
				mm = 0;

	*offset = 0;
	if (*pos == len)
		return true;
	if (s[*pos] == 'Z' || s[*pos] == 'z')
	{
		(*pos)++;
		return true;
	}
	if (s[*pos] != '+' && s[*pos] != '-')
		return fail(why, "unexpected text after the time");
	sign = s[*pos] == '-' ? -1 : 1;
	(*pos)++;
	if (!digits(s, len, pos, 2, &hh))
		return fail(why, "malformed UTC offset");
	if (*pos < len)
	{
		expect(s, len, pos, ':');
		if (!digits(s, len, pos, 2, &mm))
			return fail(why, "malformed UTC offset");
	}
	if (hh > 15 || mm > 59)
		return fail(why, "UTC offset out of range");
	*offset = sign * (hh * 3600 + mm * 60);
	return true;
}

bool
mlp_parse_iso8601(const char *s, size_t len, int64_t *usec, const char **why)
{
	size_t		pos = 0;
	int			y,
				mo,
				d,
				h = 0,
				mi = 0,
				sec = 0,
				offset = 0;
	int64_t		frac = 0;
	bool		has_time = false;

	if (len == 0)
		return fail(why, "empty date");
	if (!digits(s, len, &pos, 4, &y) || !expect(s, len, &pos, '-') ||
		!digits(s, len, &pos, 2, &mo) || !expect(s, len, &pos, '-') ||
		!digits(s, len, &pos, 2, &d))
		return fail(why, "not an ISO 8601 date (expected YYYY-MM-DD)");
	if (y < 1)
		return fail(why, "year out of range");
	if (mo < 1 || mo > 12)
		return fail(why, "month out of range");
	if (d < 1 || d > days_in_month(y, mo))
		return fail(why, "day out of range for the month");

	if (pos < len && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' '))
	{
		pos++;
		if (!digits(s, len, &pos, 2, &h) || !expect(s, len, &pos, ':') ||
			!digits(s, len, &pos, 2, &mi))
			return fail(why, "malformed time (expected HH:MM[:SS])");
		if (expect(s, len, &pos, ':'))
		{
			if (!digits(s, len, &pos, 2, &sec))
				return fail(why, "malformed seconds");
			if (expect(s, len, &pos, '.'))
			{
				if (!parse_fraction(s, len, &pos, &frac))
					return fail(why, "malformed fraction of a second (1 to 9 digits)");
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return fail(why, "time out of range");
		has_time = true;
	}
	/* ISO 8601 puts an offset after a time only */
	if (has_time && !parse_offset(s, len, &pos, &offset, why))
		return false;
	if (pos != len)
		return fail(why, "unexpected text after the date");

	int64_t		secs = mlp_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
	int64_t		instant = secs * USEC_PER_SEC + frac;

	/* an offset can push a date past year 1 or 9999: refuse, as the
	 * features do (and PostgreSQL would give a BC date) */
	if (instant < mlp_days_from_civil(1, 1, 1) * 86400 * USEC_PER_SEC ||
		instant >= mlp_days_from_civil(10000, 1, 1) * 86400 * USEC_PER_SEC)
		return fail(why, "date out of range (years 1 to 9999 in UTC)");
	*usec = instant;
	return true;
}
