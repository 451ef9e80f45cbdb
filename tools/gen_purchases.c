/*
 * gen_purchases.c — deterministic generator of customer purchases.
 *
 * Writes CSV with the columns of the real sample:
 *   customer_id,age,gender,annual_income,purchase_amount,purchase_date,next_month_purchase_amount
 * (the last column always empty).  The same seed gives the same bytes on any
 * machine: the random numbers come from our own xoshiro256** and the
 * floating-point work is plain IEEE double arithmetic with no libm calls
 * whose results could differ between libc versions.
 *
 * The model of a customer: an age, a gender, an income, a personal spending
 * level that depends on income and age, and a purchase rate.  Purchases fall
 * at random days of one year; each amount is the personal level times a
 * seasonal factor plus noise.  So a customer's next month is predictable
 * from the months before it, as in the real data.  Small shares of missing
 * ages, genders and incomes and of zero ages imitate the real file's gaps.
 *
 * Speed: everything is formatted by hand into a large buffer; 10 million
 * purchases take a few seconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY_SECONDS 86400
/* 2023-05-24 00:00:00 UTC: the real sample's first month */
#define START_EPOCH INT64_C(1684886400)
#define SPAN_DAYS 365
#define MAX_PURCHASES 15

typedef struct Rng
{
	uint64_t	s[4];
} Rng;

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(Rng *r)
{
	uint64_t	result = rotl(r->s[1] * 5, 7) * 9;
	uint64_t	t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return result;
}

/* splitmix64 spreads one seed over the four words of state */
static void
rng_seed(Rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
	{
		uint64_t	z = (seed += UINT64_C(0x9E3779B97F4A7C15));

		z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
		z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
		r->s[i] = z ^ (z >> 31);
	}
}

/* uniform in [0, 1) with 53 bits */
static double
rng_unit(Rng *r)
{
	return (double) (rng_next(r) >> 11) * 0x1.0p-53;
}

static int64_t
rng_range(Rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t) (rng_next(r) % (uint64_t) (hi - lo + 1));
}

/* Approximately normal (Irwin–Hall, 12 uniforms): no libm, so portable. */
static double
rng_normal(Rng *r)
{
	double		sum = 0;

	for (int i = 0; i < 12; i++)
		sum += rng_unit(r);
	return sum - 6.0;
}

/* ---- output buffer ---- */

typedef struct Out
{
	FILE	   *fp;
	char	   *buf;
	size_t		len;
	size_t		cap;
} Out;

static void
out_flush(Out *o)
{
	if (o->len > 0 && fwrite(o->buf, 1, o->len, o->fp) != o->len)
	{
		fprintf(stderr, "gen-purchases: write failed: %s\n", strerror(errno));
		exit(1);
	}
	o->len = 0;
}

static void
out_str(Out *o, const char *s, size_t n)
{
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
out_uint(Out *o, uint64_t v)
{
	char		tmp[24];
	int			n = 0;

	do
	{
		tmp[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		o->buf[o->len++] = tmp[--n];
}

static void
out_2digits(Out *o, int v)
{
	o->buf[o->len++] = (char) ('0' + v / 10);
	o->buf[o->len++] = (char) ('0' + v % 10);
}

/* cents as "123.45" */
static void
out_cents(Out *o, int64_t cents)
{
	out_uint(o, (uint64_t) (cents / 100));
	o->buf[o->len++] = '.';
	out_2digits(o, (int) (cents % 100));
}

/* days since 1970-01-01 to a civil date (proleptic Gregorian) */
static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;

	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

/* UTC instant written in local time at the given offset, ISO 8601 */
static void
out_timestamp(Out *o, int64_t utc, int offset_minutes)
{
	int64_t		local = utc + (int64_t) offset_minutes * 60;
	int64_t		days = local / DAY_SECONDS;
	int64_t		secs = local % DAY_SECONDS;
	int			y,
				m,
				d;

	civil_from_days(days, &y, &m, &d);
	out_uint(o, (uint64_t) y);
	o->buf[o->len++] = '-';
	out_2digits(o, m);
	o->buf[o->len++] = '-';
	out_2digits(o, d);
	o->buf[o->len++] = 'T';
	out_2digits(o, (int) (secs / 3600));
	o->buf[o->len++] = ':';
	out_2digits(o, (int) (secs / 60 % 60));
	o->buf[o->len++] = ':';
	out_2digits(o, (int) (secs % 60));
	if (offset_minutes == 0)
	{
		o->buf[o->len++] = 'Z';
		return;
	}
	o->buf[o->len++] = offset_minutes < 0 ? '-' : '+';
	if (offset_minutes < 0)
		offset_minutes = -offset_minutes;
	out_2digits(o, offset_minutes / 60);
	o->buf[o->len++] = ':';
	out_2digits(o, offset_minutes % 60);
}

/* ---- the customer model ---- */

typedef struct Customer
{
	int			age;			/* 0 = missing in output */
	bool		age_missing;
	int			gender;			/* 0 male, 1 female, -1 missing */
	int64_t		income;
	bool		income_missing;
	double		level;			/* personal mean amount per purchase */
	int			npurchases;
	int			offset_minutes;
	int			time_of_day;	/* seconds: one habit per customer */
} Customer;

static const int offsets[] = {180, 180, 180, 180, 0, 0, -300, 60, 330, -480};

/* Most customers buy a handful of times, a few up to 15 (as in the sample). */
static int
draw_purchase_count(Rng *r)
{
	int			n = 1 + (int) (rng_unit(r) * rng_unit(r) * MAX_PURCHASES * 1.0);

	if (rng_unit(r) < 0.35)
		n += (int) rng_range(r, 1, 4);
	return n > MAX_PURCHASES ? MAX_PURCHASES : n;
}

static void
draw_customer(Rng *r, Customer *c)
{
	double		u = rng_unit(r);

	c->age = (int) rng_range(r, 18, 80);
	c->gender = rng_unit(r) < 0.65 ? 1 : 0;
	/* log-normal-ish income with a long right tail, like the sample */
	double		z = rng_normal(r);
	double		income = 80000.0 * (1.0 + 0.30 * z);

	if (u < 0.01)
		income *= 4.0 + 8.0 * rng_unit(r);
	if (income < 12000)
		income = 12000 + 3000 * rng_unit(r);
	if (income > 1015980)
		income = 1015980;
	c->income = (int64_t) income;

	/*
	 * Spending level: grows with income, peaks in middle age, and has a
	 * strong personal component; this is the signal a model can learn.
	 */
	double		age_factor = 1.0 - (c->age - 45) * (c->age - 45) / 4000.0;
	double		income_factor = 0.6 + 0.5 * (income > 200000 ? 200000 : income) / 100000.0;

	c->level = 420.0 * age_factor * income_factor * (0.55 + 0.9 * rng_unit(r));
	c->npurchases = draw_purchase_count(r);
	c->offset_minutes = offsets[rng_range(r, 0, 9)];
	c->time_of_day = (int) rng_range(r, 0, DAY_SECONDS - 1);

	/* the gaps of real files */
	c->age_missing = rng_unit(r) < 0.0025;
	if (rng_unit(r) < 0.0008)
		c->age = 0;
	if (rng_unit(r) < 0.002)
		c->gender = -1;
	c->income_missing = rng_unit(r) < 0.0006;
	if (rng_unit(r) < 0.0005)
		c->income = 0;
}

/* Seasonal factor by day of the year window: a winter peak. */
static double
season(int day)
{
	/* triangle wave, cheap and portable: 0.8 .. 1.25 */
	int			pos = (day + 150) % 365;
	double		tri = pos < 182 ? pos / 182.0 : (365 - pos) / 183.0;

	return 0.8 + 0.45 * tri;
}

static void
write_customer(Out *o, Rng *r, uint64_t id, const Customer *c, int n)
{
	for (int i = 0; i < n; i++)
	{
		int			day = (int) rng_range(r, 0, SPAN_DAYS - 1);
		int64_t		ts = START_EPOCH + (int64_t) day * DAY_SECONDS + c->time_of_day;
		double		amount = c->level * season(day) + 90.0 * rng_normal(r);

		if (amount < 0.5)
			amount = 0.5 + rng_unit(r) * 20.0;
		if (amount > 1499.99)
			amount = 1499.99;

		out_uint(o, id);
		o->buf[o->len++] = ',';
		if (!c->age_missing)
			out_uint(o, (uint64_t) c->age);
		o->buf[o->len++] = ',';
		if (c->gender == 0)
			out_str(o, "Male", 4);
		else if (c->gender == 1)
			out_str(o, "Female", 6);
		o->buf[o->len++] = ',';
		if (!c->income_missing)
			out_uint(o, (uint64_t) c->income);
		o->buf[o->len++] = ',';
		out_cents(o, (int64_t) (amount * 100.0 + 0.5));
		o->buf[o->len++] = ',';
		out_timestamp(o, ts, c->offset_minutes);
		o->buf[o->len++] = ',';
		o->buf[o->len++] = '\n';
	}
}

static void
usage(FILE *fp)
{
	fprintf(fp,
			"Usage: mlpipe-gen-purchases [--customers N | --purchases N] [--seed S] [--output FILE]\n"
			"\n"
			"Writes deterministic synthetic customer purchases as CSV, with the columns of\n"
			"the real sample (customer_id,age,gender,annual_income,purchase_amount,\n"
			"purchase_date,next_month_purchase_amount), to FILE or standard output.\n"
			"\n"
			"  --customers N   number of customers (default 3000); each buys 1-15 times\n"
			"  --purchases N   stop after exactly N purchases instead (e.g. 10000000)\n"
			"  --seed S        random seed (default 42); same seed, same bytes\n"
			"  --output FILE   write to FILE (default: standard output)\n"
			"  --quiet         no progress on standard error\n"
			"  --help          this text\n");
}

static bool
parse_count(const char *s, uint64_t *out)
{
	char	   *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);

	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return false;
	*out = v;
	return true;
}

int
main(int argc, char **argv)
{
	uint64_t	customers = 3000,
				purchases = 0,
				seed = 42;
	const char *output = NULL;
	bool		quiet = false;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool		ok = true;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		{
			usage(stdout);
			return 0;
		}
		else if (strcmp(a, "--quiet") == 0)
			quiet = true;
		else if (strcmp(a, "--customers") == 0 && v)
		{
			ok = parse_count(v, &customers) && customers > 0;
			i++;
		}
		else if (strcmp(a, "--purchases") == 0 && v)
		{
			ok = parse_count(v, &purchases) && purchases > 0;
			i++;
		}
		else if (strcmp(a, "--seed") == 0 && v)
		{
			ok = parse_count(v, &seed);
			i++;
		}
		else if (strcmp(a, "--output") == 0 && v)
		{
			output = v;
			i++;
		}
		else
		{
			fprintf(stderr, "gen-purchases: unknown or incomplete option '%s'\n\n", a);
			usage(stderr);
			return 2;
		}
		if (!ok)
		{
			fprintf(stderr, "gen-purchases: '%s' needs a positive whole number, got '%s'\n", a, v);
			return 2;
		}
	}

	Out			o = {.fp = stdout, .cap = 1 << 22};

	if (output && (o.fp = fopen(output, "w")) == NULL)
	{
		fprintf(stderr, "gen-purchases: cannot write %s: %s\n", output, strerror(errno));
		return 1;
	}
	o.buf = malloc(o.cap);
	if (!o.buf)
	{
		fprintf(stderr, "gen-purchases: out of memory\n");
		return 1;
	}
	/* progress only when a person is watching and the data goes elsewhere */
	bool		progress = !quiet && isatty(STDERR_FILENO);
	const char *header = "customer_id,age,gender,annual_income,purchase_amount,"
		"purchase_date,next_month_purchase_amount\n";

	out_str(&o, header, strlen(header));

	Rng			r;
	uint64_t	written = 0;
	uint64_t	target = purchases ? purchases : UINT64_MAX;
	uint64_t	ncust = purchases ? UINT64_MAX : customers;
	uint64_t	next_report = 1000000;

	rng_seed(&r, seed);
	for (uint64_t id = 1; id <= ncust && written < target; id++)
	{
		Customer	c;

		draw_customer(&r, &c);
		int			n = c.npurchases;

		if ((uint64_t) n > target - written)
			n = (int) (target - written);
		write_customer(&o, &r, id, &c, n);
		written += (uint64_t) n;
		/* a row is under 100 bytes: flush well before the buffer fills */
		if (o.len > o.cap - 64 * 1024)
			out_flush(&o);
		if (progress && written >= next_report)
		{
			fprintf(stderr, "\rgen-purchases: %" PRIu64 " purchases, %" PRIu64 " customers", written, id);
			next_report += 1000000;
		}
	}
	out_flush(&o);
	if (progress)
		fprintf(stderr, "\r");
	if (!quiet && output)
		fprintf(stderr, "gen-purchases: wrote %" PRIu64 " purchases to %s\n", written, output);
	if (fflush(o.fp) != 0 || (output && fclose(o.fp) != 0))
	{
		fprintf(stderr, "gen-purchases: write failed: %s\n", strerror(errno));
		return 1;
	}
	free(o.buf);
	return 0;
}
