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

#include <ctype.h>
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
#include "pg_train.h"

PG_FUNCTION_INFO_V1(mlpipe_train);

void
mlpipe_jsonb_object_each(JsonbContainer *c, MlpJsonbPairFn fn, void *arg)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
			fn(key, &v, arg);
	}
}

char *
mlpipe_jsonb_scalar_text(const JsonbValue *v)
{
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvBool)
		return pstrdup(v->val.boolean ? "true" : "false");
	return NULL;
}

typedef struct HyperparamsArg
{
	const char *algorithm;
	MlpParamList *pl;
} HyperparamsArg;

static void
apply_hyperparam(const char *key, JsonbValue *v, void *arg)
{
	HyperparamsArg *a = arg;
	char	   *value;

	mlpipe_check_hyperparam_name(a->algorithm, key, "hyperparams");
	value = mlpipe_jsonb_scalar_text(v);
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams.%s must be a number, a string or a boolean", key)));
	if (!mlp_params_set(a->pl, key, value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams has more than %d entries", MLP_MAX_PARAMS)));
}

/* hyperparams: a flat JSON object of numbers, strings and booleans, each
 * key one the algorithm takes */
static void
apply_hyperparams(Jsonb *jb, const char *algorithm, MlpParamList *pl)
{
	HyperparamsArg a = {algorithm, pl};

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hyperparams must be a JSON object")));
	mlpipe_jsonb_object_each(&jb->root, apply_hyperparam, &a);
}

void
mlpipe_check_hyperparam_name(const char *algorithm, const char *key, const char *where)
{
	char		valid[1024];

	if (mlp_params_known(algorithm, key))
		return;
	mlp_params_known_list(algorithm, valid, sizeof(valid));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: unknown hyperparameter \"%s\" for algorithm %s", where, key, algorithm),
			 errdetail("XGBoost would ignore it and train with its default."),
			 errhint("Valid keys for %s: %s.", algorithm, valid)));
}

/* Training progress, reported every 2 s of a long training. */
typedef struct TrainProgress
{
	instr_time	start;
	double		next_notice;	/* seconds since start */
	int			calls;			/* stop checks so far: about one per round */
	int			expected;		/* stop checks in the whole training */
} TrainProgress;

#define PROGRESS_EVERY 2.0

/*
 * Called by XGBoost between rounds: stop on a query cancel or shutdown.
 * Not CHECK_FOR_INTERRUPTS(): its longjmp must not cross XGBoost's C++
 * frames.  InterruptPending alone is not enough: it is also set for
 * interrupts that do not end the query.  Also says how far training is
 * once it has run 2 s; interrupts are held meanwhile, so that sending the
 * NOTICE cannot end the query here either.
 */
static bool
train_should_stop(void *arg)
{
	TrainProgress *p = arg;
	instr_time	now;
	double		elapsed;

	if (QueryCancelPending || ProcDiePending)
		return true;
	if (p == NULL)
		return false;
	p->calls++;
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, p->start);
	elapsed = INSTR_TIME_GET_DOUBLE(now);
	/* nothing to say at the last check: the caller goes on at once */
	if (elapsed >= p->next_notice && p->calls > 1 && p->calls < p->expected)
	{
		double		done = (double) (p->calls - 1) / p->expected;

		HOLD_INTERRUPTS();
		ereport(NOTICE,
				(errmsg("training: %.0f%% done, %.1f s elapsed, about %.0f s left",
						100 * done, elapsed, done > 0 ? elapsed / done - elapsed : 0)));
		RESUME_INTERRUPTS();
		p->next_notice = elapsed + PROGRESS_EVERY;
	}
	return false;
}

double
mlpipe_rmse(const MlpModel *model, const float *X, const float *y, int64 n)
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

void
mlpipe_read_train_args(FunctionCallInfo fcinfo, TrainRequest *req)
{
	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not be null", i == 0 ? "model_name" : i == 1 ? "algorithm" : "version")));
	memset(req, 0, sizeof(*req));
	req->name = PG_GETARG_TEXT_PP(0);
	req->algorithm = text_to_cstring(PG_GETARG_TEXT_PP(1));
	req->version = PG_GETARG_TEXT_PP(2);
	if (!mlp_params_defaults(&req->params, req->algorithm))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", req->algorithm),
				 errhint("Use %s.", mlp_algorithm_names)));
}

void
mlpipe_resolve_request(TrainRequest *req)
{
	MlpParamError err;

	req->xgb = palloc(Max(1, req->params.n) * sizeof(MlpTrainParam));
	if (!mlp_params_to_spec(&req->params, req->algorithm, req->xgb, &req->spec, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", err.message),
				 err.detail[0] ? errdetail("%s", err.detail) : 0,
				 err.hint[0] ? errhint("%s", err.hint) : 0));
	req->spec.stop = train_should_stop;
}

void
mlpipe_check_version_free(text *name, text *version)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {PointerGetDatum(name), PointerGetDatum(version)};

	/* raises 23505 for a taken version and for a removed one (a tombstone) */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT mlpipe.check_version_free($1, $2)", 2, types, args, NULL,
							  true, 1) != SPI_OK_SELECT)
		elog(ERROR, "checking the version failed");
	SPI_finish();
}

void
mlpipe_split_rows(const TrainingSet *ts, TrainSplit *split)
{
	memset(split, 0, sizeof(*split));
	split->X_train = MemoryContextAllocHuge(CurrentMemoryContext, ts->nrows * MLP_NFEATURES * sizeof(float));
	split->y_train = MemoryContextAllocHuge(CurrentMemoryContext, ts->nrows * sizeof(float));
	split->month_train = MemoryContextAllocHuge(CurrentMemoryContext, ts->nrows * sizeof(int32));
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
			{
				split->month_train[split->n_train] = ts->months[i].month;
				split->y_train[split->n_train++] = (float) mlpipe_training_target(ts, i);
			}
			else
				split->y_test[split->n_test++] = (float) mlpipe_training_target(ts, i);
		}
		first = end;
	}
	if (split->n_train == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no training rows"),
				 errdetail("No customer has purchases in two different months; a row's target is the next month's amount."),
				 errhint("Load more purchase history: customers with purchases in at least two months.")));
}

bytea *
mlpipe_train_artifact(const TrainRequest *req, const float *X, const float *y, int64 n,
					  double *seconds)
{
	MlpTrainData data = {X, y, (size_t) n, MLP_NFEATURES};
	MlpTrainSpec spec = req->spec;
	MlpTrainResult result;
	TrainProgress progress = {0};
	instr_time	elapsed;
	bytea	   *artifact;
	bool		ok;

	INSTR_TIME_SET_CURRENT(progress.start);
	progress.next_notice = PROGRESS_EVERY;
	/* the stop is asked before each round (each 25 trees of a forest) and once after */
	progress.expected = spec.ridge ? 0 : spec.forest ? (spec.rounds + 24) / 25 + 1 : spec.rounds + 1;
	spec.stop_arg = &progress;
	ok = mlp_xgb_train(&data, &spec, &result);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, progress.start);
	*seconds = INSTR_TIME_GET_DOUBLE(elapsed);
	if (!ok)
	{
		CHECK_FOR_INTERRUPTS();	/* a cancel ends here with its own message */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("XGBoost training failed"),
				 errdetail("%s.", result.error),
				 errhint("Check hyperparams: each must be an XGBoost training parameter with a valid value.")));
	}

	/*
	 * The JSON is malloc'd by XGBoost: nothing may throw until it is copied
	 * or freed, so the size is checked first and the copy cannot fail.
	 */
	if (result.json_len > (size_t) mlpipe_max_model_size)
	{
		size_t		len = result.json_len;

		free(result.json);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the trained model is too large to store"),
				 errdetail("Its XGBoost JSON is %zu bytes; mlpipe.max_model_size is %d bytes.",
						   len, mlpipe_max_model_size),
				 errhint("Train fewer or shallower trees (n_estimators, max_depth).")));
	}
	artifact = palloc_extended(VARHDRSZ + result.json_len, MCXT_ALLOC_NO_OOM);
	if (artifact == NULL)
	{
		free(result.json);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed to copy a trained model of %zu bytes.", result.json_len)));
	}
	SET_VARSIZE(artifact, VARHDRSZ + result.json_len);
	memcpy(VARDATA(artifact), result.json, result.json_len);
	free(result.json);
	return artifact;
}

char *
mlpipe_metadata_json(const TrainRequest *req, const TrainingSet *ts, const TrainSplit *split,
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

char *
mlpipe_params_json(const MlpParamList *pl)
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

void
mlpipe_json_value(StringInfo buf, const char *text)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(text, &end);
	/* JSON numbers only: no "inf", "nan", hex or a leading '+' or '.' */
	if (errno == 0 && end != text && *end == '\0' && isfinite(v) &&
		(isdigit((unsigned char) text[0]) || (text[0] == '-' && isdigit((unsigned char) text[1]))) &&
		strpbrk(text, "xX") == NULL)
		appendStringInfoString(buf, text);
	else
		escape_json(buf, text);
}

void
mlpipe_register_trained(FunctionCallInfo fcinfo, const TrainRequest *req, bytea *artifact,
						const TrainingSet *ts, const char *params, const char *metadata)
{
	Oid			types[6] = {TEXTOID, TEXTOID, BYTEAOID, JSONBOID, JSONBOID, JSONBOID};
	Datum		args[6];
	char	   *schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
	char	   *sql = psprintf("SELECT %s.mlpipe_register_model($1, $2, $3, $4, $5, $6)",
							   quote_identifier(schema));
	StringInfoData stored;

	/* stored, not returned: the training distribution mlpipe_drift compares with */
	initStringInfo(&stored);
	appendBinaryStringInfo(&stored, metadata, strlen(metadata) - 1);	/* without its '}' */
	appendStringInfoString(&stored, ", ");
	mlpipe_append_feature_deciles(&stored, ts);
	appendStringInfoChar(&stored, '}');

	args[0] = PointerGetDatum(req->name);
	args[1] = PointerGetDatum(req->version);
	args[2] = PointerGetDatum(artifact);
	args[3] = PointerGetDatum(mlpipe_std_to_jsonb(&ts->std));
	args[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(params));
	args[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(stored.data));
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
	TrainSplit	split;
	bytea	   *artifact;
	MlpModel   *model;
	double		seconds,
				scale,
				rmse_train,
				rmse_test;
	char	   *metadata;

	mlpipe_read_train_args(fcinfo, &req);
	if (!PG_ARGISNULL(3))
		apply_hyperparams(PG_GETARG_JSONB_P(3), req.algorithm, &req.params);
	mlpipe_resolve_request(&req);
	mlpipe_check_version_free(req.name, req.version);
	mlpipe_build_training_set(&ts);
	mlpipe_split_rows(&ts, &split);
	artifact = mlpipe_train_artifact(&req, split.X_train, split.y_train, split.n_train, &seconds);

	/* evaluated by mlpipe's own evaluator: the one that will serve it */
	model = mlpipe_parse_artifact(VARDATA(artifact), VARSIZE(artifact) - VARHDRSZ);
	scale = ts.std.std[MLP_STD_PURCHASE_AMOUNT];
	rmse_train = scale * mlpipe_rmse(model, split.X_train, split.y_train, split.n_train);
	rmse_test = scale * mlpipe_rmse(model, split.X_test, split.y_test, split.n_test);
	mlp_model_free(model);

	metadata = mlpipe_metadata_json(&req, &ts, &split, rmse_train, rmse_test, seconds);
	mlpipe_register_trained(fcinfo, &req, artifact, &ts, mlpipe_params_json(&req.params), metadata);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(metadata)));
}
