/*
 * pg_train.c — mlpipe_train(model_name, algorithm, version, hyperparams).
 *
 * Builds the training set (pg_features.c), splits it per customer, trains
 * with the XGBoost C library (xgb_train.c), evaluates with mlpipe's own
 * evaluator — the one that will serve the model — and registers the
 * artifact through mlpipe_register_model, in the caller's transaction: a
 * failure or a cancel registers nothing.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "mlpipe_models.h"
#include "mlpipe_pg.h"
#include "xgb_train.h"

PG_FUNCTION_INFO_V1(mlpipe_train);

#define MAX_PARAMS 64

typedef struct ParamList
{
	int			n;
	const char *key[MAX_PARAMS];
	const char *value[MAX_PARAMS];
} ParamList;

static void
param_set(ParamList *pl, const char *key, const char *value)
{
	for (int i = 0; i < pl->n; i++)
		if (strcmp(pl->key[i], key) == 0)
		{
			pl->value[i] = value;
			return;
		}
	if (pl->n == MAX_PARAMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams has more than %d entries", MAX_PARAMS)));
	pl->key[pl->n] = key;
	pl->value[pl->n] = value;
	pl->n++;
}

static const char *
param_get(const ParamList *pl, const char *key)
{
	for (int i = 0; i < pl->n; i++)
		if (strcmp(pl->key[i], key) == 0)
			return pl->value[i];
	return NULL;
}

/*
 * Defaults that train well on purchase data of this shape (tuned on the
 * real sample; see the README).  A fixed seed makes training reproducible.
 */
static void
default_params(const char *algorithm, ParamList *pl)
{
	param_set(pl, "seed", "42");
	/* XGBoost's warnings go to the server's stderr, not to the client */
	param_set(pl, "verbosity", "0");
	/* one thread: OpenMP threads spin and crowd out other backends */
	param_set(pl, "nthread", "1");
	if (strcmp(algorithm, "xgboost") == 0)
	{
		param_set(pl, "booster", "gbtree");
		/* shallow, heavily regularized trees: next month is noisy */
		param_set(pl, "n_estimators", "200");
		param_set(pl, "max_depth", "2");
		param_set(pl, "eta", "0.05");
		param_set(pl, "subsample", "0.8");
		param_set(pl, "colsample_bytree", "0.8");
		param_set(pl, "min_child_weight", "50");
	}
	else if (strcmp(algorithm, "random_forest") == 0)
	{
		/* XGBoost's random forest: parallel trees, one round, no shrinkage */
		param_set(pl, "booster", "gbtree");
		param_set(pl, "n_estimators", "200");
		param_set(pl, "max_depth", "6");
		param_set(pl, "subsample", "0.7");
		param_set(pl, "colsample_bynode", "0.6");
		param_set(pl, "min_child_weight", "10");
		param_set(pl, "eta", "1");
	}
	else if (strcmp(algorithm, "linear") == 0)
	{
		/* ridge regression: L2 penalty, coordinate descent */
		param_set(pl, "booster", "gblinear");
		param_set(pl, "n_estimators", "200");
		param_set(pl, "lambda", "1");
		param_set(pl, "alpha", "0");
		param_set(pl, "updater", "coord_descent");
		param_set(pl, "eta", "0.5");
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", algorithm),
				 errhint("Use xgboost, random_forest or linear.")));
}

/* hyperparams: a flat JSON object of numbers, strings and booleans */
static void
apply_hyperparams(Jsonb *jb, ParamList *pl)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams must be a JSON object")));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			char	   *value;

			if (v.type == jbvNumeric)
				value = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
			else if (v.type == jbvString)
				value = pnstrdup(v.val.string.val, v.val.string.len);
			else if (v.type == jbvBool)
				value = v.val.boolean ? "true" : "false";
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparams.%s must be a number, a string or a boolean", key)));
			if (strcmp(key, "objective") == 0 && strcmp(value, "reg:squarederror") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparams.objective must be reg:squarederror")));
			param_set(pl, key, value);
		}
	}
}

static int
param_int(const ParamList *pl, const char *key, int min, int max)
{
	const char *s = param_get(pl, key);
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams.%s must be a whole number between %d and %d", key, min, max)));
	return (int) v;
}

/*
 * Called by XGBoost between rounds: stop on a query cancel or shutdown.
 * Not CHECK_FOR_INTERRUPTS(): its longjmp must not cross XGBoost's C++
 * frames.  InterruptPending alone is not enough: it is also set for
 * interrupts that do not end the query.
 */
static bool
train_should_stop(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}

static double
rmse(const MlpModel *model, const float *X, const float *y, int64 n)
{
	double		sum = 0;
	double		x[MLP_NFEATURES];

	for (int64 i = 0; i < n; i++)
	{
		for (int j = 0; j < MLP_NFEATURES; j++)
			x[j] = X[i * MLP_NFEATURES + j];
		double		d = (double) mlp_model_predict(model, x, MLP_NFEATURES) - y[i];

		sum += d * d;
	}
	return n > 0 ? sqrt(sum / n) : NAN;
}

static void
json_key_number(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, "\"%s\": %s, ", key, isfinite(v) ? float8out_internal(v) : "null");
}

Datum
mlpipe_train(PG_FUNCTION_ARGS)
{
	text	   *name;
	char	   *algorithm;
	text	   *version;
	ParamList	pl = {0};
	TrainingSet ts;
	int64		n_train = 0,
				n_test = 0;
	float	   *X_train,
			   *y_train,
			   *X_test,
			   *y_test;
	MlpTrainParam *params;
	char	   *json = NULL;
	size_t		json_len = 0;
	char		msg[512];
	int			rounds;
	bool		ok;
	instr_time	start,
				elapsed;
	bytea	   *artifact;
	MlpModel   *model;
	double		rmse_train,
				rmse_test,
				scale;
	StringInfoData meta,
				mp;

	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not be null", i == 0 ? "model_name" : i == 1 ? "algorithm" : "version")));
	name = PG_GETARG_TEXT_PP(0);
	algorithm = text_to_cstring(PG_GETARG_TEXT_PP(1));
	version = PG_GETARG_TEXT_PP(2);

	default_params(algorithm, &pl);
	if (!PG_ARGISNULL(3))
		apply_hyperparams(PG_GETARG_JSONB_P(3), &pl);
	rounds = param_int(&pl, "n_estimators", 1, 100000);
	param_int(&pl, "nthread", 1, 64);
	if (param_get(&pl, "num_parallel_tree") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams.num_parallel_tree is not supported: use algorithm random_forest with n_estimators")));

	mlpipe_build_training_set(&ts);

	/* split: per customer, the first floor(0.8 n) rows with a target train */
	X_train = MemoryContextAllocHuge(CurrentMemoryContext, ts.nrows * MLP_NFEATURES * sizeof(float));
	y_train = MemoryContextAllocHuge(CurrentMemoryContext, ts.nrows * sizeof(float));
	X_test = MemoryContextAllocHuge(CurrentMemoryContext, ts.nrows * MLP_NFEATURES * sizeof(float));
	y_test = MemoryContextAllocHuge(CurrentMemoryContext, ts.nrows * sizeof(float));
	for (int64 first = 0; first < ts.nrows;)
	{
		int64		end = first;
		int64		with_target = 0;

		while (end < ts.nrows && ts.customer_id[end] == ts.customer_id[first])
			with_target += ts.has_target[end++];
		for (int64 i = first, k = 0; i < end; i++)
		{
			double		vec[MLP_NFEATURES];
			bool		train;

			if (!ts.has_target[i])
				continue;
			train = k++ < (int64) floor(0.8 * with_target);
			mlpipe_training_vector(&ts, i, vec);
			for (int j = 0; j < MLP_NFEATURES; j++)
				(train ? X_train + n_train * MLP_NFEATURES : X_test + n_test * MLP_NFEATURES)[j] = (float) vec[j];
			if (train)
				y_train[n_train++] = (float) mlpipe_training_target(&ts, i);
			else
				y_test[n_test++] = (float) mlpipe_training_target(&ts, i);
		}
		first = end;
	}
	if (n_train == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no training rows: every customer needs purchases in at least two months")));

	/* XGBoost's own parameter list: everything but our n_estimators */
	params = palloc(pl.n * sizeof(MlpTrainParam));
	{
		int			np = 0;
		int			nthread = param_int(&pl, "nthread", 1, 64);
		bool		forest = strcmp(algorithm, "random_forest") == 0;

		for (int i = 0; i < pl.n; i++)
			if (strcmp(pl.key[i], "n_estimators") != 0 &&
				!(forest && strcmp(pl.key[i], "seed") == 0))
			{
				params[np].key = pl.key[i];
				params[np].value = pl.value[i];
				np++;
			}
		INSTR_TIME_SET_CURRENT(start);
		if (forest)
			ok = mlp_xgb_train_forest(X_train, y_train, n_train, MLP_NFEATURES, params, np,
									  rounds, (unsigned long) param_int(&pl, "seed", 0, INT_MAX),
									  nthread, train_should_stop, NULL,
									  &json, &json_len, msg, sizeof(msg));
		else
			ok = mlp_xgb_train(X_train, y_train, n_train, MLP_NFEATURES, params, np, rounds,
							   nthread, train_should_stop, NULL,
							   &json, &json_len, msg, sizeof(msg));
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
	}
	if (!ok)
	{
		CHECK_FOR_INTERRUPTS();	/* a cancel ends here with its own message */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("XGBoost training failed: %s", msg)));
	}
	/* copy the malloc'd JSON before anything can throw */
	artifact = palloc(VARHDRSZ + json_len);
	SET_VARSIZE(artifact, VARHDRSZ + json_len);
	memcpy(VARDATA(artifact), json, json_len);
	free(json);

	model = mlpipe_parse_artifact(VARDATA(artifact), json_len);
	scale = ts.std.std[MLP_STD_PURCHASE_AMOUNT];
	rmse_train = scale * rmse(model, X_train, y_train, n_train);
	rmse_test = scale * rmse(model, X_test, y_test, n_test);
	mlp_model_free(model);

	/* metadata: metrics and what produced them */
	initStringInfo(&meta);
	appendStringInfoChar(&meta, '{');
	appendStringInfo(&meta, "\"algorithm\": \"%s\", ", algorithm);
	json_key_number(&meta, "rmse_test", rmse_test);
	json_key_number(&meta, "rmse_train", rmse_train);
	json_key_number(&meta, "rows_train", (double) n_train);
	json_key_number(&meta, "rows_test", (double) n_test);
	json_key_number(&meta, "customers", (double) ts.ncustomers);
	json_key_number(&meta, "purchases", (double) ts.npurchases);
	json_key_number(&meta, "training_seconds", INSTR_TIME_GET_DOUBLE(elapsed));
	appendStringInfoString(&meta, "\"feature_names\": [");
	for (int j = 0; j < MLP_NFEATURES; j++)
		appendStringInfo(&meta, "%s\"%s\"", j ? ", " : "", mlp_feature_names[j]);
	appendStringInfoString(&meta, "]}");

	initStringInfo(&mp);
	appendStringInfoChar(&mp, '{');
	for (int i = 0; i < pl.n; i++)
	{
		appendStringInfo(&mp, "%s", i ? ", " : "");
		escape_json(&mp, pl.key[i]);
		appendStringInfoString(&mp, ": ");
		escape_json(&mp, pl.value[i]);
	}
	appendStringInfoChar(&mp, '}');

	/* register in this transaction: a failure from here on leaves no row */
	{
		Oid			types[6] = {TEXTOID, TEXTOID, BYTEAOID, JSONBOID, JSONBOID, JSONBOID};
		Datum		args[6];
		char	   *schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
		char	   *sql = psprintf("SELECT %s.mlpipe_register_model($1, $2, $3, $4, $5, $6)",
								   quote_identifier(schema));

		args[0] = PointerGetDatum(name);
		args[1] = PointerGetDatum(version);
		args[2] = PointerGetDatum(artifact);
		args[3] = PointerGetDatum(mlpipe_std_to_jsonb(&ts.std));
		args[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(mp.data));
		args[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(meta.data));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args(sql, 6, types, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "registering the trained model failed");
		SPI_finish();
	}
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(meta.data)));
}
