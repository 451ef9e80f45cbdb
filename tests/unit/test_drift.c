/*
 * test_drift.c — deciles, bins and PSI (pg_extension/src/drift.c).
 *
 * Expected figures are worked out by hand in the comments.
 */
#include "drift.h"

#include <math.h>
#include <string.h>

#include "check.h"

static int
near(double a, double b)
{
	return fabs(a - b) <= 1e-12 * (1 + fabs(b));
}

static void
test_fit_continuous(void)
{
	double		v[1000];
	MlpDistribution d;
	double		counts[MLP_DRIFT_MAX_BINS] = {0};

	/* 999, 998, ..., 0: fit sorts them */
	for (int i = 0; i < 1000; i++)
		v[i] = 999 - i;
	CHECK(mlp_distribution_fit(v, 1000, &d), "fit 1000 values");
	/* nearest rank ceil(k * 1000 / 10) = 100k, the value 100k - 1 */
	for (int k = 1; k <= 9; k++)
		CHECK(d.deciles[k - 1] == 100 * k - 1, "decile k is 100k - 1");
	CHECK(d.nbins == 10, "ten bins");
	for (int b = 0; b < 10; b++)
		CHECK(near(d.share[b], 0.1), "each bin holds 10 %");
	CHECK(mlp_distribution_bin(&d, -5) == 0, "below everything: bin 0");
	CHECK(mlp_distribution_bin(&d, 99) == 0, "a cut belongs to the bin on its left");
	CHECK(mlp_distribution_bin(&d, 99.5) == 1, "just above a cut: next bin");
	CHECK(mlp_distribution_bin(&d, 899) == 8, "the last cut: bin 8");
	CHECK(mlp_distribution_bin(&d, 1e9) == 9, "above everything: the last bin");
	CHECK(mlp_distribution_bin(&d, NAN) == 9, "NaN: the last bin");

	/* the same values counted again: PSI 0 */
	for (int i = 0; i < 1000; i++)
		counts[mlp_distribution_bin(&d, i)] += 1;
	CHECK(mlp_psi(&d, counts, 1000) == 0, "same distribution: PSI exactly 0");

	/* everything doubled: 0..1998 */
	memset(counts, 0, sizeof(counts));
	for (int i = 0; i < 1000; i++)
		counts[mlp_distribution_bin(&d, 2.0 * i)] += 1;
	/*
	 * bins 0..8 get 50 values each (5 %), bin 9 gets 550 (55 %):
	 * 9 (0.05 - 0.1) ln 0.5 + (0.55 - 0.1) ln 5.5
	 */
	CHECK(near(mlp_psi(&d, counts, 1000), 9 * -0.05 * log(0.5) + 0.45 * log(5.5)),
		  "doubled values: PSI by hand");
	CHECK(mlp_psi(&d, counts, 1000) > 0.25, "doubled values drift");
	CHECK(isnan(mlp_psi(&d, counts, 0)), "no rows: NaN");
}

static void
test_fit_binary(void)
{
	double		v[10] = {1, 0, 1, 1, 0, 1, 1, 1, 0, 1};	/* 3 zeros, 7 ones */
	MlpDistribution d;
	double		counts[MLP_DRIFT_MAX_BINS] = {0};

	CHECK(mlp_distribution_fit(v, 10, &d), "fit 0/1 values");
	/* ranks 1..9 of 0 0 0 1 1 1 1 1 1 1: deciles 0 0 0 1 1 1 1 1 1 */
	CHECK(d.deciles[2] == 0 && d.deciles[3] == 1, "deciles of a 0/1 feature");
	CHECK(d.nbins == 3 && d.cuts[0] == 0 && d.cuts[1] == 1, "two cuts, three bins");
	CHECK(near(d.share[0], 0.3) && near(d.share[1], 0.7) && d.share[2] == 0,
		  "shares 30 % / 70 % / 0");

	/* all ones now: bin 0 empty (floored), bin 1 full */
	counts[1] = 50;
	CHECK(near(mlp_psi(&d, counts, 50),
			   (1e-4 - 0.3) * log(1e-4 / 0.3) + (1 - 0.7) * log(1 / 0.7)),
		  "shifted 0/1 feature: PSI by hand, empty bin floored");
}

static void
test_constant_and_bad(void)
{
	double		v[4] = {5, 5, 5, 5};
	double		bad[2] = {1, NAN};
	MlpDistribution d,
				e;
	double		deciles[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	double		shares[10] = {.1, .1, .1, .1, .1, .1, .1, .1, .1, .1};

	CHECK(mlp_distribution_fit(v, 4, &d) && d.nbins == 2, "a constant: one cut, two bins");
	CHECK(d.share[0] == 1 && d.share[1] == 0, "all in the first bin");
	CHECK(!mlp_distribution_fit(v, 0, &d), "no values: refused");
	CHECK(!mlp_distribution_fit(bad, 2, &d), "NaN: refused");

	CHECK(mlp_distribution_load(deciles, shares, 10, &e) && e.nbins == 10, "load ten bins");
	CHECK(!mlp_distribution_load(deciles, shares, 9, &e), "wrong number of shares: refused");
	deciles[4] = 100;
	CHECK(!mlp_distribution_load(deciles, shares, 10, &e), "deciles out of order: refused");
	deciles[4] = 5;
	shares[3] = -1;
	CHECK(!mlp_distribution_load(deciles, shares, 10, &e), "negative share: refused");
}

int
main(void)
{
	test_fit_continuous();
	test_fit_binary();
	test_constant_and_bad();
	return check_summary();
}
