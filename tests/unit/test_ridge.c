/*
 * test_ridge.c — ridge regression in closed form (ridge.c) and its gblinear
 * artifact (xgb_linear.c), against exact answers and XGBoost itself.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ridge.h"
#include "tune_space.h"
#include "xgb_linear.h"
#include "xgb_reference.h"
#include "xgb_train.h"

#define NR 4000
#define NC 5

static float X[NR * NC],
			y[NR];

static void
make_data(double noise, bool offsets)
{
	static const double truth[NC] = {1.5, -2, 0.25, 0, 3};
	MlpRng		rng;

	mlp_rng_seed(&rng, 5);
	for (int i = 0; i < NR; i++)
	{
		double		t = 4;

		for (int j = 0; j < NC; j++)
		{
			double		v = mlp_rng_uniform(&rng) * 2 - 1 + (offsets ? 1000 * j : 0);

			X[i * NC + j] = (float) v;
			t += truth[j] * X[i * NC + j];
		}
		y[i] = (float) (t + noise * (mlp_rng_uniform(&rng) - 0.5));
	}
}

static bool
never(void *arg)
{
	(void) arg;
	return false;
}

static bool
always(void *arg)
{
	(void) arg;
	return true;
}

static void
test_exact(void)
{
	double		w[NC],
				b;
	char		err[200];

	make_data(0, false);
	CHECK(mlp_ridge_fit(X, y, NR, NC, 0, never, NULL, w, &b, err, sizeof(err)), "fit without penalty");
	CHECK(fabs(w[0] - 1.5) < 1e-5 && fabs(w[1] + 2) < 1e-5 && fabs(w[3]) < 1e-5 && fabs(b - 4) < 1e-4,
		  "noise-free rows give back the true weights");

	/* large offsets (feature means far from 0) lose no precision */
	make_data(0, true);
	CHECK(mlp_ridge_fit(X, y, NR, NC, 0, NULL, NULL, w, &b, err, sizeof(err)), "fit with offsets");
	CHECK(fabs(w[0] - 1.5) < 1e-3 && fabs(w[4] - 3) < 1e-3, "offsets of 1000s: weights still right");

	/* a column repeated: lambda 0 still answers (minimum norm) */
	make_data(0, false);
	for (int i = 0; i < NR; i++)
		X[i * NC + 3] = X[i * NC + 0];
	CHECK(mlp_ridge_fit(X, y, NR, NC, 0, NULL, NULL, w, &b, err, sizeof(err)) &&
		  fabs(w[0] - 0.75) < 1e-4 && fabs(w[3] - 0.75) < 1e-4,
		  "two equal columns share the weight");

	/* missing values count as 0 */
	{
		double		w2[NC],
					b2;

		make_data(0.5, false);
		for (int i = 0; i < NR; i += 7)
			X[i * NC + 2] = 0;
		mlp_ridge_fit(X, y, NR, NC, 0.01, NULL, NULL, w, &b, err, sizeof(err));
		for (int i = 0; i < NR; i += 7)
			X[i * NC + 2] = NAN;
		mlp_ridge_fit(X, y, NR, NC, 0.01, NULL, NULL, w2, &b2, err, sizeof(err));
		CHECK(memcmp(w, w2, sizeof(w)) == 0 && b == b2, "NaN is fitted as 0");
	}

	CHECK(!mlp_ridge_fit(X, y, NR, NC, 1, always, NULL, w, &b, err, sizeof(err)) &&
		  strcmp(err, "canceled") == 0, "a stop ends the fit");
	CHECK(!mlp_ridge_fit(X, y, NR, NC, -1, NULL, NULL, w, &b, err, sizeof(err)), "negative lambda refused");
	CHECK(!mlp_ridge_fit(X, y, 0, NC, 1, NULL, NULL, w, &b, err, sizeof(err)), "no rows refused");
}

/* The closed form is where XGBoost's coordinate descent converges to. */
static void
test_against_xgboost(void)
{
	double		w[NC],
				b;
	char		err[300];
	char	   *cd = NULL,
			   *ours = NULL;
	size_t		cd_len,
				ours_len;
	static float pred_cd[NR],
				pred_ours[NR];
	double		worst = 0,
				worst_own = 0;
	MlpTrainParam params[] = {
		{"booster", "gblinear"}, {"updater", "coord_descent"}, {"lambda", "0.3"},
		{"alpha", "0"}, {"eta", "1"}, {"feature_selector", "cyclic"},
	};

	make_data(2, false);
	for (int i = 0; i < NR; i += 5)
		X[i * NC + 1] = NAN;
	CHECK(mlp_ridge_fit(X, y, NR, NC, 0.3, NULL, NULL, w, &b, err, sizeof(err)), "fit lambda 0.3");
	MlpTrainData data = {X, y, NR, NC};
	MlpTrainSpec spec = {.params = params, .nparams = sizeof(params) / sizeof(params[0]),
	.rounds = 500, .nthread = 1};
	MlpTrainResult trained;

	CHECK(mlp_xgb_train(&data, &spec, &trained), "XGBoost coordinate descent trains");
	cd = trained.json;
	cd_len = trained.json_len;
	if (cd == NULL)
		snprintf(err, sizeof(err), "%.200s", trained.error);
	CHECK(mlp_xgb_linear_json(w, b, NC, &ours, &ours_len, err, sizeof(err)), "the closed form as a gblinear artifact");
	if (cd == NULL || ours == NULL)
	{
		printf("  %s\n", err);
		free(cd);
		free(ours);
		return;
	}
	CHECK(strstr(ours, "\"name\":\"gblinear\"") != NULL && strstr(ours, "\"num_feature\":\"5\"") != NULL,
		  "the artifact is XGBoost's gblinear JSON");
	CHECK(mlp_xgb_predict_dense(cd, cd_len, X, NR, NC, 1, pred_cd, err, sizeof(err)) &&
		  mlp_xgb_predict_dense(ours, ours_len, X, NR, NC, 1, pred_ours, err, sizeof(err)),
		  "XGBoost predicts with both");
	for (int i = 0; i < NR; i++)
	{
		double		own = b;

		for (int j = 0; j < NC; j++)
			own += isnan(X[i * NC + j]) ? 0 : w[j] * X[i * NC + j];
		if (fabs(pred_cd[i] - pred_ours[i]) > worst)
			worst = fabs(pred_cd[i] - pred_ours[i]);
		if (fabs(own - pred_ours[i]) > worst_own)
			worst_own = fabs(own - pred_ours[i]);
	}
	printf("  closed form vs 500 rounds of coordinate descent: max |diff| %.3g; vs b + x.w %.3g\n",
		   worst, worst_own);
	CHECK(worst < 1e-3, "XGBoost's coordinate descent predicts what the closed form does");
	CHECK(worst_own < 1e-4, "XGBoost reads our weights and bias as written");

	/* the same weights give the same bytes */
	{
		char	   *again = NULL;
		size_t		again_len;

		CHECK(mlp_xgb_linear_json(w, b, NC, &again, &again_len, err, sizeof(err)) &&
			  again_len == ours_len && memcmp(again, ours, ours_len) == 0, "the artifact is reproducible");
		free(again);
	}
	free(cd);
	free(ours);
}

/* whole-number weights (0, 1, -3) are still floats to XGBoost */
static void
test_whole_weights(void)
{
	double		w[3] = {0, 1, -3};
	char	   *json = NULL;
	size_t		len;
	char		err[300];
	float		x[3] = {2, 5, 1},
				pred = 0;

	CHECK(mlp_xgb_linear_json(w, 2.5, 3, &json, &len, err, sizeof(err)), err);
	CHECK(json != NULL && mlp_xgb_predict_dense(json, len, x, 1, 3, 1, &pred, err, sizeof(err)) &&
		  pred == 4.5f, "0*2 + 1*5 - 3*1 + 2.5 = 4.5 in XGBoost");
	free(json);
}

static void
test_solve(void)
{
	/* [[4, 1], [1, 3]] x = [1, 2]: x = [1/11, 7/11] */
	double		A[4] = {4, 1, 1, 3},
				bb[2] = {1, 2},
				x[2];

	CHECK(mlp_sym_solve(A, bb, 2, 1e-12, x) && fabs(x[0] - 1.0 / 11) < 1e-12 && fabs(x[1] - 7.0 / 11) < 1e-12,
		  "a 2 x 2 system");
}

int
main(void)
{
	test_solve();
	test_whole_weights();
	test_exact();
	test_against_xgboost();
	return check_summary();
}
