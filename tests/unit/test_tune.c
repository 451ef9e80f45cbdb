/*
 * test_tune.c — the tuning cores: search-space sampling and grids
 * (tune_space.c) and forward-chaining monthly folds (tune_folds.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tune_folds.h"
#include "tune_space.h"

static void
test_rng(void)
{
	MlpRng		a,
				b;
	double		lo = 1,
				hi = 0,
				sum = 0;
	bool		same = true;

	mlp_rng_seed(&a, 42);
	mlp_rng_seed(&b, 42);
	for (int i = 0; i < 100000; i++)
	{
		double		u = mlp_rng_uniform(&a);

		same &= u == mlp_rng_uniform(&b);
		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
		sum += u;
	}
	CHECK(same, "same seed, same sequence");
	CHECK(lo >= 0 && hi < 1, "uniform draws lie in [0, 1)");
	CHECK(fabs(sum / 100000 - 0.5) < 0.01, "uniform draws average 0.5");
	mlp_rng_seed(&a, 42);
	mlp_rng_seed(&b, 43);
	CHECK(mlp_rng_uniform(&a) != mlp_rng_uniform(&b), "another seed, another sequence");
	/* splitmix64's published first output for seed 0 */
	mlp_rng_seed(&a, 0);
	CHECK(mlp_rng_uniform(&a) == (double) (UINT64_C(0xE220A8397B1DCDAF) >> 11) * 0x1.0p-53,
		  "the generator is splitmix64");
}

static void
test_sample(void)
{
	static const char *const depths[] = {"2", "3", "4"};
	MlpSpaceDim dims[4] = {
		{.name = "max_depth", .nvalues = 3, .values = depths},
		{.name = "eta", .is_range = true, .min = 0.01, .max = 0.3, .log = true},
		{.name = "n_estimators", .is_range = true, .min = 50, .max = 60, .is_int = true},
		{.name = "subsample", .is_range = true, .min = 0.5, .max = 1},
	};
	MlpRng		rng,
				rng2;
	MlpTrialValues t,
				t2;
	int			depth_seen[3] = {0},
				int_seen[11] = {0},
				eta_low = 0;
	bool		in_range = true,
				reproducible = true;
	char		err[200];

	CHECK(mlp_space_check(dims, 4, false, err, sizeof(err)), "a valid space passes");
	mlp_rng_seed(&rng, 7);
	mlp_rng_seed(&rng2, 7);
	for (int i = 0; i < 20000; i++)
	{
		double		eta,
					sub,
					n;

		mlp_space_sample(dims, 4, &rng, &t);
		mlp_space_sample(dims, 4, &rng2, &t2);
		for (int d = 0; d < 4; d++)
			reproducible &= strcmp(t.value[d], t2.value[d]) == 0;
		depth_seen[atoi(t.value[0]) - 2]++;
		eta = strtod(t.value[1], NULL);
		n = strtod(t.value[2], NULL);
		sub = strtod(t.value[3], NULL);
		in_range &= eta >= 0.01 && eta <= 0.3 && sub >= 0.5 && sub <= 1 &&
			n >= 50 && n <= 60 && n == floor(n) && strchr(t.value[2], '.') == NULL;
		if (n >= 50 && n <= 60)
			int_seen[(int) n - 50]++;
		/* log-uniform: as many draws below the geometric mean as above */
		eta_low += eta < sqrt(0.01 * 0.3);
		for (int d = 0; d < 4; d++)
			in_range &= mlp_space_contains(&dims[d], t.value[d]);
	}
	CHECK(reproducible, "the same seed samples the same trials");
	CHECK(in_range, "every sample lies in its range, ints are whole");
	CHECK(depth_seen[0] > 6000 && depth_seen[1] > 6000 && depth_seen[2] > 6000,
		  "a list's values are picked evenly");
	{
		bool		even = true;

		for (int k = 0; k <= 10; k++)
			even &= int_seen[k] > 1500 && int_seen[k] < 2150;
		CHECK(even, "an int range gives both ends as often as the middle");
	}
	CHECK(abs(eta_low - 10000) < 400, "a log range is log-uniform");
}

static void
test_grid(void)
{
	static const char *const a[] = {"1", "2"};
	static const char *const b[] = {"x", "y", "z"};
	MlpSpaceDim dims[2] = {
		{.name = "a", .nvalues = 2, .values = a},
		{.name = "b", .nvalues = 3, .values = b},
	};
	MlpSpaceDim bad[2] = {
		{.name = "a", .nvalues = 2, .values = a},
		{.name = "eta", .is_range = true, .min = 0, .max = 1},
	};
	MlpTrialValues t;
	char		seen[6][8];
	bool		distinct = true;
	char		err[200];

	CHECK(mlp_space_grid_size(dims, 2) == 6, "a 2 x 3 grid has 6 points");
	for (size_t i = 0; i < 6; i++)
	{
		mlp_space_grid_point(dims, 2, i, &t);
		snprintf(seen[i], sizeof(seen[i]), "%s%s", t.value[0], t.value[1]);
		for (size_t j = 0; j < i; j++)
			distinct &= strcmp(seen[i], seen[j]) != 0;
	}
	CHECK(distinct, "every grid point is another combination");
	CHECK(strcmp(seen[0], "1x") == 0 && strcmp(seen[1], "1y") == 0 && strcmp(seen[5], "2z") == 0,
		  "the last dimension varies fastest");
	CHECK(!mlp_space_check(bad, 2, true, err, sizeof(err)) && strstr(err, "eta") != NULL,
		  "a grid refuses a range, naming it");
	CHECK(mlp_space_check(bad, 2, false, err, sizeof(err)), "a random search takes it");
}

static void
test_check(void)
{
	static const char *const one[] = {"1"};
	char		err[200];
	MlpSpaceDim d;

	d = (MlpSpaceDim) {.name = "eta", .is_range = true, .min = 0, .max = 1, .log = true};
	CHECK(!mlp_space_check(&d, 1, false, err, sizeof(err)) && strstr(err, "above 0"), "log range from 0 refused");
	d = (MlpSpaceDim) {.name = "eta", .is_range = true, .min = 2, .max = 1};
	CHECK(!mlp_space_check(&d, 1, false, err, sizeof(err)) && strstr(err, "min <= max"), "min > max refused");
	d = (MlpSpaceDim) {.name = "d", .is_range = true, .min = 1.5, .max = 4, .is_int = true};
	CHECK(!mlp_space_check(&d, 1, false, err, sizeof(err)) && strstr(err, "whole"), "int range of 1.5 refused");
	d = (MlpSpaceDim) {.name = "d", .is_range = true, .min = NAN, .max = 4};
	CHECK(!mlp_space_check(&d, 1, false, err, sizeof(err)), "NaN bound refused");
	d = (MlpSpaceDim) {.name = "d", .nvalues = 0, .values = one};
	CHECK(!mlp_space_check(&d, 1, false, err, sizeof(err)) && strstr(err, "list"), "empty list refused");
	{
		MlpSpaceDim twice[2] = {{.name = "d", .nvalues = 1, .values = one}, {.name = "d", .nvalues = 1, .values = one}};

		CHECK(!mlp_space_check(twice, 2, false, err, sizeof(err)) && strstr(err, "twice"), "a name twice refused");
	}
	d = (MlpSpaceDim) {.name = "d", .is_range = true, .min = 3, .max = 3, .is_int = true};
	{
		MlpRng		rng;
		MlpTrialValues t;

		mlp_rng_seed(&rng, 1);
		mlp_space_sample(&d, 1, &rng, &t);
		CHECK(strcmp(t.value[0], "3") == 0, "a one-point range samples its point");
	}
	{
		static const char *const etas[] = {"0.050", "0.1"};
		MlpSpaceDim l = {.name = "eta", .nvalues = 2, .values = etas};

		CHECK(mlp_space_contains(&l, "0.05"), "0.05 is listed as 0.050");
		CHECK(!mlp_space_contains(&l, "0.2"), "0.2 is not listed");
	}
}

/* Every fold: trains before it validates, blocks in order, rows add up. */
static bool
folds_valid(const int32_t *months, size_t n, const MlpFold *f, int k)
{
	for (int i = 0; i < k; i++)
	{
		size_t		tr = 0,
					va = 0;

		if (!(f[i].train_first <= f[i].train_last && f[i].train_last < f[i].valid_first &&
			  f[i].valid_first <= f[i].valid_last))
			return false;
		if (i > 0 && f[i].valid_first <= f[i - 1].valid_last)
			return false;
		for (size_t r = 0; r < n; r++)
		{
			tr += months[r] < f[i].valid_first;
			va += months[r] >= f[i].valid_first && months[r] <= f[i].valid_last;
		}
		if (tr != f[i].train_rows || va != f[i].valid_rows || tr == 0 || va == 0)
			return false;
	}
	/* the last fold validates up to the last month */
	for (size_t r = 0; r < n; r++)
		if (months[r] > f[k - 1].valid_last)
			return false;
	return true;
}

static void
test_folds(void)
{
	int32_t		months[1200];
	MlpFold		f[MLP_MAX_FOLDS];
	char		err[200];
	char		text[16];
	size_t		n = 0;

	/* 12 months of 100 rows each, 3 folds: cut-offs at months 3, 6, 9 */
	for (int m = 0; m < 12; m++)
		for (int r = 0; r < 100; r++)
			months[n++] = 2023 * 12 + m;
	CHECK(mlp_plan_folds(months, n, 3, f, err, sizeof(err)), "12 even months, 3 folds");
	CHECK(folds_valid(months, n, f, 3), "the folds chain forward");
	CHECK(f[0].valid_first == 2023 * 12 + 3 && f[1].valid_first == 2023 * 12 + 6 &&
		  f[2].valid_first == 2023 * 12 + 9 && f[2].valid_last == 2023 * 12 + 11,
		  "even months split into even blocks");
	CHECK(f[0].train_rows == 300 && f[0].valid_rows == 300 && f[2].train_rows == 900,
		  "fold rows add up");
	mlp_month_text(f[0].valid_first, text);
	CHECK(strcmp(text, "2023-04") == 0, "month text");

	/* months given in any order, gaps between them */
	for (size_t i = 0; i < n; i++)
		months[i] = 2020 * 12 + (int32_t) ((i * 7919) % 5) * 3;
	CHECK(mlp_plan_folds(months, n, 4, f, err, sizeof(err)) && folds_valid(months, n, f, 4),
		  "5 months with gaps, unordered, 4 folds");
	CHECK(!mlp_plan_folds(months, n, 5, f, err, sizeof(err)) && strstr(err, "5 months") != NULL,
		  "5 months cannot make 5 folds, and the message says why");
	CHECK(!mlp_plan_folds(months, 0, 3, f, err, sizeof(err)), "no rows, no folds");
	CHECK(!mlp_plan_folds(months, n, 0, f, err, sizeof(err)), "0 folds refused");

	/* one huge month: later cut-offs move on, all still valid */
	n = 0;
	for (int r = 0; r < 900; r++)
		months[n++] = 100;
	for (int m = 1; m <= 4; m++)
		months[n++] = 100 + m;
	CHECK(mlp_plan_folds(months, n, 3, f, err, sizeof(err)) && folds_valid(months, n, f, 3),
		  "a month holding most rows");

	/* seeded random histories */
	{
		MlpRng		rng;
		bool		all = true;

		mlp_rng_seed(&rng, 3);
		for (int round = 0; round < 500; round++)
		{
			int			span = 2 + (int) (mlp_rng_uniform(&rng) * 30);
			int			k = 1 + (int) (mlp_rng_uniform(&rng) * 6);
			bool		ok;

			n = 1 + (size_t) (mlp_rng_uniform(&rng) * 1000);
			for (size_t i = 0; i < n; i++)
			{
				double		u = mlp_rng_uniform(&rng);

				months[i] = 24000 + (int32_t) (u * u * span);
			}
			ok = mlp_plan_folds(months, n, k, f, err, sizeof(err));
			if (ok)
				all &= folds_valid(months, n, f, k);
			else
				all &= strstr(err, "need at least") != NULL;
		}
		CHECK(all, "500 random histories: valid folds or a clear refusal");
	}
}

int
main(void)
{
	test_rng();
	test_sample();
	test_grid();
	test_check();
	test_folds();
	return check_summary();
}
