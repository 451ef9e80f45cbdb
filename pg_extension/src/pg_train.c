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
#include "train_params.h"

PG_FUNCTION_INFO_V1(mlpipe_train);

/* hyperparams: a flat JSON object of numbers, strings and booleans */
static void
apply_hyperparams(Jsonb *jb, MlpParamList *pl)
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
			if (!mlp_params_set(pl, key, value))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("hyperparams has more than %d entries", MLP_MAX_PARAMS)));
		}
	}
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

/* What the caller asked for: arguments checked, hyperparameters resolved. */
typedef struct TrainRequest
{
	text	   *name;
	text	   *version;
	char	   *algorithm;
	MlpParamList params;		/* defaults with the caller's on top */
	MlpTrainParam *xgb;			/* what spec.params points at */
	MlpTrainSpec spec;
} TrainRequest;

/* The training set split per customer: the first floor(0.8 n) rows with a
 * target train, the rest test. */
typedef struct TrainSplit
{
	float	   *X_train,
			   *y_train,
			   *X_test,
			   *y_test;
	int64		n_train,
				n_test;
} TrainSplit;

static void
read_request(FunctionCallInfo fcinfo, TrainRequest *req)
{
	MlpParamError err;

	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not be null", i == 0 ? "model_name" : i == 1 ? "algorithm" : "version")));
	req->name = PG_GETARG_TEXT_PP(0);
	req->algorithm = text_to_cstring(PG_GETARG_TEXT_PP(1));
	req->version = PG_GETARG_TEXT_PP(2);

	memset(&req->params, 0, sizeof(req->params));
	if (!mlp_params_defaults(&req->params, req->algorithm))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", req->algorithm),
				 errhint("Use %s.", mlp_algorithm_names)));
	if (!PG_ARGISNULL(3))
		apply_hyperparams(PG_GETARG_JSONB_P(3), &req->params);

	req->xgb = palloc(req->params.n * sizeof(MlpTrainParam));
	if (!mlp_params_to_spec(&req->params, req->algorithm, req->xgb, &req->spec, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", err.message),
				 err.detail[0] ? errdetail("%s", err.detail) : 0,
				 err.hint[0] ? errhint("%s", err.hint) : 0));
	req->spec.stop = train_should_stop;
}

static void
split_rows(const TrainingSet *ts, TrainSplit *split)
{
	memset(split, 0, sizeof(*split));
	split->X_train = MemoryContextAllocHuge(CurrentMemoryContext, ts->nrows * MLP_NFEATURES * sizeof(float));
	split->y_train = MemoryContextAllocHuge(CurrentMemoryContext, ts->nrows * sizeof(float));
	split->X_test = MemoryContextAllocHuge(CurrentMemoryContext, ts->nrows * MLP_NFEATURES * sizeof(float));
	split->y_test = MemoryContextAllocHuge(CurrentMemoryContext, ts->nrows * sizeof(float));
	for (int64 first = 0; first < ts->nrows;)
	{
		int64		end = first;
		int64		with_target = 0;

		while (end < ts->nrows && ts->customer_id[end] == ts->customer_id[first])
			with_target += ts->has_target[end++];
		for (int64 i = first, k = 0; i < end; i++)
		{
			double		vec[MLP_NFEATURES];
			bool		train;
			float	   *row;

			if (!ts->has_target[i])
				continue;
			train = k++ < (int64) floor(0.8 * with_target);
			mlpipe_training_vector(ts, i, vec);
			row = train ? split->X_train + split->n_train * MLP_NFEATURES
				: split->X_test + split->n_test * MLP_NFEATURES;
			for (int j = 0; j < MLP_NFEATURES; j++)
				row[j] = (float) vec[j];
			if (train)
				split->y_train[split->n_train++] = (float) mlpipe_training_target(ts, i);
			else
				split->y_test[split->n_test++] = (float) mlpipe_training_target(ts, i);
		}
		first = end;
	}
	if (split->n_train == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no training rows: every customer needs purchases in at least two months")));
}

/* Trains with XGBoost; the model's JSON as a bytea, and how long it took. */
static bytea *
train_artifact(const TrainRequest *req, const TrainSplit *split, double *seconds)
{
	MlpTrainData data = {split->X_train, split->y_train, split->n_train, MLP_NFEATURES};
	MlpTrainResult result;
	instr_time	start,
				elapsed;
	bytea	   *artifact;
	bool		ok;

	INSTR_TIME_SET_CURRENT(start);
	ok = mlp_xgb_train(&data, &req->spec, &result);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	*seconds = INSTR_TIME_GET_DOUBLE(elapsed);
	if (!ok)
	{
		CHECK_FOR_INTERRUPTS();	/* a cancel ends here with its own message */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("XGBoost training failed: %s", result.error)));
	}
	/* copy the malloc'd JSON before anything can throw */
	artifact = palloc(VARHDRSZ + result.json_len);
	SET_VARSIZE(artifact, VARHDRSZ + result.json_len);
	memcpy(VARDATA(artifact), result.json, result.json_len);
	free(result.json);
	return artifact;
}

/* metadata: metrics and what produced them */
static char *
metadata_json(const TrainRequest *req, const TrainingSet *ts, const TrainSplit *split,
			  double rmse_train, double rmse_test, double seconds)
{
	StringInfoData meta;

	initStringInfo(&meta);
	appendStringInfoChar(&meta, '{');
	appendStringInfo(&meta, "\"algorithm\": \"%s\", ", req->algorithm);
	json_key_number(&meta, "rmse_test", rmse_test);
	json_key_number(&meta, "rmse_train", rmse_train);
	json_key_number(&meta, "rows_train", (double) split->n_train);
	json_key_number(&meta, "rows_test", (double) split->n_test);
	json_key_number(&meta, "customers", (double) ts->ncustomers);
	json_key_number(&meta, "purchases", (double) ts->npurchases);
	json_key_number(&meta, "training_seconds", seconds);
	appendStringInfoString(&meta, "\"feature_names\": [");
	for (int j = 0; j < MLP_NFEATURES; j++)
		appendStringInfo(&meta, "%s\"%s\"", j ? ", " : "", mlp_feature_names[j]);
	appendStringInfoString(&meta, "]}");
	return meta.data;
}

/* The hyperparameters as stored with the model: every value as text. */
static char *
params_json(const MlpParamList *pl)
{
	StringInfoData mp;

	initStringInfo(&mp);
	appendStringInfoChar(&mp, '{');
	for (int i = 0; i < pl->n; i++)
	{
		appendStringInfo(&mp, "%s", i ? ", " : "");
		escape_json(&mp, pl->key[i]);
		appendStringInfoString(&mp, ": ");
		escape_json(&mp, pl->value[i]);
	}
	appendStringInfoChar(&mp, '}');
	return mp.data;
}

/* Registers in the caller's transaction: a failure from here on leaves no row. */
static void
register_model(FunctionCallInfo fcinfo, const TrainRequest *req, bytea *artifact,
			   const TrainingSet *ts, const char *params, const char *metadata)
{
	Oid			types[6] = {TEXTOID, TEXTOID, BYTEAOID, JSONBOID, JSONBOID, JSONBOID};
	Datum		args[6];
	char	   *schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
	char	   *sql = psprintf("SELECT %s.mlpipe_register_model($1, $2, $3, $4, $5, $6)",
							   quote_identifier(schema));

	args[0] = PointerGetDatum(req->name);
	args[1] = PointerGetDatum(req->version);
	args[2] = PointerGetDatum(artifact);
	args[3] = PointerGetDatum(mlpipe_std_to_jsonb(&ts->std));
	args[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(params));
	args[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metadata));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, 6, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "registering the trained model failed");
	SPI_finish();
}

Datum
mlpipe_train(PG_FUNCTION_ARGS)
{
	TrainRequest req;
	TrainingSet ts;
	TrainSplit split;
	bytea	   *artifact;
	MlpModel   *model;
	double		seconds,
				scale,
				rmse_train,
				rmse_test;
	char	   *metadata;

	read_request(fcinfo, &req);
	mlpipe_build_training_set(&ts);
	split_rows(&ts, &split);
	artifact = train_artifact(&req, &split, &seconds);

	/* evaluated by mlpipe's own evaluator: the one that will serve it */
	model = mlpipe_parse_artifact(VARDATA(artifact), VARSIZE(artifact) - VARHDRSZ);
	scale = ts.std.std[MLP_STD_PURCHASE_AMOUNT];
	rmse_train = scale * rmse(model, split.X_train, split.y_train, split.n_train);
	rmse_test = scale * rmse(model, split.X_test, split.y_test, split.n_test);
	mlp_model_free(model);

	metadata = metadata_json(&req, &ts, &split, rmse_train, rmse_test, seconds);
	register_model(fcinfo, &req, artifact, &ts, params_json(&req.params), metadata);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(metadata)));
}
