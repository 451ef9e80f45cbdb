/*
 * fuzz_features.c — libFuzzer target for the feature core (features.c).
 *
 * The input decodes into an array of MlpPurchase:
 *
 *   byte 0      where the timestamps live (see decode_ts): low 2 bits pick an
 *               anchor (1970, the first clean second, the last clean second,
 *               anywhere in int64), the next 3 bits a span (a day .. the whole
 *               clean range .. all of int64);
 *   then 12 bytes per purchase: 4 ts offset, 2 amount, 2 income, 1 age,
 *               1 gender, 1 flags (NaN/inf/negative amounts and incomes,
 *               huge values, duplicate timestamps), 1 microseconds (0..999999
 *               spread over 254 steps; 0xfe and 0xff give -1 and 1000000).
 *
 * With that it runs the training path (mlp_purchase_is_clean filter, stable
 * sort by ts, mlp_customer_months with and without gap filling, the
 * standardization accumulator, mlp_month_vector) and the serving path
 * (mlp_serving_month with the first purchase as the new one and the others,
 * unsorted and unclean, as the stored history), and checks the promises of
 * features.h: rows fit in mlp_months_capacity(), months ascend, every clean
 * purchase is counted once, broken preconditions write nothing, and serving
 * finds the month of a clean new purchase.  Output buffers are exactly
 * sized heap blocks, so ASan catches a write past the capacity.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "features.h"

#define REC_SIZE 12
#define MAX_PURCHASES 400
/* Gap filling is evaluated over at most 400 years of months: the whole
 * 0001..9999 range (120,000 rows, 10 MB) would make every run slow for a
 * loop that does the same thing each month; without gap filling the rows
 * are bounded by the purchases and every span is evaluated. */
#define MAX_MONTHS 4800

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t) (p[0] | p[1] << 8);
}

static int64_t
decode_ts(uint8_t mode, uint32_t raw, uint64_t wide)
{
	static const int64_t spans[8] = {
		86400, 40 * 86400, 400 * 86400, INT64_C(30) * 365 * 86400,
		INT64_C(400) * 365 * 86400, MLP_TS_MAX - MLP_TS_MIN + 1,
		MLP_TS_MAX - MLP_TS_MIN + 1 + 2 * 86400, 0 /* all of int64 */
	};
	int64_t		span = spans[(mode >> 2) & 7];
	int64_t		off;

	if (span == 0)
		return (int64_t) wide;
	/* raw scaled over the span; 2^32 steps cover the largest one by ~60 s */
	off = (int64_t) (((unsigned __int128) raw * (uint64_t) span) >> 32);
	switch (mode & 3)
	{
		case 0:
			return off;			/* from 1970 */
		case 1:
			return MLP_TS_MIN - 86400 + off;	/* around the first clean second */
		case 2:
			return MLP_TS_MAX + 86400 - off;	/* around the last clean second */
		default:
			return MLP_TS_MIN + (int64_t) (wide % (uint64_t) (MLP_TS_MAX - MLP_TS_MIN)) / 2 + off / 2;
	}
}

static double
decode_money(uint16_t v, uint8_t flags, int shift)
{
	switch ((flags >> shift) & 7)
	{
		case 0:
			return NAN;
		case 1:
			return INFINITY;
		case 2:
			return -(double) v;
		case 3:
			return (double) v * 1e300;
		case 4:
			return 0.0;
		default:
			return (double) v / 16.0 * (shift ? 1000.0 : 1.0);
	}
}

static void
decode(const uint8_t *data, size_t n, uint8_t mode, MlpPurchase *p)
{
	for (size_t i = 0; i < n; i++)
	{
		const uint8_t *r = data + i * REC_SIZE;
		uint8_t		flags = r[10];
		uint64_t	wide = (uint64_t) rd32(r) << 32 | rd32(r + 4);

		p[i].ts = decode_ts(mode, rd32(r), wide);
		if (r[11] == 0xff)
			p[i].usec = -1;
		else if (r[11] == 0xfe)
			p[i].usec = 1000000;
		else
			p[i].usec = (int32_t) r[11] * 3937;
		if ((flags & 0xc0) == 0xc0 && i > 0)
		{
			/* ties, which the sort must keep in order */
			p[i].ts = p[i - 1].ts;
			p[i].usec = p[i - 1].usec;
		}
		p[i].amount = decode_money(rd16(r + 4), flags, 0);
		p[i].income = decode_money(rd16(r + 6), flags, 3);
		switch (r[8] >> 6)
		{
			case 0:
				p[i].age = MLP_AGE_MISSING;
				break;
			case 1:
				p[i].age = (int32_t) r[8] - 100;	/* around 0 */
				break;
			default:
				p[i].age = r[8] & 0x7f; /* 0 .. 127, over the 120 limit */
				break;
		}
		p[i].gender = (int8_t) r[9] % 4 - 1;	/* -4 .. 2 */
	}
}

/* Stable insertion sort by (ts, usec); inputs are a few hundred purchases. */
static void
sort_by_ts(MlpPurchase *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
	{
		MlpPurchase tmp = p[i];
		size_t		j = i;

		while (j > 0 && (p[j - 1].ts > tmp.ts || (p[j - 1].ts == tmp.ts && p[j - 1].usec > tmp.usec)))
		{
			p[j] = p[j - 1];
			j--;
		}
		p[j] = tmp;
	}
}

static void
check_months(const MlpPurchase *sorted, size_t n, bool fill_gaps,
			 const MlpMonth *rows, size_t nrows, size_t cap)
{
	int64_t		counted = 0;

	if (nrows > cap || (n > 0 && nrows == 0))
		abort();
	for (size_t r = 0; r < nrows; r++)
	{
		if (rows[r].frequency < 0 || rows[r].age < 1 || rows[r].age > 120)
			abort();
		if (r > 0 && rows[r].month <= rows[r - 1].month)
			abort();
		if (r > 0 && fill_gaps && rows[r].month != rows[r - 1].month + 1)
			abort();
		if (!fill_gaps && rows[r].frequency == 0)
			abort();
		if (rows[r].n_male + rows[r].n_female + rows[r].n_missing_gender != rows[r].frequency &&
			rows[r].frequency != 0)
			abort();
		counted += rows[r].frequency;
	}
	if (counted != (int64_t) n)
		abort();
	if (nrows > 0 && (rows[0].month != mlp_month_of(sorted[0].ts) ||
					  rows[nrows - 1].month != mlp_month_of(sorted[n - 1].ts)))
		abort();
}

static void
training(const MlpPurchase *raw, size_t n)
{
	MlpPurchase *clean = malloc((n ? n : 1) * sizeof(MlpPurchase));
	size_t		nclean = 0;
	MlpStdAccum acc;
	MlpStandardization st;
	const char *bad;
	bool		have_std;

	if (clean == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (mlp_purchase_is_clean(&raw[i]))
			clean[nclean++] = raw[i];
	sort_by_ts(clean, nclean);

	mlp_std_accum_init(&acc);
	for (int fill = 0; fill < 2; fill++)
	{
		size_t		cap = mlp_months_capacity(clean, nclean, fill);
		MlpMonth   *rows;
		size_t		nrows;

		if (cap > MAX_MONTHS)
			continue;
		rows = malloc((cap ? cap : 1) * sizeof(MlpMonth));
		if (rows == NULL)
			continue;
		nrows = mlp_customer_months(clean, nclean, fill, rows);
		check_months(clean, nclean, fill, rows, nrows, cap);
		for (size_t r = 0; r < nrows; r++)
			mlp_std_accum_add(&acc, &rows[r]);
		have_std = mlp_std_accum_finish(&acc, &st, &bad);
		if (!have_std && bad == NULL)
			abort();
		for (size_t r = 0; r < nrows; r++)
		{
			double		v[MLP_NFEATURES];

			mlp_month_vector(&rows[r], r % 2 ? MLP_MALE : MLP_FEMALE, have_std ? &st : NULL, v);
			if (v[MLP_F_GENDER] != MLP_MALE && v[MLP_F_GENDER] != MLP_FEMALE)
				abort();
		}
		free(rows);
	}
	free(clean);
}

/* The raw array breaks the preconditions unless it happens to be clean and
 * sorted: then nothing may be written past the capacity it reports. */
static void
unsorted(const MlpPurchase *raw, size_t n)
{
	for (int fill = 0; fill < 2; fill++)
	{
		size_t		cap = mlp_months_capacity(raw, n, fill);
		MlpMonth   *rows;

		if (cap > MAX_MONTHS)
			continue;
		rows = malloc((cap ? cap : 1) * sizeof(MlpMonth));
		if (rows == NULL)
			continue;
		if (mlp_customer_months(raw, n, fill, rows) > cap)
			abort();
		free(rows);
	}
}

static void
serving(const MlpPurchase *raw, size_t n)
{
	MlpPurchase *work;
	MlpMonth   *months;
	MlpMonth	out;
	bool		ok;

	if (n == 0)
		return;
	work = malloc(n * sizeof(MlpPurchase));		/* n_stored + 1 */
	months = malloc(n * sizeof(MlpMonth));
	if (work != NULL && months != NULL)
	{
		ok = mlp_serving_month(raw + 1, n - 1, &raw[0], work, months, &out);
		if (ok != mlp_purchase_is_clean(&raw[0]))
			abort();
		if (ok && (out.month != mlp_month_of(raw[0].ts) || out.frequency < 1))
			abort();
	}
	free(work);
	free(months);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		n;
	MlpPurchase *p;

	if (size < 1)
		return 0;
	n = (size - 1) / REC_SIZE;
	if (n > MAX_PURCHASES)
		n = MAX_PURCHASES;
	p = malloc((n ? n : 1) * sizeof(MlpPurchase));
	if (p == NULL)
		return 0;
	decode(data + 1, n, data[0], p);

	training(p, n);
	unsorted(p, n);
	serving(p, n);
	for (size_t i = 0; i < n; i++)
		(void) mlp_month_of(p[i].ts);
	free(p);
	return 0;
}
