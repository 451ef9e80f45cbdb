/*
 * pg_tune.c — mlpipe_tune(model_name, algorithm, version, search).
 *
 * Searches hyperparameters on the training split only, with
 * forward-chaining folds by calendar month (tune_folds.c): the training
 * rows are sorted by month once, so fold k trains on a prefix of them and
 * validates on the block that follows.  Every trial is a row of
 * mlpipe.tuning_trials; the best trial's hyperparameters are refitted on
 * the whole training split, evaluated once on the test split, and
 * registered.  All in the caller's transaction: a cancel or a failure
 * leaves neither trial rows nor a model.
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

#include "mlpipe_models.h"
#include "mlpipe_pg.h"
#include "pg_train.h"
#include "tune_folds.h"
#include "tune_space.h"

PG_FUNCTION_INFO_V1(mlpipe_tune);

#define DEFAULT_TRIALS 20
#define DEFAULT_FOLDS 3
#define DEFAULT_SEED 42
#define MAX_TRIALS 1000

/* The search as asked, with every default filled in. */
typedef struct TuneSearch
{
	bool		grid;
	int			trials;
	int			folds;
	int64		seed;
	bool		default_space;
	int			ndims;
	MlpSpaceDim dims[MLP_SPACE_MAX_DIMS];
} TuneSearch;

/* Default spaces: ranges common practice gives these hyperparameters on
 * tabular regression, wide enough to hold each algorithm's defaults (so
 * that the first trial can be the defaults).  Chosen without looking at any
 * data's test split. */
typedef struct DefaultDim
{
	const char *algorithm;
	MlpSpaceDim dim;
} DefaultDim;

static const DefaultDim default_space[] = {
	{"xgboost", {.name = "max_depth", .is_range = true, .min = 2, .max = 6, .is_int = true}},
	{"xgboost", {.name = "eta", .is_range = true, .min = 0.01, .max = 0.3, .log = true}},
	{"xgboost", {.name = "n_estimators", .is_range = true, .min = 50, .max = 400, .is_int = true}},
	{"xgboost", {.name = "subsample", .is_range = true, .min = 0.5, .max = 1}},
	{"xgboost", {.name = "colsample_bytree", .is_range = true, .min = 0.5, .max = 1}},
	{"xgboost", {.name = "min_child_weight", .is_range = true, .min = 1, .max = 100, .log = true}},
	{"random_forest", {.name = "max_depth", .is_range = true, .min = 3, .max = 10, .is_int = true}},
	{"random_forest", {.name = "subsample", .is_range = true, .min = 0.5, .max = 0.9}},
	{"random_forest", {.name = "colsample_bynode", .is_range = true, .min = 0.3, .max = 0.9}},
	{"random_forest", {.name = "min_child_weight", .is_range = true, .min = 1, .max = 100, .log = true}},
	{"linear", {.name = "lambda", .is_range = true, .min = 1e-4, .max = 100, .log = true}},
};

/* A number as JSON: null when it is not finite (no test rows, say). */
static const char *
json_number(double v)
{
	return isfinite(v) ? float8out_internal(v) : "null";
}

static void
search_error(const char *key, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("search.%s %s", key, what),
			 errhint("search is {\"method\": \"random\" | \"grid\", \"trials\": 20, \"folds\": 3, \"seed\": 42, "
					 "\"space\": {param: [v1, v2, ...] | {\"min\": a, \"max\": b, \"log\": bool, \"int\": bool}}}, "
					 "every key optional.")));
}

/* A JSON scalar as the text XGBoost gets; strings, numbers and booleans. */
static char *
scalar_text(const JsonbValue *v, const char *key)
{
	char	   *text = mlpipe_jsonb_scalar_text(v);

	if (text == NULL)
		search_error(key, "must hold numbers, strings or booleans");
	return text;
}

static double
number_of(const JsonbValue *v, const char *key)
{
	if (v->type != jbvNumeric)
		search_error(key, "must be a number");
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static int64
whole_of(const JsonbValue *v, const char *key, int64 min, int64 max)
{
	double		d = number_of(v, key);

	if (d != floor(d) || d < min || d > max)
		search_error(key, psprintf("must be a whole number between " INT64_FORMAT " and " INT64_FORMAT, min, max));
	return (int64) d;
}

static bool
bool_of(const JsonbValue *v, const char *key)
{
	if (v->type != jbvBool)
		search_error(key, "must be true or false");
	return v->val.boolean;
}

/* space.<name>.<key> of a range */
static void
read_range_key(const char *key, JsonbValue *v, void *arg)
{
	MlpSpaceDim *dim = arg;
	char	   *k = psprintf("space.%s.%s", dim->name, key);

	if (strcmp(key, "min") == 0)
		dim->min = number_of(v, k);
	else if (strcmp(key, "max") == 0)
		dim->max = number_of(v, k);
	else if (strcmp(key, "log") == 0)
		dim->log = bool_of(v, k);
	else if (strcmp(key, "int") == 0)
		dim->is_int = bool_of(v, k);
	else
		search_error(k, "is not a range key (min, max, log, int)");
}

/* space.<name>: [v1, ...] or {"min", "max", "log", "int"} */
static void
read_dim(JsonbContainer *c, const char *name, MlpSpaceDim *dim)
{
	char	   *where = psprintf("space.%s", name);

	memset(dim, 0, sizeof(*dim));
	dim->name = pstrdup(name);
	if (JsonContainerIsArray(c) && !JsonContainerIsScalar(c))
	{
		JsonbIterator *it = JsonbIteratorInit(c);
		JsonbValue	v;
		JsonbIteratorToken tok;
		int			n = JsonContainerSize(c);
		const char **values;

		if (n < 1 || n > MLP_SPACE_MAX_VALUES)
			search_error(where, "must list between 1 and 256 values");
		values = palloc(n * sizeof(char *));
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			if (tok == WJB_ELEM)
				values[dim->nvalues++] = scalar_text(&v, where);
		dim->values = values;
		return;
	}
	if (!JsonContainerIsObject(c))
		search_error(where, "must be a list of values or {\"min\": a, \"max\": b, \"log\": bool, \"int\": bool}");
	dim->is_range = true;
	dim->min = dim->max = NAN;
	mlpipe_jsonb_object_each(c, read_range_key, dim);
	if (isnan(dim->min) || isnan(dim->max))
		search_error(where, "needs both min and max");
}

typedef struct SearchArg
{
	const char *algorithm;
	TuneSearch *s;
	bool		trials_given;
} SearchArg;

static void
read_space_entry(const char *name, JsonbValue *v, void *arg)
{
	SearchArg  *a = arg;

	mlpipe_check_hyperparam_name(a->algorithm, name, "search.space");
	if (v->type != jbvBinary)
		search_error(psprintf("space.%s", name),
					 "must be a list of values or {\"min\": a, \"max\": b, \"log\": bool, \"int\": bool}");
	if (a->s->ndims == MLP_SPACE_MAX_DIMS)
		search_error("space", psprintf("has more than %d hyperparameters", MLP_SPACE_MAX_DIMS));
	read_dim(v->val.binary.data, name, &a->s->dims[a->s->ndims++]);
}

static void
read_search_key(const char *key, JsonbValue *v, void *arg)
{
	SearchArg  *a = arg;
	TuneSearch *s = a->s;

	if (strcmp(key, "method") == 0)
	{
		char	   *m = v->type == jbvString ? pnstrdup(v->val.string.val, v->val.string.len) : "";

		if (strcmp(m, "grid") != 0 && strcmp(m, "random") != 0)
			search_error(key, "must be \"random\" or \"grid\"");
		s->grid = strcmp(m, "grid") == 0;
	}
	else if (strcmp(key, "trials") == 0)
	{
		s->trials = (int) whole_of(v, key, 1, MAX_TRIALS);
		a->trials_given = true;
	}
	else if (strcmp(key, "folds") == 0)
		s->folds = (int) whole_of(v, key, 1, MLP_MAX_FOLDS);
	else if (strcmp(key, "seed") == 0)
		s->seed = whole_of(v, key, 0, PG_INT32_MAX);
	else if (strcmp(key, "space") == 0)
	{
		if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
			search_error(key, "must be an object of hyperparameters");
		s->default_space = false;
		s->ndims = 0;
		mlpipe_jsonb_object_each(v->val.binary.data, read_space_entry, a);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("search has an unknown key \"%s\"", key),
				 errhint("The keys of search are method, trials, folds, seed and space.")));
}

static void
read_search(Jsonb *jb, const char *algorithm, TuneSearch *s)
{
	SearchArg	a = {algorithm, s, false};
	char		err[256];

	memset(s, 0, sizeof(*s));
	s->trials = DEFAULT_TRIALS;
	s->folds = DEFAULT_FOLDS;
	s->seed = DEFAULT_SEED;
	s->default_space = true;
	for (size_t i = 0; i < lengthof(default_space); i++)
		if (strcmp(default_space[i].algorithm, algorithm) == 0)
			s->dims[s->ndims++] = default_space[i].dim;

	if (jb == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(jb))
		search_error("", "must be a JSON object");
	mlpipe_jsonb_object_each(&jb->root, read_search_key, &a);
	if (!mlp_space_check(s->dims, s->ndims, s->grid, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("search.space: %s", err)));
	if (s->grid)
	{
		size_t		points = mlp_space_grid_size(s->dims, s->ndims);

		if (points > MAX_TRIALS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("search.space makes a grid of %zu points, more than %d", points, MAX_TRIALS),
					 errhint("List fewer values, or use \"method\": \"random\" with \"trials\".")));
		/* a grid runs every point, or the first `trials` of them */
		if (!a.trials_given || (size_t) s->trials > points)
			s->trials = (int) points;
	}
}

/* The search with its defaults filled in, as the model's metadata holds it. */
static void
search_json(StringInfo buf, const TuneSearch *s)
{
	appendStringInfo(buf, "{\"method\": \"%s\", \"trials\": %d, \"folds\": %d, \"seed\": " INT64_FORMAT ", \"space\": {",
					 s->grid ? "grid" : "random", s->trials, s->folds, s->seed);
	for (int d = 0; d < s->ndims; d++)
	{
		const MlpSpaceDim *dim = &s->dims[d];

		appendStringInfoString(buf, d ? ", " : "");
		escape_json(buf, dim->name);
		if (dim->is_range)
			appendStringInfo(buf, ": {\"min\": %s, \"max\": %s, \"log\": %s, \"int\": %s}",
							 float8out_internal(dim->min), float8out_internal(dim->max),
							 dim->log ? "true" : "false", dim->is_int ? "true" : "false");
		else
		{
			appendStringInfoString(buf, ": [");
			for (int i = 0; i < dim->nvalues; i++)
			{
				appendStringInfoString(buf, i ? ", " : "");
				mlpipe_json_value(buf, dim->values[i]);
			}
			appendStringInfoChar(buf, ']');
		}
	}
	appendStringInfoString(buf, "}}");
}

/* {"name": value, ...} of one trial's values */
static char *
trial_params_json(const TuneSearch *s, const MlpTrialValues *t)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int d = 0; d < s->ndims; d++)
	{
		appendStringInfoString(&buf, d ? ", " : "");
		escape_json(&buf, s->dims[d].name);
		appendStringInfoString(&buf, ": ");
		mlpipe_json_value(&buf, t->value[d]);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* Trial 1 of a random search over a space holding every default. */
static bool
defaults_in_space(const TuneSearch *s, const MlpParamList *defaults, MlpTrialValues *t)
{
	for (int d = 0; d < s->ndims; d++)
	{
		const char *v = mlp_params_get(defaults, s->dims[d].name);

		if (v == NULL || !mlp_space_contains(&s->dims[d], v))
			return false;
		t->value[d] = v;
	}
	return true;
}

/* The training split sorted by month (stable), with its months. */
typedef struct MonthOrder
{
	float	   *X;
	float	   *y;
	int32	   *month;
} MonthOrder;

static void
sort_by_month(const TrainSplit *split, MonthOrder *mo)
{
	int64		n = split->n_train;
	int32		lo = PG_INT32_MAX,
				hi = PG_INT32_MIN;
	int64	   *start;

	for (int64 i = 0; i < n; i++)
	{
		lo = Min(lo, split->month_train[i]);
		hi = Max(hi, split->month_train[i]);
	}
	mo->X = MemoryContextAllocHuge(CurrentMemoryContext, n * MLP_NFEATURES * sizeof(float));
	mo->y = MemoryContextAllocHuge(CurrentMemoryContext, n * sizeof(float));
	mo->month = MemoryContextAllocHuge(CurrentMemoryContext, n * sizeof(int32));
	start = palloc0((hi - lo + 2) * sizeof(int64));
	for (int64 i = 0; i < n; i++)
		start[split->month_train[i] - lo + 1]++;
	for (int32 m = 1; m <= hi - lo + 1; m++)
		start[m] += start[m - 1];
	for (int64 i = 0; i < n; i++)
	{
		int64		to = start[split->month_train[i] - lo]++;

		memcpy(mo->X + to * MLP_NFEATURES, split->X_train + i * MLP_NFEATURES, MLP_NFEATURES * sizeof(float));
		mo->y[to] = split->y_train[i];
		mo->month[to] = split->month_train[i];
	}
	pfree(start);
}

static void
month_date(StringInfo buf, int32 m)
{
	char		text[16];

	mlp_month_text(m, text);
	appendStringInfo(buf, "\"%s-01\"", text);
}

/* The folds' month ranges, as the trial rows and the metadata hold them. */
static char *
folds_json(const MlpFold *folds, int k, const double *rmse)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int f = 0; f < k; f++)
	{
		appendStringInfoString(&buf, f ? ", {" : "{");
		appendStringInfoString(&buf, "\"train_from\": ");
		month_date(&buf, folds[f].train_first);
		appendStringInfoString(&buf, ", \"train_to\": ");
		month_date(&buf, folds[f].train_last);
		appendStringInfoString(&buf, ", \"valid_from\": ");
		month_date(&buf, folds[f].valid_first);
		appendStringInfoString(&buf, ", \"valid_to\": ");
		month_date(&buf, folds[f].valid_last);
		appendStringInfo(&buf, ", \"train_rows\": %zu, \"valid_rows\": %zu",
						 folds[f].train_rows, folds[f].valid_rows);
		if (rmse != NULL)
			appendStringInfo(&buf, ", \"rmse\": %s", json_number(rmse[f]));
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/* One trial's row of mlpipe.tuning_trials, in the caller's transaction. */
static void
insert_trial(int64 run_id, const TrainRequest *req, int trial, const char *params,
			 const double *fold_rmse, int k, double cv_rmse, double seconds,
			 const char *folds)
{
	Oid			types[9] = {INT8OID, TEXTOID, TEXTOID, INT4OID, JSONBOID, FLOAT8ARRAYOID,
	FLOAT8OID, FLOAT8OID, JSONBOID};
	Datum		args[9];
	Datum	   *elems = palloc(k * sizeof(Datum));

	for (int f = 0; f < k; f++)
		elems[f] = Float8GetDatum(fold_rmse[f]);
	args[0] = Int64GetDatum(run_id);
	args[1] = PointerGetDatum(req->name);
	args[2] = PointerGetDatum(req->version);
	args[3] = Int32GetDatum(trial);
	args[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(params));
	args[5] = PointerGetDatum(construct_array(elems, k, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[6] = Float8GetDatum(cv_rmse);
	args[7] = Float8GetDatum(seconds);
	args[8] = DirectFunctionCall1(jsonb_in, CStringGetDatum(folds));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("INSERT INTO mlpipe.tuning_trials "
							  "(run_id, model_name, version, trial, params, fold_rmse, cv_rmse, seconds, folds) "
							  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
							  9, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "recording a tuning trial failed");
	SPI_finish();
}

static int64
next_run_id(void)
{
	int64		id;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT nextval('mlpipe.tuning_run_seq')", false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "drawing a tuning run id failed");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return id;
}

static double
elapsed_since(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

/* Trains trial params on each fold; fills fold_rmse (currency units). */
static double
cross_validate(const TrainRequest *trial, const MonthOrder *mo, const MlpFold *folds, int k,
			   double scale, double *fold_rmse)
{
	double		sum = 0;
	int64		offset = 0;

	for (int f = 0; f < k; f++)
	{
		int64		ntrain = (int64) folds[f].train_rows;
		int64		nvalid = (int64) folds[f].valid_rows;
		double		seconds;
		bytea	   *artifact;
		MlpModel   *model;

		/* sorted by month: fold f trains on a prefix, validates on what follows */
		offset = ntrain;
		artifact = mlpipe_train_artifact(trial, mo->X, mo->y, ntrain, &seconds);
		model = mlpipe_parse_artifact(VARDATA(artifact), VARSIZE(artifact) - VARHDRSZ);
		fold_rmse[f] = scale * mlpipe_rmse(model, mo->X + offset * MLP_NFEATURES, mo->y + offset, nvalid);
		mlp_model_free(model);
		pfree(artifact);
		sum += fold_rmse[f];
		CHECK_FOR_INTERRUPTS();
	}
	return sum / k;
}

/* The trial's request: the algorithm's defaults with the trial's values. */
static void
trial_request(const TrainRequest *base, const TuneSearch *s, const MlpTrialValues *t,
			  TrainRequest *trial)
{
	*trial = *base;
	memset(&trial->params, 0, sizeof(trial->params));
	mlp_params_defaults(&trial->params, base->algorithm);
	/* copies: t's buffers hold the next trial's values soon */
	for (int d = 0; d < s->ndims; d++)
		mlp_params_set(&trial->params, s->dims[d].name, pstrdup(t->value[d]));
	mlpipe_resolve_request(trial);
}

Datum
mlpipe_tune(PG_FUNCTION_ARGS)
{
	TrainRequest req,
				best_req;
	TuneSearch	search;
	TrainingSet ts;
	TrainSplit	split;
	MonthOrder	mo;
	MlpFold		folds[MLP_MAX_FOLDS];
	MlpRng		rng;
	MlpTrialValues t;
	double		fold_rmse[MLP_MAX_FOLDS];
	double		best_cv = INFINITY,
				scale,
				seconds,
				rmse_train,
				rmse_test;
	int			best_trial = 0;
	char	   *best_params = NULL;
	char	   *folds_text;
	char		err[256];
	int64		run_id;
	instr_time	start;
	bytea	   *artifact;
	MlpModel   *model;
	StringInfoData meta;

	INSTR_TIME_SET_CURRENT(start);
	mlpipe_read_train_args(fcinfo, &req);
	read_search(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), req.algorithm, &search);
	/* the base request checks the defaults; trials check their values */
	mlpipe_resolve_request(&req);
	mlpipe_check_version_free(req.name, req.version);

	mlpipe_build_training_set(&ts);
	mlpipe_split_rows(&ts, &split);
	if (!mlp_plan_folds(split.month_train, (size_t) split.n_train, search.folds, folds, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot cross-validate: %s", err),
				 errhint("Use fewer folds (search.folds), or load purchases that span more months.")));
	sort_by_month(&split, &mo);
	folds_text = folds_json(folds, search.folds, NULL);
	scale = ts.std.std[MLP_STD_PURCHASE_AMOUNT];
	run_id = next_run_id();
	mlp_rng_seed(&rng, (uint64) search.seed);

	for (int trial = 1; trial <= search.trials; trial++)
	{
		TrainRequest tr;
		instr_time	trial_start;
		double		cv,
					took,
					elapsed;
		char	   *params;

		INSTR_TIME_SET_CURRENT(trial_start);
		if (search.grid)
			mlp_space_grid_point(search.dims, search.ndims, (size_t) (trial - 1), &t);
		else if (trial > 1 || !defaults_in_space(&search, &req.params, &t))
			mlp_space_sample(search.dims, search.ndims, &rng, &t);
		params = trial_params_json(&search, &t);
		trial_request(&req, &search, &t, &tr);
		cv = cross_validate(&tr, &mo, folds, search.folds, scale, fold_rmse);
		took = elapsed_since(trial_start);
		insert_trial(run_id, &req, trial, params, fold_rmse, search.folds, cv, took,
					 folds_json(folds, search.folds, fold_rmse));
		if (cv < best_cv)
		{
			best_cv = cv;
			best_trial = trial;
			best_params = params;
			best_req = tr;
		}
		elapsed = elapsed_since(start);
		ereport(NOTICE,
				(errmsg("trial %d/%d: CV RMSE %.2f; best %.2f (trial %d); %.1f s elapsed, about %.0f s left",
						trial, search.trials, cv, best_cv, best_trial, elapsed,
						elapsed / trial * (search.trials - trial))));
		CHECK_FOR_INTERRUPTS();
	}
	if (best_trial == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no trial gave a finite CV RMSE"),
				 errdetail("The folds' validation errors were not numbers: the targets or features may hold extreme values.")));

	/* refit the best on the whole training split, in its original order */
	artifact = mlpipe_train_artifact(&best_req, split.X_train, split.y_train, split.n_train, &seconds);
	model = mlpipe_parse_artifact(VARDATA(artifact), VARSIZE(artifact) - VARHDRSZ);
	rmse_train = scale * mlpipe_rmse(model, split.X_train, split.y_train, split.n_train);
	rmse_test = scale * mlpipe_rmse(model, split.X_test, split.y_test, split.n_test);
	mlp_model_free(model);

	initStringInfo(&meta);
	appendStringInfoString(&meta, mlpipe_metadata_json(&best_req, &ts, &split, rmse_train, rmse_test, seconds));
	/* open the object again to add the tuning */
	meta.len--;
	meta.data[meta.len] = '\0';
	appendStringInfo(&meta, ", \"tuning\": {\"run_id\": " INT64_FORMAT ", \"search\": ", run_id);
	search_json(&meta, &search);
	appendStringInfo(&meta, ", \"best_trial\": %d, \"best_params\": %s, \"cv_rmse\": %s, \"rmse_test\": %s, "
					 "\"seconds\": %s, \"folds\": %s}}",
					 best_trial, best_params, json_number(best_cv), json_number(rmse_test),
					 json_number(elapsed_since(start)), folds_text);
	mlpipe_register_trained(fcinfo, &best_req, artifact, &ts, mlpipe_params_json(&best_req.params), meta.data);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(meta.data)));
}
