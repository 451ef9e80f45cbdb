/*
 * test_features.c — unit tests of the feature core (docs/features.md).
 *
 * Expectations are computed by hand (or, for timestamps, by an independent
 * day-by-day calendar walk in this file), never by calling the code under
 * test a second way.  Prints one line per failed check and finally
 * "N passed, M failed"; exits 1 if anything failed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "features.h"

/* ---- an independent calendar, slow and obvious ---- */

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Unix seconds of a UTC date and time (loops over years: fine for tests). */
static int64_t
utc(int64_t y, int mo, int d, int h, int mi, int s)
{
	int64_t		days = 0;

	for (int64_t yy = 1970; yy < y; yy++)
		days += is_leap(yy) ? 366 : 365;
	for (int64_t yy = y; yy < 1970; yy++)
		days -= is_leap(yy) ? 366 : 365;
	for (int m = 1; m < mo; m++)
		days += days_in_month(y, m);
	days += d - 1;
	return days * 86400 + h * 3600 + mi * 60 + s;
}

static int32_t
month_index(int64_t y, int mo)
{
	return (int32_t) (y * 12 + mo - 1);
}

#define DAY 86400
#define HOUR 3600

static MlpPurchase
purchase(int64_t ts, double amount, double income, int32_t age, int32_t gender)
{
	MlpPurchase p;

	memset(&p, 0, sizeof(p));
	p.ts = ts;
	p.amount = amount;
	p.income = income;
	p.age = age;
	p.gender = gender;
	return p;
}

static MlpMonth
month_row(int32_t age, double income, double amount, double clv)
{
	MlpMonth	m;

	memset(&m, 0, sizeof(m));
	m.month = month_index(2024, 1);
	m.age = age;
	m.n_female = 1;
	m.frequency = 1;
	m.annual_income = income;
	m.purchase_amount = amount;
	m.days_since_last = -1;
	m.avg_days_between = -1;
	m.clv = clv;
	return m;
}

/* ---- tests ---- */

static void
test_names(void)
{
	static const char *const want[MLP_NFEATURES] = {
		"age", "gender", "frequency", "days_since_last_purchase",
		"avg_days_between_purchases", "age_group_19-25", "age_group_26-35",
		"age_group_36-45", "age_group_46-55", "age_group_56-65", "age_group_65+",
		"income_group_Low", "income_group_Medium", "income_group_High",
		"income_group_Very High", "purchase_amount_standardized",
		"annual_income_standardized", "clv_standardized",
		"age_income_interaction_standardized"
	};

	for (int i = 0; i < MLP_NFEATURES; i++)
		CHECK_EXPR(strcmp(mlp_feature_names[i], want[i]) == 0);
	CHECK_EXPR(strcmp(mlp_std_column_names[MLP_STD_PURCHASE_AMOUNT], "purchase_amount") == 0);
	CHECK_EXPR(strcmp(mlp_std_column_names[MLP_STD_ANNUAL_INCOME], "annual_income") == 0);
	CHECK_EXPR(strcmp(mlp_std_column_names[MLP_STD_CLV], "clv") == 0);
	CHECK_EXPR(strcmp(mlp_std_column_names[MLP_STD_AGE_INCOME], "age_income_interaction") == 0);
}

static void
test_gender_text(void)
{
	CHECK_EXPR(mlp_gender_from_text("Male", 4) == MLP_MALE);
	CHECK_EXPR(mlp_gender_from_text("Female", 6) == MLP_FEMALE);
	CHECK_EXPR(mlp_gender_from_text("Males", 4) == MLP_MALE);	/* len is honoured */
	CHECK_EXPR(mlp_gender_from_text("Female", 4) == MLP_GENDER_OTHER);
	CHECK_EXPR(mlp_gender_from_text("male", 4) == MLP_GENDER_OTHER);
	CHECK_EXPR(mlp_gender_from_text("FEMALE", 6) == MLP_GENDER_OTHER);
	CHECK_EXPR(mlp_gender_from_text("Other", 5) == MLP_GENDER_OTHER);
	CHECK_EXPR(mlp_gender_from_text("Male ", 5) == MLP_GENDER_OTHER);
	CHECK_EXPR(mlp_gender_from_text("", 0) == MLP_GENDER_MISSING);
	CHECK_EXPR(mlp_gender_from_text(NULL, 0) == MLP_GENDER_MISSING);
	CHECK_EXPR(mlp_gender_from_text(NULL, 7) == MLP_GENDER_MISSING);
}

static void
test_cleaning(void)
{
	int64_t		t = utc(2024, 1, 15, 12, 0, 0);
	MlpPurchase p = purchase(t, 10.5, 50000, 30, MLP_FEMALE);
	MlpPurchase q;

	CHECK_EXPR(mlp_purchase_is_clean(&p));
	CHECK_EXPR(!mlp_purchase_is_clean(NULL));

	q = p; q.amount = -0.01;		CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.amount = 0;			CHECK_EXPR(mlp_purchase_is_clean(&q));
	q = p; q.amount = NAN;			CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.amount = INFINITY;		CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.income = -1;			CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.income = 0;			CHECK_EXPR(mlp_purchase_is_clean(&q));
	q = p; q.income = NAN;			CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.income = -INFINITY;	CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.age = 0;				CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.age = -3;				CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.age = 1;				CHECK_EXPR(mlp_purchase_is_clean(&q));
	q = p; q.age = 120;				CHECK_EXPR(mlp_purchase_is_clean(&q));
	q = p; q.age = 121;				CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.age = MLP_AGE_MISSING;	CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.gender = MLP_MALE;		CHECK_EXPR(mlp_purchase_is_clean(&q));
	q = p; q.gender = MLP_GENDER_MISSING;	CHECK_EXPR(mlp_purchase_is_clean(&q));
	q = p; q.gender = MLP_GENDER_OTHER;	CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.gender = 7;			CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.ts = MLP_TS_MIN;		CHECK_EXPR(mlp_purchase_is_clean(&q));
	q = p; q.ts = MLP_TS_MIN - 1;	CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.ts = MLP_TS_MAX;		CHECK_EXPR(mlp_purchase_is_clean(&q));
	q = p; q.ts = MLP_TS_MAX + 1;	CHECK_EXPR(!mlp_purchase_is_clean(&q));
	q = p; q.ts = INT64_MIN;		CHECK_EXPR(!mlp_purchase_is_clean(&q));
}

static void
test_month_of(void)
{
	/* Anchors checked against Python's datetime. */
	CHECK_EXPR(utc(2024, 2, 29, 22, 0, 0) == 1709244000);
	CHECK_EXPR(utc(1900, 3, 1, 0, 0, 0) == -2203891200);
	CHECK_EXPR(utc(1600, 2, 29, 12, 0, 0) == -11670955200);
	CHECK_EXPR(utc(1, 1, 1, 0, 0, 0) == MLP_TS_MIN);
	CHECK_EXPR(utc(9999, 12, 31, 23, 59, 59) == MLP_TS_MAX);

	CHECK_EXPR(mlp_month_of(0) == month_index(1970, 1));
	CHECK_EXPR(mlp_month_of(-1) == month_index(1969, 12));
	CHECK_EXPR(mlp_month_of(utc(1969, 12, 1, 0, 0, 0)) == month_index(1969, 12));
	CHECK_EXPR(mlp_month_of(utc(1969, 12, 1, 0, 0, 0) - 1) == month_index(1969, 11));
	/* 1900 is not a leap year, 2000 and 1600 are, 2024 is. */
	CHECK_EXPR(mlp_month_of(utc(1900, 3, 1, 0, 0, 0)) == month_index(1900, 3));
	CHECK_EXPR(mlp_month_of(utc(1900, 3, 1, 0, 0, 0) - 1) == month_index(1900, 2));
	CHECK_EXPR(mlp_month_of(utc(2000, 2, 29, 23, 59, 59)) == month_index(2000, 2));
	CHECK_EXPR(mlp_month_of(utc(2000, 2, 29, 23, 59, 59) + 1) == month_index(2000, 3));
	CHECK_EXPR(mlp_month_of(-11670955200) == month_index(1600, 2));
	CHECK_EXPR(mlp_month_of(1709244000) == month_index(2024, 2));
	CHECK_EXPR(mlp_month_of(utc(2024, 12, 31, 23, 59, 59)) == month_index(2024, 12));
	CHECK_EXPR(mlp_month_of(utc(2024, 12, 31, 23, 59, 59) + 1) == month_index(2025, 1));
	CHECK_EXPR(mlp_month_of(MLP_TS_MIN) == month_index(1, 1));
	CHECK_EXPR(mlp_month_of(MLP_TS_MAX) == month_index(9999, 12));
	/* Far outside the clean range: clamped, no overflow. */
	CHECK_EXPR(mlp_month_of(INT64_MIN) == INT32_MIN);
	CHECK_EXPR(mlp_month_of(INT64_MAX) == INT32_MAX);

	/*
	 * Every day of years 1 .. 9999, walked one day at a time: the first and
	 * the last second of each day fall in the walked month.
	 */
	{
		int64_t		ts = MLP_TS_MIN;
		int64_t		bad = 0;

		for (int64_t y = 1; y <= 9999; y++)
			for (int m = 1; m <= 12; m++)
				for (int d = 1; d <= days_in_month(y, m); d++)
				{
					int32_t		want = month_index(y, m);

					if (mlp_month_of(ts) != want ||
						mlp_month_of(ts + DAY - 1) != want)
					{
						if (bad++ < 3)
							printf("  month_of wrong on %04lld-%02d-%02d\n",
								   (long long) y, m, d);
					}
					ts += DAY;
				}
		CHECK_EXPR(bad == 0);
		CHECK_EXPR(ts == MLP_TS_MAX + 1);
	}

	/* mlp_month_start is the inverse: the first second of every month. */
	{
		int64_t		ts = MLP_TS_MIN;
		int64_t		bad = 0;

		for (int64_t y = 1; y <= 9999; y++)
			for (int m = 1; m <= 12; m++)
			{
				int64_t		start = mlp_month_start(month_index(y, m));

				if (start != ts ||
					mlp_month_of(start) != month_index(y, m) ||
					mlp_month_of(start - 1) != month_index(y, m) - 1)
				{
					if (bad++ < 3)
						printf("  month_start wrong for %04lld-%02d\n", (long long) y, m);
				}
				ts += (int64_t) days_in_month(y, m) * DAY;
			}
		CHECK_EXPR(bad == 0);
		CHECK_EXPR(mlp_month_start(month_index(1970, 1)) == 0);
		CHECK_EXPR(mlp_month_start(month_index(2024, 3)) == 1709251200);
		/* before year 1 and after 9999 too (the month loop asks for month + 1) */
		CHECK_EXPR(mlp_month_start(month_index(10000, 1)) == MLP_TS_MAX + 1);
		CHECK_EXPR(mlp_month_of(mlp_month_start(month_index(0, 12))) == month_index(0, 12));
		CHECK_EXPR(mlp_month_of(mlp_month_start(month_index(-400, 2))) == month_index(-400, 2));
	}
}

static void
test_utc_month_of_local_time(void)
{
	/* 2024-03-01T01:00:00+03:00 is 2024-02-29T22:00:00Z: February. */
	MlpPurchase p[2];
	MlpMonth	out[4];
	size_t		n;

	p[0] = purchase(utc(2024, 3, 1, 1, 0, 0) - 3 * HOUR, 10, 50000, 30, MLP_MALE);
	/* 2023-12-31T23:30:00-02:00 is 2024-01-01T01:30:00Z: January of the next year. */
	CHECK_EXPR(mlp_month_of(utc(2023, 12, 31, 23, 30, 0) + 2 * HOUR) == month_index(2024, 1));
	n = mlp_customer_months(p, 1, true, out);
	CHECK_EXPR(n == 1);
	CHECK_EXPR(out[0].month == month_index(2024, 2));

	/* And one minute later in UTC it is March: two rows, no gap. */
	p[1] = purchase(utc(2024, 3, 1, 0, 0, 0), 5, 50000, 30, MLP_MALE);
	CHECK_EXPR(mlp_months_capacity(p, 2, true) == 2);
	n = mlp_customer_months(p, 2, true, out);
	CHECK_EXPR(n == 2);
	CHECK_EXPR(out[0].month == month_index(2024, 2));
	CHECK_EXPR(out[1].month == month_index(2024, 3));
	CHECK_NUM(out[1].days_since_last, 0);	/* two hours apart */
}

/* avg_days_between of a customer whose purchases are t0 + offsets[i]. */
static double
avg_days_of(const int64_t *offsets, size_t n)
{
	MlpPurchase p[8];
	MlpMonth	out[8];
	int64_t		t0 = utc(2024, 5, 1, 8, 0, 0);

	for (size_t i = 0; i < n; i++)
		p[i] = purchase(t0 + offsets[i], 1, 1000, 40, MLP_FEMALE);
	if (mlp_customer_months(p, n, false, out) == 0)
		return NAN;
	return out[0].avg_days_between;
}

static void
test_days(void)
{
	/* Days -1, 10, 3 (10 days 5 hours floors to 10): mean 12/3 = 4. */
	{
		int64_t		t0 = utc(2024, 1, 31, 10, 0, 0);
		MlpPurchase p[3];
		MlpMonth	out[4];

		p[0] = purchase(t0, 100, 60000, 30, MLP_FEMALE);
		p[1] = purchase(utc(2024, 2, 10, 15, 0, 0), 20, 60000, 30, MLP_FEMALE);
		p[2] = purchase(utc(2024, 2, 13, 15, 0, 0), 30, 60000, 30, MLP_FEMALE);
		CHECK_EXPR(mlp_customer_months(p, 3, true, out) == 2);
		CHECK_NUM(out[0].days_since_last, -1);
		CHECK_NUM(out[1].days_since_last, 10);	/* the month's first purchase */
		CHECK_NUM(out[0].avg_days_between, 4);
		CHECK_NUM(out[1].avg_days_between, 4);
		CHECK_EXPR(out[1].frequency == 2);
		CHECK_NUM(out[1].purchase_amount, 50);
	}
	/* Floors of partial days. */
	{
		int64_t		a[] = {0, 2 * DAY + 23 * HOUR + 59 * 60 + 59};	/* -1, 2 */
		int64_t		b[] = {0, DAY - 1};	/* -1, 0: -0.5 truncates to 0 */
		int64_t		c[] = {0};	/* -1 */
		int64_t		d[] = {0, 0, 0};	/* -1, 0, 0: -1/3 truncates to 0 */
		int64_t		e[] = {0, 3 * DAY};	/* -1, 3: 1 */
		int64_t		f[] = {0, DAY, 2 * DAY + 1};	/* -1, 1, 1: 1/3 -> 0 */
		int64_t		g[] = {0, 10 * DAY, 13 * DAY + 5};	/* -1, 10, 3: 4 */
		int64_t		h[] = {0, 5 * DAY, 11 * DAY};	/* -1, 5, 6: 10/3 -> 3 */

		CHECK_NUM(avg_days_of(a, 2), 0);
		CHECK_NUM(avg_days_of(b, 2), 0);
		CHECK_EXPR(!signbit(avg_days_of(b, 2)));
		CHECK_NUM(avg_days_of(c, 1), -1);
		CHECK_NUM(avg_days_of(d, 3), 0);
		CHECK_NUM(avg_days_of(e, 2), 1);
		CHECK_NUM(avg_days_of(f, 3), 0);
		CHECK_NUM(avg_days_of(g, 3), 4);
		CHECK_NUM(avg_days_of(h, 3), 3);
	}
	/* Floor across a month boundary: 1 day 23:59:59 is 1 day. */
	{
		MlpPurchase p[2];
		MlpMonth	out[2];

		p[0] = purchase(utc(2023, 12, 30, 0, 0, 1), 1, 1000, 40, MLP_FEMALE);
		p[1] = purchase(utc(2024, 1, 1, 0, 0, 0), 1, 1000, 40, MLP_FEMALE);
		CHECK_EXPR(mlp_customer_months(p, 2, false, out) == 2);
		CHECK_NUM(out[1].days_since_last, 1);
		CHECK_NUM(out[1].avg_days_between, 0);
	}
}

static void
test_month_aggregates(void)
{
	/* One month: ages 30, 40, 40, 30, 35 -> tie 30/40, smallest 30. */
	MlpPurchase p[7];
	MlpMonth	out[4];
	int64_t		t = utc(2024, 6, 1, 0, 0, 0);

	p[0] = purchase(t, 10.25, 50000, 40, MLP_MALE);
	p[1] = purchase(t + DAY, 20, 70000, 30, MLP_FEMALE);
	p[2] = purchase(t + 2 * DAY, 30, 60000, 40, MLP_GENDER_MISSING);
	p[3] = purchase(t + 3 * DAY, 40, 65000, 30, MLP_FEMALE);
	p[4] = purchase(t + 4 * DAY, 50, 0, 35, MLP_MALE);
	/* Next month: ages 50, 45 -> 45; then 46, 46, 45 -> 46 */
	p[5] = purchase(utc(2024, 7, 3, 0, 0, 0), 5, 1000, 50, MLP_FEMALE);
	p[6] = purchase(utc(2024, 7, 4, 0, 0, 0), 6, 2000, 45, MLP_FEMALE);

	CHECK_EXPR(mlp_customer_months(p, 7, true, out) == 2);
	CHECK_EXPR(out[0].month == month_index(2024, 6));
	CHECK_EXPR(out[0].age == 30);
	CHECK_EXPR(out[0].n_male == 2);
	CHECK_EXPR(out[0].n_female == 2);
	CHECK_EXPR(out[0].n_missing_gender == 1);
	CHECK_EXPR(out[0].frequency == 5);
	CHECK_NUM(out[0].annual_income, 70000);
	CHECK_NUM(out[0].purchase_amount, 150.25);
	CHECK_NUM(out[0].clv, 150.25);
	CHECK_EXPR(out[1].age == 45);
	CHECK_NUM(out[1].annual_income, 2000);
	CHECK_NUM(out[1].purchase_amount, 11);
	CHECK_NUM(out[1].clv, 161.25);
	/* The month's last purchase was Jun 5: Jun 5 -> Jul 3 is 28 days. */
	CHECK_NUM(out[1].days_since_last, 28);

	/* A clear majority beats a smaller age. */
	p[0] = purchase(t, 1, 1, 46, MLP_MALE);
	p[1] = purchase(t + 1, 1, 1, 46, MLP_MALE);
	p[2] = purchase(t + 2, 1, 1, 45, MLP_MALE);
	p[3] = purchase(t + 3, 1, 1, 120, MLP_MALE);
	CHECK_EXPR(mlp_customer_months(p, 4, true, out) == 1);
	CHECK_EXPR(out[0].age == 46);
	/* All different: smallest. */
	p[0].age = 99;
	p[1].age = 98;
	p[2].age = 120;
	p[3].age = 1;
	CHECK_EXPR(mlp_customer_months(p, 4, true, out) == 1);
	CHECK_EXPR(out[0].age == 1);
	/* Equal timestamps are fine (stable, same month). */
	p[1].ts = p[0].ts;
	CHECK_EXPR(mlp_customer_months(p, 4, true, out) == 1);
}

static void
test_month_gender(void)
{
	MlpMonth	m;

	memset(&m, 0, sizeof(m));
	m.n_male = 2; m.n_female = 2; m.n_missing_gender = 0;
	CHECK_EXPR(mlp_month_gender(&m, MLP_MALE) == MLP_FEMALE);	/* tie: Female */
	m.n_male = 3; m.n_female = 1;
	CHECK_EXPR(mlp_month_gender(&m, MLP_FEMALE) == MLP_MALE);
	m.n_male = 1; m.n_female = 2;
	CHECK_EXPR(mlp_month_gender(&m, MLP_MALE) == MLP_FEMALE);
	m.n_male = 2; m.n_female = 1; m.n_missing_gender = 2;
	CHECK_EXPR(mlp_month_gender(&m, MLP_FEMALE) == MLP_FEMALE);	/* 2 vs 3 */
	CHECK_EXPR(mlp_month_gender(&m, MLP_MALE) == MLP_MALE);	/* 4 vs 1 */
	m.n_male = 1; m.n_female = 1; m.n_missing_gender = 1;
	CHECK_EXPR(mlp_month_gender(&m, MLP_MALE) == MLP_MALE);
	CHECK_EXPR(mlp_month_gender(&m, MLP_FEMALE) == MLP_FEMALE);
	m.n_male = 0; m.n_female = 0; m.n_missing_gender = 3;
	CHECK_EXPR(mlp_month_gender(&m, MLP_MALE) == MLP_MALE);
	CHECK_EXPR(mlp_month_gender(&m, MLP_FEMALE) == MLP_FEMALE);
	m.n_male = 2; m.n_female = 0; m.n_missing_gender = 2;
	CHECK_EXPR(mlp_month_gender(&m, MLP_FEMALE) == MLP_FEMALE);	/* 2 vs 2 tie */
	/* A fill that is not a gender fills nothing. */
	m.n_male = 1; m.n_female = 0; m.n_missing_gender = 5;
	CHECK_EXPR(mlp_month_gender(&m, 5) == MLP_MALE);
	CHECK_EXPR(mlp_month_gender(&m, MLP_GENDER_MISSING) == MLP_MALE);
	CHECK_EXPR(mlp_month_gender(NULL, MLP_MALE) == MLP_FEMALE);
}

static void
test_gap_filling(void)
{
	MlpPurchase p[4];
	MlpMonth	out[8];
	size_t		n;

	/* Dec 20, Jan 5, (Feb, Mar missing), Apr 2 (88 days after Jan 5). */
	p[0] = purchase(utc(2023, 12, 20, 9, 0, 0), 100, 80000, 33, MLP_MALE);
	p[1] = purchase(utc(2024, 1, 5, 9, 0, 0), 40, 90000, 34, MLP_GENDER_MISSING);
	p[2] = purchase(utc(2024, 4, 2, 9, 0, 0), 25.5, 85000, 34, MLP_FEMALE);
	/* days: -1, 16, 88 -> 103 / 3 = 34 */

	CHECK_EXPR(mlp_months_capacity(p, 3, true) == 5);
	CHECK_EXPR(mlp_months_capacity(p, 3, false) == 3);
	n = mlp_customer_months(p, 3, true, out);
	CHECK_EXPR(n == 5);
	CHECK_EXPR(out[0].month == month_index(2023, 12));
	CHECK_EXPR(out[1].month == month_index(2024, 1));
	CHECK_EXPR(out[2].month == month_index(2024, 2));
	CHECK_EXPR(out[3].month == month_index(2024, 3));
	CHECK_EXPR(out[4].month == month_index(2024, 4));
	CHECK_NUM(out[0].days_since_last, -1);
	CHECK_NUM(out[1].days_since_last, 16);
	CHECK_NUM(out[2].days_since_last, 46);
	CHECK_NUM(out[3].days_since_last, 76);
	CHECK_NUM(out[4].days_since_last, 88);
	CHECK_NUM(out[2].purchase_amount, 0);
	CHECK_NUM(out[3].purchase_amount, 0);
	CHECK_EXPR(out[2].frequency == 0);
	CHECK_EXPR(out[3].frequency == 0);
	CHECK_NUM(out[0].clv, 100);
	CHECK_NUM(out[1].clv, 140);
	CHECK_NUM(out[2].clv, 140);
	CHECK_NUM(out[3].clv, 140);
	CHECK_NUM(out[4].clv, 165.5);
	/* Carried forward from January. */
	CHECK_EXPR(out[2].age == 34 && out[3].age == 34);
	CHECK_NUM(out[3].annual_income, 90000);
	CHECK_EXPR(out[3].n_male == 0 && out[3].n_female == 0 && out[3].n_missing_gender == 1);
	for (int i = 0; i < 5; i++)
		CHECK_NUM(out[i].avg_days_between, 34);
	CHECK_NUM(out[4].annual_income, 85000);
	CHECK_EXPR(out[4].n_female == 1 && out[4].n_missing_gender == 0);

	/* Serving mode: no gap rows. */
	n = mlp_customer_months(p, 3, false, out);
	CHECK_EXPR(n == 3);
	CHECK_EXPR(out[2].month == month_index(2024, 4));
	CHECK_NUM(out[2].days_since_last, 88);
	CHECK_NUM(out[2].clv, 165.5);

	/* A single gap after a first month: -1 + 30 = 29; across a year end. */
	p[0] = purchase(utc(2023, 11, 30, 0, 0, 0), 10, 1000, 20, MLP_FEMALE);
	p[1] = purchase(utc(2024, 1, 1, 0, 0, 0), 10, 1000, 20, MLP_FEMALE);
	CHECK_EXPR(mlp_months_capacity(p, 2, true) == 3);
	n = mlp_customer_months(p, 2, true, out);
	CHECK_EXPR(n == 3);
	CHECK_EXPR(out[1].month == month_index(2023, 12));
	CHECK_NUM(out[1].days_since_last, 29);
	CHECK_NUM(out[2].days_since_last, 32);
}

static void
test_bad_input(void)
{
	MlpPurchase p[3];
	MlpMonth	out[64];

	p[0] = purchase(utc(2024, 1, 1, 0, 0, 0), 10, 1000, 20, MLP_FEMALE);
	p[1] = purchase(utc(2026, 1, 1, 0, 0, 0), 10, 1000, 20, MLP_FEMALE);
	p[2] = purchase(utc(2024, 2, 1, 0, 0, 0), 10, 1000, 20, MLP_FEMALE);
	/* Unsorted: nothing written, even though 2024 -> 2026 would need 25 rows. */
	CHECK_EXPR(mlp_months_capacity(p, 3, true) == 2);
	out[0].month = 12345;
	CHECK_EXPR(mlp_customer_months(p, 3, true, out) == 0);
	CHECK_EXPR(out[0].month == 12345);
	/* Unclean row inside. */
	p[2] = purchase(utc(2027, 2, 1, 0, 0, 0), 10, 1000, 0, MLP_FEMALE);
	CHECK_EXPR(mlp_customer_months(p, 3, true, out) == 0);
	CHECK_EXPR(mlp_customer_months(p, 0, true, out) == 0);
	CHECK_EXPR(mlp_customer_months(NULL, 3, true, out) == 0);
	CHECK_EXPR(mlp_customer_months(p, 2, true, NULL) == 0);
	CHECK_EXPR(mlp_months_capacity(NULL, 3, true) == 0);
	CHECK_EXPR(mlp_months_capacity(p, 0, true) == 0);
}

static void
test_indicators(void)
{
	struct
	{
		int32_t		age;
		int			feature;	/* -1: no age indicator */
	}			ages[] = {
		{-5, -1}, {0, -1}, {1, -1}, {18, -1}, {19, MLP_F_AGE_19_25},
		{25, MLP_F_AGE_19_25}, {26, MLP_F_AGE_26_35}, {35, MLP_F_AGE_26_35},
		{36, MLP_F_AGE_36_45}, {45, MLP_F_AGE_36_45}, {46, MLP_F_AGE_46_55},
		{55, MLP_F_AGE_46_55}, {56, MLP_F_AGE_56_65}, {65, MLP_F_AGE_56_65},
		{66, MLP_F_AGE_65_PLUS}, {100, MLP_F_AGE_65_PLUS}, {101, -1}, {120, -1}
	};
	struct
	{
		double		income;
		int			feature;
	}			incomes[] = {
		{0, -1}, {-1, -1}, {1, -1}, {54415, -1}, {54415.01, MLP_F_INCOME_LOW},
		{75395, MLP_F_INCOME_LOW}, {75395.5, MLP_F_INCOME_MEDIUM},
		{94999, MLP_F_INCOME_MEDIUM}, {95000, MLP_F_INCOME_HIGH},
		{114295, MLP_F_INCOME_HIGH}, {114295.01, MLP_F_INCOME_VERY_HIGH},
		{1015980, MLP_F_INCOME_VERY_HIGH}, {1015980.01, -1}, {NAN, -1}
	};
	MlpStandardization s;
	double		v[MLP_NFEATURES];

	for (int c = 0; c < MLP_NSTD; c++)
	{
		s.mean[c] = 0;
		s.std[c] = 1;
	}
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++)
	{
		MlpMonth	m = month_row(ages[i].age, 60000, 1, 1);
		int			set = 0;
		bool		ok;

		mlp_month_vector(&m, MLP_FEMALE, &s, v);
		for (int f = MLP_F_AGE_19_25; f <= MLP_F_AGE_65_PLUS; f++)
			set += v[f] != 0;
		ok = ages[i].feature < 0 ? set == 0 : (set == 1 && v[ages[i].feature] == 1);
		if (!ok)
			printf("  age %d\n", ages[i].age);
		CHECK_EXPR(ok);
	}
	for (size_t i = 0; i < sizeof(incomes) / sizeof(incomes[0]); i++)
	{
		MlpMonth	m = month_row(30, incomes[i].income, 1, 1);
		int			set = 0;
		bool		ok;

		mlp_month_vector(&m, MLP_FEMALE, &s, v);
		for (int f = MLP_F_INCOME_LOW; f <= MLP_F_INCOME_VERY_HIGH; f++)
			set += v[f] != 0;
		ok = incomes[i].feature < 0 ? set == 0 : (set == 1 && v[incomes[i].feature] == 1);
		if (!ok)
			printf("  income %g\n", incomes[i].income);
		CHECK_EXPR(ok);
	}
}

static void
test_standardization(void)
{
	/*
	 * purchase_amount 2 4 4 4 5 5 7 9 (mean 5, population std 2) plus 0 and
	 * -3 that must not count.  annual_income 10 and 20 on the positive rows
	 * (mean 15, std 5), 0 on the others.  clv 1e9 + {4, 7, 13, 16}: mean
	 * 1e9 + 10, variance (36 + 9 + 9 + 36) / 4 = 22.5 (Welford keeps it
	 * exact where sum-of-squares would not).  age * income: ages 1 and 2
	 * with income 10 and 20 give 10 and 40 -> mean 25, std 15.
	 */
	static const double amounts[] = {2, 4, 4, 4, 5, 5, 7, 9, 0, -3};
	MlpStdAccum acc;
	MlpStandardization s;
	const char *bad = "unset";

	mlp_std_accum_init(&acc);
	for (int i = 0; i < 10; i++)
	{
		MlpMonth	m = month_row(1, 0, amounts[i], 0);

		if (i == 0)
		{
			m.annual_income = 10;
			m.age = 1;
		}
		if (i == 1)
		{
			m.annual_income = 20;
			m.age = 2;
		}
		if (i < 4)
			m.clv = 1e9 + (double[]) {4, 7, 13, 16}[i];
		mlp_std_accum_add(&acc, &m);
	}
	CHECK_EXPR(mlp_std_accum_finish(&acc, &s, &bad));
	CHECK_EXPR(bad == NULL);
	CHECK_NUM(s.mean[MLP_STD_PURCHASE_AMOUNT], 5);
	CHECK_NUM(s.std[MLP_STD_PURCHASE_AMOUNT], 2);
	CHECK_NUM(s.mean[MLP_STD_ANNUAL_INCOME], 15);
	CHECK_NUM(s.std[MLP_STD_ANNUAL_INCOME], 5);
	CHECK_NUM(s.mean[MLP_STD_CLV], 1e9 + 10);
	CHECK_EXPR(fabs(s.std[MLP_STD_CLV] - sqrt(22.5)) < 1e-6);
	CHECK_NUM(s.mean[MLP_STD_AGE_INCOME], 25);
	CHECK_NUM(s.std[MLP_STD_AGE_INCOME], 15);

	CHECK_NUM(mlp_standardize(&s, MLP_STD_PURCHASE_AMOUNT, 9), 2);
	CHECK_NUM(mlp_standardize(&s, MLP_STD_PURCHASE_AMOUNT, 1), -2);
	CHECK_NUM(mlp_standardize(&s, MLP_STD_PURCHASE_AMOUNT, 0), 0);
	CHECK_NUM(mlp_standardize(&s, MLP_STD_PURCHASE_AMOUNT, -7), 0);
	CHECK_NUM(mlp_standardize(&s, MLP_STD_PURCHASE_AMOUNT, NAN), 0);
	CHECK_NUM(mlp_standardize(&s, MLP_STD_ANNUAL_INCOME, 25), 2);
	CHECK_NUM(mlp_standardize(&s, -1, 5), 0);
	CHECK_NUM(mlp_standardize(&s, MLP_NSTD, 5), 0);
	CHECK_NUM(mlp_standardize(NULL, 0, 5), 0);

	/* Standardized columns of a vector: age * income = 2 * 20 = 40 -> 1. */
	{
		MlpMonth	m = month_row(2, 20, 7, 0);
		double		v[MLP_NFEATURES];

		mlp_month_vector(&m, MLP_FEMALE, &s, v);
		CHECK_NUM(v[MLP_F_PURCHASE_AMOUNT_STD], 1);
		CHECK_NUM(v[MLP_F_ANNUAL_INCOME_STD], 1);
		CHECK_NUM(v[MLP_F_CLV_STD], 0);	/* clv 0 is not positive */
		CHECK_NUM(v[MLP_F_AGE_INCOME_STD], 1);
	}

	/* No positive amount at all: cannot standardize, names the column. */
	mlp_std_accum_init(&acc);
	for (int i = 0; i < 3; i++)
	{
		MlpMonth	m = month_row(30, 1000 * (i + 1), 0, 5 * (i + 1));

		mlp_std_accum_add(&acc, &m);
	}
	CHECK_EXPR(!mlp_std_accum_finish(&acc, &s, &bad));
	CHECK_EXPR(bad != NULL && strcmp(bad, "purchase_amount") == 0);

	/* Only clv is constant: zero std. */
	mlp_std_accum_init(&acc);
	for (int i = 0; i < 3; i++)
	{
		MlpMonth	m = month_row(30, 1000 * (i + 1), i + 1, 5);

		mlp_std_accum_add(&acc, &m);
	}
	CHECK_EXPR(!mlp_std_accum_finish(&acc, &s, &bad));
	CHECK_EXPR(bad != NULL && strcmp(bad, "clv") == 0);

	/* One positive value: std 0. */
	mlp_std_accum_init(&acc);
	{
		MlpMonth	m = month_row(30, 1000, 10, 10);

		mlp_std_accum_add(&acc, &m);
	}
	CHECK_EXPR(!mlp_std_accum_finish(&acc, &s, &bad));
	CHECK_EXPR(bad != NULL && strcmp(bad, "purchase_amount") == 0);
	/* Empty accumulator. */
	mlp_std_accum_init(&acc);
	CHECK_EXPR(!mlp_std_accum_finish(&acc, &s, NULL));
}

static void
test_vector(void)
{
	MlpMonth	m;
	MlpStandardization s;
	double		v[MLP_NFEATURES];
	static const double want[MLP_NFEATURES] = {
		40, 0, 3, 12, 9,
		0, 0, 1, 0, 0, 0,		/* age 40: 36-45 */
		0, 1, 0, 0,				/* income 80000: Medium */
		1.5, 2, -0.5, 4
	};

	memset(&m, 0, sizeof(m));
	m.month = month_index(2024, 3);
	m.age = 40;
	m.n_male = 1;
	m.n_female = 1;
	m.n_missing_gender = 1;		/* filled as Male: 2 vs 1 */
	m.frequency = 3;
	m.annual_income = 80000;
	m.purchase_amount = 250;
	m.days_since_last = 12;
	m.avg_days_between = 9;
	m.clv = 500;
	/* purchase 250 -> (250-100)/100; income (80000-60000)/10000;
	 * clv (500-600)/200; age*income 3.2e6 -> (3.2e6-2e6)/3e5 */
	s.mean[0] = 100;	s.std[0] = 100;
	s.mean[1] = 60000;	s.std[1] = 10000;
	s.mean[2] = 600;	s.std[2] = 200;
	s.mean[3] = 2e6;	s.std[3] = 3e5;
	mlp_month_vector(&m, MLP_MALE, &s, v);
	for (int i = 0; i < MLP_NFEATURES; i++)
		check_num_at(v[i], want[i], __LINE__, mlp_feature_names[i]);
	mlp_month_vector(&m, MLP_FEMALE, &s, v);
	CHECK_NUM(v[MLP_F_GENDER], 1);
	/* NULL inputs do not crash. */
	mlp_month_vector(NULL, MLP_MALE, &s, v);
	CHECK_NUM(v[MLP_F_AGE], 0);
	mlp_month_vector(&m, MLP_MALE, &s, NULL);
}

static void
test_serving(void)
{
	MlpPurchase stored[6];
	MlpPurchase work[7];
	MlpMonth	months[7];
	MlpMonth	out;
	MlpPurchase newp;

	/* No history. */
	newp = purchase(utc(2024, 5, 10, 12, 0, 0), 75, 90000, 41, MLP_MALE);
	CHECK_EXPR(mlp_serving_month(NULL, 0, &newp, work, months, &out));
	CHECK_EXPR(out.month == month_index(2024, 5));
	CHECK_EXPR(out.frequency == 1);
	CHECK_NUM(out.days_since_last, -1);
	CHECK_NUM(out.avg_days_between, -1);
	CHECK_NUM(out.purchase_amount, 75);
	CHECK_NUM(out.clv, 75);
	CHECK_EXPR(out.age == 41 && out.n_male == 1);

	/* Same timestamp: the new purchase replaces the stored one. */
	stored[0] = purchase(utc(2024, 4, 1, 0, 0, 0), 10, 90000, 41, MLP_MALE);
	stored[1] = purchase(utc(2024, 5, 10, 12, 0, 0), 500, 95000, 42, MLP_FEMALE);
	CHECK_EXPR(mlp_serving_month(stored, 2, &newp, work, months, &out));
	CHECK_EXPR(out.frequency == 1);
	CHECK_NUM(out.purchase_amount, 75);
	CHECK_NUM(out.annual_income, 90000);
	CHECK_EXPR(out.age == 41 && out.n_male == 1 && out.n_female == 0);
	CHECK_NUM(out.clv, 85);
	CHECK_NUM(out.days_since_last, 39);	/* Apr 1 00:00 -> May 10 12:00 */
	CHECK_NUM(out.avg_days_between, 19);	/* (-1 + 39) / 2 */

	/* Unclean stored rows are dropped; a stored missing gender takes newp's. */
	stored[0] = purchase(utc(2024, 4, 1, 0, 0, 0), 10, 90000, 41, MLP_GENDER_MISSING);
	stored[1] = purchase(utc(2024, 5, 1, 0, 0, 0), -5, 90000, 41, MLP_FEMALE);
	stored[2] = purchase(utc(2024, 5, 2, 0, 0, 0), 20, 90000, 0, MLP_FEMALE);
	stored[3] = purchase(utc(2024, 5, 3, 0, 0, 0), 30, 90000, 41, MLP_GENDER_OTHER);
	stored[4] = purchase(utc(2024, 5, 4, 0, 0, 0), 40, 90000, 41, MLP_GENDER_MISSING);
	stored[5] = purchase(utc(2024, 5, 20, 0, 0, 0), 5, NAN, 41, MLP_FEMALE);
	CHECK_EXPR(mlp_serving_month(stored, 6, &newp, work, months, &out));
	CHECK_EXPR(out.frequency == 2);	/* May 4 and newp */
	CHECK_NUM(out.purchase_amount, 115);
	CHECK_NUM(out.clv, 125);
	CHECK_NUM(out.days_since_last, 33);	/* Apr 1 -> May 4 */
	CHECK_EXPR(out.n_male == 2 && out.n_female == 0 && out.n_missing_gender == 0);
	CHECK_EXPR(mlp_month_gender(&out, MLP_FEMALE) == MLP_MALE);
	CHECK_NUM(out.avg_days_between, 12);	/* (-1 + 33 + 6) / 3 = 12.67 */

	/* newp with a missing gender leaves the stored ones missing. */
	newp.gender = MLP_GENDER_MISSING;
	CHECK_EXPR(mlp_serving_month(stored, 6, &newp, work, months, &out));
	CHECK_EXPR(out.n_male == 0 && out.n_female == 0 && out.n_missing_gender == 2);
	CHECK_EXPR(mlp_month_gender(&out, MLP_FEMALE) == MLP_FEMALE);

	/* A late purchase: the row of its own (earlier) month, no gap rows. */
	stored[0] = purchase(utc(2024, 1, 15, 0, 0, 0), 10, 1000, 30, MLP_FEMALE);
	stored[1] = purchase(utc(2024, 6, 15, 0, 0, 0), 20, 1000, 30, MLP_FEMALE);
	newp = purchase(utc(2024, 3, 1, 0, 0, 0), 7, 1000, 31, MLP_FEMALE);
	CHECK_EXPR(mlp_serving_month(stored, 2, &newp, work, months, &out));
	CHECK_EXPR(out.month == month_index(2024, 3));
	CHECK_NUM(out.clv, 17);
	CHECK_NUM(out.days_since_last, 46);	/* Jan 15 -> Mar 1 (leap year) */

	/* Unsorted history is still handled. */
	stored[0] = purchase(utc(2024, 6, 15, 0, 0, 0), 20, 1000, 30, MLP_FEMALE);
	stored[1] = purchase(utc(2024, 1, 15, 0, 0, 0), 10, 1000, 30, MLP_FEMALE);
	CHECK_EXPR(mlp_serving_month(stored, 2, &newp, work, months, &out));
	CHECK_NUM(out.clv, 17);

	/* newp unclean: refused. */
	newp.age = 0;
	CHECK_EXPR(!mlp_serving_month(stored, 2, &newp, work, months, &out));
	newp.age = 30;
	newp.amount = NAN;
	CHECK_EXPR(!mlp_serving_month(stored, 2, &newp, work, months, &out));
	newp.amount = 1;
	CHECK_EXPR(!mlp_serving_month(stored, 2, &newp, NULL, months, &out));
}

/* Deterministic pseudo-random numbers (xorshift64). */
static uint64_t
next_rand(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/*
 * Random customers: invariants that must hold for any clean sorted input,
 * and random junk that must never crash or write past the capacity.
 */
static void
test_random(void)
{
	enum
	{
		NP = 40, CAP = 64
	};
	uint64_t	state = 88172645463325252ULL;
	MlpPurchase p[NP];
	MlpMonth	out[CAP + 1];
	int			bad_invariant = 0;
	int			bad_junk = 0;

	for (int round = 0; round < 2000; round++)
	{
		size_t		n = 1 + next_rand(&state) % NP;
		int64_t		ts = utc(2022, 1, 1, 0, 0, 0) + (int64_t) (next_rand(&state) % (400 * DAY));
		size_t		cap;
		size_t		rows;
		double		total = 0;
		int64_t		freq = 0;

		for (size_t i = 0; i < n; i++)
		{
			ts += (int64_t) (next_rand(&state) % (40 * DAY));
			p[i] = purchase(ts, (double) (next_rand(&state) % 100000) / 100,
							(double) (next_rand(&state) % 200000),
							(int32_t) (1 + next_rand(&state) % 120),
							(int32_t) (next_rand(&state) % 3) - 1);
			total += p[i].amount;
		}
		cap = mlp_months_capacity(p, n, true);
		if (cap > CAP)
			continue;
		out[cap].month = -777;	/* sentinel just past the capacity */
		rows = mlp_customer_months(p, n, true, out);
		if (rows != cap || out[cap].month != -777)
			bad_invariant++;
		for (size_t r = 0; r < rows; r++)
		{
			freq += out[r].frequency;
			if (r > 0 && out[r].month != out[r - 1].month + 1)
				bad_invariant++;
			if (out[r].age < 1 || out[r].age > 120)
				bad_invariant++;
		}
		if (rows > 0 && (freq != (int64_t) n || fabs(out[rows - 1].clv - total) > 1e-6))
			bad_invariant++;
		if (rows > 0 && (out[0].month != mlp_month_of(p[0].ts) || out[0].days_since_last != -1))
			bad_invariant++;

		/* Now junk: random fields, random order. */
		for (size_t i = 0; i < n; i++)
		{
			p[i].ts = (int64_t) next_rand(&state);
			if (next_rand(&state) % 2)
				p[i].ts %= 1000 * DAY;
			p[i].age = (int32_t) next_rand(&state);
			if (next_rand(&state) % 2)
				p[i].age %= 130;
			p[i].gender = (int32_t) (next_rand(&state) % 5) - 2;
		}
		cap = mlp_months_capacity(p, n, true);
		if (cap <= CAP)
		{
			out[cap].month = -777;
			rows = mlp_customer_months(p, n, true, out);
			if (rows > cap || out[cap].month != -777)
				bad_junk++;
		}
		{
			MlpPurchase work[NP + 1];
			MlpMonth	months[NP + 1];
			MlpMonth	one;

			(void) mlp_serving_month(p, n - 1, &p[n - 1], work, months, &one);
		}
	}
	CHECK_EXPR(bad_invariant == 0);
	CHECK_EXPR(bad_junk == 0);
}

/*
 * Microseconds count: a day minus 0.1 s is 0 whole days, and two purchases
 * 0.3 s apart are not "the same timestamp" (regression: ts used to hold
 * whole seconds only, so both cases went wrong).
 */
static void
test_subsecond(void)
{
	MlpPurchase p[2],
				work[3],
				newp;
	MlpMonth	out[4],
				months[3],
				m;

	p[0] = purchase(utc(2024, 4, 30, 0, 0, 0), 10, 50000, 30, MLP_FEMALE);
	p[0].usec = 500000;
	p[1] = purchase(utc(2024, 5, 1, 0, 0, 0), 10, 50000, 30, MLP_FEMALE);
	p[1].usec = 400000;
	CHECK_EXPR(mlp_customer_months(p, 2, true, out) == 2);
	CHECK_EXPR(out[1].days_since_last == 0);
	CHECK_EXPR(out[0].avg_days_between == 0);	/* (-1 + 0) / 2 truncated */

	/* serving: 0.3 s apart, both kept */
	newp = p[0];
	newp.usec = 200000;
	CHECK_EXPR(mlp_serving_month(p, 1, &newp, work, months, &m));
	CHECK_EXPR(m.frequency == 2);
	/* the same instant: the new one replaces the stored one */
	newp.usec = 500000;
	newp.amount = 99;
	CHECK_EXPR(mlp_serving_month(p, 1, &newp, work, months, &m));
	CHECK_EXPR(m.frequency == 1 && m.purchase_amount == 99);

	/* a fraction outside a second is not clean */
	newp.usec = 1000000;
	CHECK_EXPR(!mlp_purchase_is_clean(&newp));
	newp.usec = -1;
	CHECK_EXPR(!mlp_purchase_is_clean(&newp));
}

/* "next month's amount": the row of month + 1, 0 when there is none */
static void
test_next_month_amount(void)
{
	MlpMonth	rows[3];

	memset(rows, 0, sizeof(rows));
	rows[0].month = 100;
	rows[0].purchase_amount = 10;
	rows[1].month = 101;
	rows[1].purchase_amount = 0;	/* a gap month */
	rows[2].month = 103;
	rows[2].purchase_amount = 35.5;
	CHECK_NUM(mlp_next_month_amount(rows, 3, 99), 10);
	CHECK_NUM(mlp_next_month_amount(rows, 3, 100), 0);
	CHECK_NUM(mlp_next_month_amount(rows, 3, 102), 35.5);
	CHECK_NUM(mlp_next_month_amount(rows, 3, 101), 0);	/* month 102: no purchase */
	CHECK_NUM(mlp_next_month_amount(rows, 3, 103), 0);	/* after the last month */
	CHECK_NUM(mlp_next_month_amount(rows, 3, 50), 0);	/* long before the first */
	CHECK_NUM(mlp_next_month_amount(rows, 0, 99), 0);
	CHECK_NUM(mlp_next_month_amount(rows, 3, INT32_MAX), 0);
}

int
main(void)
{
	test_names();
	test_gender_text();
	test_cleaning();
	test_month_of();
	test_utc_month_of_local_time();
	test_days();
	test_month_aggregates();
	test_month_gender();
	test_gap_filling();
	test_bad_input();
	test_indicators();
	test_standardization();
	test_vector();
	test_serving();
	test_subsecond();
	test_random();
	test_next_month_amount();

	return check_summary();
}
