/*
 * pg_monitor.c — mlpipe_monitor(model_name, version, since): live accuracy.
 *
 * The logged predictions (mlpipe.predictions) of one model version against
 * what each customer actually spent in the month after the purchase.  The
 * actual amount is the training target's (mlp_next_month_amount over the
 * customer's monthly rows from mlp_customer_months, the clean purchases of
 * one scan of mlpipe.purchases), so a model is judged live by the same
 * definition of "next month's amount" it was trained and tested on.  A
 * prediction counts once the month it predicts is over; the result has one
 * row per predicted month: how many predictions, RMSE, MAE and bias
 * (mean of predicted - actual, > 0 when the model predicts too much).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "mlpipe_models.h"
#include "mlpipe_pg.h"

PG_FUNCTION_INFO_V1(mlpipe_monitor);

typedef struct Logged
{
	int64		customer_id;
	int32		month;			/* the purchase's month; the prediction is for month + 1 */
	double		predicted;
	double		actual;
} Logged;

typedef struct Matcher
{
	Logged	   *logged;			/* sorted by customer_id */
	int64		n;
} Matcher;

static int
logged_by_customer(const void *a, const void *b)
{
	int64		x = ((const Logged *) a)->customer_id;
	int64		y = ((const Logged *) b)->customer_id;

	return (x > y) - (x < y);
}

static int
logged_by_month(const void *a, const void *b)
{
	int32		x = ((const Logged *) a)->month;
	int32		y = ((const Logged *) b)->month;

	return (x > y) - (x < y);
}

/*
 * The predictions of (name, version) made for purchases since `since` whose
 * predicted month is over, i.e. whose purchase month is before last month
 * (UTC).  Actuals start at 0: a customer without a purchase has spent 0.
 */
static Logged *
read_logged(const char *name, const char *version, FunctionCallInfo fcinfo, int64 *n)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TIMESTAMPTZOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	MemoryContext outer = CurrentMemoryContext;
	Logged	   *out;

	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(version);
	if (PG_ARGISNULL(2))
		nulls[2] = 'n';
	else
		args[2] = PG_GETARG_DATUM(2);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT customer_id,"
							  " (extract(year FROM month) * 12 + extract(month FROM month) - 1)::int,"
							  " predicted"
							  " FROM mlpipe.predictions"
							  " WHERE model_name = $1 AND version = $2"
							  " AND purchase_date >= coalesce($3, '-infinity')"
							  " AND month < (date_trunc('month', now() AT TIME ZONE 'UTC')"
							  "              - interval '1 month')::date",
							  3, types, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mlpipe.predictions failed");
	*n = (int64) SPI_processed;
	out = MemoryContextAllocHuge(outer, Max(*n, 1) * sizeof(Logged));
	for (int64 i = 0; i < *n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		out[i].customer_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		out[i].month = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
		out[i].predicted = DatumGetFloat8(SPI_getbinval(t, d, 3, &isnull));
		out[i].actual = 0;
	}
	SPI_finish();
	return out;
}

/* Scan callback: the actuals of this customer's logged predictions. */
static void
match_customer(int64 customer, const MlpPurchase *clean, int64 n, void *arg)
{
	Matcher    *m = arg;
	int64		lo = 0,
				hi = m->n;
	MlpMonth   *months;
	size_t		k;

	/* the first logged prediction of this customer */
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (m->logged[mid].customer_id < customer)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == m->n || m->logged[lo].customer_id != customer || n == 0)
		return;
	months = palloc(mlp_months_capacity(clean, n, true) * sizeof(MlpMonth));
	k = mlp_customer_months(clean, n, true, months);
	for (int64 i = lo; i < m->n && m->logged[i].customer_id == customer; i++)
		m->logged[i].actual = mlp_next_month_amount(months, k, m->logged[i].month);
	pfree(months);
}

/* The version (name, version) resolves to: version NULL means the latest. */
static char *
model_version(text *name, text *version)
{
	int64		id = mlpipe_resolve_model(name, version);
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(id);
	MemoryContext outer = CurrentMemoryContext;
	char	   *out;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT version FROM mlpipe.models WHERE id = $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model row " INT64_FORMAT " vanished", id);
	out = MemoryContextStrdup(outer, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	return out;
}

static DateADT
month_start_date(int32 month)
{
	int64		y = month >= 0 ? month / 12 : -((-(int64) month + 11) / 12);

	return date2j((int) y, (int) (month - y * 12) + 1, 1) - POSTGRES_EPOCH_JDATE;
}

static void
emit_month(ReturnSetInfo *rsinfo, int32 month, int64 n, double sq, double abs_sum, double sum)
{
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	values[0] = DateADTGetDatum(month_start_date(month + 1));
	values[1] = Int64GetDatum(n);
	values[2] = Float8GetDatum(sqrt(sq / n));
	values[3] = Float8GetDatum(abs_sum / n);
	values[4] = Float8GetDatum(sum / n);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
mlpipe_monitor(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	char	   *version;
	Matcher		m;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model_name must not be null")));
	version = model_version(PG_GETARG_TEXT_PP(0), PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	m.logged = read_logged(name, version, fcinfo, &m.n);
	InitMaterializedSRF(fcinfo, 0);
	if (m.n == 0)
		return (Datum) 0;
	qsort(m.logged, m.n, sizeof(Logged), logged_by_customer);
	mlpipe_scan_customers(match_customer, &m);

	qsort(m.logged, m.n, sizeof(Logged), logged_by_month);
	for (int64 first = 0; first < m.n;)
	{
		int32		month = m.logged[first].month;
		double		sq = 0,
					abs_sum = 0,
					sum = 0;
		int64		i;

		for (i = first; i < m.n && m.logged[i].month == month; i++)
		{
			double		e = m.logged[i].predicted - m.logged[i].actual;

			sq += e * e;
			abs_sum += fabs(e);
			sum += e;
		}
		emit_month(rsinfo, month, i - first, sq, abs_sum, sum);
		first = i;
	}
	return (Datum) 0;
}
