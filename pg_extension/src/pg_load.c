/*
 * pg_load.c — SQL face of the CSV row parser, used by sql/load_purchases.sql.
 *
 *   mlpipe_parse_purchase_csv(line text)
 *     -> (customer_id, age, gender, annual_income, purchase_amount,
 *         purchase_date, error)
 *
 * A malformed line is not an SQL error: it comes back with error set, so a
 * load keeps its good rows and reports the bad ones by line number.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "csv_row.h"

PG_FUNCTION_INFO_V1(mlpipe_parse_purchase_csv);
PG_FUNCTION_INFO_V1(mlpipe_is_purchase_csv_header);

/* Unix microseconds to a TimestampTz; false when out of PostgreSQL's range. */
static bool
unix_usec_to_timestamptz(int64 usec, TimestampTz *out)
{
	const int64 shift = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	/* the parser bounds years to 1..9999, so this cannot overflow */
	TimestampTz ts = usec - shift;

	if (!IS_VALID_TIMESTAMP(ts))
		return false;
	*out = ts;
	return true;
}

Datum
mlpipe_parse_purchase_csv(PG_FUNCTION_ARGS)
{
	text	   *line = PG_GETARG_TEXT_PP(0);
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7];
	MlpCsvPurchase row;
	char		msg[256];
	TimestampTz ts = 0;
	bool		ok;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	tupdesc = BlessTupleDesc(tupdesc);

	ok = mlp_csv_parse_purchase(VARDATA_ANY(line), VARSIZE_ANY_EXHDR(line), &row,
								msg, sizeof(msg));
	if (ok && !unix_usec_to_timestamptz(row.purchase_usec, &ts))
	{
		ok = false;
		snprintf(msg, sizeof(msg), "purchase_date is out of range");
	}

	memset(nulls, true, sizeof(nulls));
	if (!ok)
	{
		values[6] = CStringGetTextDatum(msg);
		nulls[6] = false;
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
	}
	values[0] = Int64GetDatum(row.customer_id);
	nulls[0] = false;
	if (row.has_age)
	{
		values[1] = Int32GetDatum(row.age);
		nulls[1] = false;
	}
	if (row.has_gender)
	{
		values[2] = CStringGetTextDatum(row.gender);
		nulls[2] = false;
	}
	if (row.has_income)
	{
		values[3] = Float8GetDatum(row.income);
		nulls[3] = false;
	}
	if (row.has_amount)
	{
		values[4] = Float8GetDatum(row.amount);
		nulls[4] = false;
	}
	values[5] = TimestampTzGetDatum(ts);
	nulls[5] = false;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
mlpipe_is_purchase_csv_header(PG_FUNCTION_ARGS)
{
	text	   *line = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(mlp_csv_is_header(VARDATA_ANY(line), VARSIZE_ANY_EXHDR(line)));
}
