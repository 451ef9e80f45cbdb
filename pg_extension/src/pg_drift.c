/*
 * pg_drift.c — the training distribution a model keeps, and feature drift.
 *
 *   mlpipe_append_feature_deciles(buf, ts)   metadata.feature_deciles, by
 *                                            mlpipe_train and mlpipe_tune
 *   mlpipe_drift(model_name, version, since) -> setof (feature, psi)
 *
 * The training distribution is that of every monthly row of the training
 * set (the population the standardization is fitted on), each feature's
 * deciles and the share of rows in the bins they bound (drift.h).  Drift
 * bins the feature rows of the months from `since` on, computed from
 * today's purchases by the same code and standardized with the model's own
 * parameters, into the same bins: the purchases a model was trained on
 * give a PSI of exactly 0.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "drift.h"
#include "mlpipe_models.h"
#include "mlpipe_pg.h"

PG_FUNCTION_INFO_V1(mlpipe_drift);

/* deciles are fitted on at most this many rows, evenly spaced; shares on all */
#define DECILE_SAMPLE 100000

static void
append_numbers(StringInfo buf, const double *v, int n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
		appendStringInfo(buf, "%s%s", i ? ", " : "", float8out_internal(v[i]));
	appendStringInfoChar(buf, ']');
}

void
mlpipe_append_feature_deciles(StringInfo buf, const TrainingSet *ts)
{
	int64		stride = ts->nrows > DECILE_SAMPLE ? (ts->nrows + DECILE_SAMPLE - 1) / DECILE_SAMPLE : 1;
	int64		nsample = (ts->nrows + stride - 1) / stride;
	double	   *sample = palloc(nsample * MLP_NFEATURES * sizeof(double));
	double	   *column = palloc(nsample * sizeof(double));
	double		(*counts)[MLP_DRIFT_MAX_BINS] = palloc0(MLP_NFEATURES * sizeof(*counts));
	MlpDistribution *dist = palloc(MLP_NFEATURES * sizeof(MlpDistribution));
	double		vec[MLP_NFEATURES];

	for (int64 k = 0; k < nsample; k++)
		mlpipe_training_vector(ts, k * stride, &sample[k * MLP_NFEATURES]);
	for (int f = 0; f < MLP_NFEATURES; f++)
	{
		for (int64 k = 0; k < nsample; k++)
			column[k] = sample[k * MLP_NFEATURES + f];
		if (!mlp_distribution_fit(column, nsample, &dist[f]))
			elog(ERROR, "cannot fit the deciles of feature %s", mlp_feature_names[f]);
	}
	/* the shares over every row, binned exactly as mlpipe_drift bins */
	for (int64 i = 0; i < ts->nrows; i++)
	{
		mlpipe_training_vector(ts, i, vec);
		for (int f = 0; f < MLP_NFEATURES; f++)
			counts[f][mlp_distribution_bin(&dist[f], vec[f])] += 1;
	}

	appendStringInfo(buf, "\"feature_deciles\": {\"rows\": " INT64_FORMAT ", \"features\": {",
					 ts->nrows);
	for (int f = 0; f < MLP_NFEATURES; f++)
	{
		double		shares[MLP_DRIFT_MAX_BINS];

		for (int b = 0; b < dist[f].nbins; b++)
			shares[b] = counts[f][b] / (double) ts->nrows;
		appendStringInfo(buf, "%s\"%s\": {\"deciles\": ", f ? ", " : "", mlp_feature_names[f]);
		append_numbers(buf, dist[f].deciles, MLP_DECILES);
		appendStringInfoString(buf, ", \"shares\": ");
		append_numbers(buf, shares, dist[f].nbins);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoString(buf, "}}");
	pfree(sample);
	pfree(column);
	pfree(counts);
	pfree(dist);
}

/* ---- reading them back ---- */

static bool
object_get(JsonbContainer *c, const char *key, JsonbValue *out)
{
	return JsonContainerIsObject(c) &&
		getKeyJsonValueFromContainer(c, key, strlen(key), out) != NULL;
}

/* The numbers of a JSON array into out[0..max); their count, or -1. */
static int
json_numbers(const JsonbValue *v, double *out, int max)
{
	JsonbContainer *c;
	int			n;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		return -1;
	c = v->val.binary.data;
	n = JsonContainerSize(c);
	if (n > max)
		return -1;
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(c, i);

		if (e == NULL || e->type != jbvNumeric)
			return -1;
		out[i] = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(e->val.numeric)));
	}
	return n;
}

static void
no_distribution(const char *name, const char *version, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("model \"%s\" version \"%s\" has no training distribution", name, version),
			 errdetail("%s", what),
			 errhint("Train a version with mlpipe_train or mlpipe_tune (they store the deciles of every feature) to monitor its drift.")));
}

/* metadata.feature_deciles into dist[], or an error that says what is wrong. */
static void
load_distributions(Jsonb *meta, const char *name, const char *version,
				   MlpDistribution dist[MLP_NFEATURES])
{
	JsonbValue	fd,
				features,
				feature,
				v;

	if (!object_get(&meta->root, "feature_deciles", &fd))
		no_distribution(name, version,
						"Its metadata has no \"feature_deciles\": it was registered from outside"
						" mlpipe_train and mlpipe_tune, or trained before mlpipe 0.3.");
	if (fd.type != jbvBinary || !object_get(fd.val.binary.data, "features", &features) ||
		features.type != jbvBinary)
		no_distribution(name, version, "metadata.feature_deciles has no \"features\" object.");
	for (int f = 0; f < MLP_NFEATURES; f++)
	{
		double		deciles[MLP_DECILES + 1];
		double		shares[MLP_DRIFT_MAX_BINS + 1];
		int			nshares;

		if (!object_get(features.val.binary.data, mlp_feature_names[f], &feature) ||
			feature.type != jbvBinary)
			no_distribution(name, version,
							psprintf("metadata.feature_deciles.features lacks feature \"%s\".",
									 mlp_feature_names[f]));
		if (!object_get(feature.val.binary.data, "deciles", &v) ||
			json_numbers(&v, deciles, MLP_DECILES + 1) != MLP_DECILES ||
			!object_get(feature.val.binary.data, "shares", &v) ||
			(nshares = json_numbers(&v, shares, MLP_DRIFT_MAX_BINS + 1)) < 0 ||
			!mlp_distribution_load(deciles, shares, nshares, &dist[f]))
			no_distribution(name, version,
							psprintf("metadata.feature_deciles.features.\"%s\" is not 9 ascending deciles"
									 " and one share per bin they bound.", mlp_feature_names[f]));
	}
}

typedef struct ModelRow
{
	char	   *version;
	MlpStandardization std;
	MlpDistribution dist[MLP_NFEATURES];
} ModelRow;

/* The model's version, standardization and training distribution. */
static void
read_model(text *name, text *version, ModelRow *out)
{
	int64		id = mlpipe_resolve_model(name, version);
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(id);
	MemoryContext outer = CurrentMemoryContext;
	bool		isnull;
	char	   *cname = text_to_cstring(name);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT version, metadata, standardization_params FROM mlpipe.models"
							  " WHERE id = $1", 1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "model row " INT64_FORMAT " vanished", id);
	out->version = MemoryContextStrdup(outer, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	load_distributions(DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)),
					   cname, out->version, out->dist);
	mlpipe_std_from_jsonb(DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull)),
						  "standardization_params", &out->std);
	SPI_finish();
}

/* The UTC month index of since; INT32_MIN for NULL (every month). */
static int32
month_of_arg(FunctionCallInfo fcinfo, int argno)
{
	MlpPurchase p;

	if (PG_ARGISNULL(argno))
		return INT32_MIN;
	mlpipe_timestamp_to_purchase(PG_GETARG_TIMESTAMPTZ(argno), &p);
	if (p.ts < MLP_TS_MIN)
		return INT32_MIN;
	if (p.ts > MLP_TS_MAX)
		return INT32_MAX;
	return mlp_month_of(p.ts);
}

Datum
mlpipe_drift(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ModelRow	model;
	TrainingSet ts;
	int32		since;
	double		(*counts)[MLP_DRIFT_MAX_BINS];
	double		total = 0;
	double		vec[MLP_NFEATURES];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model_name must not be null")));
	read_model(PG_GETARG_TEXT_PP(0), PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1), &model);
	since = month_of_arg(fcinfo, 2);

	mlpipe_build_training_set(&ts);
	counts = palloc0(MLP_NFEATURES * sizeof(*counts));
	for (int64 i = 0; i < ts.nrows; i++)
	{
		if (ts.months[i].month < since)
			continue;
		mlp_month_vector(&ts.months[i], ts.fill_gender, &model.std, vec);
		for (int f = 0; f < MLP_NFEATURES; f++)
			counts[f][mlp_distribution_bin(&model.dist[f], vec[f])] += 1;
		total += 1;
	}

	InitMaterializedSRF(fcinfo, 0);
	for (int f = 0; f < MLP_NFEATURES; f++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(mlp_feature_names[f]);
		if (total > 0)
			values[1] = Float8GetDatum(mlp_psi(&model.dist[f], counts[f], total));
		else
			nulls[1] = true;	/* no feature rows since then: nothing to compare */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
