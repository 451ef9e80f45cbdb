/*
 * train_params.c — hyperparameter table and algorithm defaults of
 * mlpipe_train; see train_params.h.
 */
#include "train_params.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const mlp_algorithm_names = "xgboost, random_forest or linear";

bool
mlp_params_set(MlpParamList *pl, const char *key, const char *value)
{
	for (int i = 0; i < pl->n; i++)
		if (strcmp(pl->key[i], key) == 0)
		{
			pl->value[i] = value;
			return true;
		}
	if (pl->n == MLP_MAX_PARAMS)
		return false;
	pl->key[pl->n] = key;
	pl->value[pl->n] = value;
	pl->n++;
	return true;
}

const char *
mlp_params_get(const MlpParamList *pl, const char *key)
{
	for (int i = 0; i < pl->n; i++)
		if (strcmp(pl->key[i], key) == 0)
			return pl->value[i];
	return NULL;
}

/*
 * Defaults that train well on purchase data of this shape (tuned on the
 * real sample; see the README).  A fixed seed makes training reproducible.
 * Rows with algorithm NULL apply to every algorithm, and come first.
 */
typedef struct DefaultParam
{
	const char *algorithm;
	const char *key;
	const char *value;
} DefaultParam;

static const DefaultParam default_params[] = {
	{NULL, "seed", "42"},
	/* XGBoost's warnings go to the server's stderr, not to the client */
	{NULL, "verbosity", "0"},
	/* one thread: OpenMP threads spin and crowd out other backends */
	{NULL, "nthread", "1"},

	/* shallow, heavily regularized trees: next month is noisy */
	{"xgboost", "booster", "gbtree"},
	{"xgboost", "n_estimators", "200"},
	{"xgboost", "max_depth", "2"},
	{"xgboost", "eta", "0.05"},
	{"xgboost", "subsample", "0.8"},
	{"xgboost", "colsample_bytree", "0.8"},
	{"xgboost", "min_child_weight", "50"},

	/* XGBoost's random forest: parallel trees, one round, no shrinkage */
	{"random_forest", "booster", "gbtree"},
	{"random_forest", "n_estimators", "200"},
	{"random_forest", "max_depth", "6"},
	{"random_forest", "subsample", "0.7"},
	{"random_forest", "colsample_bynode", "0.6"},
	{"random_forest", "min_child_weight", "10"},
	{"random_forest", "eta", "1"},

	/* ridge regression, solved in closed form (ridge.c): lambda is all */
	{"linear", "booster", "gblinear"},
	{"linear", "lambda", "1"},
};

/*
 * What a caller may set, per algorithm (NULL: every algorithm): the
 * XGBoost parameters that mean something for squared-error regression
 * with mlpipe's training.  Anything else is refused rather than passed to
 * XGBoost, which ignores a misspelt key silently.
 */
typedef struct KnownParam
{
	const char *algorithm;
	const char *key;
} KnownParam;

static const KnownParam known_params[] = {
	{NULL, "seed"}, {NULL, "nthread"}, {NULL, "verbosity"}, {NULL, "objective"},
#define TREE_PARAMS(algo) \
	{algo, "n_estimators"}, {algo, "eta"}, {algo, "max_depth"}, {algo, "min_child_weight"}, \
	{algo, "gamma"}, {algo, "subsample"}, {algo, "colsample_bytree"}, {algo, "colsample_bylevel"}, \
	{algo, "colsample_bynode"}, {algo, "lambda"}, {algo, "alpha"}, {algo, "max_delta_step"}, \
	{algo, "max_bin"}, {algo, "max_leaves"}, {algo, "grow_policy"}, {algo, "base_score"}
	TREE_PARAMS("xgboost"),
	TREE_PARAMS("random_forest"),
#undef TREE_PARAMS
	{"linear", "lambda"},
};

bool
mlp_params_known(const char *algorithm, const char *key)
{
	for (size_t i = 0; i < sizeof(known_params) / sizeof(known_params[0]); i++)
		if ((known_params[i].algorithm == NULL || strcmp(known_params[i].algorithm, algorithm) == 0) &&
			strcmp(known_params[i].key, key) == 0)
			return true;
	return false;
}

void
mlp_params_known_list(const char *algorithm, char *buf, size_t len)
{
	size_t		used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(known_params) / sizeof(known_params[0]); i++)
		if (known_params[i].algorithm != NULL && strcmp(known_params[i].algorithm, algorithm) == 0 &&
			used < len)
			used += (size_t) snprintf(buf + used, len - used, "%s, ", known_params[i].key);
	for (size_t i = 0; i < sizeof(known_params) / sizeof(known_params[0]); i++)
		if (known_params[i].algorithm == NULL && used < len)
			used += (size_t) snprintf(buf + used, len - used, "%s, ", known_params[i].key);
	if (used >= 2 && used < len)
		buf[used - 2] = '\0';
}

bool
mlp_params_defaults(MlpParamList *pl, const char *algorithm)
{
	bool		known = false;
	size_t		n = sizeof(default_params) / sizeof(default_params[0]);

	for (size_t i = 0; i < n; i++)
		if (default_params[i].algorithm != NULL &&
			strcmp(default_params[i].algorithm, algorithm) == 0)
			known = true;
	if (!known)
		return false;
	for (size_t i = 0; i < n; i++)
		if (default_params[i].algorithm == NULL ||
			strcmp(default_params[i].algorithm, algorithm) == 0)
			mlp_params_set(pl, default_params[i].key, default_params[i].value);
	return true;
}

static bool refuse(MlpParamError *err, const char *detail, const char *hint,
				   const char *fmt,...) __attribute__((format(printf, 4, 5)));

static bool
refuse(MlpParamError *err, const char *detail, const char *hint, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	snprintf(err->detail, sizeof(err->detail), "%s", detail ? detail : "");
	snprintf(err->hint, sizeof(err->hint), "%s", hint ? hint : "");
	return false;
}

/* key's value as a whole number in [min, max]. */
static bool
param_int(const MlpParamList *pl, const char *key, int min, int max, int *out,
		  MlpParamError *err)
{
	const char *s = mlp_params_get(pl, key);
	char	   *end;
	long		v;

	errno = 0;
	v = s ? strtol(s, &end, 10) : 0;
	if (s == NULL || errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return refuse(err, NULL, NULL,
					  "hyperparams.%s must be a whole number between %d and %d", key, min, max);
	*out = (int) v;
	return true;
}

/* linear: ridge in closed form, one "round", lambda >= 0 */
static bool
ridge_spec(const MlpParamList *pl, MlpTrainSpec *spec, MlpParamError *err)
{
	const char *s = mlp_params_get(pl, "lambda");
	char	   *end;

	errno = 0;
	spec->ridge = true;
	spec->rounds = 1;
	spec->lambda = s ? strtod(s, &end) : -1;
	if (s == NULL || errno != 0 || end == s || *end != '\0' || !(spec->lambda >= 0) ||
		spec->lambda > 1e12)
		return refuse(err, "linear is ridge regression: lambda is the weight of its L2 penalty.", NULL,
					  "hyperparams.lambda must be a number between 0 and 1e12");
	return true;
}

bool
mlp_params_to_spec(const MlpParamList *pl, const char *algorithm,
				   MlpTrainParam *xgb, MlpTrainSpec *spec, MlpParamError *err)
{
	const char *objective = mlp_params_get(pl, "objective");
	int			seed = 0;
	size_t		np = 0;
	bool		linear = strcmp(algorithm, "linear") == 0;

	memset(spec, 0, sizeof(*spec));
	memset(err, 0, sizeof(*err));
	if (objective != NULL && strcmp(objective, "reg:squarederror") != 0)
		return refuse(err, NULL, NULL, "hyperparams.objective must be reg:squarederror");
	if (!param_int(pl, "nthread", 1, 64, &spec->nthread, err))
		return false;
	if (linear ? !ridge_spec(pl, spec, err) : !param_int(pl, "n_estimators", 1, 100000, &spec->rounds, err))
		return false;
	if (spec->nthread != 1)
		return refuse(err,
					  "XGBoost's OpenMP threads would start inside a PostgreSQL backend and inherit "
					  "its signal mask, so the server's signal handlers could run on a thread "
					  "that is not the backend's.",
					  "Leave nthread out (training uses one thread); to train several models at "
					  "once, call mlpipe_train from several sessions.",
					  "hyperparams.nthread must be 1");
	if (mlp_params_get(pl, "num_parallel_tree") != NULL)
		return refuse(err, "mlpipe grows parallel trees only as a random forest.",
					  "Use algorithm random_forest, with n_estimators as the number of trees.",
					  "hyperparams.num_parallel_tree is not supported");
	spec->forest = strcmp(algorithm, "random_forest") == 0;
	if (spec->forest)
	{
		if (!param_int(pl, "seed", 0, INT_MAX, &seed, err))
			return false;
		spec->seed = (unsigned long) seed;
	}

	/* XGBoost's own parameter list: everything but our n_estimators */
	for (int i = 0; i < pl->n; i++)
		if (strcmp(pl->key[i], "n_estimators") != 0 &&
			!(spec->forest && strcmp(pl->key[i], "seed") == 0))
		{
			xgb[np].key = pl->key[i];
			xgb[np].value = pl->value[i];
			np++;
		}
	spec->params = xgb;
	spec->nparams = np;
	return true;
}
