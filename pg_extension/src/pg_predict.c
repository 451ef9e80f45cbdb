/*
 * pg_predict.c — prediction and artifact checks in SQL (docs/sql.md).
 *
 *   mlpipe_model_check(artifact bytea) -> text (the algorithm)
 *   mlpipe_predict(model_name, version, features float8[]) -> float8
 *   mlpipe_predict(model_name, version, customer_id, purchase_date,
 *                  purchase_amount, annual_income, age, gender) -> float8
 *   mlpipe_predict_customers(model_name, version) -> setof record
 *   mlpipe_check_standardization(params jsonb)
 *
 * The model comes from the per-backend cache (pg_model_cache.c) through the
 * call site's resolution (pg_model_resolve.c).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "mlpipe_models.h"
#include "mlpipe_pg.h"

PG_FUNCTION_INFO_V1(mlpipe_model_check);
PG_FUNCTION_INFO_V1(mlpipe_predict_vector);
PG_FUNCTION_INFO_V1(mlpipe_predict_purchase);
PG_FUNCTION_INFO_V1(mlpipe_predict_customers);

Datum
mlpipe_model_check(PG_FUNCTION_ARGS)
{
	bytea	   *artifact = PG_GETARG_BYTEA_PP(0);
	MlpModel   *model = mlpipe_parse_artifact(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact));
	text	   *algorithm = cstring_to_text(mlp_model_algorithm(model));

	mlp_model_free(model);
	PG_RETURN_TEXT_P(algorithm);
}

/* ---- prediction ---- */

static void
check_width(const CachedModel *cm, int n)
{
	if (n != mlp_model_num_features(cm->model))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features has %d values, but the model expects %d",
						n, mlp_model_num_features(cm->model))));
}

Datum
mlpipe_predict_vector(PG_FUNCTION_ARGS)
{
	CachedModel *cm = mlpipe_model_for_call(fcinfo);
	ArrayType  *arr;
	double		x[256];
	int			n;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must not be null")));
	arr = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must be a one-dimensional array")));
	n = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
	check_width(cm, n);
	if (n > (int) lengthof(x))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("models with more than %d features are not supported", (int) lengthof(x))));

	if (!ARR_HASNULL(arr))
		memcpy(x, ARR_DATA_PTR(arr), n * sizeof(double));
	else
	{
		/* a NULL element is a missing value, as NaN is for XGBoost */
		bits8	   *nulls = ARR_NULLBITMAP(arr);
		double	   *data = (double *) ARR_DATA_PTR(arr);

		for (int i = 0, j = 0; i < n; i++)
			x[i] = (nulls[i / 8] & (1 << (i % 8))) ? data[j++] : NAN;
	}
	PG_RETURN_FLOAT8((double) mlp_model_predict(cm->model, x, n));
}

/* Raw output in standardized units back to currency units. */
static double
to_currency(const CachedModel *cm, double y)
{
	return y * cm->std.std[MLP_STD_PURCHASE_AMOUNT] + cm->std.mean[MLP_STD_PURCHASE_AMOUNT];
}

static void
require_std(const CachedModel *cm)
{
	if (!cm->has_std)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model has no standardization parameters, so it cannot score purchases"),
				 errhint("Register it with standardization_params, or score feature vectors with mlpipe_predict(name, version, features).")));
}

Datum
mlpipe_predict_purchase(PG_FUNCTION_ARGS)
{
	CachedModel *cm = mlpipe_model_for_call(fcinfo);
	NewPurchase np;
	double		x[MLP_NFEATURES];

	require_std(cm);
	check_width(cm, MLP_NFEATURES);
	mlpipe_read_new_purchase(fcinfo, 2, &np);
	mlpipe_serving_vector(&np, &cm->std, x);
	PG_RETURN_FLOAT8(to_currency(cm, mlp_model_predict(cm->model, x, MLP_NFEATURES)));
}

/* ---- every customer at once ---- */

typedef struct CustomerScan
{
	Tuplestorestate *store;
	TupleDesc	desc;
	CachedModel *cm;
	MlpMonth   *months;			/* grows to the most months of a customer */
	int64		months_cap;
} CustomerScan;

/* The next-month prediction from a customer's last month (serving rules). */
static void
score_customer(int64 customer, const MlpPurchase *clean, int64 n, void *arg)
{
	CustomerScan *s = arg;
	size_t		cap = mlp_months_capacity(clean, n, false);
	size_t		k;
	int			fill;
	int64		male = 0,
				female = 0;
	double		x[MLP_NFEATURES];
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	const MlpMonth *last;

	if ((int64) cap > s->months_cap)
	{
		s->months_cap = cap * 2;
		s->months = s->months ? repalloc_huge(s->months, s->months_cap * sizeof(MlpMonth))
			: MemoryContextAllocHuge(CurrentMemoryContext, s->months_cap * sizeof(MlpMonth));
	}
	k = mlp_customer_months(clean, n, false, s->months);
	if (k == 0)
		return;
	last = &s->months[k - 1];

	/* missing genders take the customer's own most frequent one (ties: Female) */
	for (int64 i = 0; i < n; i++)
	{
		male += clean[i].gender == MLP_MALE;
		female += clean[i].gender == MLP_FEMALE;
	}
	fill = male > female ? MLP_MALE : MLP_FEMALE;

	mlp_month_vector(last, fill, &s->cm->std, x);
	values[0] = Int64GetDatum(customer);
	values[1] = DateADTGetDatum(date2j(last->month / 12, last->month % 12 + 1, 1) - POSTGRES_EPOCH_JDATE);
	values[2] = Float8GetDatum(to_currency(s->cm, mlp_model_predict(s->cm->model, x, MLP_NFEATURES)));
	tuplestore_putvalues(s->store, s->desc, values, nulls);
}

Datum
mlpipe_predict_customers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CustomerScan s;

	InitMaterializedSRF(fcinfo, 0);
	memset(&s, 0, sizeof(s));
	s.store = rsinfo->setResult;
	s.desc = rsinfo->setDesc;
	s.cm = mlpipe_model_for_call(fcinfo);
	require_std(s.cm);
	check_width(s.cm, MLP_NFEATURES);
	mlpipe_scan_customers(score_customer, &s);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(mlpipe_check_standardization);

Datum
mlpipe_check_standardization(PG_FUNCTION_ARGS)
{
	MlpStandardization std;

	mlpipe_std_from_jsonb(PG_GETARG_JSONB_P(0), "standardization_params", &std);
	PG_RETURN_VOID();
}
