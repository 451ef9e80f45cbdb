/*
 * test_train_params.c — unit tests of mlpipe_train's hyperparameter table,
 * algorithm defaults and training spec (train_params.c).
 */
#include <string.h>

#include "check.h"
#include "train_params.h"

static void
test_set_get(void)
{
	MlpParamList pl = {0};
	char		key[MLP_MAX_PARAMS + 1][16];

	CHECK(mlp_params_get(&pl, "eta") == NULL, "an empty list has no eta");
	CHECK(mlp_params_set(&pl, "eta", "0.1"), "set eta");
	CHECK(mlp_params_set(&pl, "max_depth", "3"), "set max_depth");
	CHECK(mlp_params_set(&pl, "eta", "0.2"), "set eta again");
	CHECK(pl.n == 2, "setting a key again replaces it");
	CHECK(strcmp(pl.key[0], "eta") == 0 && strcmp(pl.value[0], "0.2") == 0,
		  "a replaced key keeps its place");
	CHECK(strcmp(mlp_params_get(&pl, "max_depth"), "3") == 0, "get max_depth");

	memset(&pl, 0, sizeof(pl));
	for (int i = 0; i < MLP_MAX_PARAMS; i++)
	{
		snprintf(key[i], sizeof(key[i]), "k%d", i);
		mlp_params_set(&pl, key[i], "1");
	}
	CHECK(pl.n == MLP_MAX_PARAMS, "the list holds MLP_MAX_PARAMS keys");
	CHECK(!mlp_params_set(&pl, "one_more", "1"), "a full list refuses a new key");
	CHECK(mlp_params_set(&pl, "k3", "2"), "a full list still replaces a key");
}

static void
test_defaults(void)
{
	const char *algorithms[] = {"xgboost", "random_forest", "linear"};
	const char *boosters[] = {"gbtree", "gbtree", "gblinear"};

	for (int i = 0; i < 3; i++)
	{
		MlpParamList pl = {0};

		CHECK(mlp_params_defaults(&pl, algorithms[i]), algorithms[i]);
		CHECK(strcmp(mlp_params_get(&pl, "booster"), boosters[i]) == 0, "booster per algorithm");
		CHECK(i == 2 ? mlp_params_get(&pl, "n_estimators") == NULL
			  : strcmp(mlp_params_get(&pl, "n_estimators"), "200") == 0,
			  "200 rounds by default; none for the closed-form linear");
		CHECK(strcmp(mlp_params_get(&pl, "seed"), "42") == 0, "a fixed seed");
		CHECK(strcmp(mlp_params_get(&pl, "nthread"), "1") == 0, "one thread");
		CHECK(strcmp(pl.key[0], "seed") == 0, "common defaults come first");
	}
	{
		MlpParamList pl = {0};

		CHECK(!mlp_params_defaults(&pl, "svm"), "an unknown algorithm is refused");
		CHECK(pl.n == 0, "and sets nothing");
		CHECK(!mlp_params_defaults(&pl, ""), "an empty algorithm is refused");
	}
}

/* The spec of algorithm's defaults with one key set on top. */
static bool
spec_with(const char *algorithm, const char *key, const char *value,
		  MlpTrainSpec *spec, MlpTrainParam *xgb, MlpParamError *err)
{
	MlpParamList pl = {0};

	mlp_params_defaults(&pl, algorithm);
	if (key)
		mlp_params_set(&pl, key, value);
	return mlp_params_to_spec(&pl, algorithm, xgb, spec, err);
}

static bool
has_key(const MlpTrainSpec *spec, const char *key)
{
	for (size_t i = 0; i < spec->nparams; i++)
		if (strcmp(spec->params[i].key, key) == 0)
			return true;
	return false;
}

static void
test_spec(void)
{
	MlpTrainSpec spec;
	MlpTrainParam xgb[MLP_MAX_PARAMS];
	MlpParamError err;

	CHECK(spec_with("xgboost", NULL, NULL, &spec, xgb, &err), "xgboost defaults make a spec");
	CHECK(spec.rounds == 200 && !spec.forest && spec.nthread == 1, "xgboost: 200 rounds, one thread");
	CHECK(!has_key(&spec, "n_estimators"), "n_estimators is rounds, not an XGBoost parameter");
	CHECK(has_key(&spec, "seed") && has_key(&spec, "max_depth"), "the rest goes to XGBoost");

	CHECK(spec_with("random_forest", "seed", "7", &spec, xgb, &err), "forest defaults make a spec");
	CHECK(spec.forest && spec.seed == 7 && spec.rounds == 200, "forest: seed and trees");
	CHECK(!has_key(&spec, "seed"), "a forest seeds each chunk itself");

	CHECK(spec_with("xgboost", "n_estimators", "5", &spec, xgb, &err) && spec.rounds == 5,
		  "n_estimators sets the rounds");
	CHECK(spec_with("linear", NULL, NULL, &spec, xgb, &err) && spec.ridge && spec.lambda == 1 &&
		  !spec.forest, "linear: ridge in closed form, lambda 1");
	CHECK(spec_with("linear", "lambda", "0.25", &spec, xgb, &err) && spec.lambda == 0.25, "lambda 0.25");
	CHECK(spec_with("linear", "lambda", "0", &spec, xgb, &err) && spec.lambda == 0, "lambda 0: least squares");
	CHECK(!spec_with("linear", "lambda", "-1", &spec, xgb, &err) && strstr(err.message, "lambda"),
		  "a negative lambda refused");
	CHECK(!spec_with("linear", "lambda", "abc", &spec, xgb, &err), "a lambda that is no number refused");

	CHECK(!spec_with("xgboost", "n_estimators", "0", &spec, xgb, &err), "0 rounds refused");
	CHECK(strcmp(err.message, "hyperparams.n_estimators must be a whole number between 1 and 100000") == 0,
		  err.message);
	CHECK(!spec_with("xgboost", "n_estimators", "12abc", &spec, xgb, &err), "trailing text refused");
	CHECK(!spec_with("xgboost", "n_estimators", "", &spec, xgb, &err), "empty text refused");
	CHECK(!spec_with("xgboost", "n_estimators", "99999999999999999999", &spec, xgb, &err),
		  "overflow refused");
	CHECK(!spec_with("xgboost", "nthread", "0", &spec, xgb, &err), "nthread 0 refused");
	CHECK(spec_with("xgboost", "nthread", "1", &spec, xgb, &err) && spec.nthread == 1,
		  "nthread 1 accepted");
	CHECK(!spec_with("xgboost", "nthread", "2", &spec, xgb, &err), "nthread 2 refused (defect 5)");
	CHECK(strcmp(err.message, "hyperparams.nthread must be 1") == 0, err.message);
	CHECK(strstr(err.detail, "signal") != NULL, "nthread: the detail says why");
	CHECK(strstr(err.hint, "sessions") != NULL, "nthread: the hint says what to do");
	CHECK(!spec_with("random_forest", "nthread", "64", &spec, xgb, &err), "nthread 64 refused");
	CHECK(!spec_with("xgboost", "num_parallel_tree", "4", &spec, xgb, &err),
		  "num_parallel_tree refused");
	CHECK(strstr(err.hint, "random_forest") != NULL, "num_parallel_tree: says what to use");
	CHECK(!spec_with("xgboost", "objective", "reg:logistic", &spec, xgb, &err),
		  "another objective refused");
	CHECK(spec_with("xgboost", "objective", "reg:squarederror", &spec, xgb, &err),
		  "reg:squarederror accepted");
	CHECK(!spec_with("random_forest", "seed", "-1", &spec, xgb, &err), "a negative forest seed refused");
}

static void
test_known(void)
{
	char		list[1024];
	const char *algorithms[] = {"xgboost", "random_forest", "linear"};

	CHECK(mlp_params_known("xgboost", "max_depth"), "xgboost knows max_depth");
	CHECK(!mlp_params_known("xgboost", "max_depht"), "xgboost does not know max_depht");
	CHECK(mlp_params_known("xgboost", "seed") && mlp_params_known("linear", "nthread"),
		  "every algorithm knows seed and nthread");
	CHECK(mlp_params_known("linear", "lambda") && !mlp_params_known("linear", "n_estimators") &&
		  !mlp_params_known("linear", "eta"), "linear knows lambda, not rounds nor eta");
	CHECK(!mlp_params_known("xgboost", "booster") && !mlp_params_known("xgboost", "num_parallel_tree"),
		  "booster and num_parallel_tree are mlpipe's to set");
	mlp_params_known_list("linear", list, sizeof(list));
	CHECK(strcmp(list, "lambda, seed, nthread, verbosity, objective") == 0, list);
	mlp_params_known_list("xgboost", list, sizeof(list));
	CHECK(strncmp(list, "n_estimators, eta, max_depth", 28) == 0 && strstr(list, ", objective") != NULL,
		  "the xgboost list starts with its own keys and ends with the common ones");
	/* every default is a key the algorithm knows, but booster */
	for (int a = 0; a < 3; a++)
	{
		MlpParamList pl = {0};
		bool		all = true;

		mlp_params_defaults(&pl, algorithms[a]);
		for (int i = 0; i < pl.n; i++)
			all &= strcmp(pl.key[i], "booster") == 0 || mlp_params_known(algorithms[a], pl.key[i]);
		CHECK(all, algorithms[a]);
	}
}

int
main(void)
{
	test_known();
	test_set_get();
	test_defaults();
	test_spec();
	return check_summary();
}
