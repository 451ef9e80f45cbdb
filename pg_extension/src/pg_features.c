/*
 * pg_features.c — the features (docs/features.md) as SQL sees them.
 *
 *   mlpipe_feature_names()           -> text[]
 *   mlpipe_training_rows()           -> setof (customer_id, month, features, target)
 *   mlpipe_standardization_params()  -> jsonb
 *   mlpipe_preprocess(customer_id, purchase_date, purchase_amount,
 *                     annual_income, age, gender, params) -> jsonb
 *
 * All the arithmetic is in features.c; this file turns SQL values into its
 * inputs and its results into SQL values.  The purchases come from one scan
 * of mlpipe.purchases (pg_scan.c); a customer's monthly rows are computed
 * from them, customer by customer, and only the monthly rows are kept.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "mlpipe_pg.h"

PG_FUNCTION_INFO_V1(mlpipe_feature_names);
PG_FUNCTION_INFO_V1(mlpipe_training_rows);
PG_FUNCTION_INFO_V1(mlpipe_standardization_params);
PG_FUNCTION_INFO_V1(mlpipe_preprocess);

void
mlpipe_timestamp_to_purchase(TimestampTz ts, MlpPurchase *p)
{
	int64		usec;
	int64		sec;

	/* +-infinity: far outside years 1-9999, so unclean (and no overflow below) */
	if (TIMESTAMP_NOT_FINITE(ts))
	{
		p->ts = TIMESTAMP_IS_NOBEGIN(ts) ? INT64_MIN : INT64_MAX;
		p->usec = 0;
		return;
	}
	usec = ts + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	sec = usec / USECS_PER_SEC;

	/* floor division: 1969-12-31 23:59:59.5 is second -1 plus 500000 us */
	if (usec % USECS_PER_SEC < 0)
		sec--;
	p->ts = sec;
	p->usec = (int32) (usec - sec * USECS_PER_SEC);
}

/*
 * A purchase from deformed columns age, gender, annual_income,
 * purchase_amount, purchase_date (values[0..4]).  Deforming a tuple once
 * beats fetching attributes one by one: rows with NULLs take PostgreSQL's
 * slow path for every attribute after the first NULL.
 */
void
mlpipe_values_to_purchase(const Datum *values, const bool *nulls, MlpPurchase *p)
{
	p->age = nulls[0] ? MLP_AGE_MISSING : DatumGetInt32(values[0]);
	if (nulls[1])
		p->gender = MLP_GENDER_MISSING;
	else
	{
		text	   *g = DatumGetTextPP(values[1]);

		p->gender = mlp_gender_from_text(VARDATA_ANY(g), VARSIZE_ANY_EXHDR(g));
	}
	p->income = nulls[2] ? NAN : DatumGetFloat8(values[2]);
	p->amount = nulls[3] ? NAN : DatumGetFloat8(values[3]);
	mlpipe_timestamp_to_purchase(DatumGetTimestampTz(values[4]), p);
}

/* ---- the training set ---- */

typedef struct Builder
{
	MemoryContext target;		/* where the result arrays live */
	TrainingSet *ts;
	int64		capacity;		/* rows allocated in ts */
	int64		n_male;
	int64		n_female;
	MlpStdAccum acc;
} Builder;

static void
ensure_rows(Builder *b, int64 more)
{
	TrainingSet *ts = b->ts;
	int64		need = ts->nrows + more;
	int64		cap = b->capacity;

	if (need <= cap)
		return;
	while (cap < need)
		cap = cap < 1024 ? 1024 : cap * 2;
	if (ts->customer_id == NULL)
	{
		ts->customer_id = MemoryContextAllocHuge(b->target, cap * sizeof(int64));
		ts->months = MemoryContextAllocHuge(b->target, cap * sizeof(MlpMonth));
		ts->has_target = MemoryContextAllocHuge(b->target, cap * sizeof(bool));
	}
	else
	{
		ts->customer_id = repalloc_huge(ts->customer_id, cap * sizeof(int64));
		ts->months = repalloc_huge(ts->months, cap * sizeof(MlpMonth));
		ts->has_target = repalloc_huge(ts->has_target, cap * sizeof(bool));
	}
	b->capacity = cap;
}

/* Gender counts, cleaning step (3) and the monthly rows of one customer. */
static void
add_customer(int64 customer, const MlpPurchase *clean, int64 n, void *arg)
{
	Builder    *b = arg;
	TrainingSet *ts = b->ts;
	size_t		cap,
				k;

	/* the most frequent gender counts every clean row, before step (3) */
	for (int64 i = 0; i < n; i++)
	{
		b->n_male += clean[i].gender == MLP_MALE;
		b->n_female += clean[i].gender == MLP_FEMALE;
	}
	if (n < 2)
		return;
	cap = mlp_months_capacity(clean, n, true);
	ensure_rows(b, cap);
	k = mlp_customer_months(clean, n, true, &ts->months[ts->nrows]);
	for (size_t j = 0; j < k; j++)
	{
		ts->customer_id[ts->nrows + j] = customer;
		ts->has_target[ts->nrows + j] = j + 1 < k;
		mlp_std_accum_add(&b->acc, &ts->months[ts->nrows + j]);
	}
	ts->nrows += k;
	ts->ncustomers++;
	ts->npurchases += n;
}

void
mlpipe_build_training_set(TrainingSet *ts)
{
	Builder		b;
	const char *bad_column;

	memset(ts, 0, sizeof(*ts));
	memset(&b, 0, sizeof(b));
	b.target = CurrentMemoryContext;
	b.ts = ts;
	mlp_std_accum_init(&b.acc);

	mlpipe_scan_customers(add_customer, &b);

	/* cleaning step (2): the most frequent gender, ties Female */
	ts->fill_gender = b.n_male > b.n_female ? MLP_MALE : MLP_FEMALE;
	if (ts->nrows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("mlpipe.purchases holds no customer with two clean purchases"),
				 errdetail("Features need a customer history: purchases with a date, an amount and an income."),
				 errhint("Load purchases first, e.g. psql -v csv=FILE -f sql/load_purchases.sql.")));
	if (!mlp_std_accum_finish(&b.acc, &ts->std, &bad_column))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot standardize column \"%s\"", bad_column),
				 errdetail("Its standard deviation over the training rows is zero or not finite."),
				 errhint("Load purchases whose %s values differ.", bad_column)));
}

void
mlpipe_training_vector(const TrainingSet *ts, int64 i, double out[MLP_NFEATURES])
{
	mlp_month_vector(&ts->months[i], ts->fill_gender, &ts->std, out);
}

double
mlpipe_training_target(const TrainingSet *ts, int64 i)
{
	Assert(ts->has_target[i]);
	/* the customer's next row is next month's: gaps are filled */
	return mlp_standardize(&ts->std, MLP_STD_PURCHASE_AMOUNT,
						   mlp_next_month_amount(&ts->months[i + 1], 1, ts->months[i].month));
}

/* ---- JSON ---- */

static void
append_number(StringInfo buf, double v)
{
	/* shortest text that reads back as the same double */
	appendStringInfoString(buf, float8out_internal(v));
}

Jsonb *
mlpipe_std_to_jsonb(const MlpStandardization *std)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int c = 0; c < MLP_NSTD; c++)
	{
		appendStringInfo(&buf, "%s\"%s\": {\"mean\": ", c ? ", " : "", mlp_std_column_names[c]);
		append_number(&buf, std->mean[c]);
		appendStringInfoString(&buf, ", \"std\": ");
		append_number(&buf, std->std[c]);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/* The value of key in an object container, or false. */
static bool
object_get(JsonbContainer *obj, const char *key, JsonbValue *out)
{
	if (!JsonContainerIsObject(obj))
		return false;
	return getKeyJsonValueFromContainer(obj, key, strlen(key), out) != NULL;
}

static double
std_number(JsonbContainer *col, const char *argname, const char *column, const char *key)
{
	JsonbValue	v;
	double		x;

	if (!object_get(col, key, &v) || v.type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.%s.%s must be a number", argname, column, key)));
	x = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
	if (!isfinite(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s.%s.%s must be finite", argname, column, key)));
	return x;
}

void
mlpipe_std_from_jsonb(Jsonb *jb, const char *argname, MlpStandardization *std)
{
	JsonbContainer *root = &jb->root;
	JsonbValue	v;

	if (!JsonContainerIsObject(root))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", argname)));
	/* the old pipeline wrapped the columns in {"params": ...} */
	if (object_get(root, "params", &v) && v.type == jbvBinary)
		root = v.val.binary.data;

	for (int c = 0; c < MLP_NSTD; c++)
	{
		const char *column = mlp_std_column_names[c];

		if (!object_get(root, column, &v) || v.type != jbvBinary ||
			!JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s is missing column \"%s\"", argname, column),
					 errhint("Expected {\"%s\": {\"mean\": ..., \"std\": ...}, ...} for purchase_amount, annual_income, clv and age_income_interaction.", column)));
		std->mean[c] = std_number(v.val.binary.data, argname, column, "mean");
		std->std[c] = std_number(v.val.binary.data, argname, column, "std");
		if (std->std[c] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s.%s.std must be positive", argname, column)));
	}
}

/* ---- serving ---- */

static void
invalid_field(const char *field, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s %s", field, what)));
}

void
mlpipe_read_new_purchase(FunctionCallInfo fcinfo, int first, NewPurchase *np)
{
	static const char *const names[6] = {
		"customer_id", "purchase_date", "purchase_amount", "annual_income", "age", "gender"
	};

	for (int i = 0; i < 6; i++)
		if (PG_ARGISNULL(first + i))
			invalid_field(names[i], "must not be null");

	np->customer_id = PG_GETARG_INT64(first);
	np->purchase_date = PG_GETARG_TIMESTAMPTZ(first + 1);
	np->purchase_amount = PG_GETARG_FLOAT8(first + 2);
	np->annual_income = PG_GETARG_FLOAT8(first + 3);
	np->age = PG_GETARG_INT32(first + 4);
	np->gender = PG_GETARG_TEXT_PP(first + 5);

	if (np->customer_id < 0)
		invalid_field("customer_id", "must not be negative");
	if (TIMESTAMP_NOT_FINITE(np->purchase_date))
		invalid_field("purchase_date", "must be a finite timestamp");
	else
	{
		MlpPurchase p;

		/* the features' calendar: a BC date or year 10000 is no purchase date */
		mlpipe_timestamp_to_purchase(np->purchase_date, &p);
		if (p.ts < MLP_TS_MIN || p.ts > MLP_TS_MAX)
			invalid_field("purchase_date", "must fall in years 1 to 9999 (UTC)");
	}
	if (!isfinite(np->purchase_amount) || np->purchase_amount < 0)
		invalid_field("purchase_amount", "must be a non-negative number");
	if (!isfinite(np->annual_income) || np->annual_income < 0)
		invalid_field("annual_income", "must be a non-negative number");
	if (np->age < 1 || np->age > 120)
		invalid_field("age", "must be between 1 and 120");
	if (mlp_gender_from_text(VARDATA_ANY(np->gender), VARSIZE_ANY_EXHDR(np->gender)) < 0)
		invalid_field("gender", "must be \"Male\" or \"Female\"");
}

static SPIPlanPtr history_plan = NULL;

void
mlpipe_serving_vector(const NewPurchase *np, const MlpStandardization *std,
					  double out[MLP_NFEATURES])
{
	MlpPurchase newp;
	MlpPurchase *stored,
			   *work;
	MlpMonth   *months,
				month;
	Datum		arg = Int64GetDatum(np->customer_id);
	uint64		n;

	mlpipe_timestamp_to_purchase(np->purchase_date, &newp);
	newp.amount = np->purchase_amount;
	newp.income = np->annual_income;
	newp.age = np->age;
	newp.gender = mlp_gender_from_text(VARDATA_ANY(np->gender), VARSIZE_ANY_EXHDR(np->gender));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (history_plan == NULL)
	{
		Oid			argtype = INT8OID;
		SPIPlanPtr	plan = SPI_prepare("SELECT age, gender, annual_income, purchase_amount, purchase_date"
									   " FROM mlpipe.purchases WHERE customer_id = $1"
									   " ORDER BY purchase_date", 1, &argtype);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the purchase history query: %s",
				 SPI_result_code_string(SPI_result));
		history_plan = plan;
	}
	if (SPI_execute_plan(history_plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "purchase history query failed");

	/* allocated in the SPI context: gone at SPI_finish */
	n = SPI_processed;
	stored = palloc((n + 1) * sizeof(MlpPurchase));
	work = palloc((n + 1) * sizeof(MlpPurchase));
	months = palloc((n + 1) * sizeof(MlpMonth));
	for (uint64 i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5];

		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
		mlpipe_values_to_purchase(values, nulls, &stored[i]);
	}

	if (!mlp_serving_month(stored, n, &newp, work, months, &month))
		elog(ERROR, "validated purchase was refused by the feature code");
	mlp_month_vector(&month, newp.gender, std, out);
	SPI_finish();
}

/* ---- SQL functions ---- */

Datum
mlpipe_feature_names(PG_FUNCTION_ARGS)
{
	Datum		names[MLP_NFEATURES];

	for (int i = 0; i < MLP_NFEATURES; i++)
		names[i] = CStringGetTextDatum(mlp_feature_names[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(names, MLP_NFEATURES, TEXTOID, -1, false, TYPALIGN_INT));
}

static DateADT
month_to_date(int32 month)
{
	int			y = (int) (month >= 0 ? month / 12 : -((-month + 11) / 12));
	int			m = month - y * 12 + 1;

	return date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
}

/* An empty float8[19]: the rows' vectors are written into one such array. */
static ArrayType *
new_vector_array(void)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + MLP_NFEATURES * sizeof(float8);
	ArrayType  *a = palloc0(nbytes);

	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT8OID;
	ARR_DIMS(a)[0] = MLP_NFEATURES;
	ARR_LBOUND(a)[0] = 1;
	return a;
}

typedef struct TrainingRowsState
{
	TrainingSet ts;
	ArrayType  *vector;			/* reused: heap_form_tuple copies it */
} TrainingRowsState;

/*
 * Value per call: the training set is built once (it needs every row for
 * the standardization), then each row's vector is made as it is asked for.
 *
 * SQL calls this through the SQL function mlpipe_training_rows(), which
 * calls it from a select list, where rows stream to the caller one by one.
 * Called in FROM, a set-returning function's rows are first collected in a
 * tuplestore: 1.4 million rows of 220 bytes, spilled to disk past work_mem.
 */
Datum
mlpipe_training_rows(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	TrainingRowsState *st;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		TupleDesc	desc;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "mlpipe_training_rows must return a composite type");
		funcctx->tuple_desc = BlessTupleDesc(desc);
		st = palloc(sizeof(TrainingRowsState));
		mlpipe_build_training_set(&st->ts);
		st->vector = new_vector_array();
		funcctx->user_fctx = st;
		funcctx->max_calls = st->ts.nrows;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;
	if (funcctx->call_cntr < funcctx->max_calls)
	{
		const TrainingSet *ts = &st->ts;
		int64		i = funcctx->call_cntr;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		mlpipe_training_vector(ts, i, (double *) ARR_DATA_PTR(st->vector));
		values[0] = Int64GetDatum(ts->customer_id[i]);
		values[1] = DateADTGetDatum(month_to_date(ts->months[i].month));
		values[2] = PointerGetDatum(st->vector);
		if (ts->has_target[i])
			values[3] = Float8GetDatum(mlpipe_training_target(ts, i));
		else
			nulls[3] = true;
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(funcctx);
}

Datum
mlpipe_standardization_params(PG_FUNCTION_ARGS)
{
	TrainingSet ts;

	mlpipe_build_training_set(&ts);
	PG_RETURN_JSONB_P(mlpipe_std_to_jsonb(&ts.std));
}

/* {"age": 40, "gender": 1, ...} in the order of mlp_feature_names */
static Jsonb *
features_to_jsonb(const double v[MLP_NFEATURES])
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < MLP_NFEATURES; i++)
	{
		appendStringInfo(&buf, "%s\"%s\": ", i ? ", " : "", mlp_feature_names[i]);
		append_number(&buf, v[i]);
	}
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

Datum
mlpipe_preprocess(PG_FUNCTION_ARGS)
{
	NewPurchase np;
	MlpStandardization std;
	double		vec[MLP_NFEATURES];

	mlpipe_read_new_purchase(fcinfo, 0, &np);
	if (PG_ARGISNULL(6))
		invalid_field("params", "must not be null");
	mlpipe_std_from_jsonb(PG_GETARG_JSONB_P(6), "params", &std);
	mlpipe_serving_vector(&np, &std, vec);
	PG_RETURN_JSONB_P(features_to_jsonb(vec));
}
