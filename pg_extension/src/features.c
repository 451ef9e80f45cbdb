/*
 * features.c — feature set v1 (docs/features.md), in plain C.
 *
 * Everything here is a pure function of its arguments: no global state, no
 * allocation, no abort on bad input.  Input that breaks a documented
 * precondition (unsorted or unclean purchases, a bad column number) yields an
 * empty or neutral result instead, so that the fuzz targets can feed anything.
 *
 * The training path runs over millions of purchases, so mlp_customer_months()
 * is two linear passes over one customer's purchases and nothing else.
 */
#include "features.h"

#include <math.h>
#include <string.h>

#define SECS_PER_DAY 86400
#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_DAY (SECS_PER_DAY * USECS_PER_SEC)

const char *const mlp_feature_names[MLP_NFEATURES] = {
	"age",
	"gender",
	"frequency",
	"days_since_last_purchase",
	"avg_days_between_purchases",
	"age_group_19-25",
	"age_group_26-35",
	"age_group_36-45",
	"age_group_46-55",
	"age_group_56-65",
	"age_group_65+",
	"income_group_Low",
	"income_group_Medium",
	"income_group_High",
	"income_group_Very High",
	"purchase_amount_standardized",
	"annual_income_standardized",
	"clv_standardized",
	"age_income_interaction_standardized"
};

const char *const mlp_std_column_names[MLP_NSTD] = {
	"purchase_amount",
	"annual_income",
	"clv",
	"age_income_interaction"
};

/* Highest age a clean purchase may have; sizes the per-month age histogram. */
#define MLP_AGE_MAX 120

int
mlp_gender_from_text(const char *s, size_t len)
{
	if (s == NULL || len == 0)
		return MLP_GENDER_MISSING;
	if (len == 4 && memcmp(s, "Male", 4) == 0)
		return MLP_MALE;
	if (len == 6 && memcmp(s, "Female", 6) == 0)
		return MLP_FEMALE;
	return MLP_GENDER_OTHER;
}

bool
mlp_purchase_is_clean(const MlpPurchase *p)
{
	if (p == NULL)
		return false;
	/* NaN (missing) and infinities fail isfinite(); negatives are dropped. */
	if (!isfinite(p->amount) || p->amount < 0)
		return false;
	if (!isfinite(p->income) || p->income < 0)
		return false;
	/* MLP_AGE_MISSING is INT32_MIN, so it fails the first test too. */
	if (p->age <= 0 || p->age > MLP_AGE_MAX)
		return false;
	if (p->gender != MLP_MALE && p->gender != MLP_FEMALE &&
		p->gender != MLP_GENDER_MISSING)
		return false;
	/* Keeps month indexes and day differences far from any overflow. */
	if (p->ts < MLP_TS_MIN || p->ts > MLP_TS_MAX || p->usec < 0 || p->usec >= USECS_PER_SEC)
		return false;
	return true;
}

int
mlp_purchase_cmp(const MlpPurchase *a, const MlpPurchase *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->usec != b->usec)
		return a->usec < b->usec ? -1 : 1;
	if (a->amount != b->amount)
		return a->amount < b->amount ? -1 : 1;
	if (a->income != b->income)
		return a->income < b->income ? -1 : 1;
	if (a->age != b->age)
		return a->age < b->age ? -1 : 1;
	if (a->gender != b->gender)
		return a->gender < b->gender ? -1 : 1;
	return 0;
}

int
mlp_customer_purchase_cmp(int64_t customer_a, const MlpPurchase *a,
						  int64_t customer_b, const MlpPurchase *b)
{
	if (customer_a != customer_b)
		return customer_a < customer_b ? -1 : 1;
	return mlp_purchase_cmp(a, b);
}

/*
 * Calendar.  Days are counted from 0000-03-01 (proleptic Gregorian) so that
 * the leap day is the last day of its year; then a 400-year cycle is 146097
 * days, a century 36524 (the fourth one is a day longer), four years 1461 and
 * a year 365 (the fourth one is a day longer).
 */

/* Floor division for a positive divisor. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}

/* Days from 0000-03-01 to 1970-01-01. */
#define DAYS_0000_03_01_TO_EPOCH 719468

/* First day of each month of a year that starts in March, counted from 1 March. */
static const int march_month_start[12] = {
	0, 31, 61, 92, 122, 153, 184, 214, 245, 275, 306, 337
};

int32_t
mlp_month_of(int64_t ts)
{
	int64_t		days = floor_div(ts, SECS_PER_DAY) + DAYS_0000_03_01_TO_EPOCH;
	int64_t		cycle = floor_div(days, 146097);
	int64_t		d = days - cycle * 146097;	/* 0 .. 146096 */
	int64_t		centuries;
	int64_t		quads;
	int64_t		years;
	int64_t		year;
	int64_t		month_index;
	int			m;				/* 0 = March .. 11 = February */

	centuries = d / 36524;
	if (centuries > 3)
		centuries = 3;			/* the last day of the cycle (a leap day) */
	d -= centuries * 36524;
	quads = d / 1461;
	d -= quads * 1461;
	years = d / 365;
	if (years > 3)
		years = 3;				/* the leap day closing a four-year block */
	d -= years * 365;			/* day of the March-based year, 0 .. 365 */

	year = cycle * 400 + centuries * 100 + quads * 4 + years;
	m = 11;
	while (m > 0 && march_month_start[m] > d)
		m--;
	/* Back to January-based months: March is 2, January of the next year 0. */
	if (m >= 10)
	{
		year++;
		m -= 10;
	}
	else
		m += 2;

	month_index = year * 12 + m;
	/* Only reachable for timestamps no clean purchase has; never wrap. */
	if (month_index > INT32_MAX)
		return INT32_MAX;
	if (month_index < INT32_MIN)
		return INT32_MIN;
	return (int32_t) month_index;
}

int64_t
mlp_month_start(int64_t month)
{
	int64_t		year = floor_div(month, 12);
	int64_t		m = month - year * 12;	/* 0 = January */
	int64_t		cycle;
	int64_t		y;
	int64_t		days;

	/* To the March-based year: January and February close the previous one. */
	if (m < 2)
	{
		year--;
		m += 10;
	}
	else
		m -= 2;
	cycle = floor_div(year, 400);
	y = year - cycle * 400;		/* 0 .. 399 */
	days = cycle * 146097 + y * 365 + y / 4 - y / 100 + march_month_start[m];
	return (days - DAYS_0000_03_01_TO_EPOCH) * SECS_PER_DAY;
}

/* Microseconds from a to b; exact for clean purchases (|ts| < 2^38). */
static int64_t
usec_between(const MlpPurchase *a, const MlpPurchase *b)
{
	return (b->ts - a->ts) * USECS_PER_SEC + (b->usec - a->usec);
}

/* Whole days (floor) from a to b, b not before a. */
static int64_t
days_between(const MlpPurchase *a, const MlpPurchase *b)
{
	return usec_between(a, b) / USECS_PER_DAY;
}

/*
 * Checks the preconditions of mlp_customer_months(): every purchase clean,
 * ts ascending, and few enough purchases for int32 counts.  Also returns the
 * customer's avg_days_between_purchases, which needs every purchase anyway.
 */
static bool
check_and_avg_days(const MlpPurchase *sorted, size_t n, double *avg_days)
{
	int64_t		sum = 0;

	if (sorted == NULL || n == 0 || n > (size_t) INT32_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		if (!mlp_purchase_is_clean(&sorted[i]))
			return false;
		if (i == 0)
			sum += -1;
		else
		{
			if (usec_between(&sorted[i - 1], &sorted[i]) < 0)
				return false;
			sum += days_between(&sorted[i - 1], &sorted[i]);
		}
	}

	/* C integer division truncates toward zero, as docs/features.md asks. */
	*avg_days = (double) (sum / (int64_t) n);
	return true;
}

size_t
mlp_months_capacity(const MlpPurchase *sorted, size_t n, bool fill_gaps)
{
	int64_t		first;
	int64_t		last;

	if (sorted == NULL || n == 0)
		return 0;
	if (!fill_gaps)
		return n;				/* every row holds at least one purchase */
	first = mlp_month_of(sorted[0].ts);
	last = mlp_month_of(sorted[n - 1].ts);
	/* Unsorted input: mlp_customer_months() writes nothing anyway. */
	if (last < first)
		return n;
	return (size_t) (last - first + 1);
}

/*
 * Fills the per-month fields of *m from the purchases p[0..k-1], all in one
 * month.  ages is a zeroed histogram of MLP_AGE_MAX + 1 counters; it is left
 * zeroed again on return (only the touched counters are reset, so that the
 * cost stays proportional to k).
 */
static void
fill_month(MlpMonth *m, const MlpPurchase *p, size_t k, int32_t *ages)
{
	int32_t		best_age = 0;
	int32_t		best_count = 0;

	m->n_male = 0;
	m->n_female = 0;
	m->n_missing_gender = 0;
	m->frequency = (int32_t) k;
	m->annual_income = p[0].income;
	m->purchase_amount = 0;
	for (size_t i = 0; i < k; i++)
	{
		int32_t		c = ++ages[p[i].age];

		if (c > best_count || (c == best_count && p[i].age < best_age))
		{
			best_count = c;
			best_age = p[i].age;
		}
		if (p[i].gender == MLP_MALE)
			m->n_male++;
		else if (p[i].gender == MLP_FEMALE)
			m->n_female++;
		else
			m->n_missing_gender++;
		if (p[i].income > m->annual_income)
			m->annual_income = p[i].income;
		m->purchase_amount += p[i].amount;
	}
	for (size_t i = 0; i < k; i++)
		ages[p[i].age] = 0;
	m->age = best_age;
}

size_t
mlp_customer_months(const MlpPurchase *sorted, size_t n, bool fill_gaps,
					MlpMonth *out)
{
	int32_t		ages[MLP_AGE_MAX + 1];
	double		avg_days;
	double		clv = 0;
	size_t		rows = 0;
	size_t		start = 0;

	if (out == NULL || !check_and_avg_days(sorted, n, &avg_days))
		return 0;
	memset(ages, 0, sizeof(ages));

	while (start < n)
	{
		int32_t		month = mlp_month_of(sorted[start].ts);
		int64_t		next_month = mlp_month_start((int64_t) month + 1);
		size_t		end = start + 1;
		MlpMonth   *m;

		while (end < n && sorted[end].ts < next_month)
			end++;

		/* Gap months: copies of the previous row with nothing bought. */
		if (fill_gaps && rows > 0)
		{
			while (out[rows - 1].month + 1 < month)
			{
				MlpMonth   *gap = &out[rows];

				*gap = out[rows - 1];
				gap->month++;
				gap->frequency = 0;
				gap->purchase_amount = 0;
				gap->days_since_last += 30;
				rows++;
			}
		}

		m = &out[rows++];
		m->month = month;
		fill_month(m, &sorted[start], end - start, ages);
		if (start == 0)
			m->days_since_last = -1;
		else
			m->days_since_last = (double) days_between(&sorted[start - 1], &sorted[start]);
		m->avg_days_between = avg_days;
		clv += m->purchase_amount;
		m->clv = clv;

		start = end;
	}
	return rows;
}

double
mlp_next_month_amount(const MlpMonth *rows, size_t n, int32_t month)
{
	size_t		lo = 0,
				hi = n;

	if (month == INT32_MAX)
		return 0;
	/* the first row of month + 1 or later */
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (rows[mid].month <= month)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && rows[lo].month == month + 1 ? rows[lo].purchase_amount : 0;
}

int
mlp_month_gender(const MlpMonth *m, int fill_gender)
{
	int64_t		male;
	int64_t		female;

	if (m == NULL)
		return MLP_FEMALE;
	male = m->n_male;
	female = m->n_female;
	/* A fill value that is not a gender fills nothing. */
	if (fill_gender == MLP_MALE)
		male += m->n_missing_gender;
	else if (fill_gender == MLP_FEMALE)
		female += m->n_missing_gender;
	return male > female ? MLP_MALE : MLP_FEMALE;
}

/* The values of the four standardized columns of a monthly row. */
static void
std_values(const MlpMonth *m, double x[MLP_NSTD])
{
	x[MLP_STD_PURCHASE_AMOUNT] = m->purchase_amount;
	x[MLP_STD_ANNUAL_INCOME] = m->annual_income;
	x[MLP_STD_CLV] = m->clv;
	x[MLP_STD_AGE_INCOME] = (double) m->age * m->annual_income;
}

void
mlp_std_accum_init(MlpStdAccum *acc)
{
	if (acc == NULL)
		return;
	for (int c = 0; c < MLP_NSTD; c++)
	{
		acc->n[c] = 0;
		acc->mean[c] = 0;
		acc->m2[c] = 0;
	}
}

void
mlp_std_accum_add(MlpStdAccum *acc, const MlpMonth *m)
{
	double		x[MLP_NSTD];

	if (acc == NULL || m == NULL)
		return;
	std_values(m, x);
	for (int c = 0; c < MLP_NSTD; c++)
	{
		double		delta;

		/* Only strictly positive values count; infinities would poison it. */
		if (!(x[c] > 0) || !isfinite(x[c]))
			continue;
		/* Welford: stable where sum-of-squares would cancel catastrophically. */
		acc->n[c] += 1;
		delta = x[c] - acc->mean[c];
		acc->mean[c] += delta / acc->n[c];
		acc->m2[c] += delta * (x[c] - acc->mean[c]);
	}
}

bool
mlp_std_accum_finish(const MlpStdAccum *acc, MlpStandardization *out,
					 const char **bad_column)
{
	if (bad_column != NULL)
		*bad_column = NULL;
	if (acc == NULL || out == NULL)
		return false;
	for (int c = 0; c < MLP_NSTD; c++)
	{
		double		std = 0;

		if (acc->n[c] > 0)
			std = sqrt(acc->m2[c] / acc->n[c]);	/* population std */
		if (!(std > 0) || !isfinite(std) || !isfinite(acc->mean[c]))
		{
			if (bad_column != NULL)
				*bad_column = mlp_std_column_names[c];
			return false;
		}
		out->mean[c] = acc->mean[c];
		out->std[c] = std;
	}
	return true;
}

double
mlp_standardize(const MlpStandardization *s, int column, double x)
{
	if (s == NULL || column < 0 || column >= MLP_NSTD)
		return 0;
	if (!(x > 0))
		return 0;				/* also NaN */
	return (x - s->mean[column]) / s->std[column];
}

void
mlp_month_vector(const MlpMonth *m, int fill_gender,
				 const MlpStandardization *s, double out[MLP_NFEATURES])
{
	/* Upper edges of the right-closed bins after the dropped first one. */
	static const int32_t age_upper[6] = {25, 35, 45, 55, 65, 100};
	static const double income_upper[4] = {75395, 94999, 114295, 1015980};
	double		x[MLP_NSTD];
	int32_t		age_lower = 18;
	double		income_lower = 54415;

	if (out == NULL)
		return;
	for (int i = 0; i < MLP_NFEATURES; i++)
		out[i] = 0;
	if (m == NULL)
		return;

	out[MLP_F_AGE] = m->age;
	out[MLP_F_GENDER] = mlp_month_gender(m, fill_gender);
	out[MLP_F_FREQUENCY] = m->frequency;
	out[MLP_F_DAYS_SINCE_LAST] = m->days_since_last;
	out[MLP_F_AVG_DAYS_BETWEEN] = m->avg_days_between;

	for (int b = 0; b < 6; b++)
	{
		if (m->age > age_lower && m->age <= age_upper[b])
			out[MLP_F_AGE_19_25 + b] = 1;
		age_lower = age_upper[b];
	}
	for (int b = 0; b < 4; b++)
	{
		if (m->annual_income > income_lower && m->annual_income <= income_upper[b])
			out[MLP_F_INCOME_LOW + b] = 1;
		income_lower = income_upper[b];
	}

	std_values(m, x);
	for (int c = 0; c < MLP_NSTD; c++)
		out[MLP_F_PURCHASE_AMOUNT_STD + c] = mlp_standardize(s, c, x[c]);
}

bool
mlp_serving_month(const MlpPurchase *stored, size_t n_stored,
				  const MlpPurchase *newp,
				  MlpPurchase *work, MlpMonth *months, MlpMonth *out)
{
	size_t		k = 0;
	size_t		rows;
	int32_t		month;

	if (newp == NULL || work == NULL || months == NULL || out == NULL)
		return false;
	if (!mlp_purchase_is_clean(newp))
		return false;
	if (stored == NULL)
		n_stored = 0;

	for (size_t i = 0; i < n_stored; i++)
	{
		if (!mlp_purchase_is_clean(&stored[i]) || usec_between(&stored[i], newp) == 0)
			continue;
		work[k] = stored[i];
		if (work[k].gender == MLP_GENDER_MISSING)
			work[k].gender = newp->gender;
		k++;
	}
	work[k++] = *newp;

	/*
	 * Insertion sort: linear on the sorted history the caller promises, and
	 * still correct (stable) if it is not.  newp has a ts of its own by now.
	 */
	for (size_t i = 1; i < k; i++)
	{
		MlpPurchase tmp = work[i];
		size_t		j = i;

		while (j > 0 && usec_between(&tmp, &work[j - 1]) > 0)
		{
			work[j] = work[j - 1];
			j--;
		}
		work[j] = tmp;
	}

	rows = mlp_customer_months(work, k, false, months);
	month = mlp_month_of(newp->ts);
	for (size_t r = 0; r < rows; r++)
	{
		if (months[r].month == month)
		{
			*out = months[r];
			return true;
		}
	}
	return false;				/* not reachable with a clean newp */
}
